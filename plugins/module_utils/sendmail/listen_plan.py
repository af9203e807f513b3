# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Plan the DAEMON_OPTIONS that make sendmail listen on what the user asked for.

The user says *what to listen on*: addresses (``all``, ``loopback``, IPv4 or
IPv6 literals) on ports.  ``plan_listen`` reads the daemons a file has
(active, commented and the implicit ones sendmail adds on its own), matches
them by the socket they bind -- family, address, port, never by name -- and
returns the entry changes (in the vocabulary of the sendmail_daemon module),
the reasons for each decision in plain words, and the sockets sendmail will
then listen on.  No I/O happens here.

Decisions, per port the intent mentions:

* ``all`` with net.ipv6.bindv6only=0: one inet6 daemon on ``::``, which also
  takes IPv4 (sendmail never sets IPV6_V6ONLY, so a second, IPv4 daemon on the
  same port could not bind); with bindv6only=1: one wildcard daemon per family;
  with IPv6 off: the IPv4 wildcard only.
* ``loopback``: 127.0.0.1 and (with IPv6 on) ::1; literals: one daemon per
  address.  A wildcard makes the specific addresses of its family redundant.
* An entry that already binds a wanted socket is kept; otherwise an active
  entry of the same family on the port is rebound (keeping its name,
  modifiers and other options), then an implicit daemon, then a commented
  example of the same family; only then is a new entry added, which takes the
  modifiers and options of the port's existing daemon (e.g. ``M=Ea``).
  Active entries on the port that are left over are commented out.
* Entries on ports the intent does not mention are left alone -- but they
  must be able to bind, or the plan is refused.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ansible_collections.dualstack.mta.plugins.module_utils.net import SERVICE_PORTS, parse_ip, port_number
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_edit import implicit_daemons
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import Document
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.port_options import (
    KEY_NAMES,
    PortOptions,
    RefusedChange,
    Socket,
    bind_conflicts,
    daemon_socket,
)

INET, INET6 = "inet", "inet6"
PRESENT, COMMENTED, ABSENT, IMPLICIT = "present", "commented", "absent", "implicit"
ALL, LOOPBACK = "all", "loopback"

_IPV4_LOOPBACK = ipaddress.ip_address("127.0.0.1")
_IPV6_LOOPBACK = ipaddress.ip_address("::1")
# How new entries are named, by port; other ports get "Port<number>".
_NAME_BASES = {25: "MTA", 587: "MSA", 465: "SMTPS", 24: "LMTP"}
_PORT_SPELLING = {25: "smtp", 587: "submission", 465: "smtps"}


class ListenPlanError(RefusedChange):
    """The intent cannot be planned on this file and host; nothing may change."""


# ---------------------------------------------------------------------------
# Input: entries, intent, facts

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
        return self.options.name

    def where(self) -> str:
        if self.state == IMPLICIT:
            return f"implicit, {self.why}"
        return "%sline %d" % ("commented, " if self.state == COMMENTED else "", self.line)


def entries_from_document(document: Document) -> list:
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
    addresses: tuple | None = None

    @classmethod
    def of(cls, facts) -> Facts:
        if isinstance(facts, Facts):
            return facts
        facts = dict(facts or {})
        unknown = sorted(set(facts) - {"bindv6only", "addresses"})
        if unknown:
            raise ListenPlanError("unknown host fact(s) {}; give bindv6only and addresses".format(", ".join(unknown)))
        bindv6only = facts.get("bindv6only", False)
        if bindv6only is not None and not isinstance(bindv6only, bool):
            if str(bindv6only) not in ("0", "1"):
                raise ListenPlanError(f"bindv6only={bindv6only!r} must be true, false (or 1, 0), or null when IPv6 is off")
            bindv6only = str(bindv6only) == "1"
        addresses = facts.get("addresses")
        if addresses is not None:
            parsed = []
            for text in addresses:
                address = parse_ip(str(text).split("%", maxsplit=1)[0].split("/", maxsplit=1)[0])
                if address is None:
                    raise ListenPlanError(f"host address {text!r} is not an IP address")
                parsed.append(address)
            addresses = tuple(parsed)
        return cls(bindv6only, addresses)

    @property
    def ipv6(self) -> bool:
        return self.bindv6only is not None


@dataclass(frozen=True)
class Listen:
    """One intent item: these addresses on these ports (addresses: 'all', 'loopback' or ip objects)."""

    addresses: tuple
    ports: tuple


def _parse_port(value) -> int:
    if isinstance(value, bool) or value is None:
        number = None
    else:
        number = port_number(str(value).strip()) if str(value).strip() else None
    if not isinstance(number, int) or not 1 <= number <= 65535:
        raise ListenPlanError("port {!r} is not a port: use a number from 1 to 65535 or one of {}".format(value, ", ".join(sorted(SERVICE_PORTS))))
    return number


def _parse_address(value):
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is not None and text.lower() in (ALL, LOOPBACK):
        return text.lower()
    address = parse_ip(text) if text else None
    if address is None:
        raise ListenPlanError(
            f"listen address {value!r} is neither all, loopback, an IPv4 address nor an IPv6 address "
            "(host names are not accepted: a name can resolve to other addresses than the ones meant)")
    if address.version == 6 and address.ipv4_mapped is not None:
        raise ListenPlanError(f"listen address {text} is an IPv4-mapped IPv6 address; write the IPv4 address {address.ipv4_mapped} instead")
    if address.is_multicast:
        raise ListenPlanError(f"listen address {text} is a multicast address; a mail daemon cannot listen on it")
    if address.version == 6 and address.is_link_local:
        raise ListenPlanError(f"listen address {text} is link-local: it needs a zone (%eth0), which sendmail cannot "
                              "bind to; use a global or unique local IPv6 address")
    return address


def parse_intent(intent) -> tuple:
    """Normalise what to listen on into ``Listen`` items.

    Accepted: ``'all'``; a list of addresses (port 25); a dict ``{addresses: [...], ports: [...]}``
    (ports default to [25]); or a list of such dicts.  Addresses are ``all``, ``loopback`` or IP
    literals; ports are numbers or service names (smtp, submission, ...).
    """
    if isinstance(intent, (str, dict)):
        intent = [intent]
    if not isinstance(intent, (list, tuple)) or not intent:
        raise ListenPlanError("what to listen on is empty; give addresses (all, loopback or IP literals) and ports")
    if all(isinstance(item, (str, int)) and not isinstance(item, bool) for item in intent):
        intent = [{"addresses": list(intent)}]
    items = []
    for item in intent:
        if isinstance(item, str):
            item = {"addresses": [item]}
        if not isinstance(item, dict):
            raise ListenPlanError(f"listen item {item!r} must be an address or a dict with addresses and ports")
        unknown = sorted(set(item) - {"addresses", "ports"})
        if unknown:
            raise ListenPlanError("listen item {!r} has unknown key(s) {}; use addresses and ports".format(item, ", ".join(unknown)))
        addresses = item.get("addresses")
        ports = item.get("ports", [25])
        addresses = [addresses] if isinstance(addresses, str) else list(addresses or [])
        ports = [ports] if isinstance(ports, (str, int)) else list(ports or [])
        if not addresses:
            raise ListenPlanError(f"listen item {item!r} has no addresses; use all, loopback or IP literals")
        if not ports:
            raise ListenPlanError(f"listen item {item!r} has no ports")
        items.append(Listen(tuple(_parse_address(value) for value in addresses),
                            tuple(_parse_port(value) for value in ports)))
    return tuple(items)


# ---------------------------------------------------------------------------
# Output

@dataclass(frozen=True)
class ListenPlan:
    """``daemons``: sendmail_daemon-style entries to apply (in this order); ``reasons``: one
    sentence per decision; ``sockets``: what sendmail listens on afterwards, every port."""

    daemons: list
    reasons: list
    sockets: list = field(default_factory=list)


@dataclass(frozen=True)
class _Want:
    family: str
    address: object  # None: every address of the family
    port: int

    def host(self) -> str:
        if self.address is None:
            return "::" if self.family == INET6 else "0.0.0.0"
        return str(self.address)

    def label(self) -> str:
        return "%s on %s port %d" % (self.family, self.host(), self.port)


def _host_text(socket: Socket) -> str:
    if socket.address is None:
        return "::" if socket.family == INET6 else "0.0.0.0"
    return str(socket.address)


def _describe(entry: Entry) -> str:
    return "{} ({})".format(entry.name or "an entry without Name=", entry.where())


# ---------------------------------------------------------------------------
# Planning

def _wanted_sockets(items: tuple, facts: Facts, reasons: list) -> dict:
    """Port -> the sockets to listen on, conflict-free under the host's bindv6only."""
    by_port = {}
    for item in items:
        for port in item.ports:
            by_port.setdefault(port, [])
            for address in item.addresses:
                if address not in by_port[port]:
                    by_port[port].append(address)
    wanted = {}
    for port, addresses in by_port.items():
        v4_all = v6_all = False
        v4, v6 = [], []
        for address in addresses:
            if address == ALL:
                v4_all, v6_all = True, v6_all or facts.ipv6
            elif address == LOOPBACK:
                v4.append(_IPV4_LOOPBACK)
                if facts.ipv6:
                    v6.append(_IPV6_LOOPBACK)
            elif int(address) == 0:
                if address.version == 6 and not facts.ipv6:
                    raise ListenPlanError("IPv6 is off on this host (no net.ipv6.bindv6only), so nothing can "
                                          "listen on :: port %d; remove it or turn IPv6 on" % port)
                v4_all, v6_all = v4_all or address.version == 4, v6_all or address.version == 6
            else:
                _check_host_has(address, facts, port)
                (v4 if address.version == 4 else v6).append(address)
        if ALL in addresses and not facts.ipv6:
            reasons.append("port %d: IPv6 is off on this host (no net.ipv6.bindv6only), so all addresses means "
                           "all IPv4 addresses" % port)
        if LOOPBACK in addresses and not facts.ipv6:
            reasons.append("port %d: IPv6 is off on this host, so loopback means 127.0.0.1 only" % port)
        for every, specific, family in ((v4_all, v4, "IPv4"), (v6_all, v6, "IPv6")):
            if every and specific:
                reasons.append("port %d: every %s address is wanted, so %s need no daemon of their own"
                               % (port, family, ", ".join(sorted(set(str(address) for address in specific)))))
                specific.clear()
        v4 = sorted(set(v4))
        v6 = sorted(set(v6))
        sockets = []
        if v6_all and not facts.bindv6only:
            if not v4_all:
                asked = ", ".join(str(address) for address in v4) or "no IPv4 address"
                raise ListenPlanError(
                    "port %d: :: (every IPv6 address) with %s can only be bound with net.ipv6.bindv6only=1: "
                    "with bindv6only=0 an inet6 daemon on :: also takes every IPv4 address (sendmail never "
                    "sets IPV6_V6ONLY). Set the sysctl net.ipv6.bindv6only=1, or ask for all (both "
                    "families), or list the IPv6 addresses instead of ::" % (port, asked))
            sockets.append(_Want(INET6, None, port))
            reasons.append('port %d: every address of both families with net.ipv6.bindv6only=0 -> one inet6 '
                           'daemon on ::, which serves IPv4 too (an IPv4 daemon next to it could not bind: '
                           '"Address already in use")' % port)
        else:
            if v4_all:
                sockets.append(_Want(INET, None, port))
            sockets.extend(_Want(INET, address, port) for address in v4)
            if v6_all:
                sockets.append(_Want(INET6, None, port))
                reasons.append("port %d: every address of both families with net.ipv6.bindv6only=1 -> one "
                               "daemon per family on 0.0.0.0 and ::" % port)
            sockets.extend(_Want(INET6, address, port) for address in v6)
            if v4 and v6 or len(v4) + len(v6) > 1:
                reasons.append("port %d: one daemon per listed address (%s)"
                               % (port, ", ".join(str(address) for address in v4 + v6)))
        wanted[port] = sockets
    return wanted


def _check_host_has(address, facts: Facts, port: int) -> None:
    if address.version == 6 and not facts.ipv6:
        raise ListenPlanError("IPv6 is off on this host (no net.ipv6.bindv6only), so nothing can listen on %s "
                              "port %d; remove it or turn IPv6 on" % (address, port))
    if facts.addresses is None or address.is_loopback:
        return
    if address not in facts.addresses:
        raise ListenPlanError('{} is not an address of this host, so sendmail could not bind it ("Cannot assign '
                              'requested address"); the host has {}'.format(address, ", ".join(str(item) for item in facts.addresses) or "no addresses"))


def _socket(entry: Entry, position: int) -> Socket | None:
    return daemon_socket(entry.options, position)


def _port_of(entry: Entry):
    return port_number(entry.options.get("P"))


def _serves(socket, want: _Want) -> bool:
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


def _as_daemon(name: str, state: str, options: PortOptions | None, position: int | None = None) -> dict:
    """A daemon in sendmail_daemon's vocabulary; ``position``: the place of the file's entry it
    changes, for an entry whose Name another active entry shares."""
    daemon = {"name": name, "state": state, "family": None, "addr": None, "port": None,
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
            options={KEY_NAMES[letter]: value for letter, value in values.items() if letter not in "NFAPM"},
        )
    return daemon


def _place_if_ambiguous(entries: list, position: int) -> int | None:
    """The entry's place when its Name is not enough to find it (two active entries share it)."""
    name = entries[position].name
    sharing = [entry for entry in entries if entry.state == PRESENT and entry.name == name]
    return position if entries[position].state != IMPLICIT and len(sharing) > 1 else None


def _new_name(port: int, family: str, taken: set) -> str:
    base = "{}-{}".format(_NAME_BASES.get(port, "Port%d" % port), "v6" if family == INET6 else "v4")
    name, number = base, 2
    while name.lower() in taken:
        name, number = "%s-%d" % (base, number), number + 1
    taken.add(name.lower())
    return name


def _needs_name(entry: Entry, action: str) -> None:
    if not entry.name:
        raise ListenPlanError(f"the DAEMON_OPTIONS entry on line {entry.line} ({entry.options.render()}) has no Name=, so it cannot be {action}; "
                              "give it a Name= first")


def _refuse_broken(entries: list, ports: set, facts: Facts) -> None:
    """Entries on ports the intent leaves alone must be able to bind as they are."""
    bindv6only = True if facts.bindv6only is None else facts.bindv6only
    live = [(position, entry) for position, entry in enumerate(entries) if entry.state in (PRESENT, IMPLICIT)]
    left = [(position, entry) for position, entry in live if _port_of(entry) not in ports]
    sockets = {}
    for position, entry in left:
        socket = _socket(entry, position)
        if socket is None:
            continue
        sockets[position] = socket
        if socket.family == INET6 and not facts.ipv6:
            _refuse_left_alone(entry, socket, "IPv6 is off on this host, so this inet6 daemon cannot bind "
                                              "(and sendmail exits when a socket stays wedged)")
        if socket.address is not None and facts.addresses is not None and not socket.address.is_loopback:
            if socket.address.version == 4 and socket.family == INET6:
                continue
            if socket.address not in facts.addresses:
                _refuse_left_alone(entry, socket, "the host has no address {} (it has {})".format(
                    socket.address, ", ".join(str(item) for item in facts.addresses)))
    options = [entry.options for position, entry in left]
    for first, second in bind_conflicts(options, bindv6only):
        raise ListenPlanError(
            "the file already has daemons that cannot all bind: %s and %s want the same socket under "
            "net.ipv6.bindv6only=%d. What to listen on does not mention port %s, so the plan would leave them "
            "as they are; add port %s to what to listen on to have them replaced, or fix the entries first"
            % (first.label, second.label, int(bindv6only), first.port, first.port))


def _refuse_left_alone(entry: Entry, socket: Socket, why: str) -> None:
    raise ListenPlanError(
        f"the file already has a daemon that cannot bind: {socket.label}, {entry.where()}: {why}. What to listen on does not mention port {socket.port}, "
        f"so the plan would leave it as it is; add port {socket.port} to what to listen on to have it replaced, or fix the "
        "entry first")


def plan_listen(entries: list, intent, facts) -> ListenPlan:
    """The DAEMON_OPTIONS changes that make sendmail listen on exactly ``intent``.

    ``entries``: from ``entries_from_document``.  ``intent``: see ``parse_intent``.
    ``facts``: ``{'bindv6only': bool or None, 'addresses': [...] or None}`` (or ``Facts``).
    Raises ``ListenPlanError`` with the reason when the intent cannot be planned.
    """
    facts = Facts.of(facts)
    items = parse_intent(intent)
    reasons = []
    wanted = _wanted_sockets(items, facts, reasons)
    ports = set(wanted)
    _refuse_broken(entries, ports, facts)

    taken_names = {entry.name.lower() for entry in entries if entry.name}
    active_names = [entry.name for entry in entries if entry.state in (PRESENT, IMPLICIT) and entry.name]
    first_commented = {}
    for entry in entries:
        if entry.state == COMMENTED and entry.name and entry.name not in first_commented:
            first_commented[entry.name] = entry
    # position -> (state, options, reason) for every entry the plan changes or keeps on a wanted port
    decisions = {}
    new_entries = []
    final = {}  # position (or ('new', n)) -> PortOptions of daemons that listen after the plan

    for port in sorted(wanted):
        wants = list(wanted[port])
        on_port = [(position, entry) for position, entry in enumerate(entries) if _port_of(entry) == port]
        for position, entry in on_port:
            if entry.state != COMMENTED and entry.options.family in (INET, INET6) and _socket(entry, position) is None:
                raise ListenPlanError(
                    "%s binds %s on port %d, which is not an IP address, so the plan cannot know what it "
                    "listens on; write the address as a literal first"
                    % (_describe(entry), entry.options.get("A"), port))
        live = [(position, entry) for position, entry in on_port
                if entry.state in (PRESENT, IMPLICIT) and entry.options.family in (INET, INET6)]
        used = set()
        open_wants = []
        # 1. an entry that already binds the socket keeps it
        for want in wants:
            match = next((position for position, entry in live
                          if position not in used and _serves(_socket(entry, position), want)), None)
            if match is None:
                open_wants.append(want)
                continue
            entry = entries[match]
            used.add(match)
            if entry.fixed:
                reasons.append(f"{_describe(entry)} already listens on {want.label()}: nothing to change")
                final[match] = entry.options
                continue
            options = _rebind(entry.options, want, explicit=True) if entry.state == IMPLICIT else entry.options
            _needs_name(entry, "kept")
            decisions[match] = (PRESENT, options, (
                "{} already listens on {}: kept{}".format(
                    _describe(entry), want.label(),
                    ", written out as an explicit entry so that a new entry cannot silently replace it"
                    if entry.state == IMPLICIT else "")))
            final[match] = options
        wants, open_wants = open_wants, []
        # 2. an active entry of the same family is rebound, 3. then an implicit daemon of any family
        for want in wants:
            match = next((position for position, entry in live if position not in used and not entry.fixed
                          and entry.options.family == want.family), None)
            if match is None:
                match = next((position for position, entry in live if position not in used and not entry.fixed
                              and entry.state == IMPLICIT), None)
            if match is None:
                open_wants.append(want)
                continue
            entry = entries[match]
            used.add(match)
            _needs_name(entry, "rebound")
            options = _rebind(entry.options, want, explicit=entry.state == IMPLICIT)
            kept = _kept_keys(entry.options)
            decisions[match] = (PRESENT, options, "{} is rebound to {}{}".format(
                _describe(entry), want.label(), (f": it keeps {kept}") if kept else ""))
            final[match] = options
        wants, open_wants = open_wants, []
        # 4. a commented example of the same family on the port is uncommented
        commented = [(position, entry) for position, entry in on_port if entry.state == COMMENTED
                     and entry.name and first_commented.get(entry.name) is entry
                     and entry.name not in active_names]
        for want in wants:
            candidates = [(position, entry) for position, entry in commented
                          if position not in used and entry.options.family == want.family]
            exact = [item for item in candidates if _serves(_socket(item[1], item[0]), want)]
            chosen = (exact or candidates or [None])[0]
            if chosen is None:
                open_wants.append(want)
                continue
            position, entry = chosen
            used.add(position)
            options = _rebind(entry.options, want)
            decisions[position] = (PRESENT, options, "{} is uncommented for {}{}".format(
                _describe(entry), want.label(), "" if exact else " (its address changed)"))
            final[position] = options
        # 5. new entries, with the modifiers and options of the port's existing daemon
        donors = [entry for position, entry in live if position not in used and not entry.fixed]
        donors += [entry for position, entry in live if position in used]
        donor = donors[0] if donors else None
        for want in open_wants:
            name = _new_name(port, want.family, taken_names)
            options = PortOptions(()).with_value("N", name)
            inherited = ""
            if donor is not None:
                for letter, value in donor.options.effective().items():
                    if letter not in "NFAP":
                        options = options.with_value(letter, value)
                inherited = _kept_keys(donor.options)
            options = _rebind(options, want, explicit=True)
            new_entries.append((PRESENT, options, "new daemon {} for {}{}".format(
                name, want.label(), (f", with {inherited} from {donor.name}") if inherited else "")))
            final[("new", len(new_entries))] = options
        # 6. what is left on the port stops listening
        for position, entry in live:
            if position in used:
                continue
            if entry.fixed:
                raise ListenPlanError(
                    f"{_describe(entry)} listens on {_socket(entry, position).label}; DAEMON_OPTIONS cannot remove it. Add FEATURE(`no_default_msa') "
                    "(dualstack.mta.sendmail_mc feature=no_default_msa) and plan again")
            socket = _socket(entry, position)
            if entry.state == IMPLICIT:
                decisions[position] = (ABSENT, None, "{} listened on {}, which is not wanted: dropped".format(
                    _describe(entry), _host_text(socket) + " port %d" % port))
            else:
                _needs_name(entry, "commented out")
                decisions[position] = (COMMENTED, entry.options, "%s listens on %s %s port %d, which is not "
                                       "wanted: commented out" % (_describe(entry), socket.family,
                                                                  _host_text(socket), port))

    # Implicit daemons on other ports end as soon as the file gets an active entry: write them out.
    if any(state == PRESENT for state, _options, _reason in list(decisions.values()) + new_entries):
        for position, entry in enumerate(entries):
            if entry.state == IMPLICIT and not entry.fixed and position not in decisions:
                options = entry.options
                options = options if options.get("F") else options.with_value("F", INET)
                options = options if options.get("P") else options.with_value("P", "smtp")
                decisions[position] = (PRESENT, options, f"{_describe(entry)} is written out as an explicit entry: the first "
                                       "DAEMON_OPTIONS would otherwise replace it")
    for position, entry in enumerate(entries):
        if entry.state in (PRESENT, IMPLICIT) and _port_of(entry) not in ports and position not in final:
            final[position] = decisions[position][1] if position in decisions else entry.options
    for port in sorted({_port_of(entry) for entry in entries if entry.state == PRESENT} - ports, key=str):
        names = [entry.name or "?" for entry in entries if entry.state == PRESENT and _port_of(entry) == port]
        reasons.append("port {} is not in what to listen on: {} left as {}".format(
            port, ", ".join(names), "it is" if len(names) == 1 else "they are"))

    daemons = [_as_daemon(entries[position].name, state, options, _place_if_ambiguous(entries, position))
               for position, (state, options, _reason) in sorted(decisions.items()) if state == PRESENT]
    daemons += [_as_daemon(options.name, state, options) for state, options, _reason in new_entries]
    daemons += [_as_daemon(entries[position].name, state, options, _place_if_ambiguous(entries, position))
                for position, (state, options, _reason) in sorted(decisions.items()) if state != PRESENT]
    reasons += [reason for _position, (_state, _options, reason) in sorted(decisions.items())]
    reasons += [reason for _state, _options, reason in new_entries]

    # With no active entry left, sendmail would fall back to its implicit daemon on port 25.
    had_active = any(entry.state == PRESENT for entry in entries)
    keeps_active = any(state == PRESENT for state, _options, _reason in list(decisions.values()) + new_entries) or any(
        entry.state == PRESENT and position not in decisions for position, entry in enumerate(entries))
    if had_active and not keeps_active and 25 not in ports:
        raise ListenPlanError("the plan would leave no active DAEMON_OPTIONS entry, so sendmail would fall back to "
                              "its implicit daemon on every IPv4 address, port 25; add port 25 (smtp) to what to "
                              "listen on, or keep a daemon with sendmail_daemons")

    final_options = list(final.values())
    sockets = _final_sockets(final_options, facts)
    conflicts = bind_conflicts(final_options, True if facts.bindv6only is None else facts.bindv6only)
    if conflicts:  # a planner bug, never a user error: refuse rather than write it
        raise ListenPlanError(f"the plan would not bind: {conflicts[0][0].label} and {conflicts[0][1].label}")
    return ListenPlan(daemons, reasons, sockets)


def _kept_keys(options: PortOptions) -> str:
    values = options.effective()
    kept = [f"{KEY_NAMES[letter]}={value}" for letter, value in values.items() if letter not in "NFAP"]
    return ", ".join(kept)


def _final_sockets(daemons: list, facts: Facts) -> list:
    result = []
    for position, options in enumerate(daemons):
        socket = daemon_socket(options, position)
        if socket is None:
            continue
        serves = [socket.family]
        if socket.family == INET6 and facts.bindv6only is False and socket.address is None:
            serves = [INET, INET6]
        host = _host_text(socket)
        result.append({"name": socket.name, "family": socket.family, "address": host, "port": socket.port,
                       "serves": serves, "key": f"{host} {socket.port}"})
    return sorted(result, key=lambda item: (str(item["port"]), item["family"], item["address"]))


def plan_listen_document(document: Document, intent, facts) -> ListenPlan:
    """``plan_listen`` over a parsed sendmail.mc or sendmail.cf."""
    return plan_listen(entries_from_document(document), intent, facts)


__all__ = ["Entry", "Facts", "Listen", "ListenPlan", "ListenPlanError", "entries_from_document",
           "parse_intent", "plan_listen", "plan_listen_document"]
