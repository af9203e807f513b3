"""Readiness of one host from the text its tools print."""

from __future__ import annotations

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.readiness import facts

# ss -ltnH on a sendmail host with one inet6 daemon on :: (bindv6only=0) and the MSP on loopback,
# a postfix host with inet_protocols = all, and one with ipv4 only.
SS_SENDMAIL = """\
LISTEN 0      4096       127.0.0.1:587        0.0.0.0:*
LISTEN 0      4096               *:25               *:*
LISTEN 0      4096      127.0.0.54:53         0.0.0.0:*
"""
SS_POSTFIX_BOTH = """\
LISTEN 0      100          0.0.0.0:25         0.0.0.0:*
LISTEN 0      100             [::]:25            [::]:*
"""
SS_POSTFIX_V4 = "LISTEN 0      100          0.0.0.0:25         0.0.0.0:*\n"

SENDMAIL_CF = """\
DZ8.17.1.9
O DaemonPortOptions=Family=inet6, Name=MTA-v6, Port=smtp, Addr=::
O DaemonPortOptions=Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1
O DaemonPortOptions=Family=local, Name=LOCAL, Addr=/run/sm.sock
O ClientPortOptions=Family=inet6, Name=OUT-v6, Addr=2001:db8:25::7
"""


def test_ss_wildcard_star_takes_both_families_and_brackets_take_ipv6_only():
    listening = facts.parse_ss(SS_SENDMAIL + SS_POSTFIX_BOTH)
    assert {"address": "::", "port": 25, "families": ["ipv4", "ipv6"]} in listening
    assert {"address": "::", "port": 25, "families": ["ipv6"]} in listening
    assert {"address": "127.0.0.1", "port": 587, "families": ["ipv4"]} in listening


@pytest.mark.parametrize("ss, family, expected", [
    (SS_SENDMAIL, "ipv4", [":: 25"]),
    (SS_SENDMAIL, "ipv6", [":: 25"]),
    (SS_POSTFIX_V4, "ipv6", []),
    ("LISTEN 0 100 127.0.0.1:25 0.0.0.0:*\nLISTEN 0 100 [::1]:25 [::]:*\n", "ipv4", []),
    ("LISTEN 0 100 [::ffff:198.51.100.7]:25 [::]:*\n", "ipv4", ["::ffff:c633:6407 25"]),
])
def test_loopback_does_not_receive_mail_from_other_hosts(ss, family, expected):
    assert facts.receiving(facts.parse_ss(ss), family) == expected


def test_sendmail_cf_gives_version_sockets_on_mail_ports_and_pins():
    assert facts.sendmail_version(SENDMAIL_CF) == "8.17.1.9"
    assert facts.sendmail_configured(SENDMAIL_CF) == ["127.0.0.1 587", ":: 25"]
    assert facts.sendmail_pins(SENDMAIL_CF) == {"ipv6": "2001:db8:25::7"}


def test_only_snat_rules_tagged_by_the_outbound_role_count():
    rules = """\
-P POSTROUTING ACCEPT
-A POSTROUTING -s 198.51.100.7/32 -p tcp -m tcp --dport 25 -m comment --comment "dualstack.mta outbound" -j SNAT --to-source 198.51.100.8
-A POSTROUTING -s 10.0.0.0/8 -j SNAT --to-source 198.51.100.9
"""
    assert facts.snat_sources(rules) == {"ipv4": "198.51.100.8"}


def test_route_source_is_the_prefsrc_of_ip_route_get():
    out = '[{"dst":"203.0.113.25","gateway":"198.51.100.1","dev":"eth0","prefsrc":"198.51.100.7","flags":[],"uid":0,"cache":[]}]'
    assert facts.route_source(out) == "198.51.100.7"
    assert facts.route_source("") is None


LOCAL = ["198.51.100.7", "2001:db8:25::7", "2001:db8:25::8"]


def test_outbound_prefers_snat_then_pin_then_kernel_and_says_when_they_differ():
    snat = facts.outbound("ipv6", "2001:db8:25::8", "smtp_bind_address6", "2001:db8:25::9", "2001:db8:25::7", "", "2001:db8:ffff::25", LOCAL)
    assert (snat["sending"], snat["result"], snat["agree"]) == ("2001:db8:25::9", "pass", False)
    pinned = facts.outbound("ipv6", "2001:db8:25::8", "smtp_bind_address6", None, "2001:db8:25::7", "", "2001:db8:ffff::25", LOCAL)
    assert pinned["detail"] == ("leaves from 2001:db8:25::8 (smtp_bind_address6 2001:db8:25::8); "
                                "the kernel alone would use 2001:db8:25::7")


def test_a_pin_that_is_not_a_local_address_fails_with_the_host_addresses_as_fix():
    result = facts.outbound("ipv6", "2001:db8:25::99", "ClientPortOptions Addr", None, "2001:db8:25::7", "", "x", LOCAL)
    assert result["result"] == "fail"
    assert result["detail"] == "ClientPortOptions Addr pins 2001:db8:25::99, which is not an address of this host"
    assert "2001:db8:25::7, 2001:db8:25::8" in result["fix"]


def test_no_route_fails_and_a_disabled_family_fails_with_its_reason():
    none = facts.outbound("ipv6", None, "x", None, None, "RTNETLINK answers: Network is unreachable", "2001:db8:ffff::25", LOCAL)
    assert none["detail"] == "no ipv6 route to 2001:db8:ffff::25: RTNETLINK answers: Network is unreachable"
    off = facts.outbound("ipv6", None, "x", None, "2001:db8:25::7", "", "d", LOCAL, "inet_protocols = ipv4: postfix sends no ipv6 mail")
    assert (off["result"], off["sending"]) == ("fail", None)


def test_listen_check_names_the_configured_socket_that_did_not_come_up():
    check = facts.listen_check("sendmail", "ipv6", [":: 25"], facts.parse_ss(SS_POSTFIX_V4))
    assert check == {"result": "fail", "detail": "configured for [::]:25 but nothing listens there",
                     "fix": "restart sendmail and read its log (journalctl -u sendmail): the configured socket did not come up"}


def test_postfix_on_ipv4_only_gets_the_inet_protocols_fix():
    check = facts.listen_check("postfix", "ipv6", ["0.0.0.0 25"], facts.parse_ss(SS_POSTFIX_V4))
    assert check["detail"] == "nothing takes ipv6 mail on port 25 from other hosts"
    assert "inet_protocols = all" in check["fix"] and "stop and start postfix" in check["fix"]


def test_sockets_check_shows_both_directions_of_a_mismatch():
    check = facts.sockets_check("postfix", ["0.0.0.0 25", ":: 25"], facts.parse_ss(SS_POSTFIX_V4 + "LISTEN 0 100 0.0.0.0:465 0.0.0.0:*\n"))
    assert check["detail"] == "configured but not listening: [::]:25; listening but not configured: 0.0.0.0:465"


def _dns(address, family, ptr="pass", names=("mx.example.test",), spf="pass", temp=False):
    results = {c: {"result": "temperror" if temp else "pass", "reason": "r"} for c in ("fcrdns", "spf", "helo")}
    results["spf"] = {"result": "temperror" if temp else spf, "reason": "r", "domain": "example.test"}
    results["ptr"] = {"result": "temperror" if temp else ptr, "reason": "r", "names": list(names)}
    results["helo"]["name"] = "mx.example.test"
    return dict(results, address=address, family=family)


def test_dns_cells_take_the_worst_address_and_fix_only_the_failing_one():
    cells = facts.dns_checks([_dns("198.51.100.7", "ipv4"), _dns("2001:db8:25::7", "ipv6", ptr="fail", names=())], "mx.example.test")
    assert cells["ptr"]["result"] == "fail"
    reverse = "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.5.2.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    assert cells["ptr"]["fix"] == (f"2001:db8:25::7: add {reverse}. PTR mx.example.test. in the reverse zone "
                                   "(ask whoever holds the range of 2001:db8:25::7)")
    spf = facts.dns_checks([_dns("198.51.100.7", "ipv4", spf="fail")], "mx.example.test")["spf"]
    assert "add ip4:198.51.100.7 before its all mechanism" in spf["fix"]


def test_a_dns_server_that_does_not_answer_makes_the_verdict_unknown_not_failed():
    checks = {"listen_ipv4": {"result": "pass", "detail": "", "fix": ""}}
    checks.update(facts.dns_checks([_dns("198.51.100.7", "ipv4", temp=True)], "mx.example.test"))
    verdict, reasons = facts.verdict(checks)
    assert verdict == "unknown"
    assert reasons[0] == "PTR: 198.51.100.7 temperror: r"
    assert "did not answer" in checks["ptr"]["fix"]


@pytest.mark.parametrize("results, expected", [
    (["pass", "skipped"], "pass"), (["skipped"], "skipped"), (["pass", "unknown"], "unknown"),
    (["unknown", "fail", "pass"], "fail"), ([], "skipped"),
])
def test_worst(results, expected):
    assert facts.worst(results) == expected


def test_a_host_without_mta_is_not_ready():
    row = facts.no_mta()
    assert (row["verdict"], row["reasons"]) == ("not ready", ["MTA: neither sendmail nor postfix is installed"])
