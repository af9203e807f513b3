# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Plans for changing one DAEMON_OPTIONS or CLIENT_OPTIONS entry of sendmail.mc (or sendmail.cf).

``ensure_port_entry`` returns a ``Plan`` (see ``mc_edit``); it also knows the daemons sendmail runs
without an entry saying so (``implicit_daemons``), which the first active entry would silently end,
and refuses layouts whose sockets cannot all be bound.  No I/O happens here.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

from ansible_collections.dualstack.mta.plugins.module_utils.net import parse_ip
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_edit import (
    ABSENT,
    COMMENTED,
    PRESENT,
    Plan,
    remove_elements,
    state_of,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import (
    CF,
    CF_OPTION_NAMES,
    MC,
    Document,
    Macro,
    Text,
    insertion_index,
    render_macro,
    restyle,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.port_options import (
    CLIENT_DEFAULTS,
    CLIENT_MODIFIERS,
    DAEMON_DEFAULTS,
    DAEMON_MODIFIERS,
    ENTRY_KEYS,
    PortOptions,
    RefusedChange,
    Socket,
    bind_conflicts,
    both_families_served,
    check_family,
    check_value,
    conflict_message,
    daemon_socket,
)

# (index, macro, its options) of a DAEMON_OPTIONS or CLIENT_OPTIONS macro of the file.
PortEntry = t.Tuple[int, Macro, PortOptions]


def _port_entries(document: Document, kind: str) -> list[PortEntry]:
    entries = []
    for index, macro in document.macros(kind):
        values = macro.values
        # m4 hands only the first argument to sendmail; later ones are dropped.
        entries.append((index, macro, PortOptions.parse(values[0] if values else "")))
    return entries


def _describe_port_entry(document: Document, index: int, macro: Macro, options: PortOptions) -> dict[str, object]:
    described = options.describe()
    described["state"] = state_of(macro)
    described["line"] = document.line_number(index)
    described["text"] = macro.raw.rstrip("\n")
    return described


def describe_port_entries(document: Document, kind: str) -> list[dict[str, object]]:
    """Every ``kind`` entry of the file, commented ones too, as the modules return them."""
    return [_describe_port_entry(document, index, macro, options)
            for index, macro, options in _port_entries(document, kind)]


def _active_daemons(document: Document) -> list[PortOptions]:
    return [entry[2] for entry in _port_entries(document, "DAEMON_OPTIONS") if not entry[1].commented]


# ---------------------------------------------------------------------------
# The daemons sendmail runs without a DAEMON_OPTIONS entry saying so

_IPV6_OSTYPE = re.compile(r"[ \t]*OSTYPE\([ \t]*`*(?:solaris8|solaris11)'*[ \t]*\)")


@dataclass(frozen=True)
class ImplicitDaemon:
    """A daemon the built sendmail.cf (or sendmail itself) has although no entry in the file names it.

    ``fixed`` daemons stay whatever DAEMON_OPTIONS say (only a FEATURE removes them); the
    others exist only while the file has no active DAEMON_OPTIONS, and the first one replaces them.
    """

    options: PortOptions
    why: str
    fixed: bool = False


def _active_macro(document: Document, name: str, first_value: str) -> bool:
    return any(not macro.commented and macro.values[:1] == (first_value,) for _index, macro in document.macros(name))


def implicit_daemons(document: Document) -> list[ImplicitDaemon]:
    """The daemons sendmail gets from cf.m4's proto.m4 (or, for a .cf, from its built-in default).

    With no active DAEMON_OPTIONS proto.m4 writes ``O DaemonPortOptions=Name=MTA`` (IPv4, every
    address, port 25) -- or an MTA-v4 + MTA-v6 pair where the .mc defines _NETINET6_ -- and
    FEATURE(msp) writes a NoMTA daemon on 127.0.0.1; independently of DAEMON_OPTIONS it adds an MSA
    on port 587 unless FEATURE(no_default_msa) (or msp) is active.  A .cf without any
    DaemonPortOptions line listens on IPv4, every address, port 25.
    """
    none_active = not _active_daemons(document)
    if document.syntax == CF:
        if none_active:
            return [ImplicitDaemon(PortOptions.parse("Name=MTA, Family=inet, Port=smtp"),
                                   "sendmail.cf has no active DaemonPortOptions line, so sendmail listens "
                                   "on its built-in default")]
        return []
    msp = _active_macro(document, "FEATURE", "msp")
    implicit = []
    if none_active:
        if msp:
            pairs = [("Name=NoMTA, Addr=127.0.0.1, M=E", "FEATURE(`msp')")]
        elif _active_macro(document, "define", "_NETINET6_") or any(
                _IPV6_OSTYPE.match(element.raw) for element in document.elements if isinstance(element, Text)):
            pairs = [("Name=MTA-v4, Family=inet", "_NETINET6_"), ("Name=MTA-v6, Family=inet6", "_NETINET6_")]
        else:
            pairs = [("Name=MTA", "cf.m4")]
        for text, source in pairs:
            implicit.append(ImplicitDaemon(
                PortOptions.parse(text),
                f"the file has no active DAEMON_OPTIONS, so {source} gives sendmail this default daemon"))
    if not msp and not _active_macro(document, "FEATURE", "no_default_msa"):
        implicit.append(ImplicitDaemon(
            PortOptions.parse("Port=587, Name=MSA, M=E"),
            "the file has no FEATURE(`no_default_msa'), so cf.m4 adds this message submission daemon "
            "whatever DAEMON_OPTIONS say", fixed=True))
    return implicit


def effective_daemons(document: Document) -> list[PortOptions]:
    """PortOptions of every daemon the built configuration has: the active entries and the implicit ones."""
    return _active_daemons(document) + [daemon.options for daemon in implicit_daemons(document)]


def _written_out(daemon: ImplicitDaemon) -> PortOptions:
    """An implicit daemon as an explicit entry: the same meaning, with family and port spelt out."""
    options = daemon.options
    if options.get("F") is None:
        options = options.with_value("F", "inet")
    if options.get("P") is None:
        options = options.with_value("P", "smtp")
    return options


def _listening_summary(daemons: list[PortOptions]) -> str:
    labels = []
    for position, options in enumerate(daemons):
        socket = daemon_socket(options, position)
        labels.append(socket.label if socket is not None else options.render())
    return ", ".join(labels)


# The modifier letters and the defaults of each kind of port entry.
_PORT_KINDS = {
    "DAEMON_OPTIONS": (DAEMON_MODIFIERS, DAEMON_DEFAULTS),
    "CLIENT_OPTIONS": (CLIENT_MODIFIERS, CLIENT_DEFAULTS),
}


def ensure_port_entry(document: Document, kind: str, name: str, state: str, changes: dict[str, str],
                      bindv6only: bool | None = False, replaces: tuple[str, ...] = (), check_result: bool = True,
                      position: int | None = None) -> Plan:
    """Make the ``kind`` entry called ``name`` match ``changes`` (letter -> value, '' removes).

    ``position`` (0 for the first ``kind`` entry of the file, commented ones counted) picks the
    entry by its place instead of its name: for the listening planner, which matches entries by
    the socket they bind, since sendmail takes Name only as a label and two entries may share it.

    ``bindv6only`` is the target's net.ipv6.bindv6only (None when IPv6 is off).
    ``replaces`` names entries removed in the same edit, so that a new daemon is never checked
    against the one it takes over from (and check mode predicts what a real run does).
    Without ``check_result`` the layout is not checked for bind conflicts and warnings: for a
    step of a larger edit, whose caller checks the final layout once.

    A file without active DAEMON_OPTIONS listens through sendmail's implicit default daemon
    (see ``implicit_daemons``), which the first active entry would silently replace.  So when
    this edit makes the first entry active, the implicit daemons are written out as explicit
    entries in the same edit and keep listening -- except the one called ``name`` (the entry
    then starts from its options: the user takes it over) and those named in ``replaces``
    (the user asked to drop them).
    """
    modifiers, defaults = _PORT_KINDS[kind]
    check_value("N", name)
    if not name:
        raise RefusedChange("name must not be empty")
    for letter, value in changes.items():
        check_value(letter, value, modifiers)

    implicit = {}
    if kind == "DAEMON_OPTIONS":
        implicit = {daemon.options.name: daemon for daemon in implicit_daemons(document) if not daemon.fixed}
    edited = document
    if state != ABSENT and replaces:
        edited = remove_elements(edited, [entry[0] for entry in _port_entries(edited, kind)
                                          if entry[2].name in replaces and entry[2].name != name])
    entries = _port_entries(edited, kind)
    entries = [entry for entry in entries if entry[2].name == name] if position is None else entries[position:position + 1]

    if state == ABSENT:
        result, new_options = remove_elements(edited, [entry[0] for entry in entries]), None
    else:
        result, new_options = _set_port_entry(edited, kind, name, state == COMMENTED, changes, entries, implicit)
        check_family(new_options)

    warnings: list[str] = []
    written_out: tuple[PortOptions, ...] = ()
    if kind == "DAEMON_OPTIONS":
        result, written_out = _keep_implicit_daemons(result, implicit, name, state, replaces)
        if check_result:
            warnings.extend(_fallback_warnings(document, result, implicit, name, state))
            refuse_new_conflicts(document, result, bindv6only)
            warnings.extend(_daemon_warnings(result, name, state, new_options, bindv6only))
    elif state == PRESENT and check_result:
        warnings.extend(_client_warnings(result, name, new_options))
    return _port_plan(document.render(), result, kind, name, position, written_out, tuple(warnings))


def _set_port_entry(document: Document, kind: str, name: str, commented: bool, changes: dict[str, str],
                    entries: list[PortEntry], implicit: dict[str, ImplicitDaemon]) -> tuple[Document, PortOptions]:
    """Change the entry (the active one, else the first commented one) or add it; returns the document and its options."""
    active = [entry for entry in entries if not entry[1].commented]
    if len(active) > 1:
        lines = ", ".join(str(document.line_number(entry[0])) for entry in active)
        raise RefusedChange(f"{len(active)} active {kind} entries are named {name} (lines {lines}); remove the extra ones "
                            "or give them distinct names first")
    target = active[0] if active else (entries[0] if entries else None)
    if target is not None:
        index, macro, options = target
        new_options = options.with_changes(changes, _PORT_KINDS[kind][1])
        if new_options.same_meaning(options, _PORT_KINDS[kind][1]) and macro.commented == commented:
            return document, new_options
        return document.replace_at(index, restyle(macro, (new_options.render(),), commented)), new_options
    new_options = _written_out(implicit[name]) if name in implicit else PortOptions(()).with_value("N", name)
    for letter in sorted(changes, key=_preferred_position):
        new_options = new_options.with_value(letter, changes[letter])
    element = render_macro(kind, (new_options.render(),), commented, document.syntax)
    return document.insert_at(insertion_index(document, kind), element), new_options


def _port_plan(before: str, result: Document, kind: str, name: str, position: int | None,
               written_out: tuple[PortOptions, ...], warnings: tuple[str, ...]) -> Plan:
    """The plan of a port entry edit: the entry (its active copy if it has one) and the lines sendmail.cf must get."""
    entry = None
    expected: tuple[str, ...] = ()
    for number, (index, macro, options) in enumerate(_port_entries(result, kind)):
        mine = options.name == name if position is None else number == position
        if mine and (entry is None or not macro.commented):
            entry = _describe_port_entry(result, index, macro, options)
            if result.syntax == MC and not macro.commented:
                expected = (f"O {CF_OPTION_NAMES[kind]}={options.render()}",)
    if result.syntax == MC:
        expected += tuple(f"O {CF_OPTION_NAMES[kind]}={options.render()}" for options in written_out)
    return Plan(before, result.render(), entry, describe_port_entries(result, kind), expected, warnings)


def _keep_implicit_daemons(document: Document, implicit: dict[str, ImplicitDaemon], name: str, state: str,
                           replaces: tuple[str, ...]) -> tuple[Document, tuple[PortOptions, ...]]:
    """Write out the implicit daemons an edit would otherwise end; returns the document and what it wrote."""
    if not implicit:
        return document, ()
    if not _active_daemons(document) and not (state == ABSENT and name in implicit):
        return document, ()  # nothing replaces the implicit daemons yet
    written = []
    for daemon_name, daemon in implicit.items():
        if daemon_name == name or daemon_name in replaces:
            continue
        options = _written_out(daemon)
        element = render_macro("DAEMON_OPTIONS", (options.render(),), False, document.syntax)
        document = document.insert_at(insertion_index(document, "DAEMON_OPTIONS"), element)
        written.append(options)
    return document, tuple(written)


def _fallback_warnings(original: Document, result: Document, implicit: dict[str, ImplicitDaemon], name: str, state: str) -> list[str]:
    """Say when the file ends up (or stays) without active DAEMON_OPTIONS: sendmail uses its default then."""
    if _active_daemons(result):
        return []
    fallback = [daemon.options for daemon in implicit_daemons(result) if not daemon.fixed]
    if _active_daemons(original):
        return [f"{name} leaves no active DAEMON_OPTIONS, so sendmail falls back to its default daemon: {_listening_summary(fallback)}. "
                "Keep an entry with the sockets you want instead."]
    if state == ABSENT and name in implicit:
        return [f"{name} is the daemon sendmail runs because the file has no active DAEMON_OPTIONS ({_listening_summary(fallback)}); "
                "it keeps listening until an entry with the sockets you want replaces it."]
    return []


def _preferred_position(letter: str) -> int:
    return ENTRY_KEYS.index(letter) if letter in ENTRY_KEYS else len(ENTRY_KEYS)


def _conflict_keys(document: Document, bindv6only: bool | None) -> dict[frozenset[str], tuple[Socket, Socket]]:
    if bindv6only is None:  # IPv6 is off: inet6 daemons cannot bind at all, only same-family clashes matter
        bindv6only = True
    return {frozenset((first.label, second.label)): (first, second)
            for first, second in bind_conflicts(effective_daemons(document), bindv6only)}


def refuse_new_conflicts(before: Document, after: Document, bindv6only: bool | None) -> None:
    """Refuse sockets that cannot all be bound, unless the file already had exactly that clash."""
    existing = _conflict_keys(before, bindv6only)
    for key, (first, second) in _conflict_keys(after, bindv6only).items():
        if key not in existing:
            raise RefusedChange(conflict_message(first, second))


def _daemon_warnings(document: Document, name: str, state: str, options: PortOptions | None, bindv6only: bool | None) -> list[str]:
    warnings = []
    if state != PRESENT:
        return warnings
    daemons = _active_daemons(document)
    both = both_families_served(daemons, bool(bindv6only))
    for daemon in daemons:
        if both and "b" in (daemon.get("M") or ""):
            warnings.append(
                f"daemon {daemon.name} has the b modifier (send from the address the mail came in on) while both "
                "IPv4 and IPv6 are served: mail received over one family that must leave over the "
                "other will fail. Remove b or use CLIENT_OPTIONS per family instead.")
    addr = options.get("A") if options is not None else None
    if options is not None and options.family == "inet6" and addr and parse_ip(addr) is None:
        warnings.append(
            f"daemon {name} listens on inet6 at host name {addr}: a name can resolve to an unexpected address "
            "(or an IPv4-mapped one) and make the bind fail; use the literal IPv6 address instead.")
    if bindv6only is None and options is not None and options.family == "inet6":
        warnings.append(f"IPv6 looks disabled on this host (no net.ipv6.bindv6only): daemon {name} cannot listen.")
    return warnings


def entry_warnings(document: Document, kind: str, name: str, bindv6only: bool | None) -> list[str]:
    """The warnings about the active ``kind`` entry called ``name`` in the finished ``document``."""
    active = [entry[2] for entry in _port_entries(document, kind) if not entry[1].commented and entry[2].name == name]
    if not active:
        return []
    if kind == "DAEMON_OPTIONS":
        return _daemon_warnings(document, name, PRESENT, active[-1], bindv6only)
    return _client_warnings(document, name, active[-1])


def _client_warnings(document: Document, name: str, options: PortOptions) -> list[str]:
    warnings = []
    for entry in _port_entries(document, "CLIENT_OPTIONS"):
        macro, other = entry[1], entry[2]
        if not macro.commented and other.name != name and other.family == options.family:
            warnings.append(
                f"CLIENT_OPTIONS {other.name} and {name} both set Family={options.family}; sendmail keeps only the last one per family.")
    return warnings


__all__ = ["ImplicitDaemon", "describe_port_entries", "effective_daemons", "ensure_port_entry", "entry_warnings",
           "implicit_daemons", "refuse_new_conflicts"]
