# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.access import unmatched_ipv6_keys

# The exemptions of Debian's stock /etc/mail/access (sendmail-base), as that file writes them.
DEBIAN_STOCK_LINES = """\
Connect:localhost.localdomain\tRELAY
Connect:127.0.0.1\t\tRELAY
#Connect:localhost\t\tRELAY
Connect:IPv6:::1\t\tRELAY
GreetPause:IPv6:::1\t\t0
ClientRate:IPv6:::1\t\t0
ClientConn:IPv6:::1\t\t0
"""


def test_debian_stock_exemptions_for_ipv6_loopback_are_never_looked_up():
    found = unmatched_ipv6_keys(DEBIAN_STOCK_LINES)
    assert [(key.line, key.key, key.looked_up) for key in found] == [
        (4, "Connect:IPv6:::1", "Connect:IPv6:0:0:0:0:0:0:0:1"),
        (5, "GreetPause:IPv6:::1", "GreetPause:IPv6:0:0:0:0:0:0:0:1"),
        (6, "ClientRate:IPv6:::1", "ClientRate:IPv6:0:0:0:0:0:0:0:1"),
        (7, "ClientConn:IPv6:::1", "ClientConn:IPv6:0:0:0:0:0:0:0:1"),
    ]


@pytest.mark.parametrize("line", [
    "ClientRate:IPv6:0:0:0:0:0:0:0:1 0",
    "Connect:IPv6:2001:db8:25:0:0:0:0:10\tRELAY",
    "Connect:IPv6:2001:db8:25\tRELAY",  # a network: groups dropped from the end
    "IPv6:2001:db8:25:0:0:0:0:10 RELAY",  # no tag
    "# ClientRate:IPv6:::1 0",
    "Connect:[IPv6:::1] RELAY",  # not a key sendmail builds; not judged
    "Connect:IPv6:::ffff:192.0.2.1 RELAY",  # IPv4-mapped: not judged
    "ClientRate:127.0.0.1 0",
    "",
])
def test_keys_in_sendmails_spelling_and_other_lines_pass(line):
    assert unmatched_ipv6_keys(line + "\n") == []


def test_leading_zeros_are_never_looked_up():
    (found,) = unmatched_ipv6_keys("Connect:IPv6:2001:0db8:25:0:0:0:0:10 RELAY\n")
    assert found.looked_up == "Connect:IPv6:2001:db8:25:0:0:0:0:10"


def test_a_network_gets_a_fix_without_a_spelling():
    (found,) = unmatched_ipv6_keys("Connect:IPv6:2001:0db8 RELAY\n")
    assert found.looked_up is None
    assert "without :: and without leading zeros" in found.warning("/etc/mail/access")


def test_the_warning_names_file_line_key_and_fix():
    (found,) = unmatched_ipv6_keys("ClientRate:IPv6:::1 0\n")
    text = found.warning("/etc/mail/access")
    assert text.startswith("/etc/mail/access line 1: sendmail never looks up ClientRate:IPv6:::1")
    assert text.endswith("write it ClientRate:IPv6:0:0:0:0:0:0:0:1")
