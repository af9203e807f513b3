"""What a user would check after dualstack.mta.postconf: the sockets postfix really listens on."""

from __future__ import annotations

import json
import os

import testinfra


def host(name):
    return testinfra.get_host(
        f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}"
    )


def listeners(name):
    """Local addresses with a TCP socket listening on port 25."""
    out = host(name).check_output("ss -Htln 'sport = :25'")
    return sorted(line.split()[3].rsplit(":", 1)[0] for line in out.splitlines())


def global_address(name, family):
    out = host(name).check_output(f"ip -j -{family} addr show dev eth0 scope global")
    return json.loads(out)[0]["addr_info"][0]["local"]


def smtp_banner(name, address):
    return host(name).check_output(f"printf 'QUIT\\r\\n' | nc -w 5 {address} 25")


def test_dual_stack_host_listens_on_both_families():
    # Two sockets: postfix sets IPV6_V6ONLY on [::], so 0.0.0.0 needs its own.
    assert listeners("postconf-dual") == ["0.0.0.0", "[::]"]


def test_dual_stack_host_answers_over_both_families():
    for family in (4, 6):
        banner = smtp_banner("postconf-dual", global_address("postconf-dual", family))
        assert banner.startswith("220 dual.example.test ESMTP"), banner


def test_dual_stack_main_cf_keeps_its_mode():
    main_cf = host("postconf-dual").file("/etc/postfix/main.cf")
    assert main_cf.mode == 0o640
    assert main_cf.user == "root"


def test_host_without_ipv6_fell_back_to_ipv4_loopback():
    h = host("postconf-nov6")
    assert h.check_output("postconf -h inet_protocols inet_interfaces").split() == ["ipv4", "localhost"]
    assert listeners("postconf-nov6") == ["127.0.0.1"]
    assert smtp_banner("postconf-nov6", "127.0.0.1").startswith("220 nov6.example.test ESMTP")
