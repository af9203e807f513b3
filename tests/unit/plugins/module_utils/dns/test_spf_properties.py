# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""No input makes the SPF evaluation or the readiness checks raise.

Random and garbled records, zones (with timeouts and answers that are not
addresses), macros, sender and HELO names and client addresses of both
families go through the evaluator; the result is always one of RFC 7208's.
"""

from __future__ import annotations

import ipaddress
import typing as t

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.dualstack.mta.plugins.module_utils.dns.mail_dns import check_address
from ansible_collections.dualstack.mta.plugins.module_utils.dns.spf import (
    MAX_ADDRESS_NAMES,
    MAX_LOOKUPS,
    RESULTS,
    DnsTempError,
    PermError,
    check_host,
    parse_record,
)

TIMEOUT = "timeout"
NAMES = ["test.example", "a.test.example", "b.test.example", "mx.test.example", "x", "", "A.Test.Example."]
# At most MAX_LOOKUPS + 1 terms run (the last one fails the limit); each asks for one
# record or name list and at most MAX_ADDRESS_NAMES addresses; every include or
# redirect also fetches a TXT record, and %{p} is resolved once.
MAX_QUERIES = (MAX_LOOKUPS + 1) * (2 + MAX_ADDRESS_NAMES) + 1 + MAX_ADDRESS_NAMES


class RandomDns:
    """A DnsLookup over a generated zone; counts queries."""

    def __init__(self, zone: dict[tuple[str, str], t.Any]) -> None:
        self.zone = zone
        self.queries = 0

    def lookup(self, name: str, rdtype: str) -> list[str]:
        self.queries += 1
        answer = self.zone.get((name.lower().rstrip("."), rdtype), [])
        if answer == TIMEOUT:
            raise DnsTempError("timed out")
        return list(answer)


printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
anything = st.characters(blacklist_categories=("Cs",))
addresses = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=4).map(lambda a: f"::ffff:{a}"),  # IPv4-mapped: checked as IPv4
    st.sampled_from(["192.0.2.1", "2001:db8::1", "0.0.0.0", "::", "255.255.255.255"]),
)
names = st.one_of(st.sampled_from(NAMES), st.text(printable, max_size=12), st.text(anything, max_size=8))
macro = st.builds(
    "%{{{}{}{}{}}}".format,
    st.sampled_from("slodiphvcrtaSLODIPHVCRTX"),
    st.sampled_from(["", "0", "1", "2", "99", "007"]),
    st.sampled_from(["", "r", "R"]),
    st.sampled_from(["", ".", "-", "+,/_=", "x"]),
)
domain_spec = st.lists(st.one_of(names, macro, st.sampled_from(["%%", "%_", "%-", "%", ".", ".com", "%{", "}"])),
                       max_size=4).map("".join)
cidr = st.sampled_from(["", "/0", "/8", "/24", "/32", "/33", "/64", "/128", "/129", "//64", "/24//64", "/024", "/"])
ip_literal = st.one_of(st.ip_addresses().map(str), st.sampled_from(["1.2.3", "::1.1.1.1", "fe80::1%eth0", "1.2.3.4:25", "x"]))
target = st.one_of(
    st.sampled_from(NAMES[:4]),
    st.sampled_from(["%{d}", "%{p}.test.example", "%{ir}.%{v}.test.example", "%{l}.a.test.example", "%{h}",
                     "%{o}", "%{d2}", "%{s}.b.test.example", "%{P}", "%{H}.test.example", "%{i}.mx.test.example"]),
)
qualifier = st.sampled_from(["", "+", "-", "~", "?"])
good_term = st.one_of(
    st.builds("{}{}".format, qualifier, st.sampled_from(["all", "a", "mx", "ptr", "a/24//64", "mx//0"])),
    st.builds("{}{}:{}{}".format, qualifier, st.sampled_from(["a", "mx", "ptr", "include", "exists"]), target,
              st.sampled_from(["", "", "/0", "/24", "//64", "/16//48"])),
    st.builds("{}ip4:{}/{}".format, qualifier, st.ip_addresses(v=4), st.integers(0, 32)),
    st.builds("{}ip6:{}/{}".format, qualifier, st.ip_addresses(v=6), st.integers(0, 128)),
    st.builds("{}={}".format, st.sampled_from(["redirect", "exp"]), target),
)
bad_term = st.one_of(
    st.builds("{}{}:{}{}".format, st.sampled_from(["", "+", "-", "~", "?", "!"]),
              st.sampled_from(["a", "mx", "ptr", "include", "exists", "A", "foo"]), domain_spec, cidr),
    st.builds("{}{}{}".format, qualifier, st.sampled_from(["a", "mx", "ptr", "all", "include", "exists", "ip4", "ip6"]), cidr),
    st.builds("{}:{}{}".format, st.sampled_from(["ip4", "ip6", "-ip4", "~ip6"]), ip_literal, cidr),
    st.builds("{}={}".format, st.sampled_from(["redirect", "exp", "moo", "1up", ""]), domain_spec),
    st.text(printable, max_size=10),
    st.text(anything, max_size=6),
)
# Mostly well-formed terms, so that evaluation gets deep; now and then a broken one.
term = st.one_of(good_term, good_term, good_term, bad_term)
good_record = st.lists(good_term, min_size=1, max_size=8).map(lambda terms: "v=spf1 " + " ".join(terms))
record = st.one_of(
    good_record, good_record,
    st.builds("{}{}".format, st.sampled_from(["v=spf1 ", "V=SPF1 ", "v=spf1", "v=spf10 ", ""]),
              st.lists(term, max_size=8).map(" ".join)),
)
good_answer = st.lists(st.one_of(st.ip_addresses().map(str), st.sampled_from(NAMES[:4])), max_size=11)
answer = st.one_of(
    good_answer, good_answer, good_answer,
    st.just(TIMEOUT),
    st.lists(st.one_of(st.ip_addresses().map(str), names, st.text(max_size=6)), max_size=12),
)


domains = st.one_of(st.just("test.example"), st.sampled_from(NAMES))


@st.composite
def zones(draw: t.Callable) -> dict:
    zone: dict[tuple[str, str], t.Any] = {}
    for name in NAMES[:4]:
        one_record = st.lists(record, min_size=1, max_size=1)
        if name == "test.example":  # where evaluation starts: a record to evaluate
            zone[(name, "TXT")] = draw(one_record)
        else:
            zone[(name, "TXT")] = draw(st.one_of(one_record, one_record, st.just(TIMEOUT), st.lists(record, max_size=2)))
        for rdtype in ("A", "AAAA", "MX", "PTR"):
            zone[(name, rdtype)] = draw(answer)
    return zone


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zones(), addresses, domains, st.one_of(names, st.text(anything, max_size=20)),
       st.one_of(names, st.text(anything, max_size=20)), st.data())
def test_check_host_always_gives_an_rfc_result(zone: dict, address: str, domain: str, sender: str, helo: str,
                                               data: st.DataObject) -> None:
    # The client's own reverse name gets random PTR answers too, so %{p} and ptr have work to do.
    reverse = ipaddress.ip_address(address)
    reverse = reverse.ipv4_mapped or reverse if reverse.version == 6 else reverse
    zone[(reverse.reverse_pointer, "PTR")] = data.draw(answer)
    dns = RandomDns(zone)
    outcome = check_host(dns, address, domain, sender=sender, helo=helo)
    assert outcome.result in RESULTS
    assert outcome.reason
    assert outcome.lookups <= MAX_LOOKUPS + 1
    assert dns.queries <= MAX_QUERIES


@settings(max_examples=300, deadline=None)
@given(st.one_of(record, st.text(anything, max_size=80)))
def test_parsing_either_gives_a_record_or_permerror(text: str) -> None:
    try:
        parse_record(text)
    except PermError as exc:
        assert str(exc)


@settings(max_examples=200, deadline=None)
@given(st.one_of(addresses, st.text(max_size=10)))
def test_a_client_that_is_not_an_address_is_a_permerror(address: str) -> None:
    outcome = check_host(RandomDns({}), address, "test.example")
    assert outcome.result in ("none", "permerror")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zones(), st.ip_addresses().map(str), st.one_of(st.none(), names), st.one_of(st.none(), names))
def test_readiness_checks_never_raise(zone: dict, address: str, sender_domain: str | None, helo: str | None) -> None:
    result = check_address(RandomDns(zone), address, sender_domain, helo)
    assert result["ptr"]["result"] in ("pass", "fail", "temperror")
    assert result["fcrdns"]["result"] in ("pass", "fail", "temperror")
    assert result["spf"]["result"] in RESULTS + ("skipped",)
    assert result["helo"]["result"] in ("pass", "fail", "temperror", "skipped")
