# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import ipaddress
import json

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.dns.lookup import query_name
from ansible_collections.dualstack.mta.plugins.module_utils.dns.mail_dns import (
    argument_problem,
    blocking,
    check_address,
    host_addresses,
    sending_addresses,
    sendmail_client_addresses,
    sendmail_helo_name,
)
from ansible_collections.dualstack.mta.plugins.module_utils.dns.spf import DnsTempError

TEMP = object()


class FakeDns:
    def __init__(self, records: dict) -> None:
        self.records = records

    def lookup(self, name: str, rdtype: str) -> list[str]:
        answer = self.records.get((name, rdtype), [])
        if answer is TEMP:
            raise DnsTempError("timed out")
        return list(answer)


IP_JSON = json.dumps([
    {"ifname": "lo", "addr_info": [
        {"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host"},
        {"family": "inet6", "local": "::1", "prefixlen": 128, "scope": "host"}]},
    {"ifname": "eth0", "addr_info": [
        {"family": "inet", "local": "198.51.100.25", "prefixlen": 24, "scope": "global"},
        {"family": "inet6", "local": "2001:db8:25::25", "prefixlen": 64, "scope": "global"},
        {"family": "inet6", "local": "2001:db8:25::bad", "prefixlen": 64, "scope": "global", "dadfailed": True},
        {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"}]},
    {"ifname": "eth1", "addr_info": []},
])


def test_host_addresses_keeps_global_unicast_only() -> None:
    assert host_addresses(IP_JSON) == ["198.51.100.25", "2001:db8:25::25"]


@pytest.mark.parametrize("host, bound, expected", [
    (["198.51.100.25", "2001:db8:25::25"], [], ["198.51.100.25", "2001:db8:25::25"]),
    (["198.51.100.25", "2001:db8:25::25", "2001:db8:25::26"], ["2001:db8:25::26"], ["2001:db8:25::26", "198.51.100.25"]),
    (["198.51.100.25", "2001:db8:25::25"], ["0.0.0.0", "[2001:db8:25::25]"], ["2001:db8:25::25", "198.51.100.25"]),
    # sendmail's own IPv6 spelling, and a host name (sendmail accepts one): the name is left out.
    (["198.51.100.25", "2001:db8:25::25"], ["IPv6:2001:db8:25::26"], ["2001:db8:25::26", "198.51.100.25"]),
    (["198.51.100.25", "2001:db8:25::25"], ["mail.example.com"], ["198.51.100.25", "2001:db8:25::25"]),
])
def test_sending_addresses(host: list, bound: list, expected: list) -> None:
    assert sending_addresses(host, bound) == expected


SENDMAIL_CF = """\
# O ClientPortOptions=Family=inet, Addr=192.0.2.1
#O ClientPortOptions=Family=inet, Address=0.0.0.0
O ClientPortOptions=Family=inet, Addr=198.51.100.25
O ClientPortOptions=Family=inet6, Address=2001:db8:25::25, Name=MTA-v6
Djmail.example.com
DMexample.com
"""


def test_sendmail_settings() -> None:
    assert sendmail_client_addresses(SENDMAIL_CF) == ["198.51.100.25", "2001:db8:25::25"]
    assert sendmail_helo_name(SENDMAIL_CF) == "mail.example.com"
    assert sendmail_helo_name("Dj$w.Foo.COM\n") is None  # a macro: let the FQDN default stand
    assert sendmail_client_addresses("") == []


@pytest.mark.parametrize("addresses, resolver, fail_on, sender, problem", [
    (["2001:db8::1"], [], ["none"], None, None),
    (["mail.example.com"], [], ["none"], None, "addresses: 'mail.example.com' is not an IP address"),
    ([], ["dns.example.com"], ["none"], None, "resolver: 'dns.example.com' is not an IP address"),
    ([], [], ["none", "ptr"], None, "fail_on: 'none' cannot be combined with checks (none, ptr)"),
    ([], [], ["spf"], None, "fail_on includes spf, which needs sender_domain"),
    ([], [], ["spf"], "example.com", None),
    (["fe80::1%eth0"], [], ["none"], None, "addresses: 'fe80::1%eth0' is not an IP address"),
])
def test_argument_problem(addresses, resolver, fail_on, sender, problem) -> None:
    assert argument_problem(addresses, resolver, fail_on, sender) == problem


@pytest.mark.parametrize("port, timeout, problem", [
    (53, 5.0, None),
    (0, 5.0, "resolver_port: 0 is not a port number (1-65535)"),
    (65536, 5.0, "resolver_port: 65536 is not a port number (1-65535)"),
    (53, 0.0, "timeout: 0 must be more than 0 seconds"),
    (53, -1.0, "timeout: -1 must be more than 0 seconds"),
    (53, float("nan"), "timeout: nan must be more than 0 seconds"),
])
def test_argument_problem_port_and_timeout(port: int, timeout: float, problem) -> None:
    assert argument_problem([], [], ["none"], None, port, timeout) == problem


def test_answers_that_are_not_addresses_of_the_family_are_left_out() -> None:
    reverse = ipaddress.ip_address("2001:db8:25::25").reverse_pointer
    zone = {(reverse, "PTR"): ["mail.example.com"], ("mail.example.com", "AAAA"): ["garbage", "192.0.2.1", "2001:db8:25::25"]}
    result = check_address(FakeDns(zone), "2001:db8:25::25", None, "mail.example.com")
    assert result["fcrdns"]["result"] == "pass" and result["helo"]["result"] == "pass"


@pytest.mark.parametrize("name, labels", [
    ("mail.example.com", (b"mail", b"example", b"com", b"")),
    ("mail.example.com.", (b"mail", b"example", b"com", b"")),
    ("JUMPIN' JUPITER.example", (b"JUMPIN' JUPITER", b"example", b"")),
    ("x\\065.example", (b"x\\065", b"example", b"")),  # a backslash is not an escape here
    ("b\u00fccher.example", (b"xn--bcher-kva", b"example", b"")),
    ("a..example", None),
    ("", None),
    ("x" * 64 + ".example", None),
    (".".join(["x" * 60] * 5), None),
])
def test_query_names_are_taken_literally(name: str, labels) -> None:
    qname = query_name(name)
    assert (qname.labels if qname is not None else None) == labels


ZONE = {
    ("example.com", "TXT"): ["v=spf1 ip6:2001:db8:25::/64 -all"],
    (ipaddress.ip_address("2001:db8:25::25").reverse_pointer, "PTR"): ["old.example.com", "mail.example.com"],
    ("old.example.com", "AAAA"): ["2001:db8:99::1"],
    ("mail.example.com", "AAAA"): ["2001:db8:25::25"],
}


def test_one_confirmed_ptr_name_is_enough() -> None:
    result = check_address(FakeDns(ZONE), "2001:db8:25::25", "example.com", "mail.example.com")
    assert result["passed"] and result["failed"] == []
    assert result["ptr"]["names"] == ["mail.example.com", "old.example.com"]
    assert result["fcrdns"]["names"] == ["mail.example.com"]


def test_temperror_when_no_ptr_name_confirms() -> None:
    zone = {**ZONE, ("mail.example.com", "AAAA"): TEMP}
    result = check_address(FakeDns(zone), "2001:db8:25::25", None, "mail.example.com")
    assert result["fcrdns"]["result"] == "temperror"
    assert result["helo"]["result"] == "temperror"
    assert result["spf"]["result"] == "skipped"
    assert result["failed"] == ["fcrdns", "helo"]


def test_blocking_only_lists_checks_in_fail_on() -> None:
    zone = {**ZONE, ("example.com", "TXT"): ["v=spf1 -all"]}
    results = [check_address(FakeDns(zone), "2001:db8:25::25", "example.com", "MAIL.example.com.")]
    assert results[0]["failed"] == ["spf"]
    assert blocking(results, ["ptr", "helo"]) == []
    assert blocking(results, ["spf"]) == ["2001:db8:25::25: spf fail: 2001:db8:25::25 matched -all in example.com"]


def test_helo_is_temperror_when_the_ptr_lookup_times_out() -> None:
    zone = {**ZONE, (ipaddress.ip_address("2001:db8:25::25").reverse_pointer, "PTR"): TEMP}
    result = check_address(FakeDns(zone), "2001:db8:25::25", "example.com", "mail.example.com")
    assert [result[c]["result"] for c in ("ptr", "fcrdns", "spf", "helo")] == ["temperror", "temperror", "pass", "temperror"]
