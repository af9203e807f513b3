# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Addresses spelled the way sendmail spells them."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError


def sendmail_address(address: str) -> str:
    """The form sendmail uses in class w, access-map keys and [address] literals.

    sendmail writes IPv6 addresses with the ``IPv6:`` tag and every group, without leading
    zeros and without ``::`` compression; the compressed form does not match its own entries.
    """
    try:
        parsed = ipaddress.ip_address(str(address).strip().strip("[]"))
    except ValueError as error:
        raise AnsibleFilterError(f"sendmail_address: {error}") from None
    if parsed.version == 4:
        return str(parsed)
    return "IPv6:" + ":".join(f"{int(group, 16):x}" for group in parsed.exploded.split(":"))


class FilterModule:
    """Address filters."""

    def filters(self):
        return {"sendmail_address": sendmail_address}
