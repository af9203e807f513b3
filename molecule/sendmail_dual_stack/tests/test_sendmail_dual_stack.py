"""sendmail with one inet6 daemon on :: answers on both families and delivers over IPv6.

sd-mx1 started from the distribution's own sendmail.mc, sd-mx2 from Red Hat's stock one
(prepare.yml); both run the role's defaults, so on Debian every test over both hosts covers both
layouts.
"""

from __future__ import annotations

import json
import re

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


# sd-mx2 receives it on the daemon the planner made from Red Hat's layout. There is no IPv4
# counterpart: Red Hat's file sets confDONT_PROBE_INTERFACES, so sendmail there does not count
# its IPv4 literal as local and refuses root@[198.51.100.x] as relaying, whatever it listens on.
def test_mail_over_ipv6_arrives(host_named, addresses, sendmail_literal, deliver):
    source = addresses("sd-mx1")["inet6"][0]
    target = addresses("sd-mx2")["inet6"][0]
    message = deliver(host_named("sd-mx1"), host_named("sd-mx2"), f"root@[{sendmail_literal(target)}]")
    assert f"[{sendmail_literal(source)}]" in message, message


def _daemons(text, prefix):
    """The DAEMON_OPTIONS of the lines that start with prefix, as {key: value} (keys lower case).

    The module writes what it changes with its own quoting and spacing, so entries compare by key.
    """
    found = []
    for match in re.finditer(r"^" + prefix + r"DAEMON_OPTIONS\(`+([^`']*)'+\)", text, re.MULTILINE):
        found.append(_keys(match.group(1)))
    return found


def _keys(options):
    return {key.strip().lower(): value.strip() for key, value in
            (item.split("=", 1) for item in options.split(","))}


def test_red_hat_layout_is_planned_by_what_it_binds(host_named):
    """Red Hat's MTA (IPv4 loopback) goes; its commented IPv6 example becomes the one daemon on ::."""
    mc = host_named("sd-mx2").file("/etc/mail/sendmail.mc").content_string
    active = _daemons(mc, "")
    assert active == [{"port": "smtp", "addr": "::", "name": "MTA-v6", "family": "inet6"}], active
    commented = _daemons(mc, "dnl ")
    assert {"port": "smtp", "addr": "127.0.0.1", "name": "MTA"} in commented, commented
    # The examples for the ports the default does not mention stay as Red Hat ships them.
    assert {"port": "submission", "name": "MSA", "m": "Ea"} in commented, commented
    assert {"port": "smtps", "name": "TLSMTA", "m": "s"} in commented, commented
    cf = host_named("sd-mx2").file("/etc/mail/sendmail.cf").content_string
    built = [_keys(line) for line in re.findall(r"^O DaemonPortOptions=(.*)$", cf, re.MULTILINE)]
    assert built == active, built


# sd-mx2 runs without SYS_PTRACE, as an unprivileged container: the restart must still replace the daemon.
# make runs as the service's own start runs it (Debian's init script once; EL's unit runs
# /etc/mail/make at every start), and the role adds no make of its own.
@pytest.mark.parametrize("name", HOSTS)
def test_a_change_builds_checks_makes_and_restarts_once_and_a_noop_run_none(host_named, name):
    counts = json.loads(host_named(name).file("/root/counts.json").content_string)
    start, change, noop = counts["start"], counts["change"], counts["noop"]
    tools = {run: [call.split()[0] for call in counts[run]["calls"]] for run in counts}
    assert tools["start"].count("m4") == 0 and tools["start"].count("make") >= 1, start
    assert start["pid_after"] != start["pid_before"], start
    assert change["changed"] and change["validated"], change
    assert tools["change"].count("m4") == 1, change["calls"]
    assert tools["change"].count("make") == tools["start"].count("make"), (change["calls"], start["calls"])
    assert change["pid_after"] != change["pid_before"], change
    assert not noop["changed"] and not noop["validated"], noop
    assert noop["calls"] == [] and noop["pid_after"] == noop["pid_before"], noop
