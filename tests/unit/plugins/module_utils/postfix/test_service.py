# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.postfix.service import (
    Problem,
    field_meaning,
    parse_key,
    parse_services,
    plan,
    service_line,
    strip_options,
    wanted_service,
)

# postconf -F relay/unix smtp/inet and postconf -P, as Debian 12's postfix prints them.
FIELDS = """\
smtp/inet/service = smtp
smtp/inet/type = inet
smtp/inet/private = n
smtp/inet/unprivileged = -
smtp/inet/chroot = y
smtp/inet/wakeup = -
smtp/inet/process_limit = -
smtp/inet/command = smtpd
relay/unix/service = relay
relay/unix/type = unix
relay/unix/private = -
relay/unix/unprivileged = -
relay/unix/chroot = y
relay/unix/wakeup = -
relay/unix/process_limit = -
relay/unix/command = smtp -o syslog_name=postfix/$service_name
"""
PARAMETERS = "relay/unix/syslog_name = postfix/$service_name\n"


def services():
    return parse_services(FIELDS, PARAMETERS)


def test_parse():
    found = services()
    assert sorted(found) == ["relay/unix", "smtp/inet"]
    relay = found["relay/unix"]
    assert relay.command == "smtp" and relay.options == {"syslog_name": "postfix/$service_name"}
    assert relay.fields == {"private": "-", "unpriv": "-", "chroot": "y", "wakeup": "-", "maxproc": "-"}
    assert service_line(relay) == "relay unix - - y - - smtp -o syslog_name=postfix/$service_name"


def test_strip_options():
    assert strip_options("smtpd -o a=b  -oc=d -v") == "smtpd -v"


@pytest.mark.parametrize("option,value,meaning", [
    ("private", "-", "y"), ("unpriv", "-", "y"), ("chroot", "-", "n"),
    ("wakeup", "-", "0"), ("maxproc", "-", "100"), ("maxproc", "5", "5"),
])
def test_field_meaning(option, value, meaning):
    assert field_meaning(option, value) == meaning


def test_same_meaning_is_no_change():
    smtp = services()["smtp/inet"]
    wanted = wanted_service("smtp/inet", fields={"private": False, "unpriv": "-", "chroot": "yes",
                                                 "maxproc": "100", "wakeup": "0"}, command="  smtpd ")
    assert not plan(wanted, smtp).changed
    relay = services()["relay/unix"]
    assert not plan(wanted_service("relay/unix", options={"syslog_name": "postfix/$service_name"}), relay).changed


def test_field_and_option_changes():
    smtp = services()["smtp/inet"]
    wanted = wanted_service("smtp/inet", fields={"chroot": "n", "maxproc": "10"},
                            options={"smtpd_sasl_auth_enable": True})
    result = plan(wanted, smtp)
    assert result.commands == [["-F", "smtp/inet/chroot=n"], ["-F", "smtp/inet/process_limit=10"],
                               ["-P", "smtp/inet/smtpd_sasl_auth_enable=yes"]]
    assert plan(wanted, smtp, default_process_limit="10").commands[1][0] == "-P"


def test_command_change_keeps_options():
    relay = services()["relay/unix"]
    result = plan(wanted_service("relay/unix", command="lmtp", options={"x": "1"}), relay)
    assert result.commands == [["-F", "relay/unix/command=lmtp -o syslog_name=postfix/$service_name -o x=1"]]


def test_option_removal():
    relay = services()["relay/unix"]
    assert plan(wanted_service("relay/unix", options={"syslog_name": None}), relay).commands == [
        ["-PX", "relay/unix/syslog_name"]]
    assert not plan(wanted_service("relay/unix", options={"absent": None}), relay).changed


def test_add_comment_remove():
    new = plan(wanted_service("[2001:db8::25]:smtp/inet", fields={"private": "n"}, command="smtpd",
                              options={"a": "b"}), None)
    assert new.added and new.commands == [
        ["-M", "[2001:db8::25]:smtp/inet=[2001:db8::25]:smtp inet n - - - - smtpd -o a=b"]]
    smtp = services()["smtp/inet"]
    assert plan(wanted_service("smtp/inet", "commented"), smtp).commands == [["-M#", "smtp/inet"]]
    assert plan(wanted_service("smtp/inet", "absent"), smtp).commands == [["-MX", "smtp/inet"]]
    assert not plan(wanted_service("smtp/inet", "absent"), None).changed
    with pytest.raises(Problem, match="give command"):
        plan(wanted_service("submission/inet"), None)


@pytest.mark.parametrize("key", ["submission/inet", "smtps/inet", "[2001:db8::25]:smtp/inet", "127.0.0.1:smtp/inet",
                                 "mx.example.test:2525/inet", "postlog/unix-dgram", "pickup/unix"])
def test_keys(key):
    assert "/".join(parse_key(key)) == key


@pytest.mark.parametrize("key,message", [
    ("2001:db8::25:smtp/inet", "needs brackets"),
    ("[2001:db8::25]smtp/inet", r"\[address\]:port"),
    ("[192.0.2.1]:smtp/inet", "not an IPv6"),
    ("smtp:70000/inet", "out of range"),
    ("0/inet", "out of range"),
    ("submission/tcp", "unknown type"),
    ("submission", "name/type"),
    ("sub mission/inet", "blanks"),
    ("sub\nmission/inet", "blanks"),
])
def test_bad_keys(key, message):
    with pytest.raises(Problem, match=message):
        parse_key(key)


@pytest.mark.parametrize("arguments,message", [
    (dict(fields={"maxproc": "1 0"}), "maxproc"),
    (dict(fields={"wakeup": "60\n"}), "wakeup"),
    (dict(fields={"private": "maybe"}), "private"),
    (dict(command="smtpd\n-o a=b"), "newlines"),
    (dict(command="smtpd -o a=b"), "options"),
    (dict(command="   "), "empty"),
    (dict(options={"bad-name": "x"}), "parameter name"),
    (dict(options={"smtpd_banner": "a b"}), "blanks"),
    (dict(options={"x": "a\nb"}), "newlines"),
    (dict(options={"x": ""}), "empty"),
])
def test_bad_input(arguments, message):
    with pytest.raises(Problem, match=message):
        wanted_service("submission/inet", **arguments)
