# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What to listen on, in the words both MTA roles share.

The user says *what to listen on* -- addresses (``all``, ``loopback``, IPv4 or IPv6 literals) on
ports -- and each MTA's planner turns that into its own configuration. Parsing it here, once,
means the sendmail and postfix roles accept exactly the same values and refuse the same ones with
the same words. No I/O happens here.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from ansible_collections.dualstack.mta.plugins.module_utils.net import SERVICE_PORTS, IPAddress, parse_ip, port_number

ALL, LOOPBACK = "all", "loopback"
DEFAULT_PORTS = (SERVICE_PORTS["smtp"],)

# An address in an intent: ALL, LOOPBACK, or one IP literal.
ListenAddress = t.Union[str, IPAddress]


class ListenIntentError(ValueError):
    """What to listen on is malformed; the message says which value and what would be valid."""


@dataclass(frozen=True)
class Listen:
    """One intent item: these addresses on these ports."""

    addresses: tuple[ListenAddress, ...]
    ports: tuple[int, ...]


def parse_port(value: object) -> int:
    """The port number of ``value`` (digits or a service name such as smtp or submission)."""
    text = "" if isinstance(value, bool) or value is None else str(value).strip()
    number = port_number(text) if text else None
    if not isinstance(number, int) or not 1 <= number <= 65535:
        raise ListenIntentError(f"port {value!r} is not a port: use a number from 1 to 65535 or one of {', '.join(sorted(SERVICE_PORTS))}")
    return number


def parse_address(value: object) -> ListenAddress:
    """``ALL``, ``LOOPBACK`` or the IP address ``value`` names; refuses what no daemon can bind."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is not None and text.lower() in (ALL, LOOPBACK):
        return text.lower()
    address = parse_ip(text) if text else None
    if address is None:
        raise ListenIntentError(
            f"listen address {value!r} is neither all, loopback, an IPv4 address nor an IPv6 address "
            "(host names are not accepted: a name can resolve to other addresses than the ones meant)")
    _refuse_unbindable(text, address)
    return address


def _refuse_unbindable(text: str, address: IPAddress) -> None:
    if address.version == 6 and address.ipv4_mapped is not None:
        raise ListenIntentError(f"listen address {text} is an IPv4-mapped IPv6 address; write the IPv4 address {address.ipv4_mapped} instead")
    if address.is_multicast:
        raise ListenIntentError(f"listen address {text} is a multicast address; a mail daemon cannot listen on it")
    if address.version == 6 and address.is_link_local:
        raise ListenIntentError(f"listen address {text} is link-local: it needs a zone (%eth0), which sendmail cannot "
                                "bind to; use a global or unique local IPv6 address")


def parse_intent(intent: object) -> tuple[Listen, ...]:
    """Normalise what to listen on into ``Listen`` items.

    Accepted: ``'all'``; a list of addresses (port 25); a dict ``{addresses: [...], ports: [...]}``
    (ports default to [25]); or a list of such dicts.  Addresses are ``all``, ``loopback`` or IP
    literals; ports are numbers or service names (smtp, submission, ...).
    """
    if isinstance(intent, (str, dict)):
        intent = [intent]
    if not isinstance(intent, (list, tuple)) or not intent:
        raise ListenIntentError("what to listen on is empty; give addresses (all, loopback or IP literals) and ports")
    if all(isinstance(item, (str, int)) and not isinstance(item, bool) for item in intent):
        intent = [{"addresses": list(intent)}]
    return tuple(_parse_item(item) for item in intent)


def _parse_item(item: object) -> Listen:
    if isinstance(item, str):
        item = {"addresses": [item]}
    if not isinstance(item, dict):
        raise ListenIntentError(f"listen item {item!r} must be an address or a dict with addresses and ports")
    unknown = sorted(set(item) - {"addresses", "ports"})
    if unknown:
        raise ListenIntentError(f"listen item {item!r} has unknown key(s) {', '.join(unknown)}; use addresses and ports")
    addresses = item.get("addresses")
    ports = item.get("ports", list(DEFAULT_PORTS))
    addresses = [addresses] if isinstance(addresses, str) else list(addresses or [])
    ports = [ports] if isinstance(ports, (str, int)) else list(ports or [])
    if not addresses:
        raise ListenIntentError(f"listen item {item!r} has no addresses; use all, loopback or IP literals")
    if not ports:
        raise ListenIntentError(f"listen item {item!r} has no ports")
    return Listen(tuple(parse_address(value) for value in addresses), tuple(parse_port(value) for value in ports))


__all__ = ["ALL", "DEFAULT_PORTS", "LOOPBACK", "Listen", "ListenAddress", "ListenIntentError", "parse_address",
           "parse_intent", "parse_port"]
