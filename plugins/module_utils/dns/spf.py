# -*- coding: utf-8 -*-
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SPF ``check_host()`` (RFC 7208) over a small DNS lookup interface.

Pure: every DNS answer comes from the ``DnsLookup`` passed in, so tests can
feed a dictionary and the module can feed dnspython.  Not implemented: the
``exp=`` explanation (only its syntax is checked) and validation for the
``%{p}`` macro, which expands to ``unknown`` as RFC 7208 allows.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t
from dataclasses import dataclass

IPAddress = t.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

MAX_LOOKUPS = 10  # RFC 7208 4.6.4: terms that query DNS
MAX_VOID_LOOKUPS = 2  # RFC 7208 4.6.4: empty or NXDOMAIN answers
MAX_ADDRESS_NAMES = 10  # RFC 7208 4.6.4: MX/PTR names looked up per mechanism

QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")


class DnsTempError(Exception):
    """The resolver gave no usable answer (timeout, SERVFAIL, refused)."""


class DnsLookup(t.Protocol):
    """What SPF and the readiness checks need from DNS.

    ``lookup`` returns the records of ``rdtype`` (A, AAAA, MX, TXT, PTR) at
    ``name`` as text: addresses, MX exchange names, TXT strings joined, PTR
    names; names lower-case without the trailing dot.  NXDOMAIN and an empty
    answer both return ``[]``; anything else that is not an answer raises
    ``DnsTempError``.
    """

    def lookup(self, name: str, rdtype: str) -> list[str]:
        ...


@dataclass(frozen=True)
class SpfResult:
    result: str  # none, neutral, pass, fail, softfail, temperror, permerror
    reason: str
    lookups: int = 0  # DNS-querying terms evaluated


@dataclass(frozen=True)
class Mechanism:
    qualifier: str
    name: str
    domain: t.Optional[str] = None  # domain-spec, macros unexpanded
    network: t.Optional[str] = None  # ip4/ip6 network
    cidr4: int = 32
    cidr6: int = 128

    def __str__(self) -> str:
        text = self.name
        if self.network:
            text += ":" + self.network
        if self.domain:
            text += ":" + self.domain
        if self.name in ("a", "mx") and self.cidr4 != 32:
            text += "/%d" % self.cidr4
        if self.name in ("a", "mx") and self.cidr6 != 128:
            text += "//%d" % self.cidr6
        return ("" if self.qualifier == "+" else self.qualifier) + text


@dataclass(frozen=True)
class Record:
    mechanisms: tuple[Mechanism, ...]
    redirect: t.Optional[str] = None
    exp: t.Optional[str] = None


class PermError(Exception):
    """The policy is broken; check_host() returns permerror."""


class TempError(Exception):
    """DNS failed; check_host() returns temperror."""


_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9._-]*)=(.*)\Z", re.S)
_MECHANISM = re.compile(r"([-+~?]?)([A-Za-z][A-Za-z0-9._-]*)(.*)\Z", re.S)
# Domain-spec, then the optional dual CIDR of a and mx: a:host/24//64.
_DOMAIN_CIDR = re.compile(
    r"(?::(?P<domain>.+?))?(?:/(?P<cidr4>0|[1-9][0-9]?))?(?://(?P<cidr6>0|[1-9][0-9]{0,2}))?\Z", re.S
)
_MACRO = re.compile(r"%(?:\{(?P<letter>[slodiphcrtvSLODIPHCRTV])(?P<digits>[0-9]*)(?P<reverse>[rR]?)(?P<delims>[-.+,/_=]*)\}|(?P<escape>[%_-]))")
_TOPLABEL = re.compile(r"(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])\Z")


def is_spf_record(text: str) -> bool:
    return text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")


def _check_macro_string(text: str) -> None:
    """Raise PermError unless every % in text starts a valid macro."""
    rest = _MACRO.sub("", text)
    if "%" in rest:
        raise PermError("invalid macro in %r" % text)
    for char in text:
        if not 0x21 <= ord(char) <= 0x7E:
            raise PermError("invalid character in %r" % text)


def _check_domain_spec(text: str) -> None:
    _check_macro_string(text)
    if text.endswith("}"):
        return  # ends in a macro: checked after expansion
    last = text.rstrip(".").rsplit(".", 1)[-1]
    if "." not in text.rstrip(".") or not _TOPLABEL.match(last):
        raise PermError("invalid domain %r" % text)


def _parse_mechanism(qualifier: str, name: str, rest: str) -> Mechanism:
    qualifier = qualifier or "+"
    if name == "all":
        if rest:
            raise PermError("'all' takes no argument")
        return Mechanism(qualifier, name)
    if name in ("include", "exists"):
        if not rest.startswith(":") or len(rest) < 2:
            raise PermError("%r needs a domain" % name)
        _check_domain_spec(rest[1:])
        return Mechanism(qualifier, name, domain=rest[1:])
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            raise PermError("%r needs an address" % name)
        return _parse_ip(qualifier, name, rest[1:])
    match = _DOMAIN_CIDR.match(rest)
    if match is None or (name == "ptr" and (match["cidr4"] or match["cidr6"])):
        raise PermError("invalid %r argument %r" % (name, rest))
    if match["domain"] is not None:
        _check_domain_spec(match["domain"])
    cidr4 = int(match["cidr4"] or 32)
    cidr6 = int(match["cidr6"] or 128)
    if cidr4 > 32 or cidr6 > 128:
        raise PermError("CIDR length out of range in %r" % rest)
    return Mechanism(qualifier, name, domain=match["domain"], cidr4=cidr4, cidr6=cidr6)


def _parse_ip(qualifier: str, name: str, text: str) -> Mechanism:
    address, slash, length = text.partition("/")
    limit = 32 if name == "ip4" else 128
    if slash:
        if not re.match(r"(0|[1-9][0-9]{0,2})\Z", length) or int(length) > limit:
            raise PermError("invalid CIDR length in %s:%s" % (name, text))
    try:
        if "%" in address:  # ipaddress accepts IPv6 zone ids; SPF does not
            raise ValueError(address)
        parsed = ipaddress.IPv4Address(address) if name == "ip4" else ipaddress.IPv6Address(address)
    except ValueError:
        raise PermError("invalid address in %s:%s" % (name, text)) from None
    network = "%s/%s" % (parsed, length if slash else limit)
    return Mechanism(qualifier, name, network=network)


def parse_record(text: str) -> Record:
    """Parse one SPF record; any syntax error raises PermError (RFC 7208 4.6)."""
    terms = text.split(" ")
    if terms[0].lower() != "v=spf1":
        raise PermError("not an SPF record: %r" % text)
    mechanisms: list[Mechanism] = []
    modifiers: dict[str, str] = {}
    for term in terms[1:]:
        if not term:
            continue
        modifier = _MODIFIER.match(term)
        if modifier:
            name, value = modifier[1].lower(), modifier[2]
            if name in ("redirect", "exp"):
                if name in modifiers:
                    raise PermError("%r given twice" % name)
                _check_domain_spec(value)
                modifiers[name] = value
            else:
                _check_macro_string(value)  # unknown modifiers are ignored
            continue
        mechanism = _MECHANISM.match(term)
        if not mechanism or mechanism[2].lower() not in MECHANISMS:
            raise PermError("unknown term %r" % term)
        mechanisms.append(_parse_mechanism(mechanism[1], mechanism[2].lower(), mechanism[3]))
    return Record(tuple(mechanisms), modifiers.get("redirect"), modifiers.get("exp"))


def valid_domain(name: str) -> bool:
    """A multi-label name with labels of 1-63 characters (RFC 7208 4.3).

    Any other octet is allowed: macros such as %{l} put local parts into names.
    """
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    return len(labels) > 1 and len(name) <= 253 and all(0 < len(label) <= 63 and " " not in label for label in labels)


def _ip_macro(address: IPAddress) -> str:
    if address.version == 4:
        return str(address)
    return ".".join(address.exploded.replace(":", ""))


class _Evaluation:
    """One check_host() run; the lookup counters span every include and redirect."""

    def __init__(self, dns: DnsLookup, address: IPAddress, sender: str, helo: str) -> None:
        self.dns = dns
        self.address = address
        self.sender = sender
        self.helo = helo
        self.lookups = 0
        self.voids = 0

    # DNS ------------------------------------------------------------------

    def query(self, name: str, rdtype: str, void_counts: bool = True) -> list[str]:
        try:
            answer = self.dns.lookup(name, rdtype)
        except DnsTempError as exc:
            raise TempError("%s %s: %s" % (name, rdtype, exc)) from None
        if not answer and void_counts:
            self.voids += 1
            if self.voids > MAX_VOID_LOOKUPS:
                raise PermError("more than %d void DNS lookups" % MAX_VOID_LOOKUPS)
        return answer

    def count_lookup(self, term: str) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise PermError("more than %d DNS lookups (at %s)" % (MAX_LOOKUPS, term))

    def addresses(self, name: str, void_counts: bool = True) -> list[IPAddress]:
        rdtype = "A" if self.address.version == 4 else "AAAA"
        return [ipaddress.ip_address(a) for a in self.query(name, rdtype, void_counts)]

    # Macros ---------------------------------------------------------------

    def expand(self, spec: str, domain: str) -> str:
        local, _at, sender_domain = self.sender.rpartition("@")
        values = {
            "s": self.sender,
            "l": local or "postmaster",
            "o": sender_domain,
            "d": domain,
            "i": _ip_macro(self.address),
            "p": "unknown",  # validating the client name is not implemented
            "v": "in-addr" if self.address.version == 4 else "ip6",
            "h": self.helo,
        }

        def replace(match: re.Match) -> str:
            if match["escape"]:
                return {"%": "%", "_": " ", "-": "%20"}[match["escape"]]
            letter = match["letter"].lower()
            if letter not in values:
                raise PermError("macro %r not allowed here" % match[0])
            parts = re.split("[%s]" % re.escape(match["delims"] or "."), values[letter])
            if match["reverse"]:
                parts.reverse()
            if match["digits"]:
                if int(match["digits"]) == 0:
                    raise PermError("macro %r keeps no labels" % match[0])
                parts = parts[-int(match["digits"]):]
            value = ".".join(parts)
            if match["letter"].isupper():
                value = re.sub(r"[^A-Za-z0-9\-._~]", lambda c: "%%%02X" % ord(c[0]), value)
            return value

        name = _MACRO.sub(replace, spec).rstrip(".")
        while len(name) > 253 and "." in name:  # RFC 7208 7.3: drop labels from the left
            name = name.split(".", 1)[1]
        if not valid_domain(name):
            raise PermError("%r expands to invalid domain %r" % (spec, name))
        return name.lower()

    # check_host() ---------------------------------------------------------

    def record(self, domain: str) -> t.Optional[Record]:
        records = [r for r in self.query(domain, "TXT", void_counts=False) if is_spf_record(r)]
        if len(records) > 1:
            raise PermError("%s has %d SPF records" % (domain, len(records)))
        return parse_record(records[0]) if records else None

    def check_host(self, domain: str) -> tuple[str, str]:
        if not valid_domain(domain):
            return "none", "%r is not a valid domain" % domain
        record = self.record(domain)
        if record is None:
            return "none", "%s has no SPF record" % domain
        for mechanism in record.mechanisms:
            if self.matches(mechanism, domain):
                return QUALIFIERS[mechanism.qualifier], "%s matched %s in %s" % (self.address, mechanism, domain)
        if record.redirect is not None:
            self.count_lookup("redirect=" + record.redirect)
            target = self.expand(record.redirect, domain)
            result, reason = self.check_host(target)
            if result == "none":
                raise PermError("redirect target %s has no SPF record" % target)
            return result, reason
        return "neutral", "nothing in %s matched %s" % (domain, self.address)

    def matches(self, mechanism: Mechanism, domain: str) -> bool:
        name = mechanism.name
        if name == "all":
            return True
        if name in ("ip4", "ip6"):
            return self.address in ipaddress.ip_network(mechanism.network)
        self.count_lookup(str(mechanism))
        target = self.expand(mechanism.domain, domain) if mechanism.domain else domain
        if name == "include":
            result, reason = self.check_host(target)
            if result in ("temperror", "permerror"):
                raise TempError(reason) if result == "temperror" else PermError(reason)
            if result == "none":
                raise PermError("included %s has no SPF record" % target)
            return result == "pass"
        if name == "exists":
            return bool(self.query(target, "A"))
        if name == "a":
            return self.in_networks(self.addresses(target), mechanism)
        if name == "mx":
            exchanges = self.query(target, "MX")
            if len(exchanges) > MAX_ADDRESS_NAMES:
                raise PermError("%s has more than %d MX records" % (target, MAX_ADDRESS_NAMES))
            return any(self.in_networks(self.addresses(mx, void_counts=False), mechanism) for mx in exchanges)
        return self.ptr_matches(target)

    def in_networks(self, addresses: list[IPAddress], mechanism: Mechanism) -> bool:
        length = mechanism.cidr4 if self.address.version == 4 else mechanism.cidr6
        return any(self.address in ipaddress.ip_network((a, length), strict=False) for a in addresses)

    def ptr_matches(self, target: str) -> bool:
        # Deprecated by RFC 7208 5.5 but still valid syntax, so evaluate it.
        try:
            names = self.query(self.address.reverse_pointer, "PTR")
        except TempError:
            return False  # a PTR failure is a no-match, not an error
        for name in names[:MAX_ADDRESS_NAMES]:
            if name == target or name.endswith("." + target):
                try:
                    if self.address in self.addresses(name, void_counts=False):
                        return True
                except TempError:
                    continue
        return False


def check_host(dns: DnsLookup, address: str, domain: str, sender: str = "", helo: str = "") -> SpfResult:
    """Evaluate the SPF policy of ``domain`` for mail from ``address`` (RFC 7208 4)."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # RFC 7208 5: treat mapped addresses as IPv4
    domain = domain.rstrip(".").lower()
    if "@" not in sender:  # RFC 7208 4.3: a bare domain means postmaster@domain
        sender = "postmaster@" + (sender or domain)
    evaluation = _Evaluation(dns, ip, sender, helo or domain)
    try:
        result, reason = evaluation.check_host(domain)
    except PermError as exc:
        result, reason = "permerror", str(exc)
    except TempError as exc:
        result, reason = "temperror", str(exc)
    return SpfResult(result, reason, evaluation.lookups)
