# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""DaemonPortOptions / ClientPortOptions as sendmail reads them.

sendmail splits the option string at commas, skips blanks before a key and
after '=', and looks only at the first letter of each key (a few letters in
either case).  A repeated key overrides the earlier one.  This module reads
option strings the same way, compares values by meaning, checks new values
against per-field grammars, and finds the sockets that cannot all be bound.
No I/O happens here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, FrozenSet

from ansible_collections.dualstack.mta.plugins.module_utils.net import IPAddress, is_host_name, parse_ip, port_number


class RefusedChange(ValueError):
    """The requested change is unsafe or invalid; the file must stay as it is."""


# First letter -> the name sendmail's documentation uses.
KEY_NAMES = {
    "A": "Addr",
    "c": "children",
    "D": "DeliveryMode",
    "d": "delayLA",
    "F": "Family",
    "I": "InputMailFilters",
    "L": "Listen",
    "M": "Modifiers",
    "N": "Name",
    "P": "Port",
    "q": "queueLA",
    "R": "ReceiveSize",
    "r": "refuseLA",
    "S": "SendSize",
}
# The keys that say which socket an entry binds (with its Name), and those with an option of their
# own in the sendmail_daemon and sendmail_client modules (the rest go into their ``options``).
SOCKET_KEYS = "NFAP"
ENTRY_KEYS = SOCKET_KEYS + "M"
# Keys sendmail also accepts in lower case (daemon.c, without _FFR_DPO_CS).
_LOWER_CASE_ALIASES = {letter.lower(): letter for letter in "AFILMNPS"}
_KEY_BY_NAME = {name.lower(): letter for letter, name in KEY_NAMES.items()}

DAEMON_MODIFIERS = frozenset("aAbcCEfhIOrsSu")
CLIENT_MODIFIERS = frozenset("AhS")

# What sendmail uses for a key that is not given (op.me): a key missing from an entry means the same
# as the key written out with this value.  Addr defaults to the family's wildcard (see ``value_of``).
# Keys without an entry here (children, the load limits, DeliveryMode, ...) fall back to global
# options, so only the same value given means the same.
DAEMON_DEFAULTS = {"F": "inet", "P": "smtp", "L": "10", "M": ""}
CLIENT_DEFAULTS = {"F": "inet", "P": "0", "M": ""}  # a client's Port is its source port: any free one
_WILDCARD = {"inet": "0.0.0.0", "inet6": "::"}

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_PORT_NUMBER = re.compile(r"[0-9]{1,5}")
_SERVICE = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,31}")
_MODIFIERS = re.compile(r"[A-Za-z]*")
_NUMBER = re.compile(r"[0-9]{1,9}")
_DELIVERY_MODE = re.compile(r"[ibqd]")
_FILTERS = re.compile(r"[A-Za-z0-9_.-]+(?:;[A-Za-z0-9_.-]+)*")
_NUMERIC_KEYS = "cdLqRrS"
# Anything that could end a value, a key, an m4 argument or a .cf line.
_STRUCTURAL = re.compile(r"""[`'"(),\[\]#$\\\x00-\x1f\x7f]""")


def wildcard(family: str) -> str:
    """The address that means every address of ``family``: :: for inet6, 0.0.0.0 otherwise."""
    return _WILDCARD["inet6"] if family == "inet6" else _WILDCARD["inet"]


def key_letter(raw_key: str) -> str | None:
    """The letter sendmail acts on for a key as written, or None if it ignores it."""
    first = raw_key.lstrip(" \t")[:1]
    letter = _LOWER_CASE_ALIASES.get(first, first)
    return letter if letter in KEY_NAMES else None


def key_for_option_name(name: str) -> str:
    """Letter for a key given by name in the module's ``options`` (case-insensitive, full name)."""
    letter = _KEY_BY_NAME.get(name.strip().lower())
    if letter is None:
        raise RefusedChange("unknown key {!r}; valid keys are {}".format(name, ", ".join(sorted(KEY_NAMES.values()))))
    return letter


@dataclass(frozen=True)
class Field:
    """One comma-separated segment of a DaemonPortOptions or ClientPortOptions value, as written."""

    raw_key: str
    value: str | None  # None for a segment without '=', which sendmail skips

    @property
    def letter(self) -> str | None:
        """The key letter sendmail acts on; None when it skips the field (no '=', or a key it ignores)."""
        return key_letter(self.raw_key) if self.value is not None else None

    def render(self) -> str:
        """The field as written: ``key=value``, or the bare key."""
        return self.raw_key if self.value is None else f"{self.raw_key}={self.value}"


@dataclass(frozen=True)
class PortOptions:
    """One option string, its fields in the order written."""

    fields: tuple[Field, ...]

    @classmethod
    def parse(cls, text: str) -> PortOptions:
        """Split an option string at commas into its fields, as sendmail does (empty segments dropped)."""
        fields = []
        for segment in text.split(","):
            segment = segment.strip(" \t")
            if not segment:
                continue
            key, sep, value = segment.partition("=")
            fields.append(Field(key.rstrip(" \t"), value.strip(" \t") if sep else None))
        return cls(tuple(fields))

    def get(self, letter: str) -> str | None:
        """The value sendmail uses: the last one given for the letter."""
        value = None
        for field in self.fields:
            if field.letter == letter:
                value = field.value
        return value

    def with_value(self, letter: str, value: str | None) -> PortOptions:
        """Set (or with None/'' remove) a key; the last occurrence keeps its spelling and place."""
        positions = [index for index, field in enumerate(self.fields) if field.letter == letter]
        fields = list(self.fields)
        if not value:
            return PortOptions(tuple(field for field in fields if field.letter != letter))
        if positions:
            keep = positions[-1]
            fields[keep] = Field(fields[keep].raw_key, value)
            fields = [field for index, field in enumerate(fields) if index == keep or index not in positions]
            return PortOptions(tuple(fields))
        return PortOptions(tuple(fields) + (Field(KEY_NAMES[letter], value),))

    def effective(self) -> dict[str, str]:
        """Letter -> value as sendmail sees it."""
        result = {}
        for field in self.fields:
            if field.letter is not None:
                result[field.letter] = field.value
        return result

    def value_of(self, letter: str, defaults: dict[str, str]) -> str | None:
        """The value sendmail uses for ``letter``: the one given, else its default (None: none)."""
        value = self.get(letter)
        if value is not None:
            return value
        if letter == "A":
            return _WILDCARD.get(self.family)
        return defaults.get(letter)

    def same_meaning(self, other: PortOptions, defaults: dict[str, str]) -> bool:
        """True when sendmail does the same with both; a missing key equals its default."""
        letters = set(self.effective()) | set(other.effective())
        return all(values_equal(letter, self.value_of(letter, defaults), other.value_of(letter, defaults))
                   for letter in letters)

    def with_changes(self, changes: dict[str, str], defaults: dict[str, str]) -> PortOptions:
        """Apply {letter: value} changes ('' removes), leaving alone every key whose meaning they keep:
        a key that is missing stays missing when asked for its default value."""
        options = self
        for letter, value in changes.items():
            if value and values_equal(letter, options.value_of(letter, defaults), value):
                continue
            options = options.with_value(letter, value)
        return options

    def render(self) -> str:
        """The option string: the fields as written, joined with ", "."""
        return ", ".join(field.render() for field in self.fields)

    @property
    def name(self) -> str | None:
        """The entry's Name, or None when it has none."""
        return self.get("N")

    @property
    def family(self) -> str:
        """The entry's Family in lower case; inet when not given."""
        return (self.get("F") or "inet").lower()

    def describe(self) -> dict[str, str | dict[str, str] | None]:
        """The entry as returned to the user."""
        values = self.effective()
        options = {KEY_NAMES[letter]: value for letter, value in values.items() if letter not in ENTRY_KEYS}
        return {
            "name": values.get("N"),
            "family": values.get("F"),
            "addr": values.get("A"),
            "port": values.get("P"),
            "modifiers": values.get("M"),
            "options": options,
        }


def values_equal(letter: str, first: str | None, second: str | None) -> bool:
    """True when two values of the key ``letter`` mean the same to sendmail (case, port names, order of modifiers)."""
    if first is None or second is None:
        return first == second
    if letter == "A":
        first_ip, second_ip = parse_ip(first), parse_ip(second)
        if first_ip is not None or second_ip is not None:
            return first_ip == second_ip
        return first.rstrip(".").lower() == second.rstrip(".").lower()
    if letter == "P":
        return port_number(first) == port_number(second)
    if letter == "M":
        return set(first) == set(second)
    if letter == "F":
        return first.lower() == second.lower()
    if letter in _NUMERIC_KEYS and first.isdigit() and second.isdigit():
        return int(first) == int(second)
    return first == second


def _refuse_structure(key: str, value: str) -> None:
    bad = _STRUCTURAL.search(value)
    if bad:
        raise RefusedChange(
            f"{key}={value!r} contains {bad.group()!r}, which would change the structure of sendmail.mc/sendmail.cf; "
            "quotes, backquotes, commas, parentheses, brackets, #, $, backslashes and control "
            "characters are not allowed in this value")


# A value check takes the key's name, the new value and the modifier letters the entry's kind knows.
ValueCheck = Callable[[str, str, FrozenSet[str]], None]


def _grammar(pattern: re.Pattern[str], what: str) -> ValueCheck:
    """A check that refuses a value ``pattern`` does not match entirely; ``what`` says what it must be."""
    def check(key: str, value: str, modifiers: frozenset[str]) -> None:
        if not pattern.fullmatch(value):
            raise RefusedChange(f"{key}={value!r} {what}")
    return check


def _refuse_bad_family(key: str, value: str, modifiers: frozenset[str]) -> None:
    if value.lower() not in ("inet", "inet6"):
        raise RefusedChange(f"Family={value!r} is not supported; use inet or inet6")


def _refuse_bad_addr(key: str, value: str, modifiers: frozenset[str]) -> None:
    if parse_ip(value) is None and not is_host_name(value):
        raise RefusedChange(f"Addr={value!r} is neither an IPv4 address, an IPv6 address nor a host name")


def _refuse_bad_port(key: str, value: str, modifiers: frozenset[str]) -> None:
    if _PORT_NUMBER.fullmatch(value):
        if not 1 <= int(value) <= 65535:
            raise RefusedChange(f"Port={value} is out of range; use 1-65535 or a service name like smtp")
    elif not _SERVICE.fullmatch(value):
        raise RefusedChange(f"Port={value!r} is neither a port number nor a service name")


def _refuse_bad_modifiers(key: str, value: str, modifiers: frozenset[str]) -> None:
    if not _MODIFIERS.fullmatch(value):
        raise RefusedChange(f"Modifiers={value!r} must be modifier letters only, like Ea")
    # Daemons and clients know different modifier letters.
    unknown = sorted(set(value) - modifiers)
    if unknown:
        raise RefusedChange("Modifiers={!r} has unknown modifier(s) {}; known: {}".format(
            value, "".join(unknown), "".join(sorted(modifiers))))


# Key letter -> the check of its grammar; every key in KEY_NAMES has one.
_VALUE_CHECKS: dict[str, ValueCheck] = {
    "N": _grammar(_NAME, "is not a valid daemon name (letters, digits, . _ -)"),
    "F": _refuse_bad_family,
    "A": _refuse_bad_addr,
    "P": _refuse_bad_port,
    "M": _refuse_bad_modifiers,
    "D": _grammar(_DELIVERY_MODE, "must be one of i, b, q, d"),
    "I": _grammar(_FILTERS, "must be filter names separated by ;"),
    **{letter: _grammar(_NUMBER, "must be a whole number") for letter in _NUMERIC_KEYS},
}


def check_value(letter: str, value: str, modifiers: frozenset[str] = DAEMON_MODIFIERS) -> None:
    """Refuse a new value that does not fully match its field's grammar."""
    key = KEY_NAMES[letter]
    if value == "":
        return  # an empty value removes the key
    _refuse_structure(key, value)
    check = _VALUE_CHECKS.get(letter)
    if check is not None:
        check(key, value, modifiers)


def check_family(options: PortOptions) -> None:
    """Refuse an IP literal of the other family than the entry's Family."""
    addr = options.get("A")
    address = parse_ip(addr)
    if address is None:
        return
    family = options.family
    if family == "inet" and address.version == 6:
        raise RefusedChange(f"Addr={addr} is an IPv6 address but the entry has Family=inet; "
                            "use Family=inet6 or an IPv4 address")
    if family == "inet6" and address.version == 4:
        raise RefusedChange(f"Addr={addr} is an IPv4 address but the entry has Family=inet6; "
                            f"use Family=inet or an IPv6 address (::ffff:{addr} for the mapped form)")


# ---------------------------------------------------------------------------
# Sockets: which daemons cannot all be bound.

@dataclass(frozen=True)
class Socket:
    """The socket a daemon listens on; ``address`` None means every address of the family."""

    name: str
    family: str
    address: IPAddress | None
    port: int | str  # a service name sendmail's table does not know stays a string

    @property
    def host(self) -> str:
        """The address as text; every address of the family is written :: or 0.0.0.0."""
        return wildcard(self.family) if self.address is None else str(self.address)

    @property
    def label(self) -> str:
        """The socket for messages: name, family, address and port."""
        return f"{self.name} ({self.family} on {self.host} port {self.port})"


def daemon_socket(options: PortOptions, position: int) -> Socket | None:
    """The listening socket of a daemon, or None when it cannot be known (host name, local)."""
    family = options.family
    if family not in ("inet", "inet6"):
        return None
    addr = options.get("A")
    address = parse_ip(addr) if addr else None
    if addr and address is None:
        return None
    if address is not None and int(address) == 0:
        address = None
    return Socket(options.name or f"Daemon{position}", family, address, port_number(options.get("P")))


def _ipv4_part(socket: Socket):
    """The IPv4 address an inet6 socket also takes with bindv6only=0 (None = all of them)."""
    if socket.address is None:
        return None
    mapped = getattr(socket.address, "ipv4_mapped", None)
    return mapped if mapped is not None else False


def sockets_overlap(first: Socket, second: Socket, bindv6only: bool) -> bool:
    """True when both sockets cannot be bound at once (with bindv6only=0 an inet6 wildcard also takes IPv4)."""
    if first.port != second.port:
        return False
    if first.family == second.family:
        return first.address is None or second.address is None or first.address == second.address
    inet, inet6 = (first, second) if first.family == "inet" else (second, first)
    if bindv6only:
        return False
    taken = _ipv4_part(inet6)
    if taken is False:
        return False
    return taken is None or inet.address is None or inet.address == taken


def bind_conflicts(daemons: list[PortOptions], bindv6only: bool) -> list[tuple[Socket, Socket]]:
    """Pairs of daemons (as option strings, in file order) whose sockets overlap."""
    sockets = [daemon_socket(options, position) for position, options in enumerate(daemons)]
    known = [socket for socket in sockets if socket is not None]
    conflicts = []
    for index, first in enumerate(known):
        for second in known[index + 1:]:
            if sockets_overlap(first, second, bindv6only):
                conflicts.append((first, second))
    return conflicts


def conflict_message(first: Socket, second: Socket) -> str:
    """Why two overlapping daemons cannot both listen, and how to fix it."""
    later = second.name
    if first.family == second.family:
        return (f'daemons {first.label} and {second.label} want the same socket; sendmail would fail with '
                f'"opendaemonsocket: daemon {later}: cannot bind: Address already in use". '
                'Give them different ports or distinct addresses.')
    inet, inet6 = (first, second) if first.family == "inet" else (second, first)
    return (
        f'daemons {inet.label} and {inet6.label} both take IPv4 port {inet.port}: with net.ipv6.bindv6only=0 an inet6 socket on '
        f':: also receives IPv4, so sendmail would fail with "opendaemonsocket: daemon {later}: cannot '
        'bind: Address already in use". Fix it one of three ways: (1) keep one inet6 daemon on :: '
        f'for both families and remove {inet.name}; (2) give each family its specific address (an IPv4 '
        f'address for {inet.name}, an IPv6 address for {inet6.name}); or (3) set net.ipv6.bindv6only=1 so inet6 '
        'sockets take IPv6 only.')


def both_families_served(daemons: list[PortOptions], bindv6only: bool) -> bool:
    """True when the daemons together receive both IPv4 and IPv6."""
    families = set()
    for position, options in enumerate(daemons):
        families.add(options.family)
        socket = daemon_socket(options, position)
        if socket is not None and socket.family == "inet6" and not bindv6only and _ipv4_part(socket) is not False:
            families.add("inet")
    return {"inet", "inet6"} <= families
