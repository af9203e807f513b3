"""postfix with inet_interfaces and inet_protocols all answers on both families and delivers over IPv6."""

from __future__ import annotations

import pytest

HOSTS = ["pf-mx1", "pf-mx2"]


@pytest.mark.parametrize("name", HOSTS)
def test_one_socket_per_family(host_named, name):
    listening = host_named(name).check_output("ss -ltnH 'sport = :25'")
    sockets = sorted(line.split()[3] for line in listening.splitlines())
    assert sockets == ["0.0.0.0:25", "[::]:25"], listening


@pytest.mark.parametrize("name", HOSTS)
def test_banner_on_loopback_ipv6_and_ipv4(host_named, addresses, smtp_banner, name):
    server = host_named(name)
    found = addresses(name)
    for address in ["::1", "127.0.0.1", found["inet6"][0], found["inet"][0]]:
        banner = smtp_banner(server, address)
        assert banner.startswith("220 mx") and "ESMTP Postfix" in banner, (address, banner)


def test_banner_from_the_other_host(host_named, addresses, smtp_banner):
    found = addresses("pf-mx2")
    for address in [found["inet6"][0], found["inet"][0]]:
        banner = smtp_banner(host_named("pf-mx1"), address)
        assert banner.startswith("220 mx2.example.test"), (address, banner)


def test_mail_over_ipv6_arrives(host_named, addresses, deliver):
    # postfix takes an address literal of one of its own interfaces as local, in the
    # compressed spelling too, so mx2 delivers root@[IPv6:...] to /var/mail/root; its Received
    # header names the client as [IPv6:<compressed address>].
    source = addresses("pf-mx1")["inet6"][0]
    target = addresses("pf-mx2")["inet6"][0]
    message = deliver(host_named("pf-mx1"), host_named("pf-mx2"), f"root@[IPv6:{target.compressed}]")
    assert f"[IPv6:{source.compressed}])" in message, message
