# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Lossless model of sendmail.mc and sendmail.cf.

A file is a sequence of elements whose ``raw`` texts, joined, give back the
file byte for byte.  Lines that hold one of the macros this collection
manages (active or commented out with ``dnl``) become ``Macro`` elements;
everything else is kept as ``Text``.  No I/O happens here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterator, Union

MC = "mc"
CF = "cf"

MANAGED_MACROS = (
    "DAEMON_OPTIONS", "CLIENT_OPTIONS", "FEATURE", "define", "undefine",
    "MASQUERADE_AS", "MASQUERADE_DOMAIN", "EXPOSED_USER", "MAILER",
)

# The .cf spelling of the two port option macros.
CF_OPTION_NAMES = {
    "DAEMON_OPTIONS": "DaemonPortOptions",
    "CLIENT_OPTIONS": "ClientPortOptions",
}

# How many quote levels a value needs so that m4 hands it to sendmail.cf
# unchanged.  cf.m4 rescans values once (twice for MASQUERADE_AS), so a
# single-quoted host name such as mx.dnl.example.com loses everything after
# the word "dnl".  Measured with GNU m4 1.4.19 and sendmail 8.17 cf files.
_VALUE_QUOTES = {
    "DAEMON_OPTIONS": 2,
    "CLIENT_OPTIONS": 2,
    "FEATURE": 2,
    "define": 2,
    "MASQUERADE_AS": 3,
    "MASQUERADE_DOMAIN": 2,
    "EXPOSED_USER": 2,
    "MAILER": 1,
    "undefine": 1,
}

# Macros whose first argument is a name (not a value) and stays single-quoted.
_NAMED_MACROS = ("FEATURE", "define", "undefine", "MAILER")

_MC_START = re.compile(
    r"(?P<indent>[ \t]*)(?P<comment>dnl[ \t]+)?(?P<name>{})\(".format("|".join(MANAGED_MACROS)))
_CF_LINE = re.compile(
    r"(?P<indent>[ \t]*)(?P<comment>#[ \t]*)?O[ \t]+(?P<name>DaemonPortOptions|ClientPortOptions)"
    r"[ \t]*=(?P<value>[^\n]*)(?P<end>\n?)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CF_MACRO_NAMES = {v: k for k, v in CF_OPTION_NAMES.items()}


@dataclass(frozen=True)
class Text:
    """A piece of the file this model does not interpret."""

    raw: str


@dataclass(frozen=True)
class Macro:
    """One managed macro call (or .cf option line), possibly commented out."""

    raw: str
    name: str
    args: tuple[str, ...]
    commented: bool
    syntax: str = MC
    indent: str = ""
    tail: str = "dnl\n"

    @property
    def values(self) -> tuple[str, ...]:
        """The arguments as m4 would see them: quotes and leading blanks gone."""
        return tuple(unquote(arg) for arg in self.args)


Element = Union[Text, Macro]


def unquote(arg: str) -> str:
    """Strip leading unquoted blanks, ``dnl`` line comments and every outer quote pair."""
    text = arg
    while True:
        stripped = text.lstrip(" \t\n")
        if stripped.startswith("dnl") and not _is_word_char(stripped[3:4]):
            newline = stripped.find("\n")
            text = "" if newline < 0 else stripped[newline + 1:]
            continue
        text = stripped
        break
    text = text.rstrip(" \t\n")
    while len(text) >= 2 and text[0] == "`" and text[-1] == "'" and _closing_quote(text, 0) == len(text) - 1:
        text = text[1:-1]
    return text


def quote(value: str, levels: int) -> str:
    """``value`` inside ``levels`` nested pairs of m4 quotes."""
    return "`" * levels + value + "'" * levels


def _is_word_char(char: str) -> bool:
    # m4 words are ASCII only
    return bool(char) and (char.isascii() and char.isalnum() or char == "_")


def _closing_quote(text: str, start: int) -> int:
    """Index of the quote that closes the one opened at ``start``, or -1."""
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char == "`":
            depth += 1
        elif char == "'":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _scan_arguments(text: str, start: int, single_line: bool) -> tuple[tuple[str, ...], int] | None:
    """Split the argument list that begins after the '(' at ``start - 1``.

    Follows m4's rules: quotes nest, parentheses count only outside quotes,
    and an unquoted ``dnl`` swallows the rest of its line.  Returns the raw
    arguments and the index just after the closing parenthesis, or None when
    the call does not close (on the same line, if ``single_line``).
    """
    args = []
    depth = 1
    quote_depth = 0
    arg_start = index = start
    while index < len(text):
        char = text[index]
        if char == "\n" and single_line:
            return None
        if quote_depth or char == "`":
            quote_depth = _quote_depth_after(char, quote_depth)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append(text[arg_start:index])
                return tuple(args), index + 1
        elif char == "," and depth == 1:
            args.append(text[arg_start:index])
            arg_start = index + 1
        elif _WORD.match(text, index):
            index = _after_word(text, index, single_line)
            continue
        index += 1
    return None


def _quote_depth_after(char: str, quote_depth: int) -> int:
    """The quote nesting after ``char``, at ``quote_depth`` (inside quotes, or at an opening quote)."""
    if char == "`":
        return quote_depth + 1
    if char == "'":
        return quote_depth - 1
    return quote_depth


def _after_word(text: str, index: int, single_line: bool) -> int:
    """Where scanning goes on after the word at ``index``.

    Words are skipped whole, so only a word that is ``dnl`` itself counts as one; unless the call
    must close on its own line, an unquoted ``dnl`` swallows the rest of the line.
    """
    end = _WORD.match(text, index).end()
    if text[index:end] == "dnl" and not single_line:
        return _line_end(text, end)
    return end


def _line_end(text: str, start: int) -> int:
    newline = text.find("\n", start)
    return len(text) if newline < 0 else newline + 1


def _tail_is_comment(tail: str) -> bool:
    """True when what follows the call adds nothing to the output: blank or a dnl comment."""
    rest = tail.strip(" \t\n")
    return rest == "" or (rest.startswith("dnl") and not _is_word_char(rest[3:4]))


def _parse_mc_macro(text: str, start: int) -> Macro | None:
    match = _MC_START.match(text, start)
    if not match:
        return None
    commented = match.group("comment") is not None
    scanned = _scan_arguments(text, match.end(), single_line=commented)
    if scanned is None:
        return None
    args, after_call = scanned
    end = _line_end(text, after_call)
    tail = text[after_call:end]
    if not _tail_is_comment(tail):
        return None
    return Macro(raw=text[start:end], name=match.group("name"), args=args, commented=commented,
                 syntax=MC, indent=match.group("indent"), tail=tail)


def _parse_cf_line(text: str, start: int) -> Macro | None:
    match = _CF_LINE.match(text, start)
    if not match:
        return None
    return Macro(raw=match.group(0), name=_CF_MACRO_NAMES[match.group("name")],
                 args=(match.group("value"),), commented=match.group("comment") is not None,
                 syntax=CF, indent=match.group("indent"), tail=match.group("end"))


@dataclass(frozen=True)
class Document:
    """A parsed sendmail.mc or sendmail.cf; ``render()`` gives back the exact text.

    Every uninterpreted line is its own ``Text`` so that positions between
    lines stay addressable for insertions.
    """

    elements: tuple[Element, ...]
    syntax: str = MC

    @classmethod
    def parse(cls, text: str, syntax: str = MC) -> Document:
        """Parse the text of a .mc (or, with ``syntax`` CF, a .cf) into its elements."""
        parse_line = _parse_mc_macro if syntax == MC else _parse_cf_line
        elements = []
        position = 0
        while position < len(text):
            element = parse_line(text, position)
            if element is None:
                element = Text(text[position:_line_end(text, position)])
            elements.append(element)
            position += len(element.raw)
        return cls(tuple(elements), syntax)

    def render(self) -> str:
        """The file's text: exactly what was parsed, with the edits made since."""
        return "".join(element.raw for element in self.elements)

    def macros(self, *names: str) -> Iterator[tuple[int, Macro]]:
        """(index, macro) for every managed macro, optionally only those named."""
        for index, element in enumerate(self.elements):
            if isinstance(element, Macro) and (not names or element.name in names):
                yield index, element

    def replace_at(self, index: int, element: Element | None) -> Document:
        """A copy with the element at ``index`` replaced by ``element``, or removed when it is None."""
        elements = list(self.elements)
        if element is None:
            del elements[index]
        else:
            elements[index] = element
        return replace(self, elements=tuple(elements))

    def insert_at(self, index: int, element: Element) -> Document:
        """A copy with ``element`` inserted at ``index`` (a last line without a newline gets one first)."""
        elements = list(self.elements)
        # A file without a final newline must not glue the new line onto its last one.
        if index > 0 and not elements[index - 1].raw.endswith("\n"):
            previous = elements[index - 1]
            elements[index - 1] = _with_raw(previous, previous.raw + "\n")
        elements.insert(index, element)
        return replace(self, elements=tuple(elements))

    def line_number(self, index: int) -> int:
        """The 1-based line of the file on which the element at ``index`` starts."""
        return 1 + sum(element.raw.count("\n") for element in self.elements[:index])


def _with_raw(element: Element, raw: str) -> Element:
    if isinstance(element, Text):
        return Text(raw)
    return replace(element, raw=raw, tail=element.tail + "\n")


def render_macro(name: str, values: tuple[str, ...], commented: bool, syntax: str = MC,
                 indent: str = "", tail: str | None = None) -> Macro:
    """A new macro element whose values reach sendmail.cf unchanged.

    Values must already have passed their field grammar (no quotes, commas
    or parentheses where they would change the structure).
    """
    if syntax == CF:
        end = "\n" if tail is None else tail
        raw = "{}{}O {}={}{}".format(indent, "#" if commented else "", CF_OPTION_NAMES[name], values[0], end)
        return Macro(raw=raw, name=name, args=(values[0],), commented=commented, syntax=CF,
                     indent=indent, tail=end)
    if tail is None or not tail.endswith("\n"):
        tail = "dnl\n" if tail is None or not tail.strip() else tail + "\n"
    levels = _VALUE_QUOTES[name]
    args = []
    for position, value in enumerate(values):
        if position == 0 and name in _NAMED_MACROS:
            args.append(quote(value, 1))
        elif value == "":
            args.append("")
        else:
            args.append(quote(value, levels))
    call = "{}({})".format(name, ", ".join(args))
    raw = "{}{}{}{}".format(indent, "dnl " if commented else "", call, tail)
    return Macro(raw=raw, name=name, args=tuple(args), commented=commented, syntax=MC,
                 indent=indent, tail=tail)


def restyle(macro: Macro, values: tuple[str, ...], commented: bool) -> Macro:
    """``macro`` with new values or comment state, keeping its indentation and trailing comment."""
    return render_macro(macro.name, values, commented, macro.syntax, macro.indent, macro.tail)


_SETUP_LINE = re.compile(r"[ \t]*(include\([^\n]*cf\.m4|OSTYPE\(|DOMAIN\()")
_MAILER_DEFINITIONS = re.compile(r"[ \t]*MAILER_DEFINITIONS\b")
# FEATUREs that define the mailers themselves (submit.mc's msp, nullclient): nothing may follow
# them that must come before MAILER(), a FEATURE in particular.
MAILER_FEATURES = ("msp", "nullclient")


def _starts_mailers(element: Element) -> bool:
    if isinstance(element, Text):
        return bool(_MAILER_DEFINITIONS.match(element.raw))
    if element.commented:
        return False
    values = element.values
    return element.name == "MAILER" or (element.name == "FEATURE" and bool(values) and values[0] in MAILER_FEATURES)


def insertion_index(document: Document, name: str) -> int:
    """Where a new entry of ``name`` belongs.

    In a .mc: after the last entry of the same kind that sits between the
    setup lines (include of cf.m4, OSTYPE, DOMAIN) and the mailer block, or
    else just before the mailer block (FEATURE after MAILER is an error, and
    settings before OSTYPE get overridden).  The mailer block starts at the
    first active MAILER, MAILER_DEFINITIONS, or FEATURE(`msp') /
    FEATURE(`nullclient'), which define mailers themselves.  In a .cf: after the last line
    of the same option, or before the first option line.
    """
    if document.syntax == CF:
        same = [match[0] for match in document.macros(name)]
        if same:
            return same[-1] + 1
        for index, element in enumerate(document.elements):
            if isinstance(element, Text) and element.raw.startswith("O "):
                return index
        return len(document.elements)

    setup_end = 0
    mailer_start = None
    for index, element in enumerate(document.elements):
        if _starts_mailers(element):
            mailer_start = index
            break
        if isinstance(element, Text) and _SETUP_LINE.match(element.raw):
            setup_end = index + 1
    limit = len(document.elements) if mailer_start is None else mailer_start
    same = [index for index, macro in document.macros(name) if setup_end <= index < limit]
    if same:
        return same[-1] + 1
    return limit
