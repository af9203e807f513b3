"""The roles on hosts as users have them: a short host name, no DNS with old package lists, no IPv6."""

from __future__ import annotations

import json

import pytest
import testinfra

NO_DNS = ["hc-mx3", "hc-v4pf"]
NO_IPV6 = ["hc-v4sm", "hc-v4pf"]


@pytest.fixture(scope="session")
def host_named():
    """The hosts through podman exec: much faster than an ansible run per command."""
    return lambda name: testinfra.get_host(f"podman://{name}")


def _refusal(host, name):
    return json.loads(host.file(f"/root/{name}.refusal.json").content_string)


def _port_25(host):
    listening = host.check_output("ss -ltnH 'sport = :25'")
    return sorted(line.split()[3] for line in listening.splitlines())


def test_short_name_refused_before_any_change(host_named):
    refusal = _refusal(host_named("hc-mx3"), "short-name")
    assert "host name mx3 has no domain" in refusal["msg"], refusal
    assert "/etc/hosts" in refusal["msg"] and "confDOMAIN_NAME" in refusal["msg"], refusal
    assert refusal["before"]["checksum"] and refusal["before"] == refusal["after"], refusal
    assert refusal["after"]["active"] == "active", refusal


def test_short_name_host_never_made_sendmail_wait(host_named):
    # The refusal came before any sendmail run; with the domain in /etc/hosts none waits 60 s.
    log = host_named("hc-mx3").check_output("journalctl --no-pager --output=cat")
    assert "sleeping for retry" not in log and "unable to qualify" not in log


def test_short_name_host_answers_with_its_domain(host_named, addresses, smtp_banner):
    server = host_named("hc-mx3")
    assert server.check_output("hostname") == "mx3"
    found = addresses("hc-mx3")
    for address in ["127.0.0.1", "::1", found["inet"][0], found["inet6"][0]]:
        banner = smtp_banner(server, address)
        assert banner.startswith("220 mx3.example.test ESMTP Sendmail"), (address, banner)


@pytest.mark.parametrize("name", NO_DNS)
def test_no_dns_and_old_lists_throughout(host_named, name):
    host = host_named(name)
    resolv_conf = host.file("/etc/resolv.conf").content_string
    assert not [line for line in resolv_conf.splitlines() if line.split()[:1] == ["nameserver"]], resolv_conf
    assert host.run("getent ahosts deb.debian.org").rc != 0
    # Not refreshed by the roles: every list is still older than a day.
    assert host.check_output("find /var/lib/apt/lists -maxdepth 1 -type f -newermt '-1 day'") == ""
    assert host.check_output("find /var/lib/apt/lists -maxdepth 1 -type f -name '*_Packages'") != ""


@pytest.mark.parametrize("name", NO_IPV6)
def test_no_ipv6_on_the_host(host_named, name):
    host = host_named(name)
    assert host.check_output("ip -6 -o addr") == ""


@pytest.mark.parametrize("name", NO_IPV6)
def test_both_families_required_refused_before_any_change(host_named, name):
    refusal = _refusal(host_named(name), "require-both")
    role = "sendmail" if name == "hc-v4sm" else "postfix"
    assert f"{role}_require_both_families" in refusal["msg"] and "IPv6" in refusal["msg"], refusal
    assert refusal["before"]["checksum"] and refusal["before"] == refusal["after"], refusal
    assert refusal["after"]["active"] == "active", refusal


def test_sendmail_without_ipv6_listens_on_ipv4(host_named, addresses, smtp_banner):
    server = host_named("hc-v4sm")
    assert not server.file("/proc/sys/net/ipv6/bindv6only").exists
    assert _port_25(server) == ["0.0.0.0:25"]
    daemons = server.check_output("grep '^DAEMON_OPTIONS' /etc/mail/sendmail.mc")
    assert "Family=inet6" not in daemons and "Family=inet," in daemons, daemons
    banner = smtp_banner(host_named("hc-mx3"), addresses("hc-v4sm")["inet"][0])
    assert banner.startswith("220 v4sm.example.test ESMTP Sendmail"), banner


def test_postfix_without_ipv6_falls_back_to_ipv4(host_named, addresses, smtp_banner):
    server = host_named("hc-v4pf")
    assert server.check_output("postconf -h inet_protocols") == "ipv4"
    assert _port_25(server) == ["0.0.0.0:25"]
    banner = smtp_banner(host_named("hc-mx3"), addresses("hc-v4pf")["inet"][0])
    assert banner.startswith("220 v4pf.example.test ESMTP"), banner
