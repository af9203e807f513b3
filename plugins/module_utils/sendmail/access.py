# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""IPv6 keys of sendmail's access map that sendmail never looks up.

sendmail looks up an IPv6 client as ``IPv6:`` and the address with every one of its eight groups
written out, without leading zeros (``IPv6:0:0:0:0:0:0:0:1``), then with groups dropped from the
end for a network.  A key written with ``::`` or with leading zeros matches no lookup: Debian's
stock access file exempts ``IPv6:::1`` from the connection limits that way, and a busy client on
::1 gets ``421 4.3.2 Connection rate limit exceeded`` all the same.

No I/O happens here.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

# A key: an optional tag (Connect:, ClientRate:, ...), IPv6:, the address or network, then blanks.
_KEY = re.compile(r"^(?P<key>(?:[A-Za-z_]+:)?IPv6:(?P<address>[0-9A-Fa-f:.]+))\s")


@dataclass(frozen=True)
class UnmatchedKey:
    """One access line whose IPv6 key sendmail never looks up, and the spelling it looks up."""

    line: int
    key: str
    looked_up: str | None  # None for a network written with ::, whose groups cannot be told

    def warning(self, path: str) -> str:
        """The sentence the module warns with."""
        fix = (f"write it {self.looked_up}" if self.looked_up else
               "write every group of the network, without :: and without leading zeros")
        return (f"{path} line {self.line}: sendmail never looks up {self.key}, as it writes IPv6 clients with "
                f"all eight groups and no leading zeros, so the line has no effect (an exemption from "
                f"ratecontrol or conncontrol for ::1 then ends in 421 for busy local clients); {fix}")


def _looked_up_spelling(address: str) -> str | None:
    """sendmail's spelling of a whole IPv6 address, None for a network or an unparseable text."""
    try:
        parsed = ipaddress.IPv6Address(address)
    except ValueError:
        return None
    return ":".join(f"{int(group, 16):x}" for group in parsed.exploded.split(":"))


def unmatched_ipv6_keys(text: str) -> list[UnmatchedKey]:
    """The IPv6 keys of an access file (its source text) that no lookup of sendmail matches."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _KEY.match(line)
        if not match or "." in match.group("address"):
            continue  # no IPv6 key, or an IPv4-mapped address: not judged here
        groups = match.group("address").split(":")
        if all(group and (group == "0" or not group.startswith("0")) for group in groups):
            continue
        spelled = _looked_up_spelling(match.group("address"))
        tag = match.group("key")[: -len(match.group("address"))]
        found.append(UnmatchedKey(number, match.group("key"), tag + spelled if spelled else None))
    return found


__all__ = ["UnmatchedKey", "unmatched_ipv6_keys"]
