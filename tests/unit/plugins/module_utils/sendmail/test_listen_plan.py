# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import difflib
import ipaddress
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ansible_collections.dualstack.mta.plugins.module_utils.net import port_number
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail import mc_ports
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.config_plan import plan_config
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.listen_plan import (
    ListenPlanError,
    entries_from_document,
    plan_listen,
    plan_listen_document,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import Document
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.port_options import PortOptions, bind_conflicts, daemon_socket

HERE = Path(__file__).resolve().parent
LAYOUTS = HERE / "fixtures" / "layouts"
REPO = HERE.parents[4]
STOCK = sorted(REPO.glob("tests/fixtures/stock/debian-*/sendmail.mc"))
LAYOUT_FILES = sorted(LAYOUTS.glob("*.mc")) + STOCK
HOST = ["127.0.0.1", "::1", "198.51.100.10", "2001:db8:25::10"]


def layout(name):
    return Document.parse((LAYOUTS / name).read_text())


def apply(document, plan, bindv6only=False):
    """Apply the plan's daemons in one edit, as sendmail_config does (bind conflicts judged on the result)."""
    return Document.parse(plan_config(document, plan.daemons, [], [], bindv6only).after, document.syntax)


def served(document, port, bindv6only):
    """What the built configuration listens on for ``port``: per family 'all' or a set of addresses."""
    result = {"inet": set(), "inet6": set()}
    for position, options in enumerate(mc_ports.effective_daemons(document)):
        socket = daemon_socket(options, position)
        if socket is None or socket.port != port:
            continue
        if socket.address is None:
            result[socket.family] = "all"
            if socket.family == "inet6" and bindv6only is False:
                result["inet"] = "all"
        elif result[socket.family] != "all":
            result[socket.family].add(socket.address)
    return result


def intended(addresses, bindv6only):
    result = {"inet": set(), "inet6": set()}
    ipv6 = bindv6only is not None
    for text in addresses:
        if text == "all":
            result["inet"] = "all"
            if ipv6:
                result["inet6"] = "all"
            continue
        if text == "loopback":
            wanted = [ipaddress.ip_address("127.0.0.1")] + ([ipaddress.ip_address("::1")] if ipv6 else [])
        else:
            wanted = [ipaddress.ip_address(text)]
        for address in wanted:
            family = "inet" if address.version == 4 else "inet6"
            if int(address) == 0:
                result[family] = "all"
            elif result[family] != "all":
                result[family].add(address)
    return result


def active_lines(document, ports):
    """Active DAEMON_OPTIONS lines whose port is not in ``ports``: they must stay byte-identical."""
    return [macro.raw for _index, macro in document.macros("DAEMON_OPTIONS") if not macro.commented
            and port_number(PortOptions.parse(macro.values[0]).get("P")) not in ports]


def other_sockets(document, ports):
    """The sockets of every daemon (implicit ones too) on ports not in ``ports``."""
    sockets = [daemon_socket(options, 0) for options in mc_ports.effective_daemons(document)]
    return sorted((socket.family, str(socket.address), socket.port) for socket in sockets
                  if socket is not None and socket.port not in ports)


def check_plan(document, intent_items, bindv6only):
    """Plan, apply and prove: binds, listens exactly as intended, leaves other ports, is idempotent."""
    plan = plan_listen_document(document, intent_items, {"bindv6only": bindv6only, "addresses": HOST})
    after = apply(document, plan, bindv6only)
    assert bind_conflicts(mc_ports.effective_daemons(after), True if bindv6only is None else bindv6only) == []
    ports = {}
    for item in intent_items:
        for port in item.get("ports", [25]):
            ports.setdefault(port_number(port), []).extend(item["addresses"])
    for port, addresses in ports.items():
        assert served(after, port, bindv6only) == intended(addresses, bindv6only), (port, plan.reasons)
    assert set(active_lines(document, set(ports))) <= set(active_lines(after, set(ports)))
    assert other_sockets(after, set(ports)) == other_sockets(document, set(ports))
    again = plan_listen_document(after, intent_items, {"bindv6only": bindv6only, "addresses": HOST})
    assert apply(after, again, bindv6only).render() == after.render(), again.daemons
    assert len(plan.reasons) >= len(ports)
    return plan, after


def changed_lines(before, after):
    return [line for line in difflib.ndiff(before.render().splitlines(), after.render().splitlines())
            if line[:1] in "+-"]


INTENTS = [
    [{"addresses": ["all"]}],
    [{"addresses": ["all"], "ports": [25]}, {"addresses": ["loopback"], "ports": ["submission"]}],
    [{"addresses": ["198.51.100.10", "2001:db8:25::10"]}, {"addresses": ["loopback"], "ports": [25, 587]}],
    [{"addresses": ["loopback"], "ports": ["smtp"]}],
    [{"addresses": ["0.0.0.0", "::1"], "ports": [2525]}],
]
REFUSALS_ALLOWED = ("no_default_msa", "leave no active DAEMON_OPTIONS", "already has daemons that cannot all bind", "bindv6only=1",
                    "already has a daemon that cannot bind", "IPv6 is off")


# --- every layout, every intent, every bindv6only ---------------------------------------

@pytest.mark.parametrize("bindv6only", [False, True, None], ids=["v6only0", "v6only1", "ipv6off"])
@pytest.mark.parametrize("intent", INTENTS, ids=["all", "all+submission", "literals", "loopback", "port2525"])
@pytest.mark.parametrize("path", LAYOUT_FILES, ids=lambda path: path.parent.name + "/" + path.name)
def test_every_layout_plans_to_exactly_the_intended_sockets(path, intent, bindv6only):
    document = Document.parse(path.read_text())
    try:
        check_plan(document, intent, bindv6only)
    except ListenPlanError as error:
        assert any(text in str(error) for text in REFUSALS_ALLOWED), str(error)
        expected_refusals = {("conflicting.mc", 0), ("conflicting.mc", 3), ("conflicting.mc", 4),
                             ("slackware-no-daemons.mc", 1), ("slackware-no-daemons.mc", 2),
                             ("freebsd.mc", 1), ("freebsd.mc", 2), ("freebsd.mc", 4),
                             ("netinet6-no-daemons.mc", 4)}
        if bindv6only is None:
            return  # inet6 entries the plan leaves alone cannot bind without IPv6
        assert (path.name, INTENTS.index(intent)) in expected_refusals, str(error)


# --- decisions on the stock layouts -----------------------------------------------------

def test_debian_all_with_bindv6only_0_uncomments_the_ipv6_example_on_any_and_comments_out_mta_v4():
    document = layout("debian-12.mc")
    plan, after = check_plan(document, [{"addresses": ["all"]}], False)
    assert [(daemon["name"], daemon["state"], daemon["family"], daemon["addr"]) for daemon in plan.daemons] == [
        ("MTA-v6", "present", "inet6", "::"), ("MTA-v4", "commented", "inet", "127.0.0.1")]
    assert sorted(changed_lines(document, after)) == [
        "+ DAEMON_OPTIONS(``Family=inet6, Name=MTA-v6, Port=smtp, Addr=::'')dnl",
        "+ dnl DAEMON_OPTIONS(``Family=inet, Name=MTA-v4, Port=smtp, Addr=127.0.0.1'')dnl",
        "- DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl",
        "- dnl DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl",
    ]
    assert plan.sockets == [
        {"name": "MTA-v6", "family": "inet6", "address": "::", "port": 25, "serves": ["inet", "inet6"], "key": ":: 25"},
        {"name": "MSP-v4", "family": "inet", "address": "127.0.0.1", "port": 587, "serves": ["inet"],
         "key": "127.0.0.1 587"}]
    assert any("one inet6 daemon on ::" in reason for reason in plan.reasons)
    assert any("port 587 is not in what to listen on: MSP-v4 left as it is" == reason for reason in plan.reasons)


def test_red_hat_stock_file_binds_by_socket_not_by_name():
    document = layout("redhat.mc")
    plan, after = check_plan(document, [{"addresses": ["all"]}], False)
    assert [(daemon["name"], daemon["state"]) for daemon in plan.daemons] == [("MTA-v6", "present"),
                                                                              ("MTA", "commented")]
    assert "DAEMON_OPTIONS(``port=smtp, Addr=::, Name=MTA-v6, Family=inet6'')dnl" in after.render()
    plan, after = check_plan(document, [{"addresses": ["all"]}], True)
    assert [(daemon["name"], daemon["addr"]) for daemon in plan.daemons] == [("MTA", "0.0.0.0"), ("MTA-v6", "::")]


def test_submission_gets_its_ipv6_twin_with_the_same_modifiers():
    text = (LAYOUTS / "debian-12.mc").read_text()
    template = "dnl DAEMON_OPTIONS(`Family=inet6, Name=MSP-v6, Port=submission, M=Ea, Addr=::1')dnl\n"
    document = Document.parse(text.replace(template, ""))
    plan, _after = check_plan(document, [{"addresses": ["loopback"], "ports": [587]}], False)
    assert plan.daemons[-1] == {"name": "MSA-v6", "state": "present", "family": "inet6", "addr": "::1",
                                "port": "submission", "modifiers": "Ea", "options": {}}
    assert "new daemon MSA-v6 for inet6 on ::1 port 587, with Modifiers=Ea from MSP-v4" in plan.reasons


def test_rebinding_keeps_name_modifiers_and_extra_options():
    document = Document.parse("FEATURE(`no_default_msa')dnl\nDAEMON_OPTIONS(`Name=sub, Port=587, Addr=127.0.0.1, M=Ea, "
                              "InputMailFilters=clamav, ReceiveSize=4096')dnl\n")
    plan, after = check_plan(document, [{"addresses": ["198.51.100.10"], "ports": [587]}], True)
    assert plan.daemons == [{"name": "sub", "state": "present", "family": None, "addr": "198.51.100.10",
                             "port": "587", "modifiers": "Ea",
                             "options": {"InputMailFilters": "clamav", "ReceiveSize": "4096"}}]
    assert "Name=sub, Port=587, Addr=198.51.100.10, M=Ea, InputMailFilters=clamav, ReceiveSize=4096" in after.render()


def test_freebsd_layout_already_matches_all_with_bindv6only_1():
    document = layout("freebsd.mc")
    plan, after = check_plan(document, [{"addresses": ["all"]}], True)
    assert after.render() == document.render()
    assert [daemon["name"] for daemon in plan.daemons] == ["IPv4", "IPv6"]
    plan, _after = check_plan(document, [{"addresses": ["all"]}], False)
    assert [(daemon["name"], daemon["state"]) for daemon in plan.daemons] == [("IPv6", "present"),
                                                                              ("IPv4", "commented")]


def test_file_without_daemons_takes_over_the_implicit_mta():
    document = layout("slackware-no-daemons.mc")
    plan, after = check_plan(document, [{"addresses": ["all"]}], False)
    assert plan.daemons == [{"name": "MTA", "state": "present", "family": "inet6", "addr": "::", "port": "smtp",
                             "modifiers": None, "options": {}}]
    assert changed_lines(document, after) == ["+ DAEMON_OPTIONS(``Name=MTA, Family=inet6, Port=smtp, Addr=::'')dnl"]


def test_file_without_daemons_keeps_the_implicit_mta_when_another_port_is_planned():
    document = layout("slackware-no-daemons.mc")
    plan, after = check_plan(document, [{"addresses": ["0.0.0.0", "::1"], "ports": [2525]}], False)
    assert plan.daemons[0] == {"name": "MTA", "state": "present", "family": "inet", "addr": None, "port": "smtp",
                               "modifiers": None, "options": {}}
    assert "O DaemonPortOptions=Name=MTA, Family=inet, Port=smtp" in [
        line.replace("DAEMON_OPTIONS(``", "O DaemonPortOptions=").replace("'')dnl", "")
        for line in after.render().splitlines()]


def test_the_implicit_dual_stack_pair_that_cannot_bind_becomes_one_daemon():
    document = layout("netinet6-no-daemons.mc")
    plan, after = check_plan(document, [{"addresses": ["all"]}], False)
    assert [(daemon["name"], daemon["state"]) for daemon in plan.daemons] == [("MTA-v6", "present"),
                                                                              ("MTA-v4", "absent")]
    reversed_plan = type(plan)(list(reversed(plan.daemons)), plan.reasons, plan.sockets)
    assert apply(document, reversed_plan).render() == after.render()


def test_conflicting_entries_on_a_planned_port_are_resolved_with_reasons():
    document = layout("conflicting.mc")
    plan, _after = check_plan(document, [{"addresses": ["all"]}, {"addresses": ["loopback"], "ports": [587]}],
                              False)
    states = {daemon["name"]: daemon["state"] for daemon in plan.daemons}
    assert states == {"MTA-v6": "present", "MTA-v4": "commented", "MTA-local": "commented",
                      "MSA-local": "present", "MSA-v6": "present", "MSA": "commented"}
    assert "new daemon MSA-v6 for inet6 on ::1 port 587, with Modifiers=Ea from MSA" in plan.reasons
    assert any("MTA-local (line 13) listens on inet 0.0.0.0 port 25, which is not wanted" in reason
               for reason in plan.reasons)


# --- bad intent: clear errors ------------------------------------------------------------

@pytest.mark.parametrize("intent, facts, message", [
    ("203.0.113.7", {"addresses": HOST}, '203.0.113.7 is not an address of this host, so sendmail could not '
                                         'bind it ("Cannot assign requested address"); the host has 127.0.0.1, '
                                         '::1, 198.51.100.10, 2001:db8:25::10'),
    ("mail.example.com", {}, "listen address 'mail.example.com' is neither all, loopback, an IPv4 address nor "
                             "an IPv6 address"),
    ("300.1.2.3", {}, "'300.1.2.3' is neither all, loopback"),
    ({"addresses": "all", "ports": [0]}, {}, "port 0 is not a port: use a number from 1 to 65535 or one of"),
    ({"addresses": "all", "ports": ["65536"]}, {}, "port '65536' is not a port"),
    ({"addresses": "all", "ports": ["smtpx"]}, {}, "port 'smtpx' is not a port"),
    ({"addresses": "all", "ports": [True]}, {}, "port True is not a port"),
    (["::", "127.0.0.1"], {}, "port 25: :: (every IPv6 address) with 127.0.0.1 can only be bound with "
                              "net.ipv6.bindv6only=1"),
    ("::", {}, "with no IPv4 address can only be bound with net.ipv6.bindv6only=1"),
    ("2001:db8:25::10", {"bindv6only": None}, "IPv6 is off on this host"),
    ("fe80::1", {}, "is link-local: it needs a zone"),
    ("::ffff:198.51.100.10", {}, "write the IPv4 address 198.51.100.10 instead"),
    ([], {}, "what to listen on is empty"),
    ({"addresses": [], "ports": [25]}, {}, "has no addresses"),
    ({"address": "all"}, {}, "unknown key(s) address"),
])
def test_bad_intent_is_refused_with_a_clear_message(intent, facts, message):
    with pytest.raises(ListenPlanError) as error:
        plan_listen_document(layout("debian-12.mc"), intent, dict({"bindv6only": False}, **facts))
    assert message in str(error.value)


def test_existing_entries_that_cannot_bind_on_other_ports_are_named():
    with pytest.raises(ListenPlanError) as error:
        plan_listen_document(layout("conflicting.mc"), "all", {"bindv6only": False})
    assert str(error.value) == (
        "the file already has daemons that cannot all bind: MSA (inet on 0.0.0.0 port 587) and MSA-local "
        "(inet on 127.0.0.1 port 587) want the same socket under net.ipv6.bindv6only=0. What to listen on does "
        "not mention port 587, so the plan would leave them as they are; add port 587 to what to listen on to "
        "have them replaced, or fix the entries first")
    with pytest.raises(ListenPlanError) as error:
        plan_listen_document(layout("short-keys.mc"), {"addresses": "loopback", "ports": [587]},
                             {"bindv6only": False, "addresses": ["127.0.0.1", "::1", "198.51.100.99"]})
    assert "smtp4 (inet on 198.51.100.10 port 25), line 6: the host has no address 198.51.100.10" in str(error.value)


def test_default_msa_that_daemon_options_cannot_remove_is_named_with_the_fix():
    with pytest.raises(ListenPlanError) as error:
        plan_listen_document(layout("slackware-no-daemons.mc"), {"addresses": "loopback", "ports": [587]},
                             {"bindv6only": False})
    assert "MSA (implicit, the file has no FEATURE(`no_default_msa')" in str(error.value)
    assert "Add FEATURE(`no_default_msa') (dualstack.mta.sendmail_mc feature=no_default_msa)" in str(error.value)


def test_entry_with_a_host_name_on_a_planned_port_is_refused():
    document = Document.parse("DAEMON_OPTIONS(`Name=MTA, Addr=mx.example.com')dnl\n")
    with pytest.raises(ListenPlanError, match="binds mx.example.com on port 25, which is not an IP address"):
        plan_listen_document(document, "all", {"bindv6only": False})


def test_entries_come_from_the_file_and_the_implicit_defaults():
    entries = entries_from_document(layout("slackware-no-daemons.mc"))
    described = [(entry.name, entry.state, entry.fixed) for entry in entries]
    assert described == [("MTA", "implicit", False), ("MSA", "implicit", True)]
    assert plan_listen(entries, "all", {"bindv6only": True}).daemons[0]["name"] == "MTA"


# --- property: random layouts and intents ------------------------------------------------

ADDRESSES = [None, "127.0.0.1", "198.51.100.10", "::1", "2001:db8:25::10", "::"]
ENTRY = st.fixed_dictionaries({
    "family": st.sampled_from([None, "inet", "inet6"]),
    "addr": st.sampled_from(ADDRESSES),
    "port": st.sampled_from([None, "smtp", "587", "submission", "2525"]),
    "modifiers": st.sampled_from([None, "Ea", "O"]),
    "commented": st.booleans(),
})
INTENT_ITEM = st.fixed_dictionaries({
    "addresses": st.lists(st.sampled_from(["all", "loopback", "198.51.100.10", "2001:db8:25::10", "0.0.0.0", "::",
                                           "127.0.0.1", "::1"]), min_size=1, max_size=3),
    "ports": st.lists(st.sampled_from([25, "submission", 2525]), min_size=1, max_size=2),
})


def random_layout(entries, no_default_msa):
    lines = ["include(`/usr/share/sendmail/cf/m4/cf.m4')dnl", "OSTYPE(`debian')dnl"]
    if no_default_msa:
        lines.append("FEATURE(`no_default_msa')dnl")
    for number, entry in enumerate(entries):
        family = entry["family"]
        addr = entry["addr"]
        if addr and family != "inet6" and ":" in addr:
            family = "inet6"
        if addr and family == "inet6" and ":" not in addr:
            addr = None
        fields = [f"Name=D{number}"]
        fields += [f"Family={family}"] if family else []
        fields += [f"Addr={addr}"] if addr else []
        fields += ["Port={}".format(entry["port"])] if entry["port"] else []
        fields += ["M={}".format(entry["modifiers"])] if entry["modifiers"] else []
        lines.append("{}DAEMON_OPTIONS(`{}')dnl".format("dnl " if entry["commented"] else "", ", ".join(fields)))
    lines.append("MAILER(`smtp')dnl")
    return Document.parse("\n".join(lines) + "\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(ENTRY, max_size=6), no_default_msa=st.booleans(),
       intent=st.lists(INTENT_ITEM, min_size=1, max_size=2), bindv6only=st.sampled_from([False, True, None]))
def test_any_plan_binds_and_listens_on_exactly_the_intended_sockets(entries, no_default_msa, intent, bindv6only):
    document = random_layout(entries, no_default_msa)
    try:
        check_plan(document, intent, bindv6only)
        event("planned")
    except ListenPlanError as error:
        event("refused")
        assert any(text in str(error) for text in REFUSALS_ALLOWED), str(error)


def test_daemons_that_share_a_name_are_planned_by_the_socket_they_bind():
    # sendmail accepts two daemons called MTA: Name is only a label in its logs.
    document = Document.parse(
        "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nOSTYPE(`debian')dnl\nFEATURE(`no_default_msa')dnl\n"
        "DAEMON_OPTIONS(`Port=587,Addr=0.0.0.0, Name=MTA')dnl\n"
        "DAEMON_OPTIONS(`Port=25,Addr=0.0.0.0, Name=MTA')dnl\n"
        "MAILER(`smtp')dnl\n")
    plan, after = check_plan(document, [{"addresses": ["all"]}], False)
    assert [daemon.get("position") for daemon in plan.daemons if daemon["name"] == "MTA"] == [1]
    lines = after.render().splitlines()
    assert "DAEMON_OPTIONS(`Port=587,Addr=0.0.0.0, Name=MTA')dnl" in lines
    assert "dnl DAEMON_OPTIONS(``Port=25, Addr=0.0.0.0, Name=MTA'')dnl" in lines
