# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SPF ``check_host()`` (RFC 7208) over a small DNS lookup interface.

Pure: every DNS answer comes from the ``DnsLookup`` passed in, so tests can
feed a dictionary and the module can feed dnspython.  Every problem with a
record, a name or DNS ends as ``permerror`` or ``temperror`` with a reason.
Not implemented: fetching the ``exp=`` explanation (its syntax is checked),
which only changes the text a receiver would show, never the result.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t
from dataclasses import dataclass

IPAddress = t.Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

MAX_LOOKUPS = 10  # RFC 7208 4.6.4: terms (and %{p} expansions) that query DNS
MAX_VOID_LOOKUPS = 2  # RFC 7208 4.6.4: empty or NXDOMAIN answers
MAX_ADDRESS_NAMES = 10  # RFC 7208 4.6.4: MX/PTR names looked up per mechanism or macro

QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
RESULTS = ("none", "neutral", "pass", "fail", "softfail", "temperror", "permerror")

# RFC 7208 7.1: c, r and t may only appear in explanation text, which the
# exp= modifier points to; everywhere in a record they are a syntax error.
RECORD_MACRO_LETTERS = "slodiphv"


class DnsTempError(Exception):
    """The resolver gave no usable answer (timeout, SERVFAIL, refused)."""


class DnsLookup(t.Protocol):
    """What SPF and the readiness checks need from DNS.

    ``lookup`` returns the records of ``rdtype`` (A, AAAA, MX, TXT, PTR) at
    ``name`` as text: addresses, MX exchange names, TXT strings joined, PTR
    names; names lower-case without the trailing dot.  NXDOMAIN, an empty
    answer and a name that cannot be asked for (an empty or overlong label)
    all return ``[]``; anything else that is not an answer raises
    ``DnsTempError``.
    """

    def lookup(self, name: str, rdtype: str) -> list[str]:
        """The records of ``rdtype`` at ``name`` as text; [] for none, DnsTempError when there is no answer."""


@dataclass(frozen=True)
class SpfResult:
    """The result of check_host() (RFC 7208 section 2.6), why, and how many DNS lookups it took."""

    result: str  # one of RESULTS
    reason: str
    lookups: int = 0  # DNS-querying terms evaluated


@dataclass(frozen=True)
class Mechanism:
    """One mechanism of an SPF record, with its qualifier."""

    qualifier: str
    name: str
    domain: str | None = None  # domain-spec, macros unexpanded
    network: str | None = None  # ip4/ip6 network, host bits cleared
    cidr4: int = 32
    cidr6: int = 128

    def __str__(self) -> str:
        text = self.name
        if self.network:
            text += ":" + self.network
        if self.domain:
            text += ":" + self.domain
        if self.name in ("a", "mx") and self.cidr4 != 32:
            text += f"/{self.cidr4}"
        if self.name in ("a", "mx") and self.cidr6 != 128:
            text += f"//{self.cidr6}"
        return ("" if self.qualifier == "+" else self.qualifier) + text


@dataclass(frozen=True)
class Record:
    """A parsed SPF record: its mechanisms in order and the redirect and exp modifiers."""

    mechanisms: tuple[Mechanism, ...]
    redirect: str | None = None
    exp: str | None = None


class PermError(Exception):
    """The policy is broken; check_host() returns permerror."""


class TempError(Exception):
    """DNS failed; check_host() returns temperror."""


@dataclass(frozen=True)
class Macro:
    """One ``%{...}`` of a macro-string (RFC 7208 7.1)."""

    letter: str  # as written: upper case asks for URL escaping
    digits: int | None
    reverse: bool
    delimiters: str


@dataclass(frozen=True)
class Escape:
    """``%%``, ``%_`` or ``%-``: a macro-expand that stands for fixed text."""

    text: str


MacroToken = t.Union[str, Macro, Escape]  # literal text, a macro or an escape

_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9._-]*)=(.*)\Z", re.S)
_MECHANISM = re.compile(r"([-+~?]?)([A-Za-z][A-Za-z0-9._-]*)(.*)\Z", re.S)
# Domain-spec, then the optional dual CIDR of a and mx: a:host/24//64.
_DOMAIN_CIDR = re.compile(
    r"(?::(?P<domain>.+?))?(?:/(?P<cidr4>0|[1-9][0-9]?))?(?://(?P<cidr6>0|[1-9][0-9]{0,2}))?\Z", re.S
)
_MACRO_EXPAND = re.compile(r"\{(?P<letter>[A-Za-z])(?P<digits>[0-9]*)(?P<reverse>[rR]?)(?P<delims>[-.+,/_=]*)\}")
_ESCAPES = {"%": "%", "_": " ", "-": "%20"}
_TOPLABEL = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9]")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def is_spf_record(text: str) -> bool:
    """Whether a TXT record's text is an SPF record: v=spf1 alone or followed by a space."""
    return text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")


# Parsing ----------------------------------------------------------------------

def macro_tokens(text: str, letters: str = RECORD_MACRO_LETTERS) -> list[MacroToken]:
    """Split a macro-string into literals and macros; PermError on any syntax error.

    ``letters`` are the macro letters allowed where the string stands; explanation
    text also allows c, r and t.
    """
    tokens: list[MacroToken] = []
    literal = ""
    position = 0
    while position < len(text):
        char = text[position]
        if not 0x21 <= ord(char) <= 0x7E:
            raise PermError(f"character {char!r} is not allowed in {text!r} (only visible ASCII)")
        if char != "%":
            literal += char
            position += 1
            continue
        token, position = _macro_expand(text, position, letters)
        if literal:
            tokens.append(literal)
            literal = ""
        tokens.append(token)
    if literal:
        tokens.append(literal)
    return tokens


def _macro_expand(text: str, position: int, letters: str) -> tuple[Macro | Escape, int]:
    """The escape or macro at the ``%`` at ``position``, and the position just after it."""
    following = text[position + 1:position + 2]
    if following in _ESCAPES:
        return Escape(_ESCAPES[following]), position + 2
    match = _MACRO_EXPAND.match(text, position + 1)
    if following != "{" or match is None:
        raise PermError(f"invalid macro at {text[position:position + 6]!r} in {text!r}: % must start %{{...}}, %%, %_ or %-")
    return _macro(match, text, letters), match.end()


def _macro(match: re.Match[str], text: str, letters: str) -> Macro:
    """The macro of one ``{...}`` match, refused when its letter or its digits cannot stand in ``text``."""
    letter = match["letter"]
    if letter.lower() not in letters:
        if letter.lower() in "crt":
            raise PermError(f"macro {match[0]!r} in {text!r}: %{{c}}, %{{r}} and %{{t}} are allowed only in explanation text")
        raise PermError("unknown macro letter in {!r} of {!r}".format("%" + match[0], text))
    digits = int(match["digits"]) if match["digits"] else None
    if digits == 0:
        raise PermError("macro {!r} of {!r} keeps no labels".format("%" + match[0], text))
    return Macro(letter, digits, bool(match["reverse"]), match["delims"])


def check_domain_spec(text: str) -> None:
    """RFC 7208 7.1: domain-spec = macro-string domain-end, checked before any expansion.

    domain-end is a macro-expand (``%{...}``, ``%%``, ``%_``, ``%-``), or a dot,
    a top label and an optional final dot.  What the macros expand to is not
    checked: a HELO name such as ``OEMCOMPUTER`` is simply looked up.
    """
    if not text:
        raise PermError("empty domain-spec")
    tokens = macro_tokens(text)
    if not isinstance(tokens[-1], str):
        return
    tail = tokens[-1][:-1] if tokens[-1].endswith(".") else tokens[-1]
    _before, dot, last = tail.rpartition(".")
    if not dot or not _TOPLABEL.fullmatch(last):
        raise PermError(f"invalid domain {text!r}: it must end in a macro or in a dot and a top label such as .com")


def _parse_mechanism(qualifier: str, name: str, rest: str) -> Mechanism:
    qualifier = qualifier or "+"
    if name == "all":
        if rest:
            raise PermError(f"'all' takes no argument, found {rest!r}")
        return Mechanism(qualifier, name)
    if name in ("include", "exists"):
        if not rest.startswith(":") or len(rest) < 2:
            raise PermError(f"{name!r} needs a domain")
        check_domain_spec(rest[1:])
        return Mechanism(qualifier, name, domain=rest[1:])
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            raise PermError(f"{name!r} needs an address")
        return _parse_ip(qualifier, name, rest[1:])
    match = _DOMAIN_CIDR.match(rest)
    if match is None or (name == "ptr" and (match["cidr4"] or match["cidr6"])):
        raise PermError(f"invalid {name!r} argument {rest!r}")
    if match["domain"] is not None:
        check_domain_spec(match["domain"])
    cidr4 = int(match["cidr4"] or 32)
    cidr6 = int(match["cidr6"] or 128)
    if cidr4 > 32 or cidr6 > 128:
        raise PermError(f"CIDR length out of range in {name}{rest}")
    return Mechanism(qualifier, name, domain=match["domain"], cidr4=cidr4, cidr6=cidr6)


def _parse_ip(qualifier: str, name: str, text: str) -> Mechanism:
    address, slash, length = text.partition("/")
    limit = 32 if name == "ip4" else 128
    if slash:
        if not re.fullmatch(r"0|[1-9][0-9]{0,2}", length) or int(length) > limit:
            raise PermError(f"invalid CIDR length in {name}:{text}")
    try:
        if "%" in address:  # ipaddress accepts IPv6 zone ids; SPF does not
            raise ValueError(address)
        parsed = ipaddress.IPv4Address(address) if name == "ip4" else ipaddress.IPv6Address(address)
    except ValueError:
        raise PermError(f"invalid address in {name}:{text}") from None
    # RFC 7208 5.6: bits beyond the prefix length are ignored (ip4:192.0.2.10/24).
    network = ipaddress.ip_network((parsed, int(length) if slash else limit), strict=False)
    return Mechanism(qualifier, name, network=str(network))


def parse_record(text: str) -> Record:
    """Parse one SPF record; any syntax error raises PermError (RFC 7208 4.6)."""
    terms = text.split(" ")
    if terms[0].lower() != "v=spf1":
        raise PermError(f"not an SPF record: {text!r}")
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
                    raise PermError(f"{name!r} given twice")
                check_domain_spec(value)
                modifiers[name] = value
            else:
                macro_tokens(value)  # unknown modifiers are ignored, but must be well-formed
            continue
        mechanism = _MECHANISM.match(term)
        if not mechanism or mechanism[2].lower() not in MECHANISMS:
            raise PermError(f"unknown term {term!r}")
        mechanisms.append(_parse_mechanism(mechanism[1], mechanism[2].lower(), mechanism[3]))
    return Record(tuple(mechanisms), modifiers.get("redirect"), modifiers.get("exp"))


# Names ------------------------------------------------------------------------

def queryable(name: str) -> bool:
    """A name DNS can be asked about: labels of 1-63 octets, at most 253 in all."""
    name = name[:-1] if name.endswith(".") else name
    if not name or len(name.encode("utf-8", "replace")) > 253:
        return False
    return all(0 < len(label.encode("utf-8", "replace")) <= 63 for label in name.split("."))


def valid_domain(name: str) -> bool:
    """A multi-label name DNS can be asked about (RFC 7208 4.3).

    Any other octet is allowed: macros put local parts and HELO names into names.
    """
    return queryable(name) and "." in name.rstrip(".")


def _ip_macro(address: IPAddress) -> str:
    if address.version == 4:
        return str(address)
    return ".".join(address.exploded.replace(":", ""))


def _url_escape(value: str) -> str:
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in value.encode("utf-8", "replace"))


def _parse_address(text: str) -> IPAddress | None:
    if "%" in text:
        return None  # a zone index (fe80::1%eth0) names no Internet client
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped  # RFC 7208 5: mapped addresses are IPv4 clients
    return address


# Evaluation -------------------------------------------------------------------

class _Evaluation:
    """One check_host() run; the lookup counters span every include and redirect."""

    def __init__(self, dns: DnsLookup, address: IPAddress, sender: str, helo: str) -> None:
        self.dns = dns
        self.address = address
        self.sender = sender
        self.helo = helo
        self.lookups = 0
        self.voids = 0
        self._client_names: list[str] | None = None

    # DNS ------------------------------------------------------------------

    def query(self, name: str, rdtype: str, void_counts: bool = True) -> list[str]:
        if queryable(name):
            try:
                answer = [a for a in self.dns.lookup(name, rdtype) if isinstance(a, str)]
            except DnsTempError as exc:
                raise TempError(f"{name} {rdtype}: {exc}") from None
        else:
            answer = []  # no such name can exist (empty or overlong label)
        if not answer and void_counts:
            self.voids += 1
            if self.voids > MAX_VOID_LOOKUPS:
                raise PermError(f"more than {MAX_VOID_LOOKUPS} void DNS lookups (the last: {name} {rdtype})")
        return answer

    def count_lookup(self, term: str) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise PermError(f"more than {MAX_LOOKUPS} DNS lookups (at {term})")

    def addresses(self, name: str, void_counts: bool = True) -> list[IPAddress]:
        rdtype = "A" if self.address.version == 4 else "AAAA"
        found = []
        for text in self.query(name, rdtype, void_counts):
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue  # not an address: no match, like any other record that does not fit
            if address.version == self.address.version:
                found.append(address)
        return found

    # Macros ---------------------------------------------------------------

    def client_name(self, domain: str, term: str) -> str:
        """%{p}: a PTR name of the client that resolves back to it (RFC 7208 7.3, 5.5)."""
        self.count_lookup(term + " (%{p})")
        if self._client_names is None:
            self._client_names = []
            try:
                names = self.query(self.address.reverse_pointer, "PTR", void_counts=False)
            except TempError:
                names = []  # a DNS error leaves the name unvalidated
            for name in names[:MAX_ADDRESS_NAMES]:
                try:
                    if self.address in self.addresses(name, void_counts=False):
                        self._client_names.append(name.rstrip(".").lower())
                except TempError:
                    continue  # this name is skipped
        names = self._client_names
        for name in names:
            if name == domain:
                return name
        for name in names:
            if name.endswith("." + domain):
                return name
        return names[0] if names else "unknown"

    def expand(self, spec: str, domain: str, term: str) -> str:
        local, _at, sender_domain = self.sender.rpartition("@")
        values = {
            "s": self.sender,
            "l": local or "postmaster",
            "o": sender_domain,
            "d": domain,
            "i": _ip_macro(self.address),
            "v": "in-addr" if self.address.version == 4 else "ip6",
            "h": self.helo,
        }
        out = []
        for token in macro_tokens(spec):
            if not isinstance(token, Macro):
                out.append(token if isinstance(token, str) else token.text)
                continue
            letter = token.letter.lower()
            value = self.client_name(domain, term) if letter == "p" else values[letter]
            parts = re.split("[{}]".format(re.escape(token.delimiters or ".")), value)
            if token.reverse:
                parts.reverse()
            if token.digits is not None:
                parts = parts[-token.digits:]
            value = ".".join(parts)
            out.append(_url_escape(value) if token.letter.isupper() else value)
        name = "".join(out)
        name = name[:-1] if name.endswith(".") else name
        # RFC 7208 7.3: drop labels from the left until the name fits in 253 octets.
        while len(name.encode("utf-8", "replace")) > 253 and "." in name:
            name = name.split(".", 1)[1]
        return name.lower()

    # check_host() ---------------------------------------------------------

    def record(self, domain: str) -> Record | None:
        records = [r for r in self.query(domain, "TXT", void_counts=False) if is_spf_record(r)]
        if len(records) > 1:
            raise PermError(f"{domain} has {len(records)} SPF records; merge them into one")
        if not records:
            return None
        try:
            return parse_record(records[0])
        except PermError as exc:
            raise PermError(f"SPF record of {domain}: {exc}") from None

    def check_host(self, domain: str) -> tuple[str, str]:
        if not valid_domain(domain):
            return "none", f"{domain!r} is not a valid domain"
        record = self.record(domain)
        if record is None:
            return "none", f"{domain} has no SPF record"
        for mechanism in record.mechanisms:
            if self.matches(mechanism, domain):
                return QUALIFIERS[mechanism.qualifier], f"{self.address} matched {mechanism} in {domain}"
        if record.redirect is not None:
            term = "redirect=" + record.redirect
            self.count_lookup(term)
            target = self.expand(record.redirect, domain, term)
            result, reason = self.check_host(target)
            if result == "none":
                raise PermError(f"redirect target {target} has no SPF record ({reason})")
            return result, reason
        return "neutral", f"nothing in {domain} matched {self.address}"

    def matches(self, mechanism: Mechanism, domain: str) -> bool:
        name = mechanism.name
        if name == "all":
            return True
        if name in ("ip4", "ip6"):
            return self.address in ipaddress.ip_network(mechanism.network)
        term = str(mechanism)
        self.count_lookup(term)
        target = self.expand(mechanism.domain, domain, term) if mechanism.domain else domain
        if name == "include":
            result, reason = self.check_host(target)
            if result in ("temperror", "permerror"):
                raise TempError(reason) if result == "temperror" else PermError(reason)
            if result == "none":
                raise PermError(f"included {target} has no SPF record ({reason})")
            return result == "pass"
        if name == "exists":
            return bool(self.query(target, "A"))
        if name == "a":
            return self.in_networks(self.addresses(target), mechanism)
        if name == "mx":
            exchanges = self.query(target, "MX")
            if len(exchanges) > MAX_ADDRESS_NAMES:
                raise PermError(f"{target} has more than {MAX_ADDRESS_NAMES} MX records")
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
            name = name.rstrip(".").lower()
            if name == target or name.endswith("." + target):
                try:
                    if self.address in self.addresses(name, void_counts=False):
                        return True
                except TempError:
                    continue
        return False


def check_host(dns: DnsLookup, address: str, domain: str, sender: str = "", helo: str = "") -> SpfResult:
    """Evaluate the SPF policy of ``domain`` for mail from ``address`` (RFC 7208 4).

    Never raises: broken records and names give ``permerror``, DNS failures ``temperror``.
    """
    ip = _parse_address(address)
    if ip is None:
        return SpfResult("permerror", f"client address {address!r} is not an IP address")
    domain = domain[:-1] if domain.endswith(".") else domain
    domain = domain.lower()
    if "@" not in sender:  # RFC 7208 4.3: a bare domain means postmaster@domain
        sender = "postmaster@" + (sender or domain)
    evaluation = _Evaluation(dns, ip, sender, helo or domain)
    try:
        result, reason = evaluation.check_host(domain)
    except PermError as exc:
        result, reason = "permerror", str(exc)
    except TempError as exc:
        result, reason = "temperror", str(exc)
    except RecursionError:  # unreachable while the lookup limit holds; kept as a last guard
        result, reason = "permerror", "policy nests too deeply"
    return SpfResult(result, reason, evaluation.lookups)
