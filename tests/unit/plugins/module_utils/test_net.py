"""Addresses are spelled the same whatever Python runs the code (tests/unit/pythons runs 3.8 on)."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.net import address_text, socket_key


@pytest.mark.parametrize("address, text", [
    ("198.51.100.7", "198.51.100.7"),
    ("2001:DB8:25:0::7", "2001:db8:25::7"),
    ("::", "::"),
    # IPv4-mapped: Python 3.13 alone would write ::ffff:198.51.100.7.
    ("::ffff:198.51.100.7", "::ffff:c633:6407"),
    ("::FFFF:c633:6407", "::ffff:c633:6407"),
    ("::ffff:0.0.0.1", "::ffff:0:1"),
    ("::ffff:0.0.0.0", "::ffff:0:0"),
    ("::ffff:255.255.255.255", "::ffff:ffff:ffff"),
])
def test_address_text(address, text):
    assert address_text(ipaddress.ip_address(address)) == text


def test_socket_key_of_an_ipv4_mapped_address():
    assert socket_key("[::ffff:198.51.100.7]", 25) == "::ffff:c633:6407 25"
