"""The sockets postfix opens, read once for the socket filters and the readiness report."""

from __future__ import annotations

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.postfix.sockets import interface_sockets, smtpd_sockets

# postconf -M: smtpd on 25 and 587 for inet_interfaces, a content filter return on loopback
# (not a mail port), smtps pinned to one address, and a unix service.
MASTER = """\
smtp       inet  n       -       y       -       -       smtpd
submission inet  n       -       y       -       -       smtpd
127.0.0.1:10025 inet n   -       y       -       -       smtpd
[2001:db8:25::7]:smtps inet n -  y       -       -       smtpd
pickup     unix  n       -       y       60      1       pickup
"""


@pytest.mark.parametrize("interfaces, protocols, expected", [
    ("all", "all", ["0.0.0.0 25", ":: 25"]),
    ("", "", ["0.0.0.0 25", ":: 25"]),  # postfix's defaults
    ("all", "ipv4", ["0.0.0.0 25"]),
    ("ALL", "ipv6", [":: 25"]),
    ("loopback-only", "ipv4, ipv6", ["127.0.0.1 25", "::1 25"]),
    ("localhost", "ipv4", ["127.0.0.1 25"]),
    ("198.51.100.7, [2001:db8:25::7]", "all", ["198.51.100.7 25", "2001:db8:25::7 25"]),
    ("198.51.100.7 2001:DB8:25:0::7", "all", ["198.51.100.7 25", "2001:db8:25::7 25"]),
    # an address of a family inet_protocols turns off opens nothing
    ("198.51.100.7, [2001:db8:25::7]", "ipv4", ["198.51.100.7 25"]),
    # host names cannot be checked without DNS; sendmail's IPv6: form is not postfix's
    ("mx.example.test, IPv6:2001:db8:25::7", "all", []),
])
def test_interface_sockets(interfaces, protocols, expected):
    assert interface_sockets(interfaces, protocols, 25) == expected


@pytest.mark.parametrize("interfaces, protocols, expected", [
    ("all", "all", ["0.0.0.0 25", "0.0.0.0 587", "2001:db8:25::7 465", ":: 25", ":: 587"]),
    ("all", "ipv4", ["0.0.0.0 25", "0.0.0.0 587"]),
    (None, None, ["0.0.0.0 25", "0.0.0.0 587", "2001:db8:25::7 465", ":: 25", ":: 587"]),
    ("loopback-only", "ipv4, ipv6", ["127.0.0.1 25", "127.0.0.1 587", "2001:db8:25::7 465", "::1 25", "::1 587"]),
    ("198.51.100.7, [2001:db8:25::7]", "all",
     ["198.51.100.7 25", "198.51.100.7 587", "2001:db8:25::7 25", "2001:db8:25::7 465", "2001:db8:25::7 587"]),
])
def test_smtpd_services_on_the_mail_ports(interfaces, protocols, expected):
    assert smtpd_sockets(interfaces, protocols, MASTER) == expected


def test_other_ports_only_when_asked():
    assert smtpd_sockets("all", "ipv4", MASTER, ports=(10025,)) == ["127.0.0.1 10025"]
