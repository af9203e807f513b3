"""The sendmail role's listening intent mapped onto postfix's main.cf."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.dualstack.mta.plugins.filter.postfix_listen import postfix_listen
from ansible_collections.dualstack.mta.plugins.filter.sockets import postfix_sockets
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.listen import (
    PostfixListenError,
    plan_postfix_listen,
)
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.postconf import inconsistencies, validate


@pytest.mark.parametrize("intent, interfaces", [
    ("all", "all"),
    ("ALL", "all"),
    (["all"], "all"),
    ({"addresses": "all", "ports": [25]}, "all"),
    ([{"addresses": ["all"], "ports": ["smtp"]}], "all"),
    # all makes every other address redundant; postfix refuses "all, 127.0.0.1".
    (["loopback", "all", "198.51.100.25"], "all"),
    ([{"addresses": ["198.51.100.25"]}, {"addresses": ["all"]}], "all"),
    ("loopback", "loopback-only"),
    (["loopback", "loopback"], "loopback-only"),
    (["198.51.100.25"], "198.51.100.25"),
    (["2001:DB8:25:0::25"], "[2001:db8:25::25]"),
    (["198.51.100.25", "2001:db8:25::25"], "198.51.100.25, [2001:db8:25::25]"),
    (["2001:db8:25::25", "198.51.100.25", "2001:db8:25:0:0:0:0:25"], "[2001:db8:25::25], 198.51.100.25"),
    (["loopback", "198.51.100.25"], "127.0.0.1, [::1], 198.51.100.25"),
    (["127.0.0.1", "loopback", "::1"], "127.0.0.1, [::1]"),
    ([{"addresses": ["198.51.100.25"], "ports": [25, "smtp"]}, {"addresses": "loopback"}],
     "198.51.100.25, 127.0.0.1, [::1]"),
    (["IPv6:2001:db8:25::25"], "[2001:db8:25::25]"),  # sendmail's spelling is accepted there too
])
def test_interfaces(intent, interfaces):
    planned = plan_postfix_listen(intent)
    assert planned.inet_interfaces == interfaces
    # Listening never narrows the families postfix sends on.
    assert planned.inet_protocols == "all"
    assert planned.reasons and all(isinstance(reason, str) for reason in planned.reasons)


@pytest.mark.parametrize("intent", [
    "all", "loopback", ["198.51.100.25", "2001:db8:25::25"], ["loopback", "2001:db8:25::25"],
])
def test_postconf_accepts_the_values(intent):
    """What the mapping writes passes the checks the postconf module applies to main.cf."""
    planned = plan_postfix_listen(intent)
    wanted = {"inet_interfaces": planned.inet_interfaces, "inet_protocols": planned.inet_protocols}
    assert validate(wanted) == []
    assert inconsistencies(wanted) == []


@pytest.mark.parametrize("intent, sockets", [
    ("all", ["0.0.0.0 25", ":: 25"]),
    ("loopback", ["127.0.0.1 25", "::1 25"]),
    (["198.51.100.25", "2001:db8:25::25"], ["198.51.100.25 25", "2001:db8:25::25 25"]),
])
def test_sockets_are_the_ones_asked_for(intent, sockets):
    planned = plan_postfix_listen(intent)
    assert sorted(postfix_sockets(planned.inet_interfaces, planned.inet_protocols)) == sorted(sockets)


@pytest.mark.parametrize("intent, message", [
    ([{"addresses": "all", "ports": [25, 587]}], r"port\(s\) 587 .*master\.cf.*port 25 \(smtp\) only"),
    ([{"addresses": "all", "ports": ["submission", "smtps"]}], r"port\(s\) 465, 587 "),
    ({"addresses": ["loopback"], "ports": 2525}, r"port\(s\) 2525 "),
    ([{"addresses": "all", "ports": ["nosuch"]}], "is not a port"),
    ([{"addresses": "all", "ports": [0]}], "is not a port"),
    (["mx.example.test"], "neither all, loopback, an IPv4 address nor an IPv6 address"),
    (["198.51.100.256"], "neither all, loopback"),
    ([], "empty"),
    ([{"addresses": "all", "port": 25}], "unknown key"),
    ([{"ports": [25]}], "no addresses"),
    (["::ffff:198.51.100.25"], "IPv4-mapped"),
])
def test_refused(intent, message):
    with pytest.raises(PostfixListenError, match=message):
        plan_postfix_listen(intent)


def test_filter_returns_the_values_and_names_itself_on_error():
    assert postfix_listen(["loopback", "198.51.100.25"]) == {
        "inet_interfaces": "127.0.0.1, [::1], 198.51.100.25", "inet_protocols": "all",
        "reasons": list(plan_postfix_listen(["loopback", "198.51.100.25"]).reasons)}
    with pytest.raises(AnsibleFilterError, match="^postfix_listen: listening on port"):
        postfix_listen({"addresses": "all", "ports": ["submission"]})
