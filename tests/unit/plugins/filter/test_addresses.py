"""IP addresses in sendmail's spelling."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dualstack.mta.plugins.filter.addresses import sendmail_address


@pytest.mark.parametrize("address, spelled", [
    ("198.51.100.7", "198.51.100.7"),
    ("2001:db8:25::1e", "IPv6:2001:db8:25:0:0:0:0:1e"),
    ("[2001:DB8:0025::0001]", "IPv6:2001:db8:25:0:0:0:0:1"),
    ("::1", "IPv6:0:0:0:0:0:0:0:1"),
])
def test_sendmail_address(address, spelled):
    assert sendmail_address(address) == spelled


@pytest.mark.parametrize("bad", ["mx.example.test", "2001:db8::1::2", "198.51.100.7\nX"])
def test_not_an_address(bad):
    with pytest.raises(AnsibleFilterError, match="sendmail_address"):
        sendmail_address(bad)
