# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reads what mail_dns_check needs from the host: addresses and the MTA's outbound settings."""

from __future__ import annotations

import os
import socket
import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils.dns.mail_dns import (
    bind_address,
    host_addresses,
    sending_addresses,
    sendmail_client_addresses,
    sendmail_helo_name,
)

if t.TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule

SENDMAIL_CF = "/etc/mail/sendmail.cf"
C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


class HostSettings(t.NamedTuple):
    """What the host sends mail from: its source addresses and the name it gives in HELO."""

    addresses: list[str]  # where mail leaves from
    helo_name: str


def _run(module: AnsibleModule, args: list[str]) -> str:
    rc, out, err = module.run_command(args, environ_update=C_LOCALE)
    if rc != 0:
        module.fail_json(msg=f"{' '.join(args)} failed (rc={rc}): {err.strip()}", rc=rc, stdout=out, stderr=err)
    return out


def _postconf(module: AnsibleModule, postconf: str, parameter: str) -> str:
    # -x expands $myhostname and friends; an unknown parameter (old postfix) reads as unset.
    rc, out, _err = module.run_command([postconf, "-x", "-h", parameter], environ_update=C_LOCALE)
    return out.strip() if rc == 0 else ""


def read_settings(module: AnsibleModule, mta: str, want_addresses: bool, want_helo: bool) -> HostSettings:
    """The sending addresses and the HELO name the MTA would use, each only when wanted."""
    bound: list[str] = []
    helo_names: list[str] = []
    postconf = module.get_bin_path("postconf") if mta in ("auto", "postfix") else None
    if mta == "postfix" and not postconf:
        module.fail_json(msg="mta=postfix but postconf was not found in PATH; install postfix or set mta to auto or none")
    if postconf:
        bound += [v for v in (_postconf(module, postconf, p) for p in ("smtp_bind_address", "smtp_bind_address6")) if v]
        helo_names.append(_postconf(module, postconf, "smtp_helo_name"))
    if mta in ("auto", "sendmail") and os.path.exists(SENDMAIL_CF):
        with open(SENDMAIL_CF, encoding="utf-8", errors="replace") as handle:
            sendmail_cf = handle.read()
        bound += sendmail_client_addresses(sendmail_cf)
        helo_names.append(sendmail_helo_name(sendmail_cf) or "")
    elif mta == "sendmail":
        module.fail_json(msg=f"mta=sendmail but {SENDMAIL_CF} does not exist; set mta to auto or none")

    for value in bound:
        if bind_address(value) is None:
            module.warn(f"The MTA binds outgoing mail to {value!r}, which is not an IP address; the host's addresses of both "
                        "families are checked instead. Pass addresses to check the address that name stands for.")
    addresses: list[str] = []
    if want_addresses:
        ip_json = _run(module, [module.get_bin_path("ip", required=True), "-j", "addr", "show"])
        addresses = sending_addresses(host_addresses(ip_json), bound)
    helo = ""
    if want_helo:
        helo = next((name for name in helo_names if name), "") or socket.getfqdn()
    return HostSettings(addresses, helo)
