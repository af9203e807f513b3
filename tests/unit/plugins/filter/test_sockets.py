"""Expected and actual listening sockets compare as 'address port' strings."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dualstack.mta.plugins.filter.sockets import (
    listening_sockets,
    missing_sockets,
    postfix_sockets,
    sendmail_sockets,
    smtp_targets,
    socket_key,
)


@pytest.mark.parametrize("address, port, key", [
    ("*", 25, ":: 25"),  # ss: IPv6 on :: that also takes IPv4
    ("[::]", "25", ":: 25"),
    ("0.0.0.0", 25, "0.0.0.0 25"),
    ("2001:DB8:25:0::7", 25, "2001:db8:25::7 25"),
    ("fe80::1%eth0", 25, "fe80::1 25"),
])
def test_socket_key(address, port, key):
    assert socket_key(address, port) == key


def test_sendmail_default_layout():
    daemons = [{"name": "MTA-v4", "state": "absent"},
               {"name": "MTA-v6", "family": "inet6", "addr": "::", "port": "smtp"}]
    assert sendmail_sockets(daemons) == [":: 25"]


def test_sendmail_per_address_layout():
    daemons = [
        {"name": "MTA-v4", "family": "inet", "addr": "127.0.0.1", "port": "smtp"},
        {"name": "MTA-v6", "family": "inet6", "addr": "IPv6:2001:db8:25::7"},
        {"name": "MSA", "port": "submission"},
        {"name": "named", "family": "inet6", "addr": "mx.example.test"},  # host names: not checkable
        {"name": "old", "family": "inet6", "addr": "::1", "state": "commented"},
    ]
    assert sendmail_sockets(daemons) == ["0.0.0.0 587", "127.0.0.1 25", "2001:db8:25::7 25"]


def test_sendmail_unknown_port_is_an_error():
    with pytest.raises(AnsibleFilterError, match="unknown port"):
        sendmail_sockets([{"name": "x", "port": "nosuch"}])


@pytest.mark.parametrize("interfaces, protocols, expected", [
    ("all", "all", ["0.0.0.0 25", ":: 25"]),
    ("all", "ipv4", ["0.0.0.0 25"]),
    ("loopback-only", "ipv4, ipv6", ["127.0.0.1 25", "::1 25"]),
    ("198.51.100.7, [2001:db8:25::7]", "all", ["198.51.100.7 25", "2001:db8:25::7 25"]),
    ("198.51.100.7, [2001:db8:25::7]", "ipv4", ["198.51.100.7 25"]),  # postfix opens no IPv6 socket
    (None, None, ["0.0.0.0 25", ":: 25"]),  # unset: postfix's defaults
])
def test_postfix_sockets(interfaces, protocols, expected):
    assert postfix_sockets(interfaces, protocols) == expected


def test_postfix_sockets_on_another_port():
    assert postfix_sockets("all", "ipv6", "submission") == [":: 587"]
    with pytest.raises(AnsibleFilterError, match="unknown port"):
        postfix_sockets("all", "all", "nosuch")


def test_listening_sockets_from_listen_ports_facts():
    tcp_listen = [{"address": "*", "port": 25}, {"address": "127.0.0.1", "port": 587},
                  {"address": "127.0.0.1", "port": 587}]
    assert listening_sockets(tcp_listen) == ["127.0.0.1 587", ":: 25"]


def test_missing_sockets_names_what_does_not_listen():
    tcp_listen = [{"address": "0.0.0.0", "port": 25}, {"address": "127.0.0.1", "port": 587}]
    assert missing_sockets([":: 25", "0.0.0.0 25", "127.0.0.1 587"], tcp_listen) == [":: 25"]
    assert missing_sockets(["0.0.0.0 25"], None) == ["0.0.0.0 25"]
    assert missing_sockets([], []) == []


def test_listening_sockets_from_ss_lines():
    lines = ["LISTEN 0      4096         0.0.0.0:25        0.0.0.0:*",
             "LISTEN 0      4096               *:25              *:*",
             "LISTEN 0      10         127.0.0.1:587       0.0.0.0:*",
             "LISTEN 0      10             [::1]:587          [::]:*", ""]
    assert listening_sockets(lines) == ["0.0.0.0 25", "127.0.0.1 587", ":: 25", "::1 587"]
    assert missing_sockets(["::1 587", "2001:db8::1 25"], lines) == ["2001:db8::1 25"]


@pytest.mark.parametrize("expected, addresses, targets", [
    (["127.0.0.1 25", "::1 25"], ["192.0.2.25"], ["127.0.0.1:25", "[::1]:25"]),
    (["0.0.0.0 25"], ["192.0.2.25", "2001:db8::25", "127.0.0.1"], ["127.0.0.1:25", "192.0.2.25:25"]),
    ([":: 25"], ["192.0.2.25", "2001:db8::25", "fe80::1%eth0", "::1"], ["[::1]:25", "[2001:db8::25]:25"]),
    (["198.51.100.10 587"], None, ["198.51.100.10:587"]),
    ([":: 25"], None, ["[::1]:25"]),
])
def test_smtp_targets(expected, addresses, targets):
    assert smtp_targets(expected, addresses) == targets
