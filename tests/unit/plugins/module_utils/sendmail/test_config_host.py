# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.config_host import ipv6_for_planning


@pytest.mark.parametrize("bindv6only, addresses, planned", [
    (False, ["127.0.0.1", "::1", "198.51.100.25", "2001:db8:25::25"], False),
    (True, ["127.0.0.1", "::1"], True),
    # Only ::1: IPv6 works on loopback, so an inet6 daemon can bind.
    (False, ["127.0.0.1", "::1"], False),
    # net.ipv6.conf.all.disable_ipv6=1: the sysctl is there, no interface has an IPv6 address.
    (False, ["127.0.0.1", "198.51.100.25"], None),
    (True, ["127.0.0.1"], None),
    # Kernel without IPv6: no sysctl, whatever the addresses.
    (None, ["127.0.0.1"], None),
    # Addresses unknown (no ip command): the sysctl decides.
    (False, None, False),
])
def test_ipv6_for_planning(bindv6only, addresses, planned):
    assert ipv6_for_planning(bindv6only, addresses) is planned
