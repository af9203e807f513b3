# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.listen_intent import (
    ALL,
    LOOPBACK,
    Listen,
    ListenIntentError,
    parse_intent,
)

V4 = ipaddress.ip_address("192.0.2.25")
V6 = ipaddress.ip_address("2001:db8::25")


@pytest.mark.parametrize(("intent", "expected"), [
    ("all", (Listen((ALL,), (25,)),)),
    (["loopback", "192.0.2.25"], (Listen((LOOPBACK, V4), (25,)),)),
    ({"addresses": "2001:db8::25", "ports": ["smtp", "submission", 465]}, (Listen((V6,), (25, 587, 465)),)),
    ([{"addresses": ["ALL"], "ports": 587}, "loopback"], (Listen((ALL,), (587,)), Listen((LOOPBACK,), (25,)))),
])
def test_every_accepted_form_reads_as_listen_items(intent, expected):
    assert parse_intent(intent) == expected


@pytest.mark.parametrize(("intent", "message"), [
    ([], "what to listen on is empty"),
    ("mx.example.com", "host names are not accepted"),
    ("::ffff:192.0.2.25", "write the IPv4 address 192.0.2.25 instead"),
    ("ff02::1", "multicast"),
    ("fe80::1", "link-local"),
    ({"addresses": ["all"], "ports": [0]}, "port 0 is not a port"),
    ({"addresses": ["all"], "ports": ["no-such-service"]}, "is not a port"),
    ({"addresses": ["all"], "ports": [True]}, "port True is not a port"),
    ({"addresses": ["all"], "port": 25}, "unknown key(s) port"),
    ({"addresses": [], "ports": [25]}, "has no addresses"),
    ({"addresses": ["all"], "ports": []}, "has no ports"),
    ([["all"]], "must be an address or a dict"),
])
def test_malformed_intent_is_refused_with_the_value_named(intent, message):
    with pytest.raises(ListenIntentError) as error:
        parse_intent(intent)
    assert message in str(error.value)
