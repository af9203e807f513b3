# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.postfix import postconf as postconf_module
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.postconf import (
    Change,
    Plan,
    Probe,
    Problem,
    families,
    inconsistencies,
    ipv6_missing,
    normalise,
    parse_main_cf,
    parse_postconf,
    pinned_smtp_services,
    plan,
    same,
    to_value,
    validate,
    wanted_settings,
    warning_lines,
    with_ipv4_fallback,
    words,
)

# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, text",
    [
        ("all", "all"),
        ("  ipv4, ipv6 ", "ipv4, ipv6"),
        ("all\r", "all\r"),  # control characters are kept, for validate to refuse
        ("\tall", "\tall"),
        (True, "yes"),
        (False, "no"),
        (25, "25"),
        (["127.0.0.0/8", "[::1]/128"], "127.0.0.0/8, [::1]/128"),
        ([], ""),
    ],
)
def test_to_value(raw, text):
    assert to_value(raw) == text


@pytest.mark.parametrize(
    "value, expected",
    [
        ("ipv4, ipv6", ["ipv4", "ipv6"]),
        ("ipv4,ipv6", ["ipv4", "ipv6"]),
        ("ipv4 ipv6", ["ipv4", "ipv6"]),
        ("  ipv4 ,\t ipv6 ,, ", ["ipv4", "ipv6"]),
        ("", []),
        ("   ", []),
    ],
)
def test_words(value, expected):
    assert words(value) == expected


@pytest.mark.parametrize(
    "name, a, b",
    [
        ("inet_protocols", "ipv4, ipv6", "ipv4 ipv6"),
        ("inet_protocols", "ipv4,ipv6", " ipv4 ,  ipv6"),
        ("mynetworks", "127.0.0.0/8 [::1]/128", "127.0.0.0/8,\n    [::1]/128"),
        ("relayhost", "", "  "),
        ("smtpd_banner", "$myhostname  ESMTP", "$myhostname ESMTP"),
        # By meaning, where postfix gives a value one:
        ("inet_protocols", "ipv6, ipv4", "ipv4, ipv6"),  # a set of protocols
        ("inet_protocols", "all", "ipv6 ipv4"),  # all is both (and falls back the same way)
        ("inet_protocols", "ipv4, ipv4", "ipv4"),
        ("inet_interfaces", "[::1], 127.0.0.1", "127.0.0.1 ::1"),  # brackets are optional there
        ("inet_interfaces", "Mail.Example.TEST, 198.51.100.25", "198.51.100.25 mail.example.test"),
        ("inet_interfaces", "[2001:DB8:0:0::25]", "2001:db8::25"),
        ("mynetworks", "[2001:db8:25::]/64 127.0.0.0/8", "127.0.0.0/8, [2001:DB8:25:0::]/64"),
        ("mynetworks", "[::1]/128, 127.0.0.1/32", "127.0.0.1 [::1]"),  # a full prefix is the host
        ("smtp_bind_address6", "2001:db8:25::0025", "2001:db8:25::25"),
    ],
)
def test_same_setting(name, a, b):
    assert normalise(name, a) == normalise(name, b)
    assert same(name, a, b)


@pytest.mark.parametrize(
    "name, a, b",
    [
        ("inet_protocols", "ipv4", "all"),
        ("inet_protocols", "ipv6", "ipv4, ipv6"),
        ("inet_protocols", "IPv4", "ipv4"),  # postfix refuses the upper-case name
        ("inet_interfaces", "127.0.0.1", "127.0.0.1, ::1"),
        ("inet_interfaces", "$myhostname", "$MYHOSTNAME"),
        # first match wins: with a negation, order counts
        ("mynetworks", "!198.51.100.7 198.51.100.0/24", "198.51.100.0/24 !198.51.100.7"),
        ("mynetworks", "hash:/etc/postfix/a 127.0.0.0/8", "127.0.0.0/8 hash:/etc/postfix/a"),
        ("mynetworks", "::1/128", "[::1]/128"),  # postfix does not read the first as IPv6
        ("mynetworks", "127.0.0.0/8", "127.0.0.0/16"),
        ("smtpd_banner", "Hello, world", "Hello world"),  # free text: the comma is text
        ("relayhost", "[mx.example.test]", "mx.example.test"),
    ],
)
def test_different_setting(name, a, b):
    assert not same(name, a, b)


def test_unknown_current_value_is_never_the_same():
    assert not same("relayhost", None, "")


# --- the task's settings -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        (({"inet_protocols": "all"}, None, None, "present"), {"inet_protocols": "all"}),
        ((None, "inet_protocols", "all", "present"), {"inet_protocols": "all"}),
        (({"smtputf8_enable": False, "smtp_destination_concurrency_limit": 5}, None, None, "present"),
         {"smtputf8_enable": "no", "smtp_destination_concurrency_limit": "5"}),
        ((["smtp_bind_address", "smtp_bind_address6"], None, None, "absent"),
         {"smtp_bind_address": None, "smtp_bind_address6": None}),
        (({"smtp_bind_address": "ignored"}, None, None, "absent"), {"smtp_bind_address": None}),
        ((None, "relayhost", None, "absent"), {"relayhost": None}),
        (({"relayhost": ""}, None, None, "present"), {"relayhost": ""}),
    ],
)
def test_wanted_settings(args, expected):
    assert wanted_settings(*args) == expected


@pytest.mark.parametrize(
    "args, message",
    [
        (((None, "relayhost", None, "present")), "give a text"),
        ((({"relayhost": None}, None, None, "present")), "give a text"),
        ((({"relayhost": {"a": 1}}, None, None, "present")), "give a text"),
        (((["relayhost"], None, None, "present")), "parameters is a mapping"),
        ((({}, None, None, "present")), "parameters is a mapping"),
        ((("inet_protocols=all", None, None, "present")), "parameters is a mapping"),
    ],
)
def test_wanted_settings_refused(args, message):
    with pytest.raises(Problem, match=message):
        wanted_settings(*args)


# --- validation ----------------------------------------------------------------------------

VALID = [
    ("inet_protocols", "all"),
    ("inet_protocols", "ipv4"),
    ("inet_protocols", "ipv6"),
    ("inet_protocols", "ipv4, ipv6"),
    ("inet_protocols", "ipv6 ipv4"),
    ("inet_interfaces", "all"),
    ("inet_interfaces", "loopback-only"),
    ("inet_interfaces", "localhost"),
    ("inet_interfaces", "127.0.0.1, [::1]"),
    ("inet_interfaces", "198.51.100.25 2001:db8:25::25"),
    ("inet_interfaces", "$myhostname, localhost"),
    ("inet_interfaces", "mx1.example.test."),
    ("smtp_bind_address", "198.51.100.25"),
    ("smtp_bind_address", ""),
    ("smtp_bind_address6", "2001:db8:25::25"),
    ("smtp_bind_address6", ""),
    ("mynetworks", "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128"),
    ("mynetworks", "198.51.100.0/24, [2001:db8:25::]/64, 203.0.113.7, [2001:db8::1]"),
    ("mynetworks", "!198.51.100.7 198.51.100.0/24"),
    ("mynetworks", "hash:/etc/postfix/network_table /etc/postfix/networks cidr:/etc/postfix/a.cidr"),
    ("mynetworks", "$config_directory/mynetworks ${extra_networks}"),
    ("mynetworks", "0.0.0.0/0 [::]/0"),
    ("mynetworks", ""),
    ("smtp_address_preference", "any"),
    ("smtp_address_preference", "ipv4"),
    ("smtp_address_preference", "ipv6"),
    ("relayhost", "[smtp.example.test]:587"),
    ("smtpd_banner", "$myhostname ESMTP $mail_name (Debian/GNU)"),
    ("my_custom_class", "check_client_access hash:/etc/postfix/access"),
    ("2bounce_notice_recipient", "postmaster"),
]


@pytest.mark.parametrize("name, value", VALID)
def test_valid(name, value):
    assert validate({name: value}) == []


INVALID = [
    # inet_protocols
    ("inet_protocols", "ipv5", "use all, ipv4, ipv6"),
    ("inet_protocols", "all, ipv4", "use all, ipv4, ipv6"),
    ("inet_protocols", "", "use all, ipv4, ipv6"),
    ("inet_protocols", "IPv4", "use all, ipv4, ipv6"),
    ("inet_protocols", "inet6", "use all, ipv4, ipv6"),
    # inet_interfaces
    ("inet_interfaces", "", "empty: use all"),
    ("inet_interfaces", "all, 127.0.0.1", "all stands alone"),
    ("inet_interfaces", "loopback-only localhost", "loopback-only stands alone"),
    ("inet_interfaces", "127.0.0.256", "not a valid IPv4 address"),
    ("inet_interfaces", "198.51.100", "not a valid IPv4 address"),
    ("inet_interfaces", "[mx.example.test]", "use all, loopback-only, IP addresses or host names"),
    ("inet_interfaces", "bad_host!", "use all, loopback-only, IP addresses or host names"),
    ("inet_interfaces", "2001:db8::zz", "use all, loopback-only, IP addresses or host names"),
    # smtp_bind_address / smtp_bind_address6
    ("smtp_bind_address", "2001:db8:25::25", "set it in smtp_bind_address6"),
    ("smtp_bind_address", "198.51.100.300", "give one IPv4 address"),
    ("smtp_bind_address", "198.51.100.1 198.51.100.2", "give one IPv4 address"),
    ("smtp_bind_address", "mx.example.test", "give one IPv4 address"),
    ("smtp_bind_address6", "198.51.100.25", "set it in smtp_bind_address"),
    ("smtp_bind_address6", "[2001:db8:25::25]", "without brackets: 2001:db8:25::25"),
    ("smtp_bind_address6", "2001:db8:25::g", "give one IPv6 address"),
    # mynetworks
    ("mynetworks", "2001:db8::/32", r"write \[2001:db8::\]/32"),
    ("mynetworks", "::1", r"write \[::1\]"),
    ("mynetworks", "fe80::/10", r"write \[fe80::\]/10"),
    ("mynetworks", "[198.51.100.0]/24", "brackets hold an IPv6 address"),
    ("mynetworks", "198.51.100.7/24", "host bits set; the network is 198.51.100.0/24"),
    ("mynetworks", "[2001:db8::1]/64", r"host bits set; the network is \[2001:db8::\]/64"),
    ("mynetworks", "198.51.100.0/33", "too long for IPv4"),
    ("mynetworks", "[2001:db8::]/129", "too long for IPv6"),
    ("mynetworks", "mx.example.test", "use IPv4 networks"),
    ("mynetworks", "198.51.100.0/abc", "use IPv4 networks"),
    # smtp_address_preference
    ("smtp_address_preference", "ipv4, ipv6", "use any, ipv4 or ipv6"),
    ("smtp_address_preference", "both", "use any, ipv4 or ipv6"),
    # any value: one line, no control characters
    ("relayhost", "mx.example.test\nmydestination = evil", "newline or another control character"),
    ("relayhost", "a\rb", "newline or another control character"),
    ("smtpd_banner", "hello\x00", "newline or another control character"),
    ("smtpd_banner", "tab\there", "newline or another control character"),
    ("inet_protocols", "all\n", "newline or another control character"),
    # names
    ("inet-protocols", "all", "not a postfix parameter name"),
    ("", "all", "not a postfix parameter name"),
    ("relay host", "x", "not a postfix parameter name"),
    ("relayhost=", "x", "not a postfix parameter name"),
    ("#relayhost", "x", "not a postfix parameter name"),
    ("smtp/inet/relayhost", "x", "not a postfix parameter name"),
    ("rélayhost", "x", "not a postfix parameter name"),
]


@pytest.mark.parametrize("name, value, message", INVALID)
def test_invalid(name, value, message):
    problems = validate({name: value})
    assert len(problems) == 1
    assert problems[0].startswith(name + ": ")
    assert re.search(message, problems[0]), problems[0]


def test_every_problem_is_reported():
    problems = validate({"inet_protocols": "ipv5", "mynetworks": "::1", "relayhost": "ok"})
    assert [p.split(":")[0] for p in problems] == ["inet_protocols", "mynetworks"]


def test_removal_checks_only_the_name():
    assert validate({"relayhost": None}) == []
    assert validate({"relay host": None}) != []


# --- dual-stack consistency ----------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("all", {"ipv4", "ipv6"}),
        (None, {"ipv4", "ipv6"}),
        ("ipv4", {"ipv4"}),
        ("ipv6", {"ipv6"}),
        ("ipv4, ipv6", {"ipv4", "ipv6"}),
    ],
)
def test_families(value, expected):
    assert families(value) == expected


CONSISTENT = [
    {"inet_protocols": "all", "smtp_bind_address6": "2001:db8::1", "smtp_bind_address": "198.51.100.1"},
    {"inet_protocols": "ipv4", "smtp_bind_address6": "", "inet_interfaces": "127.0.0.1, localhost"},
    {"inet_protocols": "ipv6", "inet_interfaces": "[::1]", "smtp_bind_address": ""},
    {"inet_protocols": "ipv4", "inet_interfaces": "all"},
    {"inet_protocols": None, "inet_interfaces": "[::1] 127.0.0.1"},
]


@pytest.mark.parametrize("result", CONSISTENT)
def test_consistent(result):
    assert inconsistencies(result) == []


INCONSISTENT = [
    ({"inet_protocols": "ipv4", "smtp_bind_address6": "2001:db8::1"}, "smtp_bind_address6 is set but inet_protocols is ipv4"),
    ({"inet_protocols": "ipv4", "inet_interfaces": "127.0.0.1, [::1]"}, r"inet_interfaces has the ipv6 address \[::1\]"),
    ({"inet_protocols": "ipv4", "inet_interfaces": "2001:db8::1"}, "inet_interfaces has the ipv6 address 2001:db8::1"),
    ({"inet_protocols": "ipv6", "smtp_bind_address": "198.51.100.1"}, "smtp_bind_address is set but inet_protocols is ipv6"),
    ({"inet_protocols": "ipv6", "inet_interfaces": "127.0.0.1"}, "inet_interfaces has the ipv4 address 127.0.0.1"),
]


@pytest.mark.parametrize("result, message", INCONSISTENT)
def test_inconsistent(result, message):
    problems = inconsistencies(result)
    assert len(problems) == 1
    assert re.search(message, problems[0]), problems[0]


def test_fallback_keeps_the_rest():
    assert with_ipv4_fallback({"inet_protocols": "all", "inet_interfaces": "all"}) == {
        "inet_protocols": "ipv4",
        "inet_interfaces": "all",
    }
    assert with_ipv4_fallback({"inet_interfaces": "localhost"})["inet_protocols"] == "ipv4"


# --- IPv6 on the host, as postconf sees it -------------------------------------------------

DUAL = {"inet_protocols": "all", "inet_interfaces": "all"}
FATAL_LOOPBACK = "postconf: fatal: parameter inet_interfaces: no local interface found for ::1"


@pytest.mark.parametrize(
    "probe, result, reason",
    [
        (Probe(1, (), (FATAL_LOOPBACK,)), {"inet_protocols": "all", "inet_interfaces": "localhost"}, "loopback address ::1"),
        (Probe(0, ("127.0.0.1/32", "198.51.100.6/32"), ()), DUAL, "no interface has an IPv6 address"),
        (Probe(0, ("127.0.0.1/32",), ()), {"inet_protocols": "ipv6", "inet_interfaces": "loopback-only"}, "no interface has an IPv6"),
        (Probe(0, ("127.0.0.1/32",), ("postconf: warning: inet_protocols: disabling IPv6 name/address support: "
                                      "Address family not supported by protocol",)), DUAL, "the kernel has no IPv6"),
    ],
)
def test_ipv6_missing(probe, result, reason):
    assert reason in ipv6_missing(probe, result)


@pytest.mark.parametrize(
    "probe, result",
    [
        (Probe(0, ("127.0.0.1/32", "[::1]/128", "[2001:db8:25::5]/128"), ()), DUAL),
        (Probe(1, (), (FATAL_LOOPBACK,)), {"inet_protocols": "ipv4", "inet_interfaces": "localhost"}),
        # The admin picked IPv4 addresses to listen on: outbound IPv6 may still work.
        (Probe(0, ("127.0.0.1/32",), ()), {"inet_protocols": "all", "inet_interfaces": "127.0.0.1"}),
        # Another address missing is a plain configuration error, not a host without IPv6.
        (Probe(1, (), ("postconf: fatal: parameter inet_interfaces: no local interface found for 2001:db8::99",)),
         {"inet_protocols": "all", "inet_interfaces": "[2001:db8::99]"}),
    ],
)
def test_ipv6_present_or_not_asked(probe, result):
    assert ipv6_missing(probe, result) is None


def test_probe_parse():
    probe = Probe.parse(1, "", [FATAL_LOOPBACK])
    assert probe.fatal == FATAL_LOOPBACK
    assert Probe.parse(0, "127.0.0.1/32 [::1]/128\n", []).addresses == ("127.0.0.1/32", "[::1]/128")
    assert Probe.parse(0, "", ["postconf: warning: x"]).fatal is None


# --- reading postconf and main.cf ----------------------------------------------------------


def test_parse_postconf():
    out = "relayhost =\ninet_protocols = all\nmynetworks = 127.0.0.0/8 [::1]/128\nsmtpd_banner = a = b\n"
    assert parse_postconf(out) == {
        "relayhost": "",
        "inet_protocols": "all",
        "mynetworks": "127.0.0.0/8 [::1]/128",
        "smtpd_banner": "a = b",
    }


def test_parse_main_cf():
    text = (
        "# See /usr/share/postfix/main.cf.dist\n"
        "\n"
        "inet_protocols = ipv4\n"
        "mynetworks = 127.0.0.0/8\n"
        "    [::1]/128,\n"
        "\t198.51.100.0/24\n"
        "  # a comment inside a list\n"
        "relayhost =\n"
        "custom_class=check_client_access hash:/etc/postfix/a\n"
        "inet_protocols = all\n"
    )
    assert parse_main_cf(text) == {
        "inet_protocols": "all",  # the last one wins, as in postfix
        "mynetworks": "127.0.0.0/8 [::1]/128, 198.51.100.0/24",
        "relayhost": "",
        "custom_class": "check_client_access hash:/etc/postfix/a",
    }


def test_warning_lines_show_the_real_path_once():
    err = (
        "postconf: warning: /tmp/postconf-x/main.cf: unused parameter: foo=1\n"
        "postconf: warning: /tmp/postconf-x/main.cf: unused parameter: foo=1\n\n"
    )
    assert warning_lines(err, {"/tmp/postconf-x": "/etc/postfix"}) == [
        "postconf: warning: /etc/postfix/main.cf: unused parameter: foo=1"
    ]


MASTER = """\
smtp       inet  n       -       y       -       -       smtpd
127.0.0.1:smtp inet n    -       y       -       -       smtpd
[::1]:2525 inet  n       -       y       -       -       smtpd -o syslog_name=postfix/local6
submission inet  n       -       y       -       -       smtpd -o smtpd_tls_security_level=encrypt
198.51.100.5:10025 inet n -      n       -       -       spawn user=nobody argv=/bin/true
pickup     unix  n       -       y       60      1       pickup
"""


def test_pinned_smtp_services():
    assert pinned_smtp_services(MASTER) == ["127.0.0.1:smtp", "[::1]:2525"]
    assert pinned_smtp_services("") == []


# --- planning ------------------------------------------------------------------------------


def test_plan_sets_only_what_differs():
    effective = {"inet_protocols": "ipv4", "inet_interfaces": "all", "relayhost": ""}
    changes = plan({"inet_protocols": "all", "inet_interfaces": "all", "relayhost": " "}, effective, {})
    assert changes.changes == (Change("inet_protocols", "ipv4", "all"),)
    assert changes.edits == ["inet_protocols=all"]
    assert changes.removals == []
    assert changes.restart_required and not changes.reload_required


def test_plan_same_list_other_separators_is_no_change():
    effective = {"mynetworks": "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128"}
    wanted = {"mynetworks": "127.0.0.0/8, [::ffff:127.0.0.0]/104, [::1]/128"}
    assert not plan(wanted, effective, {}).changed


def test_plan_default_value_is_no_change():
    # postconf reports the default; main.cf does not set it; nothing to write.
    assert not plan({"smtp_address_preference": "any"}, {"smtp_address_preference": "any"}, {}).changed


def test_plan_unknown_to_postconf_reads_main_cf():
    assert not plan({"custom_class": "permit"}, {}, {"custom_class": "permit"}).changed
    changes = plan({"custom_class": "reject"}, {}, {})
    assert changes.changes == (Change("custom_class", None, "reject"),)
    assert changes.reload_required and not changes.restart_required


def test_plan_removal():
    explicit = {"smtp_bind_address6": "2001:db8::1"}
    changes = plan({"smtp_bind_address6": None, "smtp_bind_address": None}, {}, explicit)
    assert changes.changes == (Change("smtp_bind_address6", "2001:db8::1", None),)
    assert changes.removals == ["smtp_bind_address6"]
    assert changes.edits == []
    assert changes.reload_required


def test_plan_nothing():
    changes = Plan(())
    assert not changes.changed and not changes.restart_required and not changes.reload_required


def test_diff_shows_the_affected_parameters():
    changes = Plan((Change("inet_protocols", "ipv4", "all"), Change("smtp_bind_address6", "2001:db8::1", None)))
    assert changes.diff("/etc/postfix/main.cf") == {
        "before": "inet_protocols = ipv4\nsmtp_bind_address6 = 2001:db8::1\n",
        "after": "inet_protocols = all\n",
        "before_header": "/etc/postfix/main.cf",
        "after_header": "/etc/postfix/main.cf",
    }


# --- control characters reach validate, wherever they are ----------------------------------

CONTROL_VALUES = {
    "inet_protocols": "all",
    "inet_interfaces": "127.0.0.1",
    "smtp_bind_address": "198.51.100.25",
    "smtp_bind_address6": "2001:db8:25::25",
    "mynetworks": "127.0.0.0/8",
    "smtp_address_preference": "any",
    "smtpd_banner": "$myhostname ESMTP",
    "relayhost": "[mx.example.test]",
}


@pytest.mark.parametrize("character", ["\r", "\n", "\t", "\x00"], ids=["CR", "LF", "TAB", "NUL"])
@pytest.mark.parametrize("where", ["end", "start", "middle"])
@pytest.mark.parametrize("name", sorted(CONTROL_VALUES))
def test_control_characters_are_refused_not_stripped(name, where, character):
    good = CONTROL_VALUES[name]
    value = {"end": good + character, "start": character + good, "middle": good[:1] + character + good[1:]}[where]
    for raw in (value, [value]):
        wanted = wanted_settings({name: raw}, None, None, "present")
        problems = validate(wanted)
        assert len(problems) == 1 and "control character" in problems[0], (raw, problems)


def test_the_module_needs_no_netaddr_on_the_managed_host():
    """Imported with netaddr made unimportable: the standard library is enough."""
    code = (
        "import sys; sys.modules['netaddr'] = None\n"
        "from ansible_collections.dualstack.mta.plugins.modules import postconf\n"
        "from ansible_collections.dualstack.mta.plugins.module_utils.postfix import postconf_host\n"
        "from ansible_collections.dualstack.mta.plugins.module_utils.postfix.postconf import validate\n"
        "assert validate({'mynetworks': '[2001:db8::1]/64'})\n"
        "assert 'netaddr' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    # The child finds the collection where this process found it (ansible-test loads it without
    # PYTHONPATH): the folder that holds ansible_collections, ahead of the inherited path.
    root = Path(postconf_module.__file__).parents[6]
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=path))
    assert done.returncode == 0, done.stderr
