"""A relay client without DNS sends through its smart host, masqueraded, and asks no resolver."""

from __future__ import annotations

import base64
import time
import uuid

CLIENT, RELAY = "sh-mx2", "sh-mx1"
DOMAIN = "company.example"
SPOOL = "/var/spool/mqueue"

# Listens where an empty resolv.conf sends every query (the C library's and sendmail's own
# resolver both fall back to the local host, port 53) and writes down what arrives.
_TRAP = """
import select, socket, sys, time
socks = []
for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(family, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, 53))
        if kind == socket.SOCK_STREAM:
            s.listen(5)
        socks.append(s)
log = open(sys.argv[1], "a", buffering=1)
while True:
    for s in select.select(socks, [], [])[0]:
        if s.type == socket.SOCK_STREAM:
            conn, peer = s.accept()
            log.write("tcp %s\\n" % (peer,))
            conn.close()
        else:
            data, peer = s.recvfrom(4096)
            log.write("udp %s %r\\n" % (peer, data[12:]))
"""


def test_client_has_no_resolver(host_named):
    for name in (CLIENT, RELAY):
        resolv = host_named(name).file("/etc/resolv.conf")
        assert resolv.exists and resolv.size == 0, name


def test_client_sends_everything_to_the_smart_host(host_named):
    cf = host_named(CLIENT).file("/etc/mail/sendmail.cf").content_string.splitlines()
    assert "DS[mx1.example.test]" in cf
    assert f"DM{DOMAIN}" in cf
    assert "O ServiceSwitchFile=/etc/mail/service.switch-files" in cf
    assert "O LogLevel=15" in cf
    assert not any(line.startswith("C{E}") for line in cf), "an exposed user is left"


def _start_trap(client, log):
    script = base64.b64encode(_TRAP.encode()).decode()
    client.check_output(f"echo {script} | base64 -d > /root/dns-trap.py && rm -f {log}")
    client.run("systemctl stop dns-trap 2>/dev/null; systemctl reset-failed dns-trap 2>/dev/null")
    client.check_output(f"systemd-run --unit=dns-trap /usr/bin/python3 /root/dns-trap.py {log}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "127.0.0.1:53" in client.check_output("ss -lunH 'sport = :53'"):
            return
        time.sleep(1)
    raise AssertionError("the DNS trap did not start")


def test_relayed_mail_is_masqueraded_and_needs_no_dns(host_named, wait_for_text):
    client, relay = host_named(CLIENT), host_named(RELAY)
    log = "/root/dns-queries.log"
    token = f"relay-{uuid.uuid4()}"
    _start_trap(client, log)
    try:
        # Sent as root, the user masquerading exposes by default on many systems.
        client.check_output(
            f"printf 'Subject: {token}\\n\\nthrough the smart host\\n'"
            " | /usr/sbin/sendmail -oi someone@outside.example"
        )
        # The relay has no DNS either: the mail waits in its queue for outside.example.
        assert wait_for_text(relay, f"{SPOOL}/qf*", token), client.run("mailq").stdout
        queries = client.run(f"cat {log}").stdout
        assert queries == "", f"the client asked DNS:\n{queries}"
        # The trap hears a query that does go to the resolver.
        client.run("timeout 5 getent hosts trap-probe.invalid")
        assert "trap-probe" in client.run(f"cat {log}").stdout
    finally:
        client.run("systemctl stop dns-trap")

    # The queue file holds sendmail's binary macro codes: keep printable ASCII only.
    qf = relay.check_output(
        f"LC_ALL=C tr -c '\\11\\12\\40-\\176' '?' < $(grep -lF -- {token!r} {SPOOL}/qf*)"
    )
    lines = qf.splitlines()
    assert f"S<root@{DOMAIN}>" in lines, qf
    sender_header = [line for line in lines if line.startswith("H??From:")]
    assert sender_header == [f"H??From: root <root@{DOMAIN}>"], qf
    # It came straight from the client, over IPv6.
    assert any(line.startswith("$_mx2.example.test [IPv6:2001:db8:25:") for line in lines), qf
    # Nothing of it is left on the client.
    assert token not in client.run("cat /var/spool/mqueue/* /var/spool/mqueue-client/* 2>/dev/null").stdout


def test_client_logs_delivery_to_the_smart_host(host_named):
    log = host_named(CLIENT).check_output("journalctl --no-pager -o cat -u sendmail")
    assert "relay=mx1.example.test. [IPv6:2001:db8:25:" in log
    assert "stat=Sent" in log
