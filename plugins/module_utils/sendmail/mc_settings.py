# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Plans for changing one FEATURE, define, undefine, MASQUERADE_AS, MASQUERADE_DOMAIN or
EXPOSED_USER entry of sendmail.mc.

Each ``ensure_*`` function returns a ``Plan`` (see ``mc_edit``).  Values are checked against the
grammar sendmail.mc gives them, so nothing can change the structure of the file.  No I/O happens here.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils.net import HOST_NAME
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_edit import (
    ABSENT,
    COMMENTED,
    PRESENT,
    Plan,
    remove_elements,
    state_of,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import (
    MC,
    Document,
    Macro,
    insertion_index,
    render_macro,
    restyle,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.port_options import RefusedChange

# (index, macro) of a macro of the file.
Match = t.Tuple[int, Macro]


def _indexes(matches: list[Match]) -> list[int]:
    return [match[0] for match in matches]


def _first_argument_is(value: str) -> t.Callable[[Macro], bool]:
    """How an entry is told apart from others of its macro: by its first argument."""
    return lambda macro: macro.values[:1] == (value,)


def _matches(document: Document, macro_name: str, identity: t.Callable[[Macro], bool]) -> list[Match]:
    return [(index, macro) for index, macro in document.macros(macro_name) if identity(macro)]


def _active_first(matches: list[Match]) -> list[Macro]:
    """The macros of (index, macro) matches, active ones only if there are any."""
    macros = [match[1] for match in matches]
    return [macro for macro in macros if not macro.commented] or macros


_FEATURE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_FEATURE_ARGUMENT = re.compile(r"(?:[A-Za-z0-9_./:@+=<>%!~{}|-]+(?: [A-Za-z0-9_./:@+=<>%!~{}|-]+)*)?")
_DEFINE_NAME = re.compile(
    r"conf[A-Z0-9_]+|SMART_HOST|MAIL_HUB|LOCAL_RELAY|LUSER_RELAY|RELAY_MAILER"
    r"|(?:LOCAL|SMTP|ESMTP|SMTP8|DSMTP|RELAY|PROCMAIL)_MAILER_(?:PATH|FLAGS|ARGS|MAX|QGRP|CHARSET)"
    r"|ALIAS_FILE|HELP_FILE|QUEUE_DIR|STATUS_FILE")
_DEFINE_VALUE = re.compile(r"(?:[A-Za-z0-9_./:@+=<>%!~{}|,;*?&^\[\]-]|\$(?=[A-Za-z{&]))+"
                           r"(?: (?:[A-Za-z0-9_./:@+=<>%!~{}|,;*?&^\[\]-]|\$(?=[A-Za-z{&]))+)*")
_HOST_OR_LITERAL = rf"(?:{HOST_NAME.pattern}|\[{HOST_NAME.pattern}\]|\[IPv6:[0-9A-Fa-f:.]+\])"
_RELAY_VALUE = re.compile(r"(?:[a-z][a-z0-9_-]*:)?" + _HOST_OR_LITERAL)
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}")
_DOMAIN = re.compile(r"\.?" + HOST_NAME.pattern)
_STRUCTURAL = re.compile(r"""[`'"()\\#\x00-\x1f\x7f]""")

# Where a define shows up in the built sendmail.cf, to check it arrived intact.
_DEFINE_CF_PREFIX = {
    "SMART_HOST": "DS", "MAIL_HUB": "DH", "LOCAL_RELAY": "DR", "LUSER_RELAY": "DL",
    "confDOMAIN_NAME": "Dj", "confLOG_LEVEL": "O LogLevel=",
}
_RELAY_DEFINES = ("SMART_HOST", "MAIL_HUB", "LOCAL_RELAY")


def _check(what: str, value: str, grammar: re.Pattern[str], hint: str, commas: bool = False) -> None:
    bad = _STRUCTURAL.search(value) or (None if commas else re.search(",", value))
    if bad:
        raise RefusedChange("{} {!r} contains {!r}, which would change the structure of sendmail.mc; "
                            "quotes, backquotes, parentheses, #, backslashes, control characters{} "
                            "are not allowed".format(what, value, bad.group(), "" if commas else " and commas"))
    if not grammar.fullmatch(value):
        raise RefusedChange(f"{what} {value!r} is not valid: {hint}")


def _describe(document: Document, index: int, macro: Macro) -> dict[str, object]:
    return {
        "macro": macro.name,
        "args": list(macro.values),
        "state": state_of(macro),
        "line": document.line_number(index),
        "text": macro.raw.rstrip("\n"),
    }


def describe_entries(document: Document, *names: str) -> list[dict[str, object]]:
    """Every macro called one of ``names`` in the file, commented ones too, as the modules return them."""
    return [_describe(document, index, macro) for index, macro in document.macros(*names)]


def _trimmed(values: tuple[str, ...]) -> tuple[str, ...]:
    """FEATURE(`x', `') means FEATURE(`x'): trailing empty arguments carry nothing."""
    values = tuple(values)
    while values and values[-1] == "":
        values = values[:-1]
    return values


def _set_entry(document: Document, macro_name: str, matches: list[Match], values: tuple[str, ...], state: str) -> Document:
    """Bring the first active match (else the first commented one) to ``values``/``state``,
    or add a new entry; ``matches`` are (index, macro) of the same identity."""
    commented = state == COMMENTED
    active = [match for match in matches if not match[1].commented]
    target = active[0] if active else (matches[0] if matches else None)
    if target is None:
        element = render_macro(macro_name, values, commented, document.syntax)
        return document.insert_at(insertion_index(document, macro_name), element)
    index, macro = target
    if _trimmed(macro.values) == _trimmed(values) and macro.commented == commented:
        return document
    return document.replace_at(index, restyle(macro, values, commented))


def _plan(before: Document, after: Document, names: tuple[str, ...], identity: t.Callable[[Macro], bool],
          expected: tuple[str, ...] = ()) -> Plan:
    entry = None
    for index, macro in after.macros(*names):
        if identity(macro) and (entry is None or entry["state"] == COMMENTED):
            entry = _describe(after, index, macro)
    if entry is None or entry["state"] != PRESENT:
        expected = ()
    return Plan(before.render(), after.render(), entry, describe_entries(after, *names), expected)


def _require_mc(document: Document) -> None:
    if document.syntax != MC:
        raise RefusedChange("this setting exists only in sendmail.mc; point path at the .mc file")


def ensure_feature(document: Document, feature: str, arguments: list[str] | None, state: str) -> Plan:
    """FEATURE(`feature', arguments...) in ``state``; without ``arguments`` an existing entry keeps its own."""
    _require_mc(document)
    _check("FEATURE name", feature, _FEATURE_NAME, "lower-case letters, digits and _ like nocanonify")
    for argument in arguments or ():
        _check("FEATURE argument", argument, _FEATURE_ARGUMENT,
               "words of letters, digits and ./:@+=<>%!~{}|- separated by single spaces")

    identity = _first_argument_is(feature)
    matches = _matches(document, "FEATURE", identity)
    if state == ABSENT:
        after = remove_elements(document, _indexes(matches))
    else:
        if arguments is None:
            current = _active_first(matches)
            values = current[0].values if current else (feature,)
        else:
            values = (feature,) + tuple(arguments)
        after = _set_entry(document, "FEATURE", matches, values, state)
    return _plan(document, after, ("FEATURE",), identity)


def _check_define_name(name: str) -> None:
    _check("define name", name, _DEFINE_NAME,
           "use SMART_HOST, MAIL_HUB, LOCAL_RELAY, LUSER_RELAY, a *_MAILER_* setting or a conf* name "
           "like confLOG_LEVEL")


def ensure_define(document: Document, name: str, value: str | None, state: str) -> Plan:
    """define(`name', `value') in ``state``; every active define of the name says the same, and an undefine of it goes."""
    _require_mc(document)
    _check_define_name(name)
    if value is None and state == PRESENT:
        raise RefusedChange(f"define {name} needs a value")
    if value is not None:
        if name in _RELAY_DEFINES:
            _check(f"{name} value", value, _RELAY_VALUE,
                   "a host name, [host] or [address], optionally after a mailer like relay:")
        else:
            _check(f"{name} value", value, _DEFINE_VALUE,
                   "printable characters, single spaces between words, $ only before a macro name",
                   commas=True)

    identity = _first_argument_is(name)
    defines = _matches(document, "define", identity)
    if state == ABSENT:
        after = remove_elements(document, _indexes(defines))
    else:
        if value is None:
            current = _active_first(defines)
            value = current[0].values[1] if current and len(current[0].values) > 1 else ""
        after = document
        if state == PRESENT:
            # An undefine of the same name would cancel the define.
            after = remove_elements(after, [index for index, macro in after.macros("undefine")
                                    if identity(macro) and not macro.commented])
            # m4 keeps the last definition: make every active one say the same.
            for index, macro in list(after.macros("define")):
                if identity(macro) and not macro.commented and macro.values[1:2] != (value,):
                    after = after.replace_at(index, restyle(macro, (name, value), False))
        matches = _matches(after, "define", identity)
        after = _set_entry(after, "define", matches, (name, value), state)
    prefix = _DEFINE_CF_PREFIX.get(name)
    expected = (prefix + value,) if prefix and value else ()
    return _plan(document, after, ("define",), identity, expected)


def ensure_undefine(document: Document, name: str, state: str) -> Plan:
    """undefine(`name') in ``state``; present removes the active defines of the name."""
    _require_mc(document)
    _check_define_name(name)

    identity = _first_argument_is(name)
    matches = _matches(document, "undefine", identity)
    if state == ABSENT:
        after = remove_elements(document, _indexes(matches))
    else:
        after = document
        if state == PRESENT:
            after = remove_elements(after, [index for index, macro in after.macros("define")
                                    if identity(macro) and not macro.commented])
        matches = _matches(after, "undefine", identity)
        after = _set_entry(after, "undefine", matches, (name,), state)
    return _plan(document, after, ("undefine",), identity)


def ensure_masquerade_as(document: Document, domain: str | None, state: str) -> Plan:
    """MASQUERADE_AS(`domain') in ``state``; the file keeps at most one active entry."""
    _require_mc(document)
    if domain is None and state != ABSENT:
        raise RefusedChange("masquerade_as needs a domain")
    if domain is not None:
        _check("MASQUERADE_AS domain", domain, HOST_NAME, "a domain name like example.com")
    matches = list(document.macros("MASQUERADE_AS"))
    if state == ABSENT:
        # Only one masquerade name exists; a given domain only narrows what is removed.
        after = remove_elements(document, [index for index, macro in matches
                                           if domain is None or macro.values[:1] == (domain,)])
    else:
        active = [index for index, macro in matches if not macro.commented]
        after = remove_elements(document, active[1:])  # the last one would win; keep one
        matches = list(after.macros("MASQUERADE_AS"))
        after = _set_entry(after, "MASQUERADE_AS", matches, (domain,), state)
    return _plan(document, after, ("MASQUERADE_AS",), lambda macro: True,
                 ("DM" + domain,) if domain else ())


def ensure_member(document: Document, macro_name: str, value: str, state: str) -> Plan:
    """MASQUERADE_DOMAIN and EXPOSED_USER: sets where each value is its own entry."""
    _require_mc(document)
    if macro_name == "EXPOSED_USER":
        _check("EXPOSED_USER", value, _USER, "a user name like root")
        expected = ("C{E}" + value,)
    else:
        _check("MASQUERADE_DOMAIN", value, _DOMAIN, "a domain name like example.com")
        expected = ("C{M}" + value,)

    identity = _first_argument_is(value)
    matches = _matches(document, macro_name, identity)
    if state == ABSENT:
        after = remove_elements(document, _indexes(matches))
    else:
        after = _set_entry(document, macro_name, matches, (value,), state)
    return _plan(document, after, (macro_name,), identity, expected)


__all__ = ["describe_entries", "ensure_define", "ensure_feature", "ensure_masquerade_as", "ensure_member",
           "ensure_undefine"]
