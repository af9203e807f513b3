# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.dualstack.mta.plugins.module_utils.dns.spf import (
    DnsTempError,
    Mechanism,
    PermError,
    check_host,
    parse_record,
)


class FakeDns:
    """DnsLookup backed by a dict {(name, rdtype): [answers]}; TEMP answers raise."""

    TEMP = object()

    def __init__(self, records: dict) -> None:
        self.records = records
        self.queries: list[tuple[str, str]] = []

    def lookup(self, name: str, rdtype: str) -> list[str]:
        self.queries.append((name, rdtype))
        answer = self.records.get((name, rdtype), [])
        if answer is self.TEMP:
            raise DnsTempError("timed out")
        return list(answer)


def spf(domain: str, text: str) -> dict:
    return {(domain, "TXT"): [text]}


ZONE = {
    **spf("example.com", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8:25::/64 -all"),
    ("mail.example.com", "A"): ["198.51.100.25"],
    ("mail.example.com", "AAAA"): ["2001:db8:aa::25"],
    ("example.com", "MX"): ["mail.example.com"],
    ("other.example.com", "A"): ["203.0.113.1"],
    ("other.example.com", "AAAA"): ["2001:db8:ff::1"],
}


def result(records: dict, address: str, domain: str = "test.example", **kwargs) -> str:
    return check_host(FakeDns({**ZONE, **records}), address, domain, **kwargs).result


# Qualifiers, ip4/ip6 and CIDR ---------------------------------------------------

@pytest.mark.parametrize(
    "record, address, expected",
    [
        ("v=spf1 ip4:192.0.2.1 -all", "192.0.2.1", "pass"),
        ("v=spf1 +ip4:192.0.2.1 -all", "192.0.2.1", "pass"),
        ("v=spf1 -ip4:192.0.2.1 +all", "192.0.2.1", "fail"),
        ("v=spf1 ~ip4:192.0.2.1", "192.0.2.1", "softfail"),
        ("v=spf1 ?ip4:192.0.2.1", "192.0.2.1", "neutral"),
        ("v=spf1 ip4:192.0.2.1", "192.0.2.2", "neutral"),  # nothing matches, no redirect
        ("v=spf1", "192.0.2.2", "neutral"),
        ("v=spf1 -all", "192.0.2.2", "fail"),
        ("v=spf1 ~all", "2001:db8::1", "softfail"),
        ("V=SPF1 IP4:192.0.2.1 -ALL", "192.0.2.1", "pass"),  # case-insensitive
        ("v=spf1  ip4:192.0.2.1   -all", "192.0.2.1", "pass"),  # repeated spaces
        ("v=spf1 ip4:192.0.2.0/24 -all", "192.0.2.200", "pass"),
        ("v=spf1 ip4:192.0.2.0/25 -all", "192.0.2.200", "fail"),
        ("v=spf1 ip4:0.0.0.0/0 -all", "203.0.113.9", "pass"),
        ("v=spf1 ip6:2001:db8:25::/64 -all", "2001:db8:25::ffff", "pass"),
        ("v=spf1 ip6:2001:db8:25::/64 -all", "2001:db8:26::1", "fail"),
        ("v=spf1 ip6:2001:db8:25::25 -all", "2001:db8:25::25", "pass"),
        ("v=spf1 ip6:2001:db8:25::25 -all", "2001:DB8:25:0:0:0:0:25", "pass"),
        # The IPv6 gap this module is for: a policy written for IPv4 only.
        ("v=spf1 ip4:192.0.2.0/24 -all", "2001:db8:25::25", "fail"),
        ("v=spf1 ip6:::/0 -all", "192.0.2.1", "fail"),
        # IPv4-mapped IPv6 addresses are checked as IPv4 (RFC 7208 5).
        ("v=spf1 ip4:192.0.2.1 -all", "::ffff:192.0.2.1", "pass"),
    ],
)
def test_ip_mechanisms_and_qualifiers(record: str, address: str, expected: str) -> None:
    assert result(spf("test.example", record), address) == expected


# a and mx, with dual CIDR -------------------------------------------------------

@pytest.mark.parametrize(
    "record, address, expected",
    [
        ("v=spf1 a:mail.example.com -all", "198.51.100.25", "pass"),
        ("v=spf1 a:mail.example.com -all", "198.51.100.26", "fail"),
        ("v=spf1 a:mail.example.com/24 -all", "198.51.100.26", "pass"),
        ("v=spf1 a:mail.example.com/24 -all", "2001:db8:aa::26", "fail"),  # the /24 is IPv4 only
        ("v=spf1 a:mail.example.com//64 -all", "2001:db8:aa::26", "pass"),
        ("v=spf1 a:mail.example.com/24//64 -all", "198.51.100.99", "pass"),
        ("v=spf1 a:mail.example.com/24//64 -all", "2001:db8:aa::99", "pass"),
        ("v=spf1 a:mail.example.com/24//64 -all", "2001:db8:ab::99", "fail"),
        ("v=spf1 a -all", "192.0.2.7", "pass"),  # a without a domain means the current domain
        ("v=spf1 a/24 -all", "192.0.2.99", "pass"),
        ("v=spf1 mx:example.com -all", "198.51.100.25", "pass"),
        ("v=spf1 mx:example.com -all", "2001:db8:aa::25", "pass"),
        ("v=spf1 mx:example.com/24//64 -all", "2001:db8:aa::1", "pass"),
        ("v=spf1 mx:example.com/24//64 -all", "198.51.100.1", "pass"),
        ("v=spf1 mx:example.com/24//64 -all", "203.0.113.1", "fail"),
        ("v=spf1 mx -all", "198.51.100.25", "fail"),  # test.example has no MX
    ],
)
def test_a_and_mx(record: str, address: str, expected: str) -> None:
    records = {**spf("test.example", record), ("test.example", "A"): ["192.0.2.7"]}
    assert result(records, address) == expected


def test_mx_with_more_than_ten_exchanges_is_permerror() -> None:
    records = {
        **spf("test.example", "v=spf1 mx -all"),
        ("test.example", "MX"): [f"mx{n}.example.com" for n in range(11)],
    }
    assert result(records, "192.0.2.1") == "permerror"


def test_exists_always_queries_a() -> None:
    records = {
        **spf("test.example", "v=spf1 exists:ok.example.com -all"),
        ("ok.example.com", "A"): ["127.0.0.2"],
    }
    dns = FakeDns({**ZONE, **records})
    assert check_host(dns, "2001:db8::1", "test.example").result == "pass"
    assert ("ok.example.com", "A") in dns.queries


def test_ptr_mechanism_needs_a_confirmed_name_in_the_domain() -> None:
    records = {
        **spf("test.example", "v=spf1 ptr -all"),
        ("1.2.0.192.in-addr.arpa", "PTR"): ["host.test.example", "host.elsewhere.example"],
        ("host.test.example", "A"): ["192.0.2.1"],
        ("host.elsewhere.example", "A"): ["192.0.2.1"],
        ("2.2.0.192.in-addr.arpa", "PTR"): ["liar.test.example"],
        ("liar.test.example", "A"): ["192.0.2.99"],
    }
    assert result(records, "192.0.2.1") == "pass"
    assert result(records, "192.0.2.2") == "fail"


# include and redirect -----------------------------------------------------------

@pytest.mark.parametrize(
    "included, expected",
    [
        ("v=spf1 ip4:192.0.2.1 -all", "pass"),  # included pass: match
        ("v=spf1 -ip4:192.0.2.1 -all", "softfail"),  # included fail: no match, go on
        ("v=spf1 ~all", "softfail"),  # included softfail: no match
        ("v=spf1 ?all", "softfail"),  # included neutral: no match
        ("v=spf1 ip4:192.0.2.1 include:", "permerror"),  # included syntax error
        (None, "permerror"),  # included domain has no SPF record
        (FakeDns.TEMP, "temperror"),
    ],
)
def test_include_semantics(included, expected: str) -> None:
    records = spf("test.example", "v=spf1 include:_spf.test.example ~all")
    if included is FakeDns.TEMP:
        records[("_spf.test.example", "TXT")] = FakeDns.TEMP
    elif included is not None:
        records.update(spf("_spf.test.example", included))
    assert result(records, "192.0.2.1") == expected


def test_include_chain() -> None:
    records = {
        **spf("test.example", "v=spf1 include:_a.test.example -all"),
        **spf("_a.test.example", "v=spf1 include:_b.test.example ~all"),
        **spf("_b.test.example", "v=spf1 ip6:2001:db8:25::/64 -all"),
    }
    assert result(records, "2001:db8:25::1") == "pass"
    assert result(records, "2001:db8:26::1") == "fail"


@pytest.mark.parametrize(
    "record, expected",
    [
        ("v=spf1 redirect=example.com", "pass"),
        ("v=spf1 -ip4:192.0.2.1 redirect=example.com", "fail"),  # a matching mechanism wins
        ("v=spf1 redirect=example.com -all", "fail"),  # redirect only applies when nothing matched
        ("v=spf1 redirect=nospf.example.com", "permerror"),  # target without SPF
        ("v=spf1 redirect=example.com redirect=example.com", "permerror"),
    ],
)
def test_redirect(record: str, expected: str) -> None:
    assert result(spf("test.example", record), "192.0.2.1") == expected


def test_redirect_evaluates_in_the_target_domain() -> None:
    records = {
        **spf("test.example", "v=spf1 redirect=_spf.test.example"),
        **spf("_spf.test.example", "v=spf1 a -all"),
        ("_spf.test.example", "A"): ["192.0.2.1"],
        ("test.example", "A"): ["192.0.2.2"],
    }
    assert result(records, "192.0.2.1") == "pass"
    assert result(records, "192.0.2.2") == "fail"


# Limits -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "terms, expected",
    [
        (["a:other.example.com"] * 10, "pass"),
        (["a:other.example.com"] * 11, "permerror"),
        (["mx:example.com"] * 11, "permerror"),
        (["include:example.com"] * 11, "permerror"),
        (["a:other.example.com", "mx:example.com"] * 3 + ["include:example.com"] * 4, "pass"),
        (["a:other.example.com", "mx:example.com"] * 3 + ["include:example.com"] * 5, "permerror"),
    ],
)
def test_ten_lookup_limit(terms: list, expected: str) -> None:
    # None of the terms match 192.0.2.200, so every one is evaluated before ip4.
    record = "v=spf1 {} ip4:192.0.2.200 -all".format(" ".join(terms))
    records = {**spf("test.example", record), **spf("example.com", "v=spf1 ip4:198.51.100.0/24 -all")}
    outcome = check_host(FakeDns({**ZONE, **records}), "192.0.2.200", "test.example")
    assert outcome.result == expected
    if expected == "permerror":
        assert "more than 10 DNS lookups" in outcome.reason


def test_lookup_limit_counts_across_includes() -> None:
    records = {**spf("test.example", "v=spf1 include:l0.example -all")}
    for n in range(11):
        records.update(spf(f"l{n}.example", f"v=spf1 include:l{n + 1}.example -all"))
    assert result(records, "192.0.2.1") == "permerror"


def test_ip_mechanisms_cost_no_lookups() -> None:
    record = "v=spf1 " + " ".join([f"ip4:203.0.113.{n}" for n in range(20)]) + " ip4:192.0.2.1 -all"
    outcome = check_host(FakeDns(spf("test.example", record)), "192.0.2.1", "test.example")
    assert (outcome.result, outcome.lookups) == ("pass", 0)


def test_more_than_two_void_lookups_is_permerror() -> None:
    record = "v=spf1 a:void1.example a:void2.example a:void3.example ip4:192.0.2.1 -all"
    assert result(spf("test.example", record), "192.0.2.1") == "permerror"
    record = "v=spf1 a:void1.example a:void2.example ip4:192.0.2.1 -all"
    assert result(spf("test.example", record), "192.0.2.1") == "pass"


# Records: none, several, temperror ---------------------------------------------

@pytest.mark.parametrize(
    "txt, expected",
    [
        ([], "none"),
        (["google-site-verification=abc"], "none"),
        (["v=spf10 -all"], "none"),  # not version 1
        (["v=spf1 -all", "v=spf1 +all"], "permerror"),
        (["v=spf1 -all", "unrelated"], "fail"),
        (FakeDns.TEMP, "temperror"),
    ],
)
def test_record_selection(txt, expected: str) -> None:
    assert result({("test.example", "TXT"): txt}, "192.0.2.1") == expected


def test_invalid_domain_is_none() -> None:
    assert result({}, "192.0.2.1", domain="localhost") == "none"


def test_temperror_in_a_mechanism() -> None:
    records = {**spf("test.example", "v=spf1 a:slow.example -all"), ("slow.example", "A"): FakeDns.TEMP}
    outcome = check_host(FakeDns(records), "192.0.2.1", "test.example")
    assert outcome.result == "temperror"
    assert "timed out" in outcome.reason


# Parse errors ------------------------------------------------------------------

@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 foo -all",  # unknown mechanism
        "v=spf1 ip4 -all",
        "v=spf1 ip4:192.0.2.300 -all",
        "v=spf1 ip4:192.0.2.1/33 -all",
        "v=spf1 ip4:192.0.2.1/024 -all",
        "v=spf1 ip4:2001:db8::1 -all",
        "v=spf1 ip6:192.0.2.1 -all",
        "v=spf1 ip6:2001:db8::/129 -all",
        "v=spf1 ip6:fe80::1%eth0 -all",
        "v=spf1 a:example.com/33 -all",
        "v=spf1 a:example.com//129 -all",
        "v=spf1 a:example.com/ -all",
        "v=spf1 ptr:example.com/24 -all",
        "v=spf1 include -all",
        "v=spf1 include: -all",
        "v=spf1 exists -all",
        "v=spf1 all:example.com",
        "v=spf1 *all",
        "v=spf1 a:example -all",  # no top-level label
        "v=spf1 a:example.123 -all",  # numeric top-level label
        "v=spf1 a:%{z}.example.com -all",  # unknown macro letter
        "v=spf1 a:%{d -all",  # unterminated macro
        "v=spf1 a:50%.example.com -all",  # bare percent
        "v=spf1 exp=a.example exp=b.example -all",
        "v=spf1 redirect= -all",
    ],
)
def test_syntax_errors_are_permerror(record: str) -> None:
    with pytest.raises(PermError):
        parse_record(record)
    # The whole record is rejected, even when an earlier term would match.
    assert result(spf("test.example", record.replace("v=spf1", "v=spf1 ip4:192.0.2.1")), "192.0.2.1") == "permerror"


def test_unknown_modifiers_are_ignored() -> None:
    assert result(spf("test.example", "v=spf1 moo=cow ip4:192.0.2.1 -all"), "192.0.2.1") == "pass"


def test_parse_record_structure() -> None:
    record = parse_record("v=spf1 a/24//64 ~mx:mx.example.com//48 ip6:2001:DB8::/32 ?all redirect=spf.example.com")
    assert record.mechanisms == (
        Mechanism("+", "a", cidr4=24, cidr6=64),
        Mechanism("~", "mx", domain="mx.example.com", cidr6=48),
        Mechanism("+", "ip6", network="2001:db8::/32"),
        Mechanism("?", "all"),
    )
    assert record.redirect == "spf.example.com"
    assert str(record.mechanisms[1]) == "~mx:mx.example.com//48"


# Macros ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "spec, address, expected_query",
    [
        ("%{i}._ip.example.com", "192.0.2.1", "192.0.2.1._ip.example.com"),
        ("%{ir}.%{v}._ip.example.com", "192.0.2.1", "1.2.0.192.in-addr._ip.example.com"),
        ("%{ir}.%{v}.example.com", "2001:db8::1",
         "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.example.com"),
        ("%{l}.%{o}._u.example.com", "192.0.2.1", "joe.sender.example._u.example.com"),
        ("%{d2}._d.example.com", "192.0.2.1", "test.example._d.example.com"),
        ("%{h}._h.example.com", "192.0.2.1", "mail.sender.example._h.example.com"),
        ("%{l-}._x.example.com", "192.0.2.1", "joe._x.example.com"),
        ("%{d1r}._x.example.com", "192.0.2.1", "test._x.example.com"),
        ("%{s}._s.example.com", "192.0.2.1", "joe@sender.example._s.example.com"),
    ],
)
def test_macro_expansion(spec: str, address: str, expected_query: str) -> None:
    records = spf("test.example", f"v=spf1 exists:{spec} -all")
    records[(expected_query, "A")] = ["127.0.0.2"]
    dns = FakeDns({**ZONE, **records})
    outcome = check_host(dns, address, "test.example", sender="joe@sender.example", helo="mail.sender.example")
    assert outcome.result == "pass", (outcome, dns.queries)


# No input crashes the evaluation ------------------------------------------------

RESULTS = {"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"}
PIECES = ["a", "mx", "ptr", "all", "exists", "include", "ip4", "ip6", "redirect", "exp", ":", "=", "/", "//",
          "-", "~", "?", "+", "%{", "}", "%{ir}", "%{d2}", "%%", ".", "example.com", "mail.example.com",
          "192.0.2.1", "2001:db8::", "24", "64", "0", "999", " "]


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
    st.lists(st.sampled_from(PIECES), max_size=20).map("".join),
), st.sampled_from(["192.0.2.1", "2001:db8:25::1"]))
def test_any_record_gives_a_result(tail: str, address: str) -> None:
    outcome = check_host(FakeDns({**ZONE, **spf("test.example", "v=spf1 " + tail)}), address, "test.example")
    assert outcome.result in RESULTS


# Issue 13: records and names seen in the field ----------------------------------

@pytest.mark.parametrize(
    "record, address, expected",
    [
        # RFC 7208 5.6: bits past the prefix length are ignored, never an error.
        ("v=spf1 ip4:192.0.2.10/24 -all", "192.0.2.200", "pass"),
        ("v=spf1 ip4:192.0.2.10/24 -all", "192.0.3.1", "fail"),
        ("v=spf1 ip4:192.0.2.10/24 -all", "2001:db8::1", "fail"),
        ("v=spf1 ip4:1.1.1.1/0 -all", "203.0.113.9", "pass"),
        ("v=spf1 ip4:1.1.1.1/0 -all", "2001:db8::1", "fail"),
        ("v=spf1 ip6:::1.1.1.1/0 -all", "2001:db8::1", "pass"),
        ("v=spf1 ip6:::1.1.1.1/0 -all", "192.0.2.1", "fail"),
        ("v=spf1 ip6:::1.1.1.1/0 -all", "::ffff:192.0.2.1", "fail"),  # a mapped client is IPv4
        ("v=spf1 ip6:2001:db8:25::25/64 -all", "2001:db8:25::1", "pass"),
    ],
)
def test_networks_with_host_bits_set(record: str, address: str, expected: str) -> None:
    assert result(spf("test.example", record), address) == expected


def test_host_bits_are_cleared_in_the_parsed_network() -> None:
    record = parse_record("v=spf1 ip4:192.0.2.10/24 ip6:2001:DB8::25/64 ip4:1.1.1.1/0")
    assert [m.network for m in record.mechanisms] == ["192.0.2.0/24", "2001:db8::/64", "0.0.0.0/0"]


@pytest.mark.parametrize(
    "helo, expected",
    [
        ("OEMCOMPUTER", "fail"),  # a single label: looked up, no address, no match
        ("JUMPIN' JUPITER", "fail"),  # spaces and quotes: looked up all the same
        ("[192.0.2.1]", "fail"),  # an address literal in HELO
        ("name\\065.example", "fail"),  # a backslash stays a backslash
        ("resolving", "pass"),  # a single-label name that has an A record
        ("mail.example.com", "fail"),  # resolves, to another address
    ],
)
def test_names_from_macros_are_looked_up_not_syntax_checked(helo: str, expected: str) -> None:
    # RFC 7208 7.1 / 4.8: only the unexpanded domain-spec has to be well-formed.
    records = {**spf("test.example", "v=spf1 a:%{h} -all"), ("resolving", "A"): ["192.0.2.1"]}
    assert result(records, "192.0.2.1", helo=helo) == expected


def test_helo_check_of_a_policy_that_excludes_bare_names() -> None:
    # A policy that fails clients whose HELO has an address of its own, as in RFC 7208's examples.
    records = {
        **spf("test.example", "v=spf1 -include:_h.%{d} ip4:198.51.100.0/24 -all"),
        **spf("_h.test.example", "v=spf1 -a:%{h} +all"),
    }
    assert result(records, "198.51.100.25", helo="OEMCOMPUTER") == "fail"
    assert result(records, "198.51.100.25", helo="mail.example.com") == "pass"  # resolves to the client


def test_a_name_too_long_after_expansion_loses_labels_on_the_left() -> None:
    sender = "joe@" + ".".join([f"l{n:02d}" for n in range(60)]) + ".example"  # 248 characters
    records = spf("test.example", "v=spf1 exists:%{o}.ok.test.example -all")
    expanded = (sender.split("@")[1] + ".ok.test.example")
    while len(expanded) > 253:
        expanded = expanded.split(".", 1)[1]
    records[(expanded, "A")] = ["127.0.0.2"]
    assert result(records, "192.0.2.1", sender=sender) == "pass"


@pytest.mark.parametrize(
    "term",
    [
        "a:%{c}.example.com", "exists:%{r}.example.com", "include:%{t}.example.com", "mx:%{C}.example.com",
        "ptr:%{R}.example.com", "exp=%{r}.example.com", "exp=%{t}.example.com", "redirect=%{c}.example.com",
        "moo=%{t}",
    ],
)
def test_explanation_only_macros_are_permerror_outside_explanations(term: str) -> None:
    # RFC 7208 7.1: c, r and t are for explanation text only.
    with pytest.raises(PermError, match="allowed only in explanation text"):
        parse_record(f"v=spf1 {term} -all")
    assert result(spf("test.example", "v=spf1 -all " + term), "192.0.2.1") == "permerror"


@pytest.mark.parametrize(
    "spec",
    ["%{d}", "%{d}.com", "%{d}.com.", "x.%{d2r-}", "example.com", "example.xn--zckzah", ".com", "x%%", "x%_", "x%-",
     "foo:bar/baz.example.com"],
)
def test_well_formed_domain_specs(spec: str) -> None:
    parse_record(f"v=spf1 exists:{spec} -all")


@pytest.mark.parametrize(
    "spec",
    ["%{d}com", "example", "example.", "example.123", "example.-com", "example.com:8080", "%{d0}.example.com",
     "%{x}.example.com", "%{d", "50%.example.com", "%(ir).example.com", "a b.example.com", "é.example.com"],
)
def test_malformed_domain_specs(spec: str) -> None:
    with pytest.raises(PermError):
        parse_record(f"v=spf1 exists:{spec} -all")


CLIENT4 = "192.0.2.1"
PTR4 = "1.2.0.192.in-addr.arpa"


@pytest.mark.parametrize(
    "ptr, forward, expected_query",
    [
        # The domain itself is preferred, then a subdomain, then any validated name.
        (["mail.other.example", "test.example", "mx.test.example"], ["mail.other.example", "test.example", "mx.test.example"],
         "test.example._p.example.com"),
        (["mail.other.example", "mx.test.example"], ["mail.other.example", "mx.test.example"], "mx.test.example._p.example.com"),
        (["mail.other.example"], ["mail.other.example"], "mail.other.example._p.example.com"),
        # Names that do not resolve back to the client are not validated.
        (["liar.test.example"], [], "unknown._p.example.com"),
        ([], [], "unknown._p.example.com"),
        (FakeDns.TEMP, [], "unknown._p.example.com"),  # a DNS error leaves the name unvalidated
    ],
)
def test_p_macro_is_a_validated_client_name(ptr, forward: list, expected_query: str) -> None:
    records = {**spf("test.example", "v=spf1 exists:%{p}._p.example.com -all"), (PTR4, "PTR"): ptr,
               (expected_query, "A"): ["127.0.0.2"]}
    for name in forward:
        records[(name, "A")] = [CLIENT4]
    records.setdefault(("liar.test.example", "A"), ["192.0.2.99"])
    dns = FakeDns({**ZONE, **records})
    outcome = check_host(dns, CLIENT4, "test.example")
    assert outcome.result == "pass", (outcome, dns.queries)


def test_p_macro_over_ipv6_and_its_lookup_limits() -> None:
    client = "2001:db8:25::25"
    reverse = "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.5.2.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    names = [f"n{n}.test.example" for n in range(12)]
    records = {
        **spf("test.example", "v=spf1 exists:%{p}._p.example.com -all"),
        (reverse, "PTR"): names,
        ("n11.test.example", "AAAA"): [client],  # the 12th name: past the limit of 10, never asked
        ("n11.test.example._p.example.com", "A"): ["127.0.0.2"],
        ("unknown._p.example.com", "A"): ["127.0.0.3"],
    }
    dns = FakeDns({**ZONE, **records})
    outcome = check_host(dns, client, "test.example")
    assert outcome.result == "pass"
    assert ("n10.test.example", "AAAA") not in dns.queries and ("n9.test.example", "AAAA") in dns.queries
    assert outcome.lookups == 2  # exists, and the PTR query of %{p}
    # Every %{p} expansion counts towards the limit of 10.
    record = "v=spf1 " + " ".join(["a:%{p}.x.example.com"] * 5) + " a:%{p}.y.example.com -all"
    records = {**spf("test.example", record), ("unknown.x.example.com", "A"): ["203.0.113.1"]}
    outcome = check_host(FakeDns({**ZONE, **records}), CLIENT4, "test.example")
    assert outcome.result == "permerror" and "more than 10 DNS lookups" in outcome.reason


@pytest.mark.parametrize("address", ["", "mail.example.com", "192.0.2.256", "fe80::1%eth0", "[2001:db8::1]"])
def test_a_client_that_is_not_an_address_is_permerror(address: str) -> None:
    outcome = check_host(FakeDns(ZONE), address, "example.com")
    assert outcome.result == "permerror"
    assert "is not an IP address" in outcome.reason


def test_answers_that_are_not_addresses_do_not_match() -> None:
    records = {**spf("test.example", "v=spf1 a:bad.test.example mx:bad.test.example -all"),
               ("bad.test.example", "A"): ["not-an-address", "2001:db8::1", "192.0.2.1"],
               ("bad.test.example", "MX"): ["bad.test.example"]}
    assert result(records, "192.0.2.1") == "pass"
    assert result(records, "192.0.2.2") == "fail"
