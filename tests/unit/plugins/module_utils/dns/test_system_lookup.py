# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The standard-library resolver a host without dnspython gets: real lookups through NSS, answered
here by /etc/hosts for the loopback names every system has."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.dns import lookup
from ansible_collections.dualstack.mta.plugins.module_utils.dns.lookup import SystemLookup, _address_of_pointer
from ansible_collections.dualstack.mta.plugins.module_utils.dns.mail_dns import check_address
from ansible_collections.dualstack.mta.plugins.module_utils.dns.spf import DnsTempError


@pytest.mark.parametrize("address", ["192.0.2.25", "2001:db8::25", "::1", "127.0.0.1"])
def test_reverse_names_map_back_to_their_address(address):
    pointer = ipaddress.ip_address(address).reverse_pointer
    assert _address_of_pointer(pointer) == address
    assert _address_of_pointer(pointer + ".") == address


@pytest.mark.parametrize("pointer", ["25.2.0.192.example.com", "2.0.192.in-addr.arpa", "x.2.0.192.in-addr.arpa", ""])
def test_names_that_are_no_reverse_names(pointer):
    assert _address_of_pointer(pointer) is None


def test_forward_and_reverse_through_the_system_resolver():
    system = SystemLookup()
    assert "127.0.0.1" in system.lookup("localhost", "A")
    assert "localhost" in system.lookup(ipaddress.ip_address("127.0.0.1").reverse_pointer, "PTR")
    assert system.lookup("no-such-name.invalid", "A") == []


@pytest.mark.parametrize("rdtype", ["TXT", "MX"])
def test_what_the_system_resolver_cannot_ask_names_dnspython(rdtype):
    with pytest.raises(DnsTempError, match="install dnspython"):
        SystemLookup().lookup("example.com", rdtype)


def test_checks_get_real_verdicts_and_spf_says_why_it_is_unknown():
    entry = check_address(SystemLookup(), "127.0.0.1", "example.com", "localhost")
    assert entry["ptr"]["result"] == "pass" and "localhost" in entry["ptr"]["names"]
    assert entry["fcrdns"]["result"] == "pass"
    assert entry["spf"]["result"] == "temperror" and "dnspython" in str(entry["spf"])


def test_without_dnspython_the_system_resolver_answers(monkeypatch):
    monkeypatch.setattr(lookup, "HAS_DNSPYTHON", False)
    found, name = lookup.make_lookup(None, 53, 5.0)
    assert isinstance(found, SystemLookup) and name == lookup.SYSTEM
    refusing, _name = lookup.make_lookup(["192.0.2.53"], 53, 5.0)
    with pytest.raises(DnsTempError, match="needs dnspython"):
        refusing.lookup("example.com", "A")
