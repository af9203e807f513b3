# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What to listen on, in the words both MTA roles share, as postfix's main.cf parameters.

The intent is read by the parser both MTA roles share, so both roles accept exactly the same
values: ``all``; a list of addresses (``all``, ``loopback``, IPv4 or IPv6 literals) for port 25;
or ``{addresses, ports}`` items.  Postfix decides *where* its inet services listen in main.cf
(``inet_interfaces``, ``inet_protocols``) and *on which ports* in master.cf (one service per
port); this mapping covers main.cf only, so every port but 25 is refused.

* ``all`` anywhere -> ``inet_interfaces = all`` (any other address would be redundant, and
  postfix refuses ``all`` next to others).
* ``loopback`` alone -> ``loopback-only``; with literals it becomes 127.0.0.1 and [::1].
* literals -> a comma-separated list, IPv6 ones in brackets, each once.
* ``inet_protocols`` is ``all``: it also decides which families postfix *sends* on, so narrowing
  where it listens must not switch off delivery over the other family.

No I/O happens here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.dualstack.mta.plugins.module_utils.listen_intent import (
    ALL,
    LOOPBACK,
    ListenIntentError,
    parse_intent,
)

SMTP_PORT = 25
_LOOPBACKS = ("127.0.0.1", "[::1]")


class PostfixListenError(ValueError):
    """The intent cannot be said in main.cf."""


@dataclass(frozen=True)
class PostfixListen:
    """The main.cf values for an intent, and why, one sentence per decision."""

    inet_interfaces: str
    inet_protocols: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, str | list[str]]:
        """The values and the reasons as the module and the filter return them."""
        return {"inet_interfaces": self.inet_interfaces, "inet_protocols": self.inet_protocols,
                "reasons": list(self.reasons)}


def _spelled(address) -> str:
    if address.version == 6:
        return f"[{address.compressed}]"
    return address.compressed


def plan_postfix_listen(intent) -> PostfixListen:
    """``inet_interfaces`` and ``inet_protocols`` for an intent in the words both MTA roles share."""
    try:
        items = parse_intent(intent)
    except ListenIntentError as error:
        raise PostfixListenError(str(error)) from None
    other_ports = sorted({port for item in items for port in item.ports} - {SMTP_PORT})
    if other_ports:
        raise PostfixListenError(
            "listening on port(s) {} cannot be set in main.cf: postfix listens on a port through a "
            "service in master.cf (smtp for 25, submission for 587, smtps/submissions for 465), and "
            "inet_interfaces then applies to every such service. Give port 25 (smtp) only, and "
            "enable the other services in master.cf".format(", ".join(str(port) for port in other_ports)))
    addresses = [address for item in items for address in item.addresses]
    protocols = ("all", "inet_protocols all: postfix also sends over the families it lists, so "
                 "where it listens does not narrow it")
    if ALL in addresses:
        why = "all addresses of both families"
        if len(set(addresses)) > 1:
            why += " (the other addresses asked for are among them, and postfix takes all alone)"
        return PostfixListen("all", protocols[0], ("inet_interfaces all: " + why, protocols[1]))
    if set(addresses) == {LOOPBACK}:
        return PostfixListen("loopback-only", protocols[0],
                             ("inet_interfaces loopback-only: 127.0.0.1 and ::1", protocols[1]))
    spelled = []
    for address in addresses:
        for text in (_LOOPBACKS if address == LOOPBACK else (_spelled(address),)):
            if text not in spelled:
                spelled.append(text)
    value = ", ".join(spelled)
    return PostfixListen(value, protocols[0],
                         (f"inet_interfaces {value}: the listed addresses only, IPv6 ones in brackets",
                          protocols[1]))


__all__ = ["PostfixListen", "PostfixListenError", "plan_postfix_listen"]
