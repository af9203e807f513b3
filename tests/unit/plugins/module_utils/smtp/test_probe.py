# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import smtplib
import socket
import threading

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.smtp.probe import (
    Target,
    TargetError,
    _describe,
    parse_target,
    probe,
    queue_id,
    verdict,
)


@pytest.mark.parametrize("given, address, port", [
    ("192.0.2.25", "192.0.2.25", 25),
    ("192.0.2.25:587", "192.0.2.25", 587),
    ("[2001:db8::25]:465", "2001:db8::25", 465),
    ("[2001:DB8::25]", "2001:db8::25", 25),
    ("2001:db8::25", "2001:db8::25", 25),
    ("::1", "::1", 25),
    ("mx.example.com:2525", "mx.example.com", 2525),
    ("0.0.0.0:25", "127.0.0.1", 25),
    ("[::]:25", "::1", 25),
    ({"address": "::", "port": 25, "family": "inet6"}, "::1", 25),
    ({"address": "198.51.100.10", "port": "587"}, "198.51.100.10", 587),
])
def test_targets(given, address, port):
    target = parse_target(given)
    assert (target.address, target.port) == (address, port)


@pytest.mark.parametrize("given, problem", [
    ("192.0.2.25:0", "out of range"),
    ("192.0.2.25:smtp", "not a number"),
    ("[2001:db8::25]:99999", "out of range"),
    ("mx example.com", "neither"),
    ("", "empty"),
    ({"port": 25}, "needs an address"),
])
def test_bad_targets_are_refused_with_the_reason(given, problem):
    with pytest.raises(TargetError, match=problem):
        parse_target(given)


@pytest.mark.parametrize("reply, found", [
    ("2.0.0 Ok: queued as 4Zb8Kq1x2Bz9sVh", "4Zb8Kq1x2Bz9sVh"),
    ("2.0.0 4B5A9xYZ012345 Message accepted for delivery", "4B5A9xYZ012345"),
    ("Requested mail action okay, completed", None),
])
def test_queue_id(reply, found):
    assert queue_id(reply) == found


def test_require():
    good = {"ok": True, "target": "a", "error": None}
    bad = {"ok": False, "target": "b", "error": "connection refused"}
    assert verdict([good, bad], "none") is None
    assert verdict([good, bad], "any") is None
    assert "b: connection refused" in verdict([good, bad], "all")
    assert verdict([bad], "any").startswith("no target answered")
    assert verdict([], "all") is None


def serve_once(greeting):
    """A listener on loopback that greets once with ``greeting`` and closes, as a server under load does."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer():
        connection, _peer = server.accept()
        connection.sendall(greeting)
        connection.close()
        server.close()

    threading.Thread(target=answer, daemon=True).start()
    return server.getsockname()[1]


def test_a_listener_that_greets_with_421_does_not_count_as_listening():
    port = serve_once(b"421 4.3.2 mx.example.test Too many connections, try again later\r\n")
    result = probe(Target("127.0.0.1", port, "x"), "probe.example.test", 5)
    assert not result["ok"] and result["banner_code"] == 421
    assert "answered 421 instead of 220" in result["error"] and "Too many connections" in result["error"]


def test_a_closed_port_is_reported_not_raised():
    probe_socket = socket.socket()
    probe_socket.bind(("127.0.0.1", 0))
    port = probe_socket.getsockname()[1]
    probe_socket.close()  # nothing listens there now
    result = probe(Target("127.0.0.1", port, "x"), "probe.example.test", 5)
    assert not result["ok"] and "connection refused" in result["error"] and result["elapsed"] >= 0


def test_a_listener_that_closes_without_a_word_is_reported_as_closed():
    port = serve_once(b"")
    result = probe(Target("127.0.0.1", port, "x"), "probe.example.test", 5)
    assert not result["ok"]
    assert result["error"] == "the listener closed the connection: Connection unexpectedly closed"


def test_a_disconnect_without_text_says_no_answer():
    assert _describe(smtplib.SMTPServerDisconnected()) == "the listener closed the connection: no answer"
