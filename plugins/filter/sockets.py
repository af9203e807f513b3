# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Listening sockets as "address port" strings, so expected and actual compare as sets."""

from __future__ import annotations

import ipaddress
import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.dualstack.mta.plugins.module_utils.net import SERVICE_PORTS, address_text, socket_key
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.sockets import interface_sockets

ANY = {"inet": "0.0.0.0", "inet6": "::"}


def _port(value: int | str | None) -> int:
    if value is None or value == "":
        return 25
    text = str(value).strip().lower()
    if text in SERVICE_PORTS:
        return SERVICE_PORTS[text]
    try:
        return int(text)
    except ValueError:
        raise AnsibleFilterError(f'unknown port {value!r}: give a number or one of {", ".join(SERVICE_PORTS)}') from None


def _literal(address: str) -> str | None:
    """The address as an IP literal, or None for a host name."""
    text = address[5:] if address.lower().startswith("ipv6:") else address
    try:
        return address_text(ipaddress.ip_address(text))
    except ValueError:
        return None


def sendmail_sockets(daemons: list[dict[str, t.Any]]) -> list[str]:
    """Sockets that present DAEMON_OPTIONS entries open (host-name addresses cannot be checked)."""
    keys = []
    for daemon in daemons:
        if daemon.get("state", "present") != "present":
            continue
        family = daemon.get("family") or "inet"
        if family not in ANY:
            continue  # local (unix) sockets are not TCP listeners
        address = _literal(str(daemon.get("addr") or ANY[family]))
        if address is not None:
            keys.append(socket_key(address, _port(daemon.get("port"))))
    return sorted(set(keys))


def postfix_sockets(inet_interfaces: str | None, inet_protocols: str | None,
                    port: int | str = 25) -> list[str]:
    """Sockets postfix's smtpd opens for inet_interfaces and inet_protocols (empty: postfix's default, all)."""
    return interface_sockets(None if inet_interfaces is None else str(inet_interfaces),
                             None if inet_protocols is None else str(inet_protocols), _port(port))


def _ss_socket(line: str) -> str:
    """``address port`` of one ``ss -Hltn`` line (the local address is the fourth column)."""
    address, _sep, port = line.split()[3].rpartition(":")
    return socket_key(address, port)


def listening_sockets(tcp_listen: list[t.Any]) -> list[str]:
    """The sockets in listen_ports_facts' tcp_listen, or in the lines of ``ss -Hltn``.

    ``ss`` needs no process names: without CAP_SYS_PTRACE (an unprivileged container)
    listen_ports_facts cannot see a setgid daemon's sockets at all.
    """
    return sorted({_ss_socket(entry) if isinstance(entry, str) else socket_key(entry["address"], entry["port"])
                   for entry in tcp_listen if not isinstance(entry, str) or entry.strip()})


def missing_sockets(expected: list[str], tcp_listen: list[t.Any]) -> list[str]:
    """The expected sockets that do not listen, given what listening_sockets takes."""
    return sorted(set(expected) - set(listening_sockets(tcp_listen or [])))


def smtp_targets(expected: list[str], addresses: list[str] | None = None) -> list[str]:
    """Where to open an SMTP session to prove each ``address port`` socket answers: the address
    itself, or for a wildcard the loopback address and the host's ``addresses`` of its family
    (link-local ones left out: they need an interface to reach)."""
    own = {4: set(), 6: set()}
    for text in addresses or []:
        address = ipaddress.ip_address(str(text).split("%", 1)[0])
        if not address.is_link_local:
            own[address.version].add(address)
    targets = []
    for key in expected:
        host, port = key.rsplit(" ", 1)
        address = ipaddress.ip_address(host)
        if address.is_unspecified:
            loopback = ipaddress.ip_address("127.0.0.1" if address.version == 4 else "::1")
            chosen = sorted(own[address.version] | {loopback})
        else:
            chosen = [address]
        targets += [f"[{item}]:{port}" if item.version == 6 else f"{item}:{port}" for item in chosen]
    return list(dict.fromkeys(targets))


class FilterModule:
    """Socket filters."""

    def filters(self):
        return {
            "sendmail_sockets": sendmail_sockets,
            "postfix_sockets": postfix_sockets,
            "listening_sockets": listening_sockets,
            "missing_sockets": missing_sockets,
            "smtp_targets": smtp_targets,
        }
