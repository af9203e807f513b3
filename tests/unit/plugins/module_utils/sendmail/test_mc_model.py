# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import (
    CF,
    Document,
    Macro,
    Text,
    insertion_index,
    render_macro,
    unquote,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_ports import ensure_port_entry
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_settings import (
    ensure_define,
    ensure_feature,
    ensure_masquerade_as,
    ensure_member,
    ensure_undefine,
)

SAMPLE = (Path(__file__).parent / "fixtures" / "debian-like.mc").read_text()


def macros(text, syntax="mc"):
    document = Document.parse(text, syntax)
    return [(macro.name, macro.commented, macro.values) for dummy, macro in document.macros()]


def test_sample_round_trips_byte_for_byte():
    assert Document.parse(SAMPLE).render() == SAMPLE


def test_sample_macros_are_recognised():
    found = macros(SAMPLE)
    assert ("DAEMON_OPTIONS", True, ("Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1",)) in found
    assert ("DAEMON_OPTIONS", False, ("Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1",)) in found
    assert ("FEATURE", False, ("access_db", "", "skip")) in found
    assert ("undefine", False, ("confHOST_STATUS_DIRECTORY",)) in found
    assert ("define", True, ("confCON_EXPENSIVE", "True")) in found
    assert ("EXPOSED_USER", True, ("root",)) in found
    assert [found_macro[0] for found_macro in found].count("MAILER") == 2


def test_multi_line_define_with_dnl_between_arguments():
    text = "define(`confPRIVACY_FLAGS',dnl\n`needmailhelo,authwarnings')dnl\nFEATURE(`x')dnl\n"
    assert macros(text) == [("define", False, ("confPRIVACY_FLAGS", "needmailhelo,authwarnings")),
                            ("FEATURE", False, ("x",))]


@pytest.mark.parametrize("line", [
    "FEATURE(`a')FEATURE(`b')dnl\n",        # a second call after the first: not a lone entry
    "FEATURE(`a') trailing text\n",          # output text after the call
    "dnl FEATURE(`a'\n",                     # commented call that does not close on its line
    "FEATURE (`a')dnl\n",                    # m4 needs the parenthesis right after the name
    "# FEATURE(`a')dnl\n",
    "VERSIONID(`x')\n",
])
def test_lines_that_are_not_plain_entries_are_kept_as_text(line):
    document = Document.parse(line)
    assert all(isinstance(element, Text) for element in document.elements)
    assert document.render() == line


def test_trailing_comment_and_indentation_are_kept_on_restyle():
    document = Document.parse("  FEATURE(`greet_pause', `1000')dnl 1 seconds\n")
    macro = document.elements[0]
    assert macro.indent == "  " and macro.tail == "dnl 1 seconds\n"
    changed = ensure_feature(document, "greet_pause", ["2000"], "present")
    assert changed.after == "  FEATURE(`greet_pause', ``2000'')dnl 1 seconds\n"


@pytest.mark.parametrize("raw, value", [
    ("`a'", "a"),
    ("``a''", "a"),
    ("  `a'", "a"),
    ("a", "a"),
    ("`a' `b'", "`a' `b'"),   # not one quoted string
    ("dnl\n`x'", "x"),
    ("", ""),
])
def test_unquote(raw, value):
    assert unquote(raw) == value


def test_cf_lines_are_recognised():
    text = ("O DaemonPortOptions=Name=MTA, Family=inet\n"
            "#O ClientPortOptions=Family=inet, Address=0.0.0.0\n"
            "O QueueDirectory=/var/spool/mqueue\n")
    document = Document.parse(text, CF)
    assert document.render() == text
    assert macros(text, CF) == [("DAEMON_OPTIONS", False, ("Name=MTA, Family=inet",)),
                                ("CLIENT_OPTIONS", True, ("Family=inet, Address=0.0.0.0",))]


def test_render_macro_quotes_values_so_m4_passes_them_unchanged():
    assert render_macro("DAEMON_OPTIONS", ("Name=MTA-v6",), False).raw == "DAEMON_OPTIONS(``Name=MTA-v6'')dnl\n"
    assert render_macro("MASQUERADE_AS", ("example.com",), True).raw == "dnl MASQUERADE_AS(```example.com''')dnl\n"
    assert render_macro("define", ("SMART_HOST", "mx.dnl.example.com"), False).raw == \
        "define(`SMART_HOST', ``mx.dnl.example.com'')dnl\n"
    assert render_macro("FEATURE", ("access_db", "", "skip"), False).raw == "FEATURE(`access_db', , ``skip'')dnl\n"
    assert render_macro("DAEMON_OPTIONS", ("Name=MTA",), True, CF).raw == "#O DaemonPortOptions=Name=MTA\n"


def test_new_entries_go_after_their_kind_and_before_the_mailer_block():
    document = Document.parse(SAMPLE)

    def line_at(index):
        return document.elements[index - 1].raw.rstrip("\n")

    assert line_at(insertion_index(document, "DAEMON_OPTIONS")).startswith("DAEMON_OPTIONS(`Family=inet,  Name=MSP-v4")
    assert line_at(insertion_index(document, "FEATURE")) == "FEATURE(`greet_pause', `1000')dnl 1 seconds"
    assert document.elements[insertion_index(document, "MASQUERADE_AS")].raw == "MAILER_DEFINITIONS\n"


def test_insertion_without_mailer_block_goes_to_the_end_and_keeps_lines_apart():
    document = Document.parse("include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nOSTYPE(`debian')dnl")
    plan = ensure_feature(document, "nocanonify", None, "present")
    assert plan.after == "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nOSTYPE(`debian')dnl\nFEATURE(`nocanonify')dnl\n"


def test_insertion_after_setup_lines_not_before_them():
    text = "define(`_USE_ETC_MAIL_')dnl\ninclude(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nMAILER(`smtp')dnl\n"
    plan = ensure_define(Document.parse(text), "confLOG_LEVEL", "15", "present")
    assert plan.after.splitlines()[2] == "define(`confLOG_LEVEL', ``15'')dnl"


@pytest.mark.parametrize("mailer_feature", ["FEATURE(`msp', `[127.0.0.1]', `25')dnl",
                                            "FEATURE(`nullclient', `mailhub.example.com')dnl"])
def test_new_feature_goes_before_the_feature_that_defines_the_mailers(mailer_feature):
    text = ("include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nOSTYPE(`debian')dnl\nDOMAIN(`debian-msp')dnl\n"
            f"dnl FEATURE(`masquerade_envelope')dnl\n{mailer_feature}\n")
    plan = ensure_feature(Document.parse(text), "nocanonify", None, "present")
    assert plan.after.splitlines()[4:] == ["FEATURE(`nocanonify')dnl", mailer_feature]


def test_a_commented_msp_does_not_start_the_mailer_block():
    text = "include(`cf.m4')dnl\ndnl FEATURE(`msp')dnl\nMAILER(`smtp')dnl\n"
    plan = ensure_feature(Document.parse(text), "nocanonify", None, "present")
    assert plan.after.splitlines()[1:] == ["dnl FEATURE(`msp')dnl", "FEATURE(`nocanonify')dnl", "MAILER(`smtp')dnl"]


# --- properties --------------------------------------------------------------

_FRAGMENTS = st.sampled_from([
    "DAEMON_OPTIONS(`Name=MTA, Family=inet')dnl\n",
    "dnl DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl\n",
    "CLIENT_OPTIONS(`Family=inet6, Name=C6')dnl\n",
    "FEATURE(`access_db', , `skip')dnl\n",
    "define(`confPRIVACY_FLAGS',dnl\n`a,b')dnl\n",
    "define(`x', `(')dnl\n",
    "undefine(`confX')dnl # comment\n",
    "MASQUERADE_AS(`example.com')\n",
    "EXPOSED_USER(`root')dnl",
    "MAILER(`smtp')dnl\n",
    "MAILER_DEFINITIONS\n",
    "FEATURE(`unclosed'\n",
    "dnl\n", "\n", "\r\n", "`'\n", "((((\n", "')\n",
])
_FILES = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=40)), max_size=25).map("".join)


@settings(max_examples=400, deadline=None)
@given(_FILES)
def test_parse_then_render_is_identity_for_mc(text):
    assert Document.parse(text).render() == text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["O DaemonPortOptions=Name=A\n", "#O ClientPortOptions=F=inet\n"]),
                          st.text(max_size=40)), max_size=20).map("".join))
def test_parse_then_render_is_identity_for_cf(text):
    assert Document.parse(text, CF).render() == text


_CHANGES = st.sampled_from([
    lambda d: ensure_port_entry(d, "DAEMON_OPTIONS", "MTA-v6", "present", {"F": "inet6", "A": "2001:db8::25"}),
    lambda d: ensure_port_entry(d, "DAEMON_OPTIONS", "MTA", "commented", {"P": "2525", "M": "Ea"}),
    lambda d: ensure_port_entry(d, "DAEMON_OPTIONS", "MTA-v6", "absent", {}),
    lambda d: ensure_port_entry(d, "CLIENT_OPTIONS", "C6", "present", {"F": "inet6", "A": "2001:db8::1"}),
    lambda d: ensure_feature(d, "access_db", ["", "skip"], "present"),
    lambda d: ensure_feature(d, "nocanonify", None, "commented"),
    lambda d: ensure_define(d, "SMART_HOST", "[relay.dnl.example.com]", "present"),
    lambda d: ensure_define(d, "confPRIVACY_FLAGS", "goaway", "present"),
    lambda d: ensure_undefine(d, "confX", "present"),
    lambda d: ensure_masquerade_as(d, "example.com", "present"),
    lambda d: ensure_member(d, "EXPOSED_USER", "root", "absent"),
    lambda d: ensure_member(d, "MASQUERADE_DOMAIN", "example.com", "present"),
])


@settings(max_examples=300, deadline=None)
@given(_FILES, _CHANGES)
def test_applying_the_same_change_twice_changes_nothing_the_second_time(text, change):
    try:
        first = change(Document.parse(text))
    except ValueError:
        return  # refused (e.g. two active entries of one name): nothing to repeat
    second = change(Document.parse(first.after))
    assert second.after == first.after
    assert not second.changed


def test_elements_are_frozen_values():
    element = Document.parse("FEATURE(`x')dnl\n").elements[0]
    assert isinstance(element, Macro)
    with pytest.raises(AttributeError):
        element.raw = ""
