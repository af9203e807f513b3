# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The whole wanted state of one sendmail.mc (or .cf), planned as one edit.

Entries use the vocabulary of the single-entry modules (sendmail_daemon,
sendmail_client, sendmail_mc) and are applied, removals first, to one
in-memory document through the same ``ensure_*`` functions.  Sockets are
checked for bind conflicts on the result only, so the order in which the
entries are listed never matters.  No I/O happens here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.listen_plan import plan_listen_document
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_edit import ABSENT, PRESENT, Plan
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import Document
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_ports import (
    describe_port_entries,
    ensure_port_entry,
    entry_warnings,
    refuse_new_conflicts,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_settings import (
    ensure_define,
    ensure_feature,
    ensure_masquerade_as,
    ensure_member,
    ensure_undefine,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.port_options import (
    RefusedChange,
    key_for_option_name,
)

DAEMON, CLIENT = "DAEMON_OPTIONS", "CLIENT_OPTIONS"
PORT_KINDS = {DAEMON: "daemon", CLIENT: "client"}

# Module parameter -> DaemonPortOptions key letter, for the keys that have their own parameter.
_DEDICATED = {"N": "name", "F": "family", "A": "addr", "P": "port", "M": "modifiers"}

SETTING_KINDS = ("feature", "define", "undefine", "masquerade_as", "masquerade_domain", "exposed_user")


def port_changes(entry: dict[str, Any]) -> dict[str, str]:
    """The keys an entry sets, as {key letter: value}; '' removes a key."""
    changes = {}
    for letter, option in _DEDICATED.items():
        if option != "name" and entry.get(option) is not None:
            changes[letter] = str(entry[option])
    for key, value in (entry.get("options") or {}).items():
        letter = key_for_option_name(str(key))
        if letter in _DEDICATED:
            raise RefusedChange(f"set {key} with the {_DEDICATED[letter]} option, not inside options")
        changes[letter] = "" if value is None else str(value)
    return changes


def setting_kind(entry: dict[str, Any]) -> str:
    """Which of the setting kinds an entry names; exactly one must be given."""
    kinds = [kind for kind in SETTING_KINDS if entry.get(kind) is not None]
    if len(kinds) != 1:
        raise RefusedChange("each setting names exactly one of {}; got {}".format(", ".join(SETTING_KINDS), ", ".join(kinds) or "none"))
    return kinds[0]


def setting_step(entry: dict[str, Any]) -> Callable[[Document], Plan]:
    """The plan function for one setting entry (the arguments of sendmail_mc)."""
    kind = setting_kind(entry)
    state = entry.get("state") or PRESENT
    if kind == "feature":
        return lambda document: ensure_feature(document, entry["feature"], entry.get("feature_args"), state)
    if kind == "define":
        return lambda document: ensure_define(document, entry["define"], entry.get("value"), state)
    if kind == "undefine":
        return lambda document: ensure_undefine(document, entry["undefine"], state)
    if kind == "masquerade_as":
        return lambda document: ensure_masquerade_as(document, entry["masquerade_as"], state)
    if kind == "masquerade_domain":
        return lambda document: ensure_member(document, "MASQUERADE_DOMAIN", entry["masquerade_domain"], state)
    return lambda document: ensure_member(document, "EXPOSED_USER", entry["exposed_user"], state)


def setting_label(entry: dict[str, Any]) -> str:
    """What a setting entry is about, for the user: its kind and name (``define`` with its value)."""
    kind = setting_kind(entry)
    if kind == "define" and entry.get("value") is not None:
        return "define {}={}".format(entry["define"], entry["value"])
    return f"{kind} {entry[kind]}"


@dataclass(frozen=True)
class Step:
    """One entry edit of a whole-configuration plan, applied to the document in order."""

    kind: str    # daemon, client or setting
    label: str     # what the step is about, for the user
    identity: str  # what makes two steps the same entry
    state: str
    run: Callable[[Document], Plan]
    position: int | None = None  # the place of the file's entry it changes, when not found by name


@dataclass(frozen=True)
class ConfigPlan:
    """A whole-configuration edit: the text before and after, what changed, and the entries afterwards."""

    before: str
    after: str
    changes: tuple[dict[str, str], ...]  # {kind, name, state} of every entry that changed, in the order applied
    daemons: list[dict[str, object]]
    clients: list[dict[str, object]]
    expected_cf_lines: tuple[str, ...]
    warnings: tuple[str, ...]
    reasons: tuple[str, ...] = ()  # why the daemons were planned so, when they came from a listening intent

    @property
    def changed(self) -> bool:
        """Whether the plan changes the text."""
        return self.before != self.after


def _port_step(kind: str, entry: dict[str, Any], bindv6only: bool | None) -> Step:
    """The step for one entry: by name, or (from the listening planner) by its place in the file."""
    name = entry.get("name")
    if not name:
        raise RefusedChange(f"every {PORT_KINDS[kind]} entry needs a name")
    state = entry.get("state") or PRESENT
    changes = port_changes(entry)
    position = entry.get("position")
    identity = name if position is None else f"the entry at place {position}"
    return Step(PORT_KINDS[kind], name, identity, state, lambda document: ensure_port_entry(
        document, kind, name, state, changes, bindv6only, check_result=False, position=position), position)


def _refuse_duplicates(steps: list[Step]) -> None:
    seen = set()
    for step in steps:
        key = (step.kind, step.identity)
        if key in seen:
            raise RefusedChange("{} {} is listed twice; list each entry once".format(*key))
        seen.add(key)


def _unlisted_port_entries(document: Document, kind: str, listed: set[str]) -> list[Step]:
    """Removal steps for the entries of ``kind`` whose names are not listed (exclusive mode)."""
    names = []
    for entry in describe_port_entries(document, kind):
        if entry["name"] not in listed and entry["name"] not in names:
            names.append(entry["name"])
    if None in names:
        raise RefusedChange(f"a {PORT_KINDS[kind]} entry without a Name cannot be told apart; give it a Name first")
    return [_port_step(kind, {"name": name, "state": ABSENT}, None) for name in names]


def plan_config(document: Document, daemons: list[dict[str, Any]], clients: list[dict[str, Any]], settings: list[dict[str, Any]],
                bindv6only: bool | None = False, exclusive: bool = False,
                listen: object = None, host_addresses: list[str] | None = None) -> ConfigPlan:
    """Apply every entry to ``document``: removals first, then the rest in the order given.

    ``bindv6only`` is the value of net.ipv6.bindv6only to plan for (None when IPv6 is off).
    With ``exclusive``, DAEMON_OPTIONS and CLIENT_OPTIONS entries that are not listed are removed.
    With ``listen`` (what to listen on, see ``listen_plan``) the daemons are planned from the
    entries the file has, for a host with ``host_addresses`` (None: not checked).
    """
    reasons = ()
    if listen is not None:
        if daemons:
            raise RefusedChange("give either what to listen on (listen) or the daemons, not both")
        listen_plan = plan_listen_document(document, listen, {"bindv6only": bindv6only, "addresses": host_addresses})
        daemons, reasons = listen_plan.daemons, tuple(listen_plan.reasons)
    steps = ([_port_step(DAEMON, entry, bindv6only) for entry in daemons]
             + [_port_step(CLIENT, entry, bindv6only) for entry in clients]
             + [Step("setting", setting_label(entry), f"{setting_kind(entry)} {entry[setting_kind(entry)]}",
                     entry.get("state") or PRESENT, setting_step(entry))
                for entry in settings])
    _refuse_duplicates(steps)
    if exclusive:
        steps = (_unlisted_port_entries(document, DAEMON, {entry["name"] for entry in daemons})
                 + _unlisted_port_entries(document, CLIENT, {entry["name"] for entry in clients})
                 + steps)
    # Steps that address an entry by its place run first, while every place is still the file's own.
    by_place = [step for step in steps if step.position is not None]
    rest = [step for step in steps if step not in by_place]
    removals_first = by_place + [step for step in rest if step.state == ABSENT] + [
        step for step in rest if step.state != ABSENT]

    current = document
    changes, expected, warnings = [], [], []
    for step in removals_first:
        plan = step.run(current)
        warnings.extend(plan.warnings)
        if plan.changed:
            # An entry left as it was keeps its own spelling, which need not be the rendered one.
            expected.extend(plan.expected_cf_lines)
            changes.append({"kind": step.kind, "name": step.label, "state": step.state})
            current = Document.parse(plan.after, document.syntax)

    refuse_new_conflicts(document, current, bindv6only)
    for kind, entries in ((DAEMON, daemons), (CLIENT, clients)):
        for entry in entries:
            if (entry.get("state") or PRESENT) == PRESENT:
                warnings.extend(entry_warnings(current, kind, entry["name"], bindv6only))
    return ConfigPlan(
        before=document.render(),
        after=current.render(),
        changes=tuple(changes),
        daemons=describe_port_entries(current, DAEMON),
        clients=describe_port_entries(current, CLIENT),
        expected_cf_lines=tuple(dict.fromkeys(expected)),
        warnings=tuple(dict.fromkeys(warnings)),
        reasons=reasons,
    )
