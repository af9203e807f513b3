"""Per-address daemons listen exactly where configured, also after a failed change."""

from __future__ import annotations

import pytest

HOSTS = ["spa-mx1", "spa-mx2"]


def listening(host):
    out = host.check_output("ss -ltnH")
    return sorted(line.split()[3] for line in out.splitlines())


@pytest.mark.parametrize("name", HOSTS)
def test_sockets_exactly_as_configured(host_named, addresses, name):
    found = addresses(name)
    expected = sorted([
        "127.0.0.1:25",
        f"{found['inet'][0]}:25",
        f"[{found['inet6'][0]}]:25",
        "[::1]:25",
        "127.0.0.1:587",
    ])
    assert listening(host_named(name)) == expected


@pytest.mark.parametrize("name", HOSTS)
def test_banner_on_every_configured_address(host_named, addresses, smtp_banner, name):
    found = addresses(name)
    for address in ["::1", "127.0.0.1", found["inet6"][0], found["inet"][0]]:
        banner = smtp_banner(host_named(name), address)
        assert banner.startswith(f"220 {name[-3:]}.example.test"), (address, banner)


def test_failed_change_left_the_daemon_running(host_named):
    # side_effect forced a layout that cannot bind onto spa-mx1; the role restored the old one.
    host = host_named("spa-mx1")
    assert host.service("sendmail").is_running
    log = host.check_output("journalctl -u sendmail -o cat --no-pager")
    assert "cannot bind: Address already in use" in log
