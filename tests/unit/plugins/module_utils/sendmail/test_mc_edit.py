# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import CF, Document
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_ports import ensure_port_entry
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_settings import (
    ensure_define,
    ensure_feature,
    ensure_masquerade_as,
    ensure_member,
    ensure_undefine,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.port_options import RefusedChange

SAMPLE = (Path(__file__).parent / "fixtures" / "debian-like.mc").read_text()
MTA_V4 = "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl"


def doc(text=SAMPLE):
    return Document.parse(text)


def daemon(name, state="present", bindv6only=False, text=SAMPLE, **changes):
    return ensure_port_entry(doc(text), "DAEMON_OPTIONS", name, state, changes, bindv6only)


def changed_lines(plan):
    diff = difflib.ndiff(plan.before.splitlines(), plan.after.splitlines())
    return [line for line in diff if line[:1] in "+-"]


# --- DAEMON_OPTIONS -----------------------------------------------------------

def test_commented_template_is_reused_and_values_are_double_quoted():
    plan = daemon("MTA-v6", F="inet6", A="2001:db8::25")
    assert changed_lines(plan) == [
        "- dnl DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl",
        "+ DAEMON_OPTIONS(``Family=inet6, Name=MTA-v6, Port=smtp, Addr=2001:db8::25'')dnl",
    ]
    assert plan.entry["state"] == "present" and plan.entry["addr"] == "2001:db8::25"
    assert plan.expected_cf_lines == ("O DaemonPortOptions=Family=inet6, Name=MTA-v6, Port=smtp, Addr=2001:db8::25",)
    assert [entry["name"] for entry in plan.entries] == ["MTA-v6", "MTA-v4", "MSP-v6", "MSP-v4"]


def test_same_meaning_is_no_change():
    assert not daemon("MTA-v4", F="INET", A="127.0.0.1", P="25").changed
    assert not daemon("MSP-v4", M="aE", P="587").changed


def test_new_entry_goes_after_the_last_daemon_in_preferred_key_order():
    plan = daemon("MTA-x", P="2525", A="198.51.100.10", F="inet")
    after = plan.after.splitlines()
    index = after.index("DAEMON_OPTIONS(``Name=MTA-x, Family=inet, Addr=198.51.100.10, Port=2525'')dnl")
    assert after[index - 1].startswith("DAEMON_OPTIONS(`Family=inet,  Name=MSP-v4")
    assert plan.entry["line"] == index + 1


def test_empty_value_removes_a_key():
    plan = daemon("MTA-v4", A="")
    assert "DAEMON_OPTIONS(``Family=inet, Name=MTA-v4, Port=smtp'')dnl" in plan.after
    assert plan.entry["addr"] is None


def test_other_keys_are_changed_in_place():
    plan = daemon("MSP-v4", L="64", c="10")
    assert "DAEMON_OPTIONS(``Family=inet, Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1, " \
           "Listen=64, children=10'')dnl" in plan.after
    assert plan.entry["options"] == {"Listen": "64", "children": "10"}


def test_absent_removes_active_and_commented_entries_of_that_name():
    plan = daemon("MTA-v6", state="absent")
    assert "MTA-v6" not in plan.after
    assert plan.entry is None
    assert not daemon("nonexistent", state="absent").changed


def test_commented_state_comments_out_an_active_entry():
    plan = daemon("MTA-v4", state="commented")
    assert "dnl DAEMON_OPTIONS(``Family=inet, Name=MTA-v4, Port=smtp, Addr=127.0.0.1'')dnl" in plan.after
    assert plan.entry["state"] == "commented"
    assert plan.expected_cf_lines == ()


def test_two_active_entries_with_one_name_are_refused():
    text = SAMPLE.replace(MTA_V4, MTA_V4 + "\n" + MTA_V4.replace("127.0.0.1", "127.0.0.2"))
    with pytest.raises(RefusedChange, match="2 active DAEMON_OPTIONS entries are named MTA-v4"):
        daemon("MTA-v4", text=text, P="25")


@pytest.mark.parametrize("changes, message", [
    (dict(F="inet6", A="2001:db8::zz"), "neither an IPv4 address"),
    (dict(F="inet6", A="127.0.0.1"), "IPv4 address but the entry has Family=inet6"),
    (dict(F="inet", A="2001:db8::25"), "IPv6 address but the entry has Family=inet"),
    (dict(P="70000"), "out of range"),
    (dict(A="::1')dnl\nsyscmd(`id')dnl"), "would change the structure"),
])
@pytest.mark.parametrize("state", ["present", "commented"])
def test_refusals_apply_to_active_and_commented_entries(changes, message, state):
    with pytest.raises(RefusedChange, match=message):
        daemon("MTA-v6", state=state, **changes)


def test_changing_family_alone_checks_the_kept_address():
    with pytest.raises(RefusedChange, match="IPv4 address but the entry has Family=inet6"):
        daemon("MTA-v4", F="inet6")


def test_invalid_name_is_refused():
    with pytest.raises(RefusedChange, match="would change the structure"):
        daemon("MTA')dnl")
    with pytest.raises(RefusedChange, match="not a valid daemon name"):
        daemon("-MTA")


# --- the dual-stack bind conflict -------------------------------------------------

def test_inet6_on_any_next_to_an_inet_daemon_on_the_same_port_is_refused_with_three_fixes():
    with pytest.raises(RefusedChange) as refused:
        daemon("MTA-v6", F="inet6", A="::")
    message = str(refused.value)
    assert "MTA-v4 (inet on 127.0.0.1 port 25)" in message and "MTA-v6 (inet6 on :: port 25)" in message
    assert "cannot bind: Address already in use" in message
    assert "one inet6 daemon on ::" in message
    assert "specific address" in message
    assert "bindv6only=1" in message


def test_inet6_without_addr_conflicts_too_and_is_appended_after_mta_v4():
    text = SAMPLE.replace("dnl DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl\n", "")
    with pytest.raises(RefusedChange, match="daemon MTA-v6: cannot bind"):
        daemon("MTA-v6", text=text, F="inet6")


def test_specific_addresses_per_family_are_accepted():
    assert daemon("MTA-v6", F="inet6", A="::1").changed


def test_bindv6only_1_allows_both_on_any():
    assert daemon("MTA-v6", bindv6only=True, F="inet6", A="::").changed


def test_single_inet6_daemon_for_both_families_is_accepted_once_v4_is_gone():
    without_v4 = daemon("MTA-v4", state="absent").after
    plan = daemon("MTA-v6", text=without_v4, F="inet6", A="::")
    assert "DAEMON_OPTIONS(``Family=inet6, Name=MTA-v6, Port=smtp, Addr=::'')dnl" in plan.after


def test_replaces_removes_the_old_daemon_in_the_same_edit():
    # What a role's check mode needs: MTA-v4's removal is only planned, not written.
    plan = ensure_port_entry(doc(), "DAEMON_OPTIONS", "MTA-v6", "present", {"F": "inet6", "A": "::"},
                             False, ("MTA-v4",))
    assert plan.after == daemon("MTA-v6", text=daemon("MTA-v4", state="absent").after, F="inet6", A="::").after
    assert MTA_V4 not in plan.after


def test_replaces_does_not_hide_other_conflicts():
    text = SAMPLE.replace(MTA_V4, MTA_V4 + "\nDAEMON_OPTIONS(`Family=inet, Name=MTA-v4b, Port=smtp')dnl")
    with pytest.raises(RefusedChange, match="MTA-v4b"):
        ensure_port_entry(doc(text), "DAEMON_OPTIONS", "MTA-v6", "present", {"F": "inet6", "A": "::"},
                          False, ("MTA-v4",))


def test_replaces_with_nothing_to_replace_changes_nothing_more():
    once = daemon("MTA-v6", text=daemon("MTA-v4", state="absent").after, F="inet6", A="::").after
    again = ensure_port_entry(doc(once), "DAEMON_OPTIONS", "MTA-v6", "present", {"F": "inet6", "A": "::"},
                              False, ("MTA-v4",))
    assert not again.changed


def test_an_existing_conflict_does_not_block_other_changes():
    text = SAMPLE.replace("dnl DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl",
                          "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp')dnl")
    assert daemon("MSP-v4", text=text, L="20").changed
    # ...but a change that makes a new clash still is refused
    with pytest.raises(RefusedChange):
        daemon("MSP-v6", text=text, state="present", A="::")


def test_b_modifier_with_both_families_warns():
    plan = daemon("MTA-v6", F="inet6", A="::1", M="b")
    assert any("b modifier" in warning for warning in plan.warnings)
    assert not any("b modifier" in warning for warning in daemon("MTA-v4", M="b").warnings)


def test_inet6_host_name_warns_and_suggests_the_literal():
    plan = daemon("MTA-v6", F="inet6", A="mx.example.com")
    assert any("literal IPv6 address" in warning for warning in plan.warnings)


# --- sendmail.cf ------------------------------------------------------------------

CF_TEXT = ("# SMTP daemon options\n"
           "O DaemonPortOptions=Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1\n"
           "O DaemonPortOptions=Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1\n"
           "\n"
           "#O ClientPortOptions=Family=inet, Address=0.0.0.0\n"
           "O QueueDirectory=/var/spool/mqueue\n")


def test_cf_daemon_lines_are_edited_and_added_after_their_kind():
    plan = ensure_port_entry(Document.parse(CF_TEXT, CF), "DAEMON_OPTIONS", "MTA-v6", "present",
                             {"F": "inet6", "A": "::1"})
    assert changed_lines(plan) == ["+ O DaemonPortOptions=Name=MTA-v6, Family=inet6, Addr=::1"]
    assert plan.after.splitlines()[3] == "O DaemonPortOptions=Name=MTA-v6, Family=inet6, Addr=::1"
    assert plan.expected_cf_lines == ()


def test_cf_client_line_without_name_is_not_touched():
    plan = ensure_port_entry(Document.parse(CF_TEXT, CF), "CLIENT_OPTIONS", "out6", "present",
                             {"F": "inet6", "A": "2001:db8:25::10"})
    assert changed_lines(plan) == ["+ O ClientPortOptions=Name=out6, Family=inet6, Addr=2001:db8:25::10"]


def test_cf_commented():
    plan = ensure_port_entry(Document.parse(CF_TEXT, CF), "DAEMON_OPTIONS", "MTA-v4", "commented", {})
    assert "#O DaemonPortOptions=Family=inet, Name=MTA-v4, Port=smtp, Addr=127.0.0.1\n" in plan.after


def test_mc_only_settings_refuse_a_cf():
    with pytest.raises(RefusedChange, match="only in sendmail.mc"):
        ensure_feature(Document.parse(CF_TEXT, CF), "nocanonify", None, "present")


# --- CLIENT_OPTIONS ---------------------------------------------------------------

def test_client_entry_and_same_family_warning():
    plan = ensure_port_entry(doc(), "CLIENT_OPTIONS", "out6", "present", {"F": "inet6", "A": "2001:db8:25::10"})
    assert "CLIENT_OPTIONS(``Name=out6, Family=inet6, Addr=2001:db8:25::10'')dnl" in plan.after
    again = ensure_port_entry(Document.parse(plan.after), "CLIENT_OPTIONS", "other6", "present", {"F": "inet6"})
    assert any("keeps only the last one per family" in warning for warning in again.warnings)
    with pytest.raises(RefusedChange, match="unknown modifier"):
        ensure_port_entry(doc(), "CLIENT_OPTIONS", "out6", "present", {"M": "E"})


# --- FEATURE / define / masquerading ----------------------------------------------

def test_feature_added_before_mailers_and_kept_arguments():
    plan = ensure_feature(doc(), "nocanonify", None, "present")
    after = plan.after.splitlines()
    assert after[after.index("FEATURE(`nocanonify')dnl") - 1] == "FEATURE(`greet_pause', `1000')dnl 1 seconds"
    assert not ensure_feature(doc(), "access_db", None, "present").changed
    assert not ensure_feature(doc(), "access_db", ["", "skip"], "present").changed
    assert not ensure_feature(doc(), "use_cw_file", [""], "present").changed
    changed = ensure_feature(doc(), "greet_pause", ["2000"], "present")
    assert "FEATURE(`greet_pause', ``2000'')dnl 1 seconds" in changed.after


def test_feature_absent_and_commented():
    assert "FEATURE(`use_cw_file')" not in ensure_feature(doc(), "use_cw_file", None, "absent").after
    assert "dnl FEATURE(`use_cw_file')dnl" in ensure_feature(doc(), "use_cw_file", None, "commented").after


def test_define_reuses_a_commented_define_and_removes_undefine():
    plan = ensure_define(doc(), "confCON_EXPENSIVE", "True", "present")
    assert changed_lines(plan) == ["- dnl define(`confCON_EXPENSIVE',`True')dnl",
                                   "+ define(`confCON_EXPENSIVE', ``True'')dnl"]
    plan = ensure_define(doc(), "confHOST_STATUS_DIRECTORY", "/var/lib/sendmail/host_status", "present")
    assert "undefine" not in plan.after


def test_define_multi_line_value_is_replaced_in_place():
    plan = ensure_define(doc(), "confPRIVACY_FLAGS", "goaway", "present")
    assert "define(`confPRIVACY_FLAGS', ``goaway'')dnl\n" in plan.after
    assert "needmailhelo" not in plan.after
    assert not ensure_define(doc(), "confPRIVACY_FLAGS",
                             "needmailhelo,needexpnhelo,needvrfyhelo,restrictqrun,restrictexpand,"
                             "nobodyreturn,authwarnings", "present").changed


def test_smart_host_keeps_m4_words_intact_and_expects_them_in_the_cf():
    plan = ensure_define(doc(), "SMART_HOST", "relay:[mx.dnl.example.com]", "present")
    assert "define(`SMART_HOST', ``relay:[mx.dnl.example.com]'')dnl" in plan.after
    assert plan.expected_cf_lines == ("DSrelay:[mx.dnl.example.com]",)


def test_undefine_present_removes_the_define():
    plan = ensure_undefine(doc(), "confCONNECTION_RATE_THROTTLE", "present")
    lines = plan.after.splitlines()
    assert not [line for line in lines if line.startswith("define(`confCONNECTION_RATE_THROTTLE'")]
    assert "undefine(`confCONNECTION_RATE_THROTTLE')dnl" in lines


def test_masquerade_as_is_single_and_triple_quoted():
    plan = ensure_masquerade_as(doc(), "company.com", "present")
    assert "MASQUERADE_AS(```company.com''')dnl" in plan.after
    assert plan.expected_cf_lines == ("DMcompany.com",)
    replaced = ensure_masquerade_as(Document.parse(plan.after), "other.example", "present")
    assert "company.com" not in replaced.after
    assert not ensure_masquerade_as(Document.parse(plan.after), "company.com", "present").changed


def test_exposed_user_reuses_the_commented_line():
    plan = ensure_member(doc(), "EXPOSED_USER", "root", "present")
    assert changed_lines(plan) == ["- dnl EXPOSED_USER(`root')dnl", "+ EXPOSED_USER(``root'')dnl"]
    assert plan.expected_cf_lines == ("C{E}root",)


def test_masquerade_domain_is_a_set():
    once = ensure_member(doc(), "MASQUERADE_DOMAIN", "company.com", "present")
    twice = ensure_member(Document.parse(once.after), "MASQUERADE_DOMAIN", "example.org", "present")
    assert twice.after.count("MASQUERADE_DOMAIN") == 2
    assert len(twice.entries) == 2


@pytest.mark.parametrize("call, message", [
    (lambda: ensure_define(doc(), "SMART_HOST", "relay')dnl syscmd(`id')", "present"), "structure"),
    (lambda: ensure_define(doc(), "SMART_HOST", "relay.example.com\nO QueueDirectory=/tmp", "present"), "structure"),
    (lambda: ensure_define(doc(), "SMART_HOST", "a,b", "present"), "commas"),
    (lambda: ensure_define(doc(), "SMART_HOST", "esyscmd(id -un)", "present"), "structure"),
    (lambda: ensure_define(doc(), "confLOG_LEVEL", "divert(-1)", "commented"), "structure"),
    (lambda: ensure_define(doc(), "confLOG_LEVEL", "$1", "present"), "not valid"),
    (lambda: ensure_define(doc(), "confLOG_LEVEL", None, "present"), "needs a value"),
    (lambda: ensure_define(doc(), "MAILER", "x", "present"), "define name"),
    (lambda: ensure_define(doc(), "FEATURE", "x", "present"), "define name"),
    (lambda: ensure_undefine(doc(), "divert", "present"), "define name"),
    (lambda: ensure_feature(doc(), "access_db", ["hash')syscmd(`id"], "present"), "structure"),
    (lambda: ensure_feature(doc(), "../../etc/passwd", None, "present"), "FEATURE name"),
    (lambda: ensure_feature(doc(), "x", ["a,b"], "present"), "commas"),
    (lambda: ensure_masquerade_as(doc(), "company.com`", "present"), "structure"),
    (lambda: ensure_masquerade_as(doc(), "company..com", "present"), "not valid"),
    (lambda: ensure_member(doc(), "EXPOSED_USER", "root\n", "commented"), "structure"),
    (lambda: ensure_member(doc(), "EXPOSED_USER", "ro ot", "present"), "not valid"),
    (lambda: ensure_member(doc(), "MASQUERADE_DOMAIN", "a(b)", "present"), "structure"),
])
def test_mc_setting_refusals(call, message):
    with pytest.raises(RefusedChange, match=message):
        call()


@pytest.mark.parametrize("value", ["mx.dnl.example.com", "FEATURE.example", "gnu", "ostype", "define.example.com"])
def test_honest_m4_words_are_accepted(value):
    assert ensure_define(doc(), "SMART_HOST", value, "present").changed
    assert ensure_masquerade_as(doc(), value, "present").changed


# --- the implicit default daemon (a file without active DAEMON_OPTIONS) -----------------

NO_DAEMONS = SAMPLE.replace(MTA_V4 + "\n", "").replace(
    "DAEMON_OPTIONS(`Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1')dnl\n", "")


def test_first_daemon_keeps_the_implicit_mta_listening():
    plan = daemon("MTA-v6", text=NO_DAEMONS, F="inet6", A="::1")
    assert "DAEMON_OPTIONS(``Name=MTA, Family=inet, Port=smtp'')dnl" in plan.after
    assert "O DaemonPortOptions=Name=MTA, Family=inet, Port=smtp" in plan.expected_cf_lines
    assert [entry["name"] for entry in plan.entries if entry["state"] == "present"] == ["MTA-v6", "MTA"]


def test_replaces_or_taking_over_by_name_drops_the_implicit_mta():
    replaced = ensure_port_entry(doc(NO_DAEMONS), "DAEMON_OPTIONS", "MTA-v6", "present", {"F": "inet6", "A": "::1"},
                                 False, replaces=("MTA",))
    assert "Name=MTA," not in replaced.after
    taken = daemon("MTA", text=NO_DAEMONS, F="inet6", A="::")
    assert changed_lines(taken) == ["+ DAEMON_OPTIONS(``Name=MTA, Family=inet6, Port=smtp, Addr=::'')dnl"]


def test_first_daemon_that_cannot_bind_next_to_the_implicit_mta_is_refused():
    with pytest.raises(RefusedChange, match=r"MTA \(inet on 0.0.0.0 port 25\) and MTA-v6 \(inet6 on :: port 25\)"):
        daemon("MTA-v6", text=NO_DAEMONS, F="inet6", A="::")


def test_a_commented_first_entry_changes_nothing_that_listens():
    plan = daemon("MTA-v6", state="commented", text=NO_DAEMONS, F="inet6", A="::1")
    assert "Name=MTA," not in plan.after and not plan.warnings


def test_removing_the_last_daemon_warns_that_sendmail_falls_back_to_every_address():
    text = SAMPLE.replace("DAEMON_OPTIONS(`Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1')dnl\n", "")
    plan = daemon("MTA-v4", state="absent", text=text)
    assert plan.warnings == ("MTA-v4 leaves no active DAEMON_OPTIONS, so sendmail falls back to its default daemon: "
                             "MTA (inet on 0.0.0.0 port 25). Keep an entry with the sockets you want instead.",)


def test_the_default_msa_counts_for_bind_conflicts():
    text = NO_DAEMONS.replace("FEATURE(`no_default_msa')dnl\n", "")
    with pytest.raises(RefusedChange, match=r"MSA \(inet on 0.0.0.0 port 587\) and MSA-v6"):
        daemon("MSA-v6", text=text, F="inet6", A="::", P="submission")


def test_removing_one_of_the_implicit_dual_stack_pair_writes_out_the_other():
    text = NO_DAEMONS.replace("FEATURE(`no_default_msa')dnl\n", "FEATURE(`no_default_msa')dnl\ndefine(`_NETINET6_')dnl\n")
    plan = daemon("MTA-v4", state="absent", text=text)
    assert changed_lines(plan) == ["+ DAEMON_OPTIONS(``Name=MTA-v6, Family=inet6, Port=smtp'')dnl"]


def test_a_cf_without_daemon_lines_keeps_its_built_in_daemon():
    cf = "O QueueDirectory=/var/spool/mqueue\n"
    plan = ensure_port_entry(doc_cf(cf), "DAEMON_OPTIONS", "MTA-v6", "present", {"F": "inet6", "A": "::1"})
    lines = plan.after.splitlines()
    assert "O DaemonPortOptions=Name=MTA-v6, Family=inet6, Addr=::1" in lines
    assert "O DaemonPortOptions=Name=MTA, Family=inet, Port=smtp" in lines


def doc_cf(text):
    return Document.parse(text, CF)
