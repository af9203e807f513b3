"""SNAT makes os-mx2's outbound SMTP leave from its second address of each family."""

from __future__ import annotations

import ipaddress

import pytest

WANTED = {
    "inet": ipaddress.ip_address("198.51.100.250"),
    "inet6": ipaddress.ip_address("2001:db8:25::250"),
}
COMMANDS = {"inet": "iptables", "inet6": "ip6tables"}


@pytest.mark.parametrize("family", ["inet", "inet6"])
def test_kernel_alone_would_pick_the_first_address(host_named, addresses, family):
    # Without the rule the mail would leave from another address: SNAT has work to do.
    sender = addresses("os-mx2")[family]
    target = addresses("os-mx1")[family][0]
    route = host_named("os-mx2").check_output(f"ip route get {target}").split()
    chosen = ipaddress.ip_address(route[route.index("src") + 1])
    assert WANTED[family] in sender and chosen in sender and chosen != WANTED[family], route


@pytest.mark.parametrize("family", ["inet", "inet6"])
def test_mail_arrives_from_the_wanted_address(host_named, addresses, sendmail_literal, deliver, family):
    target = addresses("os-mx1")[family][0]
    message = deliver(host_named("os-mx2"), host_named("os-mx1"), f"root@[{sendmail_literal(target)}]")
    assert f"[{sendmail_literal(WANTED[family])}]" in message, message
    for other in addresses("os-mx2")[family]:
        if other != WANTED[family]:
            assert f"[{sendmail_literal(other)}]" not in message, message


# The saved rules and the service that loads them at boot, per OS family.
SAVED = {
    "Debian": ({"inet": "/etc/iptables/rules.v4", "inet6": "/etc/iptables/rules.v6"},
               {"inet": "netfilter-persistent", "inet6": "netfilter-persistent"}),
    "RedHat": ({"inet": "/etc/sysconfig/iptables", "inet6": "/etc/sysconfig/ip6tables"},
               {"inet": "iptables", "inet6": "ip6tables"}),
}


@pytest.mark.parametrize("backend", ["nft", "legacy"])
@pytest.mark.parametrize("family", ["inet", "inet6"])
def test_one_rule_per_source_on_each_backend(host_named, addresses, os_family, backend, family):
    # side_effect ran the role three times on each backend; EL9 ships the nft backend alone.
    if backend == "legacy" and os_family("os-mx2") != "Debian":
        pytest.skip("only Debian ships the legacy iptables backend")
    listing = host_named("os-mx2").check_output(
        f"{COMMANDS[family]}-{backend} -t nat -S POSTROUTING 2>/dev/null"
    )
    rules = sorted(line for line in listing.splitlines() if "dualstack.mta outbound" in line)
    sources = [a for a in addresses("os-mx2")[family] if a != WANTED[family]]
    prefix = 32 if family == "inet" else 128
    assert len(rules) == len(sources) == 1, rules
    for source in sources:
        assert sum(f"-s {source}/{prefix} " in rule for rule in rules) == 1, rules
    assert all(rule.endswith(f"--to-source {WANTED[family]}") for rule in rules), rules


@pytest.mark.parametrize("family", ["inet", "inet6"])
def test_rules_are_saved(host_named, os_family, family):
    paths, services = SAVED[os_family("os-mx2")]
    saved = host_named("os-mx2").check_output(f"cat {paths[family]}")
    assert f"--to-source {WANTED[family]}" in saved, saved
    assert host_named("os-mx2").service(services[family]).is_enabled
