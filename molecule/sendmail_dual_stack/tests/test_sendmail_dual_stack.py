"""sendmail with one inet6 daemon on :: answers on both families and delivers over IPv6."""

from __future__ import annotations

import uuid

import pytest

HOSTS = ["sd-mx1", "sd-mx2"]


@pytest.mark.parametrize("name", HOSTS)
def test_one_socket_serves_both_families(host_named, name):
    listening = host_named(name).check_output("ss -ltnH 'sport = :25'")
    sockets = sorted(line.split()[3] for line in listening.splitlines())
    assert sockets == ["*:25"] or sockets == ["[::]:25"], listening


@pytest.mark.parametrize("name", HOSTS)
def test_banner_on_loopback_ipv6_and_ipv4(host_named, addresses, smtp_banner, name):
    server = host_named(name)
    found = addresses(name)
    for address in ["::1", "127.0.0.1", found["inet6"][0], found["inet"][0]]:
        banner = smtp_banner(server, address)
        assert banner.startswith("220 mx") and "ESMTP Sendmail" in banner, (address, banner)


def test_banner_from_the_other_host(host_named, addresses, smtp_banner):
    found = addresses("sd-mx2")
    for address in [found["inet6"][0], found["inet"][0]]:
        banner = smtp_banner(host_named("sd-mx1"), address)
        assert banner.startswith("220 mx2.example.test"), (address, banner)


def sendmail_literal(address):
    """An IPv6 address as sendmail lists it in class w: every group, no leading zeros.

    Mail to a compressed literal such as [IPv6:2001:db8::1] is not recognised as local.
    """
    return "IPv6:" + ":".join(f"{int(group, 16):x}" for group in address.exploded.split(":"))


def test_mail_over_ipv6_arrives(host_named, addresses, wait_for_text):
    sender, receiver = host_named("sd-mx1"), host_named("sd-mx2")
    source = addresses("sd-mx1")["inet6"][0]
    target = addresses("sd-mx2")["inet6"][0]
    token = f"probe-{uuid.uuid4()}"
    sender.check_output(
        f"printf 'Subject: {token}\\n\\nover IPv6\\n' | /usr/sbin/sendmail -oi -f root 'root@[{sendmail_literal(target)}]'"
    )
    assert wait_for_text(receiver, "/var/mail/root", token), sender.run("mailq").stdout
    mailbox = receiver.check_output("cat /var/mail/root")
    message = mailbox[mailbox.rindex("From ", 0, mailbox.index(token)):]
    assert f"[{sendmail_literal(source)}]" in message, message
