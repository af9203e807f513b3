# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The network vocabulary every part of the collection shares.

Host names, IP literals (including sendmail's ``IPv6:`` form) and the mail
service ports are defined once here, with the standard library only, so that
the sendmail, postfix and DNS code agree on what a valid value is.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

# RFC 1123 labels; at most 253 characters without the optional trailing dot.
HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"(?=.{{1,253}}\.?\Z){HOST_LABEL}(?:\.{HOST_LABEL})*\.?")

# Service names the mail daemons accept for their ports.
SERVICE_PORTS = {"smtp": 25, "submission": 587, "smtps": 465, "submissions": 465, "lmtp": 24}
# The ports a mail host receives mail on from other hosts: relay, submission, submission over TLS.
MAIL_PORTS = (SERVICE_PORTS["smtp"], SERVICE_PORTS["submission"], SERVICE_PORTS["smtps"])

_IPV6_CHARACTERS = re.compile(r"[0-9A-Fa-f:.]+")
_IPV4_CHARACTERS = re.compile(r"[0-9.]+")


def address_text(ip: IPAddress) -> str:
    """``ip.compressed``, spelled the same on every Python.

    Python 3.13 writes the IPv4 part of an IPv4-mapped IPv6 address dotted
    (``::ffff:198.51.100.7``); older Pythons write it in hex (``::ffff:c633:6407``). The hex form
    is kept, so that a controller and a managed host on different Pythons agree.
    """
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        return f"::ffff:{int(mapped) >> 16:x}:{int(mapped) & 0xffff:x}"
    return ip.compressed


def socket_key(address: str, port: int | str) -> str:
    """One spelling per TCP socket, ``address port``: the compressed address, brackets and zone dropped.

    ss writes an IPv6 socket on :: that also takes IPv4 (IPV6_V6ONLY off) as ``*``.
    """
    text = str(address).strip("[]").split("%", maxsplit=1)[0]
    if text in ("*", ""):
        text = "::"
    return f"{address_text(ipaddress.ip_address(text))} {int(port)}"


def is_host_name(text: str) -> bool:
    """A syntactically valid host name that cannot be mistaken for an IPv4 literal."""
    return bool(HOST_NAME.fullmatch(text)) and not _IPV4_CHARACTERS.fullmatch(text)


def parse_ip(text: str | None, sendmail_prefix: bool = True) -> IPAddress | None:
    """The address of an IPv4 or IPv6 literal, else None.

    With ``sendmail_prefix`` an IPv6 literal may be written ``IPv6:2001:db8::1``
    as sendmail does; zones and brackets are not literals here.
    """
    if text is None:
        return None
    if "%" in text:
        return None
    literal = text
    if sendmail_prefix and text[:5].lower() == "ipv6:":
        literal = text[5:]
        if not _IPV6_CHARACTERS.fullmatch(literal) or ":" not in literal:
            return None
    try:
        address = ipaddress.ip_address(literal)
    except ValueError:
        return None
    if literal is not text and address.version != 6:
        return None
    return address


def sendmail_ipv6(address: ipaddress.IPv6Address) -> str:
    """sendmail's spelling of an IPv6 address: every group written out, after ``IPv6:``."""
    return "IPv6:" + ":".join(f"{int(group, 16):x}" for group in address.exploded.split(":"))


def port_number(text: int | str | None, default: int = 25) -> int | str:
    """The number of a port given as digits or a known service name; other names stay strings."""
    if text is None or text == "":
        return default
    value = str(text).strip().lower()
    if value.isdigit():
        return int(value)
    return SERVICE_PORTS.get(value, value)
