# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The TCP sockets postfix opens for its SMTP services, as ``address port`` keys.

The one place that reads inet_interfaces and inet_protocols as postfix does: the socket
filters (what the postfix role expects to listen) and the readiness report (what the
configuration on a host asks for) both call it.
"""

from __future__ import annotations

import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils.net import MAIL_PORTS, parse_ip, port_number, socket_key
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.postconf import families, words

ANY = {"ipv4": "0.0.0.0", "ipv6": "::"}
LOOPBACK = {"ipv4": "127.0.0.1", "ipv6": "::1"}
# master.cf commands that accept SMTP connections on an inet service.
SMTP_LISTENERS = ("smtpd", "postscreen")


def interface_sockets(inet_interfaces: str | None, inet_protocols: str | None, port: int) -> list[str]:
    """The sockets one inet service on ``port`` opens for these inet_interfaces and inet_protocols.

    ``all`` is the wildcard of each enabled family, ``loopback-only`` (and ``localhost``) its
    loopback address; an address of a family inet_protocols turns off is not opened (postconf
    refuses that combination); host names are left out, they cannot be checked without DNS.
    Empty values are postfix's defaults (``all`` for both).
    """
    enabled = [f for f in ("ipv4", "ipv6") if f in families(inet_protocols)]
    keys = []
    for word in words((inet_interfaces or "all").lower()):
        if word == "all":
            keys += [socket_key(ANY[f], port) for f in enabled]
        elif word in ("loopback-only", "localhost"):
            keys += [socket_key(LOOPBACK[f], port) for f in enabled]
        else:
            address = parse_ip(word.strip("[]"), sendmail_prefix=False)
            if address is not None and f"ipv{address.version}" in enabled:
                keys.append(socket_key(str(address), port))
    return sorted(set(keys))


def smtpd_sockets(inet_interfaces: str | None, inet_protocols: str | None, master: str,
                  ports: t.Collection[int] = MAIL_PORTS) -> list[str]:
    """The sockets the SMTP services of master.cf (``postconf -M`` lines) open on ``ports``.

    A service written ``host:port`` listens on that host only; a bare port follows inet_interfaces.
    """
    keys = []
    for line in master.splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[1] != "inet" or fields[7] not in SMTP_LISTENERS:
            continue
        host, _sep, service = fields[0].rpartition(":")
        port = port_number(service, default=0)
        if not isinstance(port, int) or port not in ports:
            continue
        keys += interface_sockets(host or inet_interfaces, inet_protocols, port)
    return sorted(set(keys))
