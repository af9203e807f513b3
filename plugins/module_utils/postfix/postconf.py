# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""main.cf parameters for a dual-stack postfix: normalisation, validation, consistency, planning.

Everything here takes strings and returns values; running postconf is postconf_host's job.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t
from dataclasses import dataclass

from ansible_collections.dualstack.mta.plugins.module_utils.net import parse_ip

PROTOCOLS = ("ipv4", "ipv6")
INTERFACE_KEYWORDS = ("all", "loopback-only")
ADDRESS_PREFERENCES = ("any", "ipv4", "ipv6")

# The parameters that decide which families postfix uses; checked together.
DUAL_STACK_PARAMETERS = ("inet_protocols", "inet_interfaces", "smtp_bind_address", "smtp_bind_address6")

# master(8) reads these only when it starts: "postfix reload" does not apply them.
RESTART_PARAMETERS = frozenset(("inet_protocols", "inet_interfaces"))

# Free text: a comma here is part of the value, not a list separator.
TEXT_PARAMETERS = frozenset(
    ("smtpd_banner", "smtpd_reject_footer", "postscreen_reject_footer", "default_rbl_reply", "mail_name")
)

# Postfix expands $name, ${name} and $(name) with names of letters, digits and underscores.
_NAME = re.compile(r"[A-Za-z0-9_]+")
_REFERENCE = re.compile(r"\$(?:[A-Za-z0-9_]+|\{[A-Za-z0-9_]+\}|\([A-Za-z0-9_]+\))")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SEPARATORS = re.compile(r"[\s,]+")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}\.?\Z){_LABEL}(?:\.{_LABEL})*\.?")
_DOTTED = re.compile(r"[0-9.]+")
_BRACKETED = re.compile(r"\[([^\[\]]+)\](?:/([0-9]+))?")
_TABLE = re.compile(r"[a-z][a-z0-9_]*:\S+")
_NO_LOCAL_INTERFACE = re.compile(r"no local interface found for (\S+)")
_NO_KERNEL_IPV6 = "disabling IPv6 name/address support"


class Problem(ValueError):
    """A value postfix would reject or misread; the message says how to write it."""


# --- normalisation -------------------------------------------------------------------------


def to_value(raw: t.Any) -> str:
    """The main.cf text for a task value: lists joined with commas, booleans as yes/no."""
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    if isinstance(raw, (list, tuple)):
        return ", ".join(to_value(item) for item in raw)
    # Only spaces: a tab, newline or other control character is refused by check_text, not dropped.
    return str(raw).strip(" ")


def wanted_settings(
    parameters: t.Any, name: str | None, value: t.Any, state: str
) -> dict[str, str | None]:
    """The task's settings as main.cf text; None means remove the parameter."""
    entries = {name: value} if name is not None else parameters
    if isinstance(entries, (list, tuple)) and state == "absent":
        entries = dict.fromkeys(entries)
    if not isinstance(entries, dict) or not entries:
        raise Problem("parameters is a mapping of names to values (a list of names with state=absent)")
    wanted: dict[str, str | None] = {}
    for key, raw in entries.items():
        key = str(key)
        if state == "absent":
            wanted[key] = None
        elif raw is None or isinstance(raw, dict):
            raise Problem(f"{key}: give a text, number, boolean or list value, or use state=absent")
        else:
            wanted[key] = to_value(raw)
    return wanted


def words(value: str) -> list[str]:
    """Postfix lists: commas and whitespace separate, in any mix."""
    return [word for word in _SEPARATORS.split(value.strip()) if word]


def _address_word(word: str, brackets_required: bool) -> str | None:
    """One address or network in its canonical form (brackets, case and zeros do not count), else None.

    A prefix as long as the address (``/32``, ``/128``) means the address itself.
    """
    bracketed = _BRACKETED.fullmatch(word)
    if bracketed:
        text, prefix = bracketed.group(1), bracketed.group(2)
    else:
        text, _slash, prefix = word.partition("/")
        prefix = prefix or None
    address = ip_address(text)
    if address is None or (prefix is not None and not prefix.isdigit()):
        return None
    if brackets_required and address.version == 6 and not bracketed:
        return None  # postfix does not read it as an IPv6 network: keep it as it is written
    if prefix is not None and int(prefix) == address.max_prefixlen:
        prefix = None
    shown = f"[{address}]" if address.version == 6 else str(address)
    return shown if prefix is None else f"{shown}/{int(prefix)}"


def _protocols_meaning(value: str) -> str:
    found = set(words(value))
    if "all" in found:
        found = (found - {"all"}) | set(PROTOCOLS)
    return ", ".join(sorted(found))


def _interfaces_meaning(value: str) -> str:
    """The listening addresses as a set: order, brackets and case of host names do not count."""
    meaning = set()
    for word in words(value):
        canonical = _address_word(word, brackets_required=False)
        if canonical is not None:
            meaning.add(canonical)
        else:
            meaning.add(word if _REFERENCE.match(word) else word.lower())
    return " ".join(sorted(meaning))


def _match_list_meaning(value: str) -> str:
    """A list of networks: canonical addresses; order counts only with negations, files or tables."""
    found = []
    for word in words(value):
        negated = word.startswith("!")
        canonical = _address_word(word[1:] if negated else word, brackets_required=True)
        found.append(word if canonical is None else ("!" if negated else "") + canonical)
    if all(_address_word(word, brackets_required=True) for word in found):
        found = sorted(set(found))  # first match wins, but all of them only say "match"
    return " ".join(found)


def _single_address_meaning(value: str) -> str:
    text = value.strip()
    address = ip_address(text)
    return str(address) if address is not None else text


MEANINGS: dict[str, t.Callable[[str], str]] = {
    "inet_protocols": _protocols_meaning,
    "inet_interfaces": _interfaces_meaning,
    "mynetworks": _match_list_meaning,
    "smtp_bind_address": _single_address_meaning,
    "smtp_bind_address6": _single_address_meaning,
}


def normalise(name: str, value: str) -> str:
    """The form two values are compared in: the same string means the same setting.

    Where postfix gives a value a meaning beyond its words (protocol and address lists, addresses),
    equal meanings compare equal: ``ipv6, ipv4`` is ``all``, ``[::1]`` is ``::1`` in inet_interfaces.
    """
    if name in TEXT_PARAMETERS:
        return " ".join(value.split())
    if name in MEANINGS:
        return MEANINGS[name](value)
    return " ".join(words(value))


def same(name: str, current: str | None, wanted: str) -> bool:
    """Whether the current value (None: not set) already means what the wanted one means."""
    return current is not None and normalise(name, current) == normalise(name, wanted)


# --- addresses -----------------------------------------------------------------------------


def ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of one literal (no brackets, no prefix), else None; standard library only."""
    if ":" not in text and not _DOTTED.fullmatch(text):
        return None
    return parse_ip(text, sendmail_prefix=False)


def _unbracket(word: str) -> str:
    return word[1:-1] if word.startswith("[") and word.endswith("]") else word


def _network(address: t.Any, prefix: str | None, word: str) -> None:
    """Refuse a prefix out of range or with host bits set; postfix refuses both."""
    if prefix is None:
        return
    bits = int(prefix)
    if bits > address.max_prefixlen:
        raise Problem(f"{word!r}: a /{prefix} prefix is too long for IPv{address.version}")
    network = ipaddress.ip_network(f"{address}/{bits}", strict=False)
    if network.network_address != address:
        base = network.network_address if address.version == 4 else f"[{network.network_address}]"
        raise Problem(f"{word!r} has host bits set; the network is {base}/{bits}")


def _ipv6_bracketed(word: str) -> str:
    """How postfix wants an IPv6 address or network written in a match list."""
    address, _slash, prefix = word.partition("/")
    return f"[{address}]/{prefix}" if prefix else f"[{address}]"


def _address_family(word: str) -> int | None:
    """4 or 6 for a literal address (bare or in brackets) in an address list, else None."""
    address = ip_address(_unbracket(word))
    return address.version if address is not None else None


# --- validation ----------------------------------------------------------------------------


def check_name(name: str) -> None:
    """Refuse a parameter name postfix would not read: letters, digits and underscores only."""
    if not _NAME.fullmatch(name):
        raise Problem(
            f"{name!r} is not a postfix parameter name: use letters, digits and underscores only"
        )


def check_text(value: str) -> None:
    """postconf writes one line per parameter: nothing may end it early or hide in it."""
    if _CONTROL.search(value):
        raise Problem(f"the value contains a newline or another control character: {value!r}")


def _inet_protocols(value: str) -> None:
    found = words(value)
    if found == ["all"]:
        return
    if not found or any(word not in PROTOCOLS for word in found):
        raise Problem(f"{value!r}: use all, ipv4, ipv6 or 'ipv4, ipv6'")


def _inet_interfaces(value: str) -> None:
    found = words(value)
    if not found:
        raise Problem("empty: use all, loopback-only, or addresses and host names")
    for word in found:
        if word in INTERFACE_KEYWORDS:
            if len(found) > 1:
                raise Problem(f"{value!r}: {word} stands alone")
        elif _REFERENCE.fullmatch(word) or _address_family(word):
            continue
        elif _DOTTED.fullmatch(word):
            raise Problem(f"{word!r} is not a valid IPv4 address")
        elif word.startswith("[") or not _HOSTNAME.fullmatch(word):
            raise Problem(
                f"{word!r}: use all, loopback-only, IP addresses or host names"
            )


def _single_address(version: int, other: str) -> t.Callable[[str], None]:
    def check(value: str) -> None:
        text = value.strip()
        if not text:
            return  # empty: postfix chooses the source address
        if text.startswith("["):
            raise Problem(f"write the address without brackets: {_unbracket(text)}")
        address = ip_address(text)
        if address is None or len(words(text)) != 1:
            raise Problem(f"{value!r}: give one IPv{version} address")
        if address.version != version:
            raise Problem(f"{text} is an IPv{address.version} address: set it in {other}")

    return check


def _mynetworks_word(word: str) -> None:
    if word.startswith("!"):
        word = word[1:]
    if _REFERENCE.match(word) or word.startswith("/"):
        return  # a parameter or a pattern file: checked by postfix when it reads them
    bracketed = _BRACKETED.fullmatch(word)
    if bracketed:
        address = ip_address(bracketed.group(1))
        if address is None or address.version != 6:
            raise Problem(f"{word!r}: brackets hold an IPv6 address")
        _network(address, bracketed.group(2), word)
        return
    address, _slash, prefix = word.partition("/")
    parsed = ip_address(address)
    if parsed is not None and parsed.version == 6:
        raise Problem(
            f"{word!r}: postfix needs IPv6 in brackets, write {_ipv6_bracketed(word)}"
        )
    if parsed is not None and (not prefix or prefix.isdigit()):
        _network(parsed, prefix or None, word)
        return
    if _TABLE.fullmatch(word):
        return  # type:table lookup
    raise Problem(
        f"{word!r}: use IPv4 networks (198.51.100.0/24), IPv6 networks in brackets "
        "([2001:db8::]/32), /file/name or type:table"
    )


def _mynetworks(value: str) -> None:
    for word in words(value):
        _mynetworks_word(word)


def _address_preference(value: str) -> None:
    if value.strip() not in ADDRESS_PREFERENCES:
        raise Problem(f"{value!r}: use any, ipv4 or ipv6")


VALIDATORS: dict[str, t.Callable[[str], None]] = {
    "inet_protocols": _inet_protocols,
    "inet_interfaces": _inet_interfaces,
    "smtp_bind_address": _single_address(4, "smtp_bind_address6"),
    "smtp_bind_address6": _single_address(6, "smtp_bind_address"),
    "mynetworks": _mynetworks,
    "smtp_address_preference": _address_preference,
}


def validate(wanted: t.Mapping[str, str | None]) -> list[str]:
    """Every problem with the wanted settings (None: remove), one message each."""
    problems = []
    for name, value in wanted.items():
        try:
            check_name(name)
            if value is not None:
                check_text(value)
                VALIDATORS.get(name, check_text)(value)
        except Problem as problem:
            problems.append(f"{name}: {problem}")
    return problems


# --- dual-stack consistency ----------------------------------------------------------------


def families(inet_protocols: str | None) -> frozenset[str]:
    """The families an inet_protocols value enables; postfix's default is all."""
    found = words(inet_protocols or "all")
    return frozenset(PROTOCOLS) if "all" in found else frozenset(found)


def inconsistencies(result: t.Mapping[str, str | None]) -> list[str]:
    """Settings that name an address family the resulting inet_protocols turns off."""
    enabled = families(result.get("inet_protocols"))
    shown = ", ".join(sorted(enabled))
    problems = []
    for family, version, bind in (("ipv6", 6, "smtp_bind_address6"), ("ipv4", 4, "smtp_bind_address")):
        if family in enabled:
            continue
        if (result.get(bind) or "").strip():
            problems.append(
                f"{bind} is set but inet_protocols is {shown}: add {family} to inet_protocols or remove {bind}"
            )
        for word in words(result.get("inet_interfaces") or ""):
            if _address_family(word) == version:
                problems.append(
                    f"inet_interfaces has the {family} address {word} but inet_protocols is {shown}: add {family} to "
                    "inet_protocols or drop the address"
                )
    return problems


# --- what postconf tells us ----------------------------------------------------------------


def parse_postconf(output: str) -> dict[str, str]:
    """`postconf name ...` output ("name = value" lines) as a dict."""
    values = {}
    for line in output.splitlines():
        name, sep, value = line.partition(" =")
        if sep and _NAME.fullmatch(name):
            values[name] = value[1:] if value.startswith(" ") else value
    return values


def parse_main_cf(text: str) -> dict[str, str]:
    """The explicit settings in main.cf: logical lines, comments and blank lines skipped.

    postconf hides parameters no part of postfix uses, so their values are read here.
    """
    values: dict[str, str] = {}
    name = None
    # Lines end at a newline only: str.splitlines would also split at form feeds and the like.
    for line in text.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace():
            if name is not None:  # a continuation line
                values[name] = (values[name] + " " + line.strip()).strip()
            continue
        key, sep, value = line.partition("=")
        name = key.strip() if sep else None
        if name is not None:
            values[name] = value.strip()
    return values


def warning_lines(stderr: str, replace: t.Mapping[str, str] | None = None) -> list[str]:
    """postconf's warnings, one per line, with temporary paths shown as the real ones."""
    lines = []
    for line in stderr.splitlines():
        line = line.strip()
        for old, new in (replace or {}).items():
            line = line.replace(old, new)
        if line and line not in lines:
            lines.append(line)
    return lines


def pinned_smtp_services(master: str) -> list[str]:
    """smtpd services in `postconf -M` output that listen on one address, not inet_interfaces."""
    pinned = []
    for line in master.splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "inet" and fields[7] == "smtpd":
            host, _sep, _port = fields[0].rpartition(":")
            if host:
                pinned.append(fields[0])
    return pinned


@dataclass(frozen=True)
class Probe:
    """What postconf made of the candidate main.cf: the addresses master would listen on."""

    rc: int
    addresses: tuple[str, ...]
    messages: tuple[str, ...]

    @classmethod
    def parse(cls, rc: int, stdout: str, messages: t.Sequence[str]) -> Probe:
        """The probe from postconf's exit code, its output (the addresses) and its messages."""
        return cls(rc, tuple(words(stdout)), tuple(messages))

    @property
    def fatal(self) -> str | None:
        """postconf's fatal message when it failed, else None."""
        return next((m for m in self.messages if "fatal:" in m), None) if self.rc else None


def ipv6_missing(probe: Probe, result: t.Mapping[str, str | None]) -> str | None:
    """Why the host cannot give postfix the IPv6 the result asks for, or None."""
    if "ipv6" not in families(result.get("inet_protocols")):
        return None
    for message in probe.messages:
        if _NO_KERNEL_IPV6 in message:
            return f"the kernel has no IPv6 ({message})"
    fatal = probe.fatal
    missing = _NO_LOCAL_INTERFACE.search(fatal or "")
    if missing and missing.group(1) == "::1":
        return f"no interface has the IPv6 loopback address ::1 ({fatal})"
    listening = words(result.get("inet_interfaces") or "all")
    if probe.rc == 0 and listening in (["all"], ["loopback-only"]):
        if not any(_address_family(address.split("/")[0]) == 6 for address in probe.addresses):
            return "no interface has an IPv6 address (postconf found only {})".format(" ".join(probe.addresses))
    return None


# --- planning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One main.cf parameter whose meaning changes, with its value before and after."""

    name: str
    before: str | None  # None: not known to postconf and not in main.cf
    after: str | None  # None: removed from main.cf


@dataclass(frozen=True)
class Plan:
    """The parameters a postconf run changes; empty when main.cf already means what is wanted."""

    changes: tuple[Change, ...]

    @property
    def changed(self) -> bool:
        """Whether the plan changes any parameter."""
        return bool(self.changes)

    @property
    def edits(self) -> list[str]:
        """Arguments for postconf -e."""
        return [f"{c.name}={c.after}" for c in self.changes if c.after is not None]

    @property
    def removals(self) -> list[str]:
        """Arguments for postconf -X."""
        return [c.name for c in self.changes if c.after is None]

    @property
    def restart_required(self) -> bool:
        """Whether a changed parameter takes a stop and start of postfix, which a reload does not apply."""
        return any(c.name in RESTART_PARAMETERS for c in self.changes)

    @property
    def reload_required(self) -> bool:
        """Whether the changes take a postfix reload (and no restart)."""
        return self.changed and not self.restart_required

    def diff(self, path: str) -> dict[str, str]:
        """Ansible's diff of the changed parameters, before and after, both headed by ``path``."""

        def lines(side: str) -> str:
            return "".join(
                f"{c.name} = {getattr(c, side)}\n" for c in self.changes if getattr(c, side) is not None
            )

        return {"before": lines("before"), "after": lines("after"), "before_header": path, "after_header": path}


def plan(
    wanted: t.Mapping[str, str | None], effective: t.Mapping[str, str], explicit: t.Mapping[str, str]
) -> Plan:
    """Changes that make main.cf say what is wanted (None: remove).

    effective: what postconf reports (main.cf or the default); explicit: what main.cf sets.
    A wanted value equal to the effective one changes nothing, even if main.cf does not set it.
    """
    changes = []
    for name, value in wanted.items():
        current = effective.get(name, explicit.get(name))
        if value is None:
            if name in explicit:
                changes.append(Change(name, explicit[name], None))
        elif not same(name, current, value):
            changes.append(Change(name, current, value))
    return Plan(tuple(changes))


def with_ipv4_fallback(wanted: t.Mapping[str, str | None]) -> dict[str, str | None]:
    """The wanted settings with IPv6 given up: inet_protocols becomes ipv4."""
    fallback = dict(wanted)
    fallback["inet_protocols"] = "ipv4"
    return fallback
