# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Plan the DAEMON_OPTIONS that make sendmail listen on what the user asked for.

The user says *what to listen on* (see ``listen_intent``).  ``plan_listen`` reads the daemons a
file has (active, commented and the implicit ones sendmail adds on its own), matches them by the
socket they bind -- family, address, port, never by name -- and returns the entry changes (in the
vocabulary of the sendmail_daemon module), the reasons for each decision in plain words, and the
sockets sendmail will then listen on.  No I/O happens here.

Decisions, per port the intent mentions:

* ``all`` with net.ipv6.bindv6only=0: one inet6 daemon on ``::``, which also
  takes IPv4 (sendmail never sets IPV6_V6ONLY, so a second, IPv4 daemon on the
  same port could not bind); with bindv6only=1: one wildcard daemon per family;
  with IPv6 off: the IPv4 wildcard only.
* ``loopback``: 127.0.0.1 and (with IPv6 on) ::1; literals: one daemon per
  address.  A wildcard makes the specific addresses of its family redundant.
* Then, in this order, one step each: an entry that already binds a wanted socket is kept; an
  active entry of the same family on the port is rebound (keeping its name, modifiers and other
  options), then an implicit daemon; a commented example of the same family is uncommented; only
  then is a new entry added, which takes the modifiers and options of the port's existing daemon
  (e.g. ``M=Ea``).  Active entries on the port that are left over are retired (commented out).
* Entries on ports the intent does not mention are left alone -- but they
  must be able to bind, or the plan is refused.
"""

from __future__ import annotations

import ipaddress
import typing as t
from dataclasses import dataclass, field

from ansible_collections.dualstack.mta.plugins.module_utils.listen_intent import (
    ALL,
    LOOPBACK,
    Listen,
    ListenIntentError,
    parse_intent,
)
from ansible_collections.dualstack.mta.plugins.module_utils.net import SERVICE_PORTS, IPAddress, parse_ip, port_number
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_edit import ABSENT, COMMENTED, PRESENT
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import Document
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_ports import implicit_daemons
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.port_options import (
    ENTRY_KEYS,
    KEY_NAMES,
    SOCKET_KEYS,
    PortOptions,
    RefusedChange,
    Socket,
    bind_conflicts,
    daemon_socket,
    wildcard,
)

INET, INET6 = "inet", "inet6"
IMPLICIT = "implicit"

_IPV4_LOOPBACK = ipaddress.ip_address("127.0.0.1")
_IPV6_LOOPBACK = ipaddress.ip_address("::1")
_SMTP = SERVICE_PORTS["smtp"]
# How new entries are named, by port; other ports get "Port<number>".
_NAME_BASES = {_SMTP: "MTA", SERVICE_PORTS["submission"]: "MSA", SERVICE_PORTS["smtps"]: "SMTPS", SERVICE_PORTS["lmtp"]: "LMTP"}
# How a rebound or new entry spells its port; other ports are written as numbers.
_PORT_SPELLING = {SERVICE_PORTS[name]: name for name in ("smtp", "submission", "smtps")}


class ListenPlanError(RefusedChange):
    """The intent cannot be planned on this file and host; nothing may change."""


# ---------------------------------------------------------------------------
# Input: entries, facts

@dataclass(frozen=True)
class Entry:
    """One daemon as the file has it.

    ``state`` is present, commented or implicit (not in the file: sendmail adds it on its own;
    ``fixed`` implicit daemons cannot be replaced by DAEMON_OPTIONS at all).
    """

    options: PortOptions
    state: str
    line: int | None = None
    fixed: bool = False
    why: str = ""

    @property
    def name(self) -> str | None:
        """The entry's Name=, if it has one."""
        return self.options.name

    @property
    def live(self) -> bool:
        """Whether sendmail runs this daemon today (an active or an implicit entry)."""
        return self.state in (PRESENT, IMPLICIT)

    def where(self) -> str:
        """Where the entry is: its line (and whether it is commented), or why sendmail adds it."""
        if self.state == IMPLICIT:
            return f"implicit, {self.why}"
        return f"{'commented, ' if self.state == COMMENTED else ''}line {self.line}"

    def describe(self) -> str:
        """The entry's name and place, for reasons and errors."""
        return f"{self.name or 'an entry without Name='} ({self.where()})"


def entries_from_document(document: Document) -> list[Entry]:
    """Every DAEMON_OPTIONS entry of a parsed .mc/.cf in file order, then the implicit daemons."""
    entries = []
    for index, macro in document.macros("DAEMON_OPTIONS"):
        values = macro.values
        entries.append(Entry(PortOptions.parse(values[0] if values else ""),
                             COMMENTED if macro.commented else PRESENT, document.line_number(index)))
    for daemon in implicit_daemons(document):
        entries.append(Entry(daemon.options, IMPLICIT, fixed=daemon.fixed, why=daemon.why))
    return entries


@dataclass(frozen=True)
class Facts:
    """What the planner needs to know about the host.

    ``bindv6only``: net.ipv6.bindv6only (None when IPv6 is off); ``addresses``: the host's
    addresses, or None when unknown (then literals are not checked against them).
    """

    bindv6only: bool | None
    addresses: tuple[IPAddress, ...] | None = None

    @classmethod
    def of(cls, facts: Facts | t.Mapping[str, object] | None) -> Facts:
        """``facts`` as given to ``plan_listen``: a ``Facts``, or a dict of bindv6only and addresses."""
        if isinstance(facts, Facts):
            return facts
        facts = dict(facts or {})
        unknown = sorted(set(facts) - {"bindv6only", "addresses"})
        if unknown:
            raise ListenPlanError(f"unknown host fact(s) {', '.join(unknown)}; give bindv6only and addresses")
        addresses = facts.get("addresses")
        return cls(_bindv6only(facts.get("bindv6only", False)), None if addresses is None else _host_addresses(addresses))

    @property
    def ipv6(self) -> bool:
        """Whether the host has IPv6 at all."""
        return self.bindv6only is not None

    @property
    def overlap_rule(self) -> bool:
        """The bindv6only that decides which sockets overlap (with IPv6 off, none of inet6 binds)."""
        return True if self.bindv6only is None else self.bindv6only


def _bindv6only(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if str(value) not in ("0", "1"):
        raise ListenPlanError(f"bindv6only={value!r} must be true, false (or 1, 0), or null when IPv6 is off")
    return str(value) == "1"


def _host_addresses(texts: t.Iterable[object]) -> tuple[IPAddress, ...]:
    parsed = []
    for text in texts:
        address = parse_ip(str(text).split("%", maxsplit=1)[0].split("/", maxsplit=1)[0])
        if address is None:
            raise ListenPlanError(f"host address {text!r} is not an IP address")
        parsed.append(address)
    return tuple(parsed)


# ---------------------------------------------------------------------------
# Output

@dataclass(frozen=True)
class ListenPlan:
    """``daemons``: sendmail_daemon-style entries to apply (in this order); ``reasons``: one
    sentence per decision; ``sockets``: what sendmail listens on afterwards, every port."""

    daemons: list[dict[str, object]]
    reasons: list[str]
    sockets: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    """What the plan does with one daemon: the state it ends in, its options then, and why."""

    state: str  # PRESENT, COMMENTED or ABSENT
    options: PortOptions | None
    reason: str


@dataclass(frozen=True)
class _Want:
    """One socket to listen on; ``address`` None means every address of the family."""

    family: str
    address: IPAddress | None
    port: int

    def host(self) -> str:
        return wildcard(self.family) if self.address is None else str(self.address)

    def label(self) -> str:
        return f"{self.family} on {self.host()} port {self.port}"


# ---------------------------------------------------------------------------
# The sockets each port must have

@dataclass
class _Families:
    """What one port asks for, per family: every address (a wildcard), and specific ones."""

    every_v4: bool = False
    every_v6: bool = False
    v4: list[IPAddress] = field(default_factory=list)
    v6: list[IPAddress] = field(default_factory=list)


def _addresses_by_port(items: tuple[Listen, ...]) -> dict[int, list[object]]:
    by_port: dict[int, list[object]] = {}
    for item in items:
        for port in item.ports:
            addresses = by_port.setdefault(port, [])
            addresses.extend(address for address in item.addresses if address not in addresses)
    return by_port


def _families(port: int, addresses: list[object], facts: Facts) -> _Families:
    asked = _Families()
    for address in addresses:
        if address == ALL:
            asked.every_v4, asked.every_v6 = True, asked.every_v6 or facts.ipv6
        elif address == LOOPBACK:
            asked.v4.append(_IPV4_LOOPBACK)
            if facts.ipv6:
                asked.v6.append(_IPV6_LOOPBACK)
        elif int(address) == 0:
            if address.version == 6 and not facts.ipv6:
                raise ListenPlanError(f"IPv6 is off on this host (no net.ipv6.bindv6only), so nothing can "
                                      f"listen on :: port {port}; remove it or turn IPv6 on")
            asked.every_v4 = asked.every_v4 or address.version == 4
            asked.every_v6 = asked.every_v6 or address.version == 6
        else:
            _check_host_has(address, facts, port)
            (asked.v4 if address.version == 4 else asked.v6).append(address)
    return asked


def _without_redundant(port: int, asked: _Families, reasons: list[str]) -> _Families:
    """Specific addresses of a family whose every address is wanted need no daemon of their own."""
    for every, specific, family in ((asked.every_v4, asked.v4, "IPv4"), (asked.every_v6, asked.v6, "IPv6")):
        if every and specific:
            listed = ", ".join(sorted({str(address) for address in specific}))
            reasons.append(f"port {port}: every {family} address is wanted, so {listed} need no daemon of their own")
            specific.clear()
    return _Families(asked.every_v4, asked.every_v6, sorted(set(asked.v4)), sorted(set(asked.v6)))


def _sockets_for(port: int, asked: _Families, facts: Facts, reasons: list[str]) -> list[_Want]:
    if asked.every_v6 and not facts.bindv6only:
        shared = _shared_wildcard(port, asked)
        reasons.append(f'port {port}: every address of both families with net.ipv6.bindv6only=0 -> one inet6 '
                       'daemon on ::, which serves IPv4 too (an IPv4 daemon next to it could not bind: '
                       '"Address already in use")')
        return [shared]
    sockets = [_Want(INET, None, port)] if asked.every_v4 else []
    sockets.extend(_Want(INET, address, port) for address in asked.v4)
    if asked.every_v6:
        sockets.append(_Want(INET6, None, port))
        reasons.append(f"port {port}: every address of both families with net.ipv6.bindv6only=1 -> one "
                       "daemon per family on 0.0.0.0 and ::")
    sockets.extend(_Want(INET6, address, port) for address in asked.v6)
    if asked.v4 and asked.v6 or len(asked.v4) + len(asked.v6) > 1:
        reasons.append(f"port {port}: one daemon per listed address ({', '.join(str(address) for address in asked.v4 + asked.v6)})")
    return sockets


def _shared_wildcard(port: int, asked: _Families) -> _Want:
    """The inet6 socket on :: that, under bindv6only=0, takes IPv4 too -- only when all of IPv4 is wanted."""
    if not asked.every_v4:
        listed = ", ".join(str(address) for address in asked.v4) or "no IPv4 address"
        raise ListenPlanError(
            f"port {port}: :: (every IPv6 address) with {listed} can only be bound with net.ipv6.bindv6only=1: "
            "with bindv6only=0 an inet6 daemon on :: also takes every IPv4 address (sendmail never "
            "sets IPV6_V6ONLY). Set the sysctl net.ipv6.bindv6only=1, or ask for all (both "
            "families), or list the IPv6 addresses instead of ::")
    return _Want(INET6, None, port)


def _explain_ipv6_off(port: int, addresses: list[object], facts: Facts, reasons: list[str]) -> None:
    if facts.ipv6:
        return
    if ALL in addresses:
        reasons.append(f"port {port}: IPv6 is off on this host (no net.ipv6.bindv6only), so all addresses means "
                       "all IPv4 addresses")
    if LOOPBACK in addresses:
        reasons.append(f"port {port}: IPv6 is off on this host, so loopback means 127.0.0.1 only")


def _wanted_sockets(items: tuple[Listen, ...], facts: Facts, reasons: list[str]) -> dict[int, list[_Want]]:
    """Port -> the sockets to listen on, conflict-free under the host's bindv6only."""
    wanted = {}
    for port, addresses in _addresses_by_port(items).items():
        asked = _families(port, addresses, facts)
        _explain_ipv6_off(port, addresses, facts, reasons)
        asked = _without_redundant(port, asked, reasons)
        wanted[port] = _sockets_for(port, asked, facts, reasons)
    return wanted


def _check_host_has(address: IPAddress, facts: Facts, port: int) -> None:
    if address.version == 6 and not facts.ipv6:
        raise ListenPlanError(f"IPv6 is off on this host (no net.ipv6.bindv6only), so nothing can listen on {address} "
                              f"port {port}; remove it or turn IPv6 on")
    if facts.addresses is None or address.is_loopback:
        return
    if address not in facts.addresses:
        has = ", ".join(str(item) for item in facts.addresses) or "no addresses"
        raise ListenPlanError(f'{address} is not an address of this host, so sendmail could not bind it ("Cannot assign '
                              f'requested address"); the host has {has}')


# ---------------------------------------------------------------------------
# Planning, one step per kind of decision

@dataclass
class _Run:
    """One planning run: the file's entries and what the plan has decided so far."""

    entries: list[Entry]
    facts: Facts
    reasons: list[str] = field(default_factory=list)
    decisions: dict[int, Decision] = field(default_factory=dict)  # by the entry's position
    new: list[Decision] = field(default_factory=list)  # new entries, in the order they are added
    # The options of every daemon that listens once the plan is applied: by position, or ("new", n).
    final: dict[object, PortOptions] = field(default_factory=dict)
    taken_names: set[str] = field(default_factory=set)

    def decide(self, position: int, decision: Decision) -> None:
        """Record what happens to the entry at ``position``; a present one listens afterwards."""
        self.decisions[position] = decision
        if decision.state == PRESENT:
            self.final[position] = decision.options

    def add(self, decision: Decision) -> None:
        """Record a new entry."""
        self.new.append(decision)
        self.final[("new", len(self.new))] = decision.options

    def any_present(self) -> bool:
        """Whether the plan writes at least one active entry."""
        return any(decision.state == PRESENT for decision in list(self.decisions.values()) + self.new)


@dataclass
class _Port:
    """The entries on one port the intent mentions, and which of them the plan has used."""

    number: int
    on_port: list[tuple[int, Entry]]  # every entry on the port, commented ones too
    live: list[tuple[int, Entry]]  # the active and implicit inet/inet6 daemons among them
    used: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, entries: list[Entry], number: int) -> _Port:
        """The entries of ``entries`` on port ``number``; refuses one whose address is not a literal."""
        on_port = [(position, entry) for position, entry in enumerate(entries) if _port_of(entry) == number]
        for position, entry in on_port:
            if entry.state != COMMENTED and entry.options.family in (INET, INET6) and _socket(entry, position) is None:
                raise ListenPlanError(
                    f"{entry.describe()} binds {entry.options.get('A')} on port {number}, which is not an IP address, so the plan "
                    "cannot know what it listens on; write the address as a literal first")
        live = [(position, entry) for position, entry in on_port if entry.live and entry.options.family in (INET, INET6)]
        return cls(number, on_port, live)

    def take(self, fits: t.Callable[[int, Entry], bool]) -> tuple[int, Entry] | None:
        """The first live entry not used yet that ``fits``, now used; None if there is none."""
        for position, entry in self.live:
            if position not in self.used and fits(position, entry):
                self.used.add(position)
                return position, entry
        return None


def _keep(run: _Run, port: _Port, wants: list[_Want]) -> list[_Want]:
    """Step 1: an entry that already binds a wanted socket keeps it. Returns the wants still open."""
    open_wants = []
    for want in wants:
        taken = port.take(lambda position, entry: _serves(_socket(entry, position), want))
        if taken is None:
            open_wants.append(want)
            continue
        position, entry = taken
        if entry.fixed:
            run.reasons.append(f"{entry.describe()} already listens on {want.label()}: nothing to change")
            run.final[position] = entry.options
            continue
        _needs_name(entry, "kept")
        if entry.state == IMPLICIT:
            options = _rebind(entry.options, want, explicit=True)
            why = ", written out as an explicit entry so that a new entry cannot silently replace it"
        else:
            options, why = entry.options, ""
        run.decide(position, Decision(PRESENT, options, f"{entry.describe()} already listens on {want.label()}: kept{why}"))
    return open_wants


def _rebind_live(run: _Run, port: _Port, wants: list[_Want]) -> list[_Want]:
    """Steps 2 and 3: an active entry of the same family is rebound, then an implicit daemon of any family."""
    open_wants = []
    for want in wants:
        taken = port.take(lambda _position, entry: not entry.fixed and entry.options.family == want.family)
        taken = taken or port.take(lambda _position, entry: not entry.fixed and entry.state == IMPLICIT)
        if taken is None:
            open_wants.append(want)
            continue
        position, entry = taken
        _needs_name(entry, "rebound")
        options = _rebind(entry.options, want, explicit=entry.state == IMPLICIT)
        kept = _kept_keys(entry.options)
        run.decide(position, Decision(PRESENT, options, f"{entry.describe()} is rebound to {want.label()}{f': it keeps {kept}' if kept else ''}"))
    return open_wants


def _examples(run: _Run, port: _Port) -> list[tuple[int, Entry]]:
    """The commented entries on the port that may be uncommented: the first of each Name no live entry has."""
    live_names = {entry.name for entry in run.entries if entry.live and entry.name}
    first_of_name: dict[str, Entry] = {}
    for entry in run.entries:
        if entry.state == COMMENTED and entry.name:
            first_of_name.setdefault(entry.name, entry)
    return [(position, entry) for position, entry in port.on_port if entry.state == COMMENTED and entry.name
            and first_of_name[entry.name] is entry and entry.name not in live_names]


def _uncomment(run: _Run, port: _Port, wants: list[_Want]) -> list[_Want]:
    """Step 4: a commented example of the same family on the port is uncommented, one that binds the socket first."""
    examples = _examples(run, port)
    open_wants = []
    for want in wants:
        candidates = [(position, entry) for position, entry in examples
                      if position not in port.used and entry.options.family == want.family]
        exact = [(position, entry) for position, entry in candidates if _serves(_socket(entry, position), want)]
        if not candidates:
            open_wants.append(want)
            continue
        position, entry = (exact or candidates)[0]
        port.used.add(position)
        changed = "" if exact else " (its address changed)"
        run.decide(position, Decision(PRESENT, _rebind(entry.options, want), f"{entry.describe()} is uncommented for {want.label()}{changed}"))
    return open_wants


def _add_new(run: _Run, port: _Port, wants: list[_Want]) -> None:
    """Step 5: a new entry per socket still open, with the modifiers and options of the port's existing daemon."""
    donors = [entry for position, entry in port.live if position not in port.used and not entry.fixed]
    donors += [entry for position, entry in port.live if position in port.used]
    donor = donors[0] if donors else None
    for want in wants:
        name = _new_name(port.number, want.family, run.taken_names)
        options = PortOptions(()).with_value("N", name)
        inherited = ""
        if donor is not None:
            for letter, value in donor.options.effective().items():
                if letter not in SOCKET_KEYS:
                    options = options.with_value(letter, value)
            inherited = _kept_keys(donor.options)
        run.add(Decision(PRESENT, _rebind(options, want, explicit=True),
                         f"new daemon {name} for {want.label()}{f', with {inherited} from {donor.name}' if inherited else ''}"))


def _retire(run: _Run, port: _Port) -> None:
    """Step 6: what is left on the port stops listening: implicit daemons are dropped, entries commented out."""
    for position, entry in port.live:
        if position in port.used:
            continue
        socket = _socket(entry, position)
        if entry.fixed:
            raise ListenPlanError(
                f"{entry.describe()} listens on {socket.label}; DAEMON_OPTIONS cannot remove it. Add FEATURE(`no_default_msa') "
                "(dualstack.mta.sendmail_mc feature=no_default_msa) and plan again")
        if entry.state == IMPLICIT:
            run.decide(position, Decision(ABSENT, None, f"{entry.describe()} listened on {socket.host} port {port.number}, "
                                          "which is not wanted: dropped"))
        else:
            _needs_name(entry, "commented out")
            run.decide(position, Decision(COMMENTED, entry.options, f"{entry.describe()} listens on {socket.family} "
                                          f"{socket.host} port {port.number}, which is not wanted: commented out"))


def _plan_port(run: _Run, number: int, wants: list[_Want]) -> None:
    port = _Port.of(run.entries, number)
    wants = _keep(run, port, wants)
    wants = _rebind_live(run, port, wants)
    wants = _uncomment(run, port, wants)
    _add_new(run, port, wants)
    _retire(run, port)


def _write_out_implicit(run: _Run) -> None:
    """The implicit default: sendmail's own daemons on other ports end as soon as the file gets an
    active entry, so they are written out."""
    if not run.any_present():
        return
    for position, entry in enumerate(run.entries):
        if entry.state == IMPLICIT and not entry.fixed and position not in run.decisions:
            options = entry.options
            options = options if options.get("F") else options.with_value("F", INET)
            options = options if options.get("P") else options.with_value("P", _PORT_SPELLING[_SMTP])
            # Not in run.final yet: _leave_other_ports adds it there, in file order with the rest.
            run.decisions[position] = Decision(PRESENT, options, f"{entry.describe()} is written out as an explicit entry: the "
                                               "first DAEMON_OPTIONS would otherwise replace it")


def _leave_other_ports(run: _Run, ports: set[int]) -> None:
    """Daemons on ports the intent does not mention go on listening as they are."""
    for position, entry in enumerate(run.entries):
        if entry.live and _port_of(entry) not in ports and position not in run.final:
            decision = run.decisions.get(position)
            run.final[position] = decision.options if decision else entry.options
    for port in sorted({_port_of(entry) for entry in run.entries if entry.state == PRESENT} - ports, key=str):
        names = [entry.name or "?" for entry in run.entries if entry.state == PRESENT and _port_of(entry) == port]
        run.reasons.append(f"port {port} is not in what to listen on: {', '.join(names)} left as {'it is' if len(names) == 1 else 'they are'}")


def _refuse_no_active_left(run: _Run, ports: set[int]) -> None:
    """With no active entry left, sendmail would fall back to its implicit daemon on port 25."""
    had_active = any(entry.state == PRESENT for entry in run.entries)
    untouched = any(entry.state == PRESENT and position not in run.decisions for position, entry in enumerate(run.entries))
    if had_active and not (run.any_present() or untouched) and _SMTP not in ports:
        raise ListenPlanError("the plan would leave no active DAEMON_OPTIONS entry, so sendmail would fall back to "
                              "its implicit daemon on every IPv4 address, port 25; add port 25 (smtp) to what to "
                              "listen on, or keep a daemon with sendmail_daemons")


def _daemons(run: _Run) -> list[dict[str, object]]:
    """The changes in sendmail_daemon's vocabulary: kept and changed entries, then new ones, then retired ones."""
    ordered = sorted(run.decisions.items())

    def existing(position: int, decision: Decision) -> dict[str, object]:
        return _as_daemon(run.entries[position].name, decision.state, decision.options, _place_if_ambiguous(run.entries, position))

    daemons = [existing(position, decision) for position, decision in ordered if decision.state == PRESENT]
    daemons += [_as_daemon(decision.options.name, decision.state, decision.options) for decision in run.new]
    daemons += [existing(position, decision) for position, decision in ordered if decision.state != PRESENT]
    return daemons


def _sockets_after(run: _Run) -> list[dict[str, object]]:
    """What sendmail listens on once the plan is applied; a plan that would not bind is refused."""
    final_options = list(run.final.values())
    conflicts = bind_conflicts(final_options, run.facts.overlap_rule)
    if conflicts:  # a planner bug, never a user error: refuse rather than write it
        raise ListenPlanError(f"the plan would not bind: {conflicts[0][0].label} and {conflicts[0][1].label}")
    return _final_sockets(final_options, run.facts)


def plan_listen(entries: list[Entry], intent: object, facts: Facts | t.Mapping[str, object] | None) -> ListenPlan:
    """The DAEMON_OPTIONS changes that make sendmail listen on exactly ``intent``.

    ``entries``: from ``entries_from_document``.  ``intent``: see ``listen_intent.parse_intent``.
    ``facts``: ``{'bindv6only': bool or None, 'addresses': [...] or None}`` (or ``Facts``).
    Raises ``ListenPlanError`` with the reason when the intent cannot be planned.
    """
    facts = Facts.of(facts)
    try:
        items = parse_intent(intent)
    except ListenIntentError as error:
        raise ListenPlanError(str(error)) from None
    run = _Run(entries, facts, taken_names={entry.name.lower() for entry in entries if entry.name})
    wanted = _wanted_sockets(items, facts, run.reasons)
    ports = set(wanted)
    _refuse_broken(entries, ports, facts)
    for number in sorted(wanted):
        _plan_port(run, number, wanted[number])
    _write_out_implicit(run)
    _leave_other_ports(run, ports)
    daemons = _daemons(run)
    reasons = run.reasons + [decision.reason for _position, decision in sorted(run.decisions.items())]
    reasons += [decision.reason for decision in run.new]
    _refuse_no_active_left(run, ports)
    return ListenPlan(daemons, reasons, _sockets_after(run))


# ---------------------------------------------------------------------------
# Small pieces

def _socket(entry: Entry, position: int) -> Socket | None:
    return daemon_socket(entry.options, position)


def _port_of(entry: Entry) -> int | str:
    return port_number(entry.options.get("P"))


def _serves(socket: Socket | None, want: _Want) -> bool:
    return (socket is not None and socket.family == want.family and socket.port == want.port
            and socket.address == want.address)


def _rebind(options: PortOptions, want: _Want, explicit: bool = False) -> PortOptions:
    """``options`` listening on ``want``; name, modifiers and other keys stay as they are.

    Keys that already mean the wanted value keep their spelling; ``explicit`` spells out family,
    address and port even where sendmail's defaults would give the same.
    """
    family = options.get("F")
    if (family or INET).lower() != want.family or (explicit and family is None):
        options = options.with_value("F", want.family)
    address = options.get("A")
    current = parse_ip(address) if address else None
    if address is None:
        if want.address is not None or explicit:
            options = options.with_value("A", want.host())
    elif current is None or current != (want.address if want.address is not None else current) \
            or (want.address is None and int(current) != 0):
        options = options.with_value("A", want.host())
    port = options.get("P")
    if port_number(port) != want.port or (explicit and port is None):
        options = options.with_value("P", _PORT_SPELLING.get(want.port, str(want.port)))
    return options


def _as_daemon(name: str, state: str, options: PortOptions | None, position: int | None = None) -> dict[str, object]:
    """A daemon in sendmail_daemon's vocabulary; ``position``: the place of the file's entry it
    changes, for an entry whose Name another active entry shares."""
    daemon: dict[str, object] = {"name": name, "state": state, "family": None, "addr": None, "port": None,
                                 "modifiers": None, "options": {}}
    if position is not None:
        daemon["position"] = position
    if options is not None:
        values = options.effective()
        daemon.update(
            family=values.get("F"),
            addr=values.get("A"),
            port=values.get("P"),
            modifiers=values.get("M"),
            options={KEY_NAMES[letter]: value for letter, value in values.items() if letter not in ENTRY_KEYS},
        )
    return daemon


def _place_if_ambiguous(entries: list[Entry], position: int) -> int | None:
    """The entry's place when its Name is not enough to find it (two active entries share it)."""
    name = entries[position].name
    sharing = [entry for entry in entries if entry.state == PRESENT and entry.name == name]
    return position if entries[position].state != IMPLICIT and len(sharing) > 1 else None


def _new_name(port: int, family: str, taken: set[str]) -> str:
    base = f"{_NAME_BASES.get(port, f'Port{port}')}-{'v6' if family == INET6 else 'v4'}"
    name, number = base, 2
    while name.lower() in taken:
        name, number = f"{base}-{number}", number + 1
    taken.add(name.lower())
    return name


def _needs_name(entry: Entry, action: str) -> None:
    if not entry.name:
        raise ListenPlanError(f"the DAEMON_OPTIONS entry on line {entry.line} ({entry.options.render()}) has no Name=, so it cannot be {action}; "
                              "give it a Name= first")


def _refuse_broken(entries: list[Entry], ports: set[int], facts: Facts) -> None:
    """Entries on ports the intent leaves alone must be able to bind as they are."""
    left = [(position, entry) for position, entry in enumerate(entries) if entry.live and _port_of(entry) not in ports]
    for position, entry in left:
        socket = _socket(entry, position)
        if socket is not None:
            _refuse_unbindable(entry, socket, facts)
    for first, second in bind_conflicts([entry.options for _position, entry in left], facts.overlap_rule):
        raise ListenPlanError(
            f"the file already has daemons that cannot all bind: {first.label} and {second.label} want the same socket under "
            f"net.ipv6.bindv6only={int(facts.overlap_rule)}. What to listen on does not mention port {first.port}, so the plan would "
            f"leave them as they are; add port {first.port} to what to listen on to have them replaced, or fix the entries first")


def _refuse_unbindable(entry: Entry, socket: Socket, facts: Facts) -> None:
    if socket.family == INET6 and not facts.ipv6:
        _refuse_left_alone(entry, socket, "IPv6 is off on this host, so this inet6 daemon cannot bind "
                                          "(and sendmail exits when a socket stays wedged)")
    if socket.address is None or facts.addresses is None or socket.address.is_loopback:
        return
    if socket.address.version == 4 and socket.family == INET6:
        return
    if socket.address not in facts.addresses:
        _refuse_left_alone(entry, socket, f"the host has no address {socket.address} (it has {', '.join(str(item) for item in facts.addresses)})")


def _refuse_left_alone(entry: Entry, socket: Socket, why: str) -> None:
    raise ListenPlanError(
        f"the file already has a daemon that cannot bind: {socket.label}, {entry.where()}: {why}. What to listen on does not mention port {socket.port}, "
        f"so the plan would leave it as it is; add port {socket.port} to what to listen on to have it replaced, or fix the "
        "entry first")


def _kept_keys(options: PortOptions) -> str:
    values = options.effective()
    return ", ".join(f"{KEY_NAMES[letter]}={value}" for letter, value in values.items() if letter not in SOCKET_KEYS)


def _final_sockets(daemons: list[PortOptions], facts: Facts) -> list[dict[str, object]]:
    result = []
    for position, options in enumerate(daemons):
        socket = daemon_socket(options, position)
        if socket is None:
            continue
        serves = [socket.family]
        if socket.family == INET6 and facts.bindv6only is False and socket.address is None:
            serves = [INET, INET6]
        host = socket.host
        result.append({"name": socket.name, "family": socket.family, "address": host, "port": socket.port,
                       "serves": serves, "key": f"{host} {socket.port}"})
    return sorted(result, key=lambda item: (str(item["port"]), item["family"], item["address"]))


def plan_listen_document(document: Document, intent: object, facts: Facts | t.Mapping[str, object] | None) -> ListenPlan:
    """``plan_listen`` over a parsed sendmail.mc or sendmail.cf."""
    return plan_listen(entries_from_document(document), intent, facts)


__all__ = ["Decision", "Entry", "Facts", "ListenPlan", "ListenPlanError", "entries_from_document", "plan_listen",
           "plan_listen_document"]
