# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A key left out means sendmail's default: restating an entry with defaults written out or left
out is no change, and the file keeps its spelling byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.config_plan import plan_config
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import Document
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_ports import ensure_port_entry

HEAD = "include(`/usr/share/sendmail-cf/m4/cf.m4')dnl\nOSTYPE(`linux')dnl\n"
TAIL = "MAILER(smtp)dnl\n"
RED_HAT_MTA = "DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl\n"


def mc(*lines):
    return HEAD + "".join(lines) + TAIL


@pytest.mark.parametrize("changes", [
    {"F": "inet"},
    {"F": "INET"},
    {"P": "25"},
    {"P": "smtp"},
    {"A": "127.0.0.1"},
    {"L": "10"},
    {"M": ""},
    {"F": "inet", "P": "25", "A": "127.0.0.1", "L": "10"},
])
def test_red_hat_stock_daemon_restated_with_defaults_is_no_change(changes):
    text = mc(RED_HAT_MTA)
    plan = ensure_port_entry(Document.parse(text), "DAEMON_OPTIONS", "MTA", "present", changes, False)
    assert not plan.changed
    assert plan.after == text


@pytest.mark.parametrize("line, changes", [
    ("CLIENT_OPTIONS(`Name=C4')dnl\n", {"F": "inet", "A": "0.0.0.0", "M": ""}),
    ("CLIENT_OPTIONS(`Family=inet6, Name=C6')dnl\n", {"A": "::", "F": "INET6"}),
])
def test_client_restated_with_defaults_is_no_change(line, changes):
    text = mc(line)
    name = "C4" if "C4" in line else "C6"
    plan = ensure_port_entry(Document.parse(text), "CLIENT_OPTIONS", name, "present", changes, False)
    assert plan.after == text


def test_sendmail_config_restating_the_stock_line_is_no_change():
    text = mc(RED_HAT_MTA)
    daemon = {"name": "MTA", "state": "present", "family": "inet", "addr": "127.0.0.1", "port": "25",
              "modifiers": None, "options": {"Listen": "10"}}
    plan = plan_config(Document.parse(text), [daemon], [], [])
    assert plan.after == text and not plan.changes


def test_a_real_change_keeps_default_keys_left_out():
    plan = ensure_port_entry(Document.parse(mc(RED_HAT_MTA)), "DAEMON_OPTIONS", "MTA", "present",
                             {"F": "inet", "A": "127.0.0.2"}, False)
    assert "DAEMON_OPTIONS(``Port=smtp, Addr=127.0.0.2, Name=MTA'')dnl" in plan.after


# --- property: any well-formed entry, restated with defaults given or left out ---------------------

_DEFAULTED = {"F": "inet", "P": "smtp", "L": "10", "M": ""}
_SPELLINGS = {"F": ("inet", "INET"), "P": ("smtp", "25", "SMTP"), "L": ("10", "010"), "M": ("",)}
_ADDRESSES = {"inet": ("127.0.0.1", "0.0.0.0", "192.0.2.25"), "inet6": ("::1", "::", "2001:db8::25")}
_KEY_SPELLINGS = {"F": ("Family", "F", "family"), "P": ("Port", "P", "port"), "A": ("Addr", "A", "addr"),
                  "L": ("Listen", "L"), "M": ("Modifiers", "M"), "N": ("Name", "N")}


@st.composite
def entries(draw):
    """(text of an entry, its name, the keys it sets as sendmail uses them)."""
    family = draw(st.sampled_from(["inet", "inet6"]))
    port = draw(st.sampled_from(["smtp", "25", "587", "submission", "2525"]))
    wanted = {"N": "MTA", "F": family, "P": port, "A": draw(st.sampled_from(_ADDRESSES[family])),
              "L": draw(st.sampled_from(["10", "64"])), "M": draw(st.sampled_from(["", "E", "Ea"]))}
    written = {}
    for letter, value in wanted.items():
        is_default = letter != "A" and _DEFAULTED.get(letter) is not None and (
            value == _DEFAULTED[letter] or (letter == "P" and value == "25"))
        if family == "inet6" and letter == "F":
            is_default = False
        if letter == "A" and value in ("0.0.0.0", "::"):
            is_default = True
        if letter != "N" and is_default and draw(st.booleans()):
            continue  # left out: sendmail's default
        written[letter] = value
    order = draw(st.permutations(list(written)))
    parts = [f"{draw(st.sampled_from(_KEY_SPELLINGS[letter]))}={written[letter]}" for letter in order]
    separator = draw(st.sampled_from([",", ", ", ",  "]))
    return separator.join(parts), wanted


@settings(max_examples=300, deadline=None)
@given(entries(), st.data())
def test_restating_an_entry_never_changes_the_file(entry, data):
    text, wanted = entry
    document = mc(f"DAEMON_OPTIONS(`{text}')dnl\n")
    restated = {}
    for letter, value in wanted.items():
        if letter == "N":
            continue
        if letter == "A" and value in ("0.0.0.0", "::") and data.draw(st.booleans()):
            continue  # not asked for: any value is fine
        if letter in _SPELLINGS and value in _SPELLINGS[letter]:
            value = data.draw(st.sampled_from(_SPELLINGS[letter]))
        if data.draw(st.booleans()):
            restated[letter] = value
    plan = ensure_port_entry(Document.parse(document), "DAEMON_OPTIONS", "MTA", "present", restated, False)
    assert plan.after == document, (text, restated)
