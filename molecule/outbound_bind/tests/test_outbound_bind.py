"""sendmail's CLIENT_OPTIONS make ob-mx2's outbound SMTP leave from its second address per family."""

from __future__ import annotations

import ipaddress

import pytest

WANTED = {
    "inet": ipaddress.ip_address("198.51.100.250"),
    "inet6": ipaddress.ip_address("2001:db8:25::250"),
}


@pytest.mark.parametrize("family", ["inet", "inet6"])
def test_kernel_alone_would_pick_another_address(host_named, addresses, family):
    # Without the bind the mail would leave from another address: the client entry has work to do.
    sender = addresses("ob-mx2")[family]
    target = addresses("ob-mx1")[family][0]
    route = host_named("ob-mx2").check_output(f"ip route get {target}").split()
    chosen = ipaddress.ip_address(route[route.index("src") + 1])
    assert WANTED[family] in sender and chosen in sender and chosen != WANTED[family], route


@pytest.mark.parametrize("family", ["inet", "inet6"])
def test_mail_arrives_from_the_wanted_address(host_named, addresses, sendmail_literal, deliver, family):
    target = addresses("ob-mx1")[family][0]
    message = deliver(host_named("ob-mx2"), host_named("ob-mx1"), f"root@[{sendmail_literal(target)}]")
    assert f"[{sendmail_literal(WANTED[family])}]" in message, message
    for other in addresses("ob-mx2")[family]:
        if other != WANTED[family]:
            assert f"[{sendmail_literal(other)}]" not in message, message
