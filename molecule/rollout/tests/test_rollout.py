"""After the rollout that stopped at ro-pf1: who changed, who was put back, who was never touched.

prepare recorded every host's MTA state (a checksum per configuration file and the daemon's PID,
read by /usr/local/sbin/mta-state) in /var/tmp/rollout-test/state. The SMTP sessions here start on
the controller, outside the hosts, as the rollout's own probe does.
"""

from __future__ import annotations

import smtplib

import pytest

CONVERTED = ["ro-sm2", "ro-sm1"]  # the canary, then the second batch


def _state(server, recorded=False):
    """{path or 'pid': checksum or PID} of the MTA, now or as recorded before the rollout."""
    command = "cat /var/tmp/rollout-test/state" if recorded else "/usr/local/sbin/mta-state"
    state = {}
    for line in server.check_output(command).splitlines():
        value, key = line.split(None, 1)
        state[value if value == "pid" else key] = key if value == "pid" else value
    return state


def _ehlo(address):
    """Greeting and EHLO code of the listener at address:25, seen from the controller."""
    with smtplib.SMTP(timeout=30) as session:
        _code, greeting = session.connect(str(address), 25)
        code, _text = session.ehlo("probe.example.test")
        return greeting.decode(errors="replace"), code


@pytest.mark.parametrize("name", CONVERTED)
def test_converted_hosts_answer_from_outside_on_both_families(addresses, name):
    found = addresses(name)
    for address in [found["inet"][0], found["inet6"][0]]:
        greeting, code = _ehlo(address)
        assert "ESMTP Sendmail" in greeting and code == 250, (address, greeting, code)


@pytest.mark.parametrize("name", CONVERTED)
def test_converted_hosts_run_a_new_daemon_on_one_dual_stack_socket(host_named, name):
    server = host_named(name)
    before, now = _state(server, recorded=True), _state(server)
    assert now["pid"] != before["pid"]
    assert now["/etc/mail/sendmail.mc"] != before["/etc/mail/sendmail.mc"]
    listening = server.check_output("ss -ltnH 'sport = :25'")
    sockets = [line.split()[3] for line in listening.splitlines()]
    assert sockets == ["*:25"] or sockets == ["[::]:25"], listening


def test_failed_host_is_back_on_its_previous_configuration(host_named):
    server = host_named("ro-pf1")
    before, now = _state(server, recorded=True), _state(server)
    assert now["/etc/postfix/main.cf"] == before["/etc/postfix/main.cf"]
    assert server.check_output("postconf -h inet_protocols") == "ipv4"
    # The failure was the one injected: the other process still holds [::]:25.
    assert server.service("ipv6-port25-holder").is_running


def test_failed_host_still_receives_mail_on_ipv4(addresses):
    address = str(addresses("ro-pf1")["inet"][0])
    with smtplib.SMTP(timeout=30) as session:
        _code, greeting = session.connect(address, 25)
        assert "ESMTP Postfix" in greeting.decode(errors="replace")
        refused = session.sendmail(
            "<>", ["postmaster@mx3.example.test"], "Subject: rollout test\r\n\r\nstill here\r\n"
        )
    assert refused == {}


def test_later_host_is_untouched(host_named):
    server = host_named("ro-pf2")
    assert _state(server) == _state(server, recorded=True)
    assert server.check_output("postconf -h inet_protocols") == "ipv4"
