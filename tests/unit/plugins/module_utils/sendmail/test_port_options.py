# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.port_options import (
    CLIENT_DEFAULTS,
    CLIENT_MODIFIERS,
    DAEMON_DEFAULTS,
    PortOptions,
    RefusedChange,
    bind_conflicts,
    both_families_served,
    check_family,
    check_value,
    key_for_option_name,
    key_letter,
    values_equal,
)


@pytest.mark.parametrize("raw_key, letter", [
    ("Addr", "A"), ("A", "A"), ("address", "A"), ("Address", "A"),
    ("port", "P"), ("P", "P"), ("Family", "F"), ("f", "F"), ("name", "N"), ("Modifiers", "M"), ("m", "M"),
    ("Listen", "L"), ("children", "c"), ("SendSize", "S"), ("send", "S"),
    ("delayLA", "d"), ("DeliveryMode", "D"), ("refuseLA", "r"), ("ReceiveSize", "R"), ("queueLA", "q"),
    ("Children", None), ("Q", None), ("xyz", None), ("", None),
])
def test_only_the_first_letter_counts_as_sendmail_reads_it(raw_key, letter):
    assert key_letter(raw_key) == letter


def test_parse_skips_blanks_and_the_last_repeated_key_wins():
    options = PortOptions.parse("Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1, A= 10.0.0.1 , junk")
    assert options.get("A") == "10.0.0.1"
    assert options.get("F") == "inet"
    assert options.effective() == {"F": "inet", "N": "MTA-v4", "P": "smtp", "A": "10.0.0.1"}


def test_with_value_keeps_spelling_and_place_and_drops_overridden_copies():
    options = PortOptions.parse("A=1.2.3.4, Name=X, Addr=5.6.7.8, Port=smtp")
    assert options.with_value("A", "9.9.9.9").render() == "Name=X, Addr=9.9.9.9, Port=smtp"
    assert options.with_value("A", "").render() == "Name=X, Port=smtp"
    assert options.with_value("M", "Ea").render() == "A=1.2.3.4, Name=X, Addr=5.6.7.8, Port=smtp, Modifiers=Ea"


@pytest.mark.parametrize("letter, first, second", [
    ("A", "2001:db8::25", "2001:DB8:0:0:0:0:0:25"),
    ("A", "IPv6:2001:db8::25", "2001:db8::25"),
    ("A", "MX.example.com.", "mx.example.com"),
    ("P", "smtp", "25"),
    ("P", "submission", "587"),
    ("P", "025", "25"),
    ("M", "Ea", "aE"),
    ("F", "INET6", "inet6"),
    ("L", "010", "10"),
])
def test_values_compare_by_meaning(letter, first, second):
    assert values_equal(letter, first, second)


@pytest.mark.parametrize("letter, first, second", [
    ("A", "::1", "::2"),
    ("A", "127.0.0.1", "::ffff:127.0.0.1"),
    ("P", "smtp", "587"),
    ("M", "Ea", "E"),
    ("N", "MTA", "mta"),
])
def test_values_that_differ(letter, first, second):
    assert not values_equal(letter, first, second)


def test_same_meaning_ignores_spelling_and_order():
    first = PortOptions.parse("Family=inet6, Name=MTA-v6, Port=smtp, Addr=2001:db8::25")
    second = PortOptions.parse("N=MTA-v6,A=2001:DB8::25,F=inet6,P=25")
    assert first.same_meaning(second, DAEMON_DEFAULTS)
    assert not first.same_meaning(second.with_value("M", "E"), DAEMON_DEFAULTS)


# Every key with a sendmail default: missing means the same as the default written out.
@pytest.mark.parametrize("defaults, given, written_out", [
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, Family=inet"),
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, Port=smtp"),
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, Port=25"),
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, Addr=0.0.0.0"),
    (DAEMON_DEFAULTS, "Name=MTA, Family=inet6", "Name=MTA, Family=inet6, Addr=::"),
    (DAEMON_DEFAULTS, "Name=MTA, Family=inet6", "Name=MTA, Family=inet6, Addr=0::0"),
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, Listen=10"),
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, M="),
    (CLIENT_DEFAULTS, "Name=C", "Name=C, Family=inet, Port=0, Addr=0.0.0.0"),
])
def test_a_missing_key_means_its_default(defaults, given, written_out):
    assert PortOptions.parse(given).same_meaning(PortOptions.parse(written_out), defaults)
    assert PortOptions.parse(written_out).same_meaning(PortOptions.parse(given), defaults)


@pytest.mark.parametrize("defaults, given, other", [
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, Family=inet6"),
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, Port=587"),
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, Addr=127.0.0.1"),
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, Addr=::"),  # the other family's wildcard
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, Listen=20"),
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, children=0"),  # no default of its own: the global option
    (DAEMON_DEFAULTS, "Name=MTA", "Name=MTA, refuseLA=0"),
    (CLIENT_DEFAULTS, "Name=C", "Name=C, Port=smtp"),  # a client's port is its source port
])
def test_a_missing_key_differs_from_other_values(defaults, given, other):
    assert not PortOptions.parse(given).same_meaning(PortOptions.parse(other), defaults)


def test_changes_to_a_default_leave_a_missing_key_missing():
    options = PortOptions.parse("Port=smtp,Addr=127.0.0.1, Name=MTA")
    assert options.with_changes({"F": "inet", "P": "25", "A": "127.0.0.1", "L": "10"}, DAEMON_DEFAULTS) == options
    assert options.with_changes({"F": "inet6", "A": "::1"}, DAEMON_DEFAULTS).render() == \
        "Port=smtp, Addr=::1, Name=MTA, Family=inet6"


# --- grammars: every refusal ---------------------------------------------------

INJECTIONS = [
    "x')dnl", "x`y", "x'y", 'x"y', "a,b", "a\nO QueueDirectory=/tmp", "syscmd(id)", "a)b", "a(b",
    "x\x00", "x\ty", "x#y", "x$1", "x\\y", "[x]", "divert(-1)",
]


@pytest.mark.parametrize("letter", ["N", "A", "P", "M", "L", "I", "D"])
@pytest.mark.parametrize("value", INJECTIONS)
def test_structure_changing_values_are_refused_in_every_field(letter, value):
    with pytest.raises(RefusedChange):
        check_value(letter, value)


@pytest.mark.parametrize("letter, value, message", [
    ("A", "2001:db8::g", "neither an IPv4 address"),
    ("A", "256.1.1.1", "neither an IPv4 address"),
    ("A", "127.1", "neither an IPv4 address"),
    ("A", "-bad-.example", "neither an IPv4 address"),
    ("A", "0\n", "would change the structure"),
    ("P", "0", "out of range"),
    ("P", "65536", "out of range"),
    ("P", "99999", "out of range"),
    ("P", "25 ", "neither a port number"),
    ("P", "-1", "neither a port number"),
    ("M", "E a", "modifier letters only"),
    ("M", "Z", "unknown modifier"),
    ("N", "-x", "not a valid daemon name"),
    ("F", "inet7", "not supported"),
    ("L", "10x", "whole number"),
    ("D", "x", "DeliveryMode"),
    ("I", "a;;b", "filter names"),
])
def test_invalid_values_are_refused_with_a_clear_message(letter, value, message):
    with pytest.raises(RefusedChange, match=message):
        check_value(letter, value)


@pytest.mark.parametrize("letter, value", [
    ("A", "2001:db8::25"), ("A", "IPv6:2001:db8::25"), ("A", "::"), ("A", "198.51.100.10"),
    ("A", "mx.dnl.example.com"), ("A", "FEATURE.define.gnu.ostype"), ("A", "localhost"),
    ("P", "smtp"), ("P", "1"), ("P", "65535"), ("P", "submission"),
    ("M", "Ea"), ("M", ""), ("N", "MTA-v6"), ("N", "dnl"), ("F", "inet6"),
    ("L", "128"), ("I", "clamav;spamass"), ("D", "b"),
])
def test_honest_values_pass(letter, value):
    check_value(letter, value)


def test_client_modifiers_are_their_own_set():
    check_value("M", "h", CLIENT_MODIFIERS)
    with pytest.raises(RefusedChange, match="unknown modifier"):
        check_value("M", "E", CLIENT_MODIFIERS)


@pytest.mark.parametrize("text, message", [
    ("Family=inet, Addr=2001:db8::25", "IPv6 address but the entry has Family=inet"),
    ("Addr=::1", "IPv6 address but the entry has Family=inet"),  # no Family means inet
    ("Family=inet6, Addr=127.0.0.1", "IPv4 address but the entry has Family=inet6"),
])
def test_address_of_the_other_family_is_refused(text, message):
    with pytest.raises(RefusedChange, match=message):
        check_family(PortOptions.parse(text))


def test_options_keys_by_name():
    assert key_for_option_name("Listen") == "L"
    assert key_for_option_name("listen") == "L"
    assert key_for_option_name("children") == "c"
    with pytest.raises(RefusedChange, match="unknown key"):
        key_for_option_name("Lisen")
    with pytest.raises(RefusedChange, match="unknown key"):
        key_for_option_name("L")


# --- sockets ---------------------------------------------------------------------

def daemons(*texts):
    return [PortOptions.parse(text) for text in texts]


@pytest.mark.parametrize("texts, bindv6only, clash", [
    # bindv6only=0: :: (or no Addr) on inet6 takes the IPv4 port as well
    (("Name=v4, Family=inet", "Name=v6, Family=inet6"), False, True),
    (("Name=v4, Family=inet, Addr=127.0.0.1", "Name=v6, Family=inet6, Addr=::"), False, True),
    (("Name=v6, Family=inet6", "Name=v4, Family=inet, Addr=198.51.100.10"), False, True),
    (("Name=v4, Family=inet, Port=25", "Name=v6, Family=inet6, Port=smtp"), False, True),
    (("Name=v4, Family=inet, Addr=127.0.0.1", "Name=v6, Family=inet6, Addr=::ffff:127.0.0.1"), False, True),
    # specific addresses of both families do not clash
    (("Name=v4, Family=inet, Addr=127.0.0.1", "Name=v6, Family=inet6, Addr=::1"), False, False),
    (("Name=v4, Family=inet", "Name=v6, Family=inet6, Addr=2001:db8::25"), False, False),
    (("Name=v4, Family=inet, Addr=127.0.0.1", "Name=v6, Family=inet6, Addr=::ffff:127.0.0.2"), False, False),
    # other port, or bindv6only=1
    (("Name=v4, Family=inet", "Name=v6, Family=inet6, Port=587"), False, False),
    (("Name=v4, Family=inet", "Name=v6, Family=inet6"), True, False),
    # same family overlaps
    (("Name=a, Family=inet", "Name=b, Family=inet, Addr=127.0.0.1"), True, True),
    (("Name=a, Family=inet6, Addr=::1", "Name=b, Family=inet6, Addr=0:0:0:0:0:0:0:1"), True, True),
    (("Name=a, Family=inet, Addr=127.0.0.1", "Name=b, Family=inet, Addr=127.0.0.2"), True, False),
    # host names cannot be judged
    (("Name=v4, Family=inet, Addr=mx.example.com", "Name=v6, Family=inet6"), False, False),
])
def test_bind_conflicts(texts, bindv6only, clash):
    assert bool(bind_conflicts(daemons(*texts), bindv6only)) is clash


def test_both_families_served():
    assert both_families_served(daemons("Family=inet6"), False)
    assert not both_families_served(daemons("Family=inet6"), True)
    assert not both_families_served(daemons("Family=inet6, Addr=::1"), False)
    assert both_families_served(daemons("Family=inet", "Family=inet6, Addr=::1"), True)
    assert not both_families_served(daemons("Family=inet", "Family=inet, Port=587"), False)
