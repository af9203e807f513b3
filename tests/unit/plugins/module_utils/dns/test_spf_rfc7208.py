# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""check_host() against the scenarios of the RFC 7208 conformance test suite.

The cases live in fixtures/rfc7208-cases.yml (see its header for the layout);
each runs through the evaluator with an in-memory resolver built from its zone.
"""

from __future__ import annotations

import ipaddress
import pathlib
import typing as t

import pytest
import yaml

from ansible_collections.dualstack.mta.plugins.module_utils.dns.lookup import txt_text
from ansible_collections.dualstack.mta.plugins.module_utils.dns.spf import RESULTS, DnsTempError, check_host

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "rfc7208-cases.yml"
SUITE = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
EXCLUDED = {entry["id"]: entry["reason"] for entry in SUITE["excluded"]}
MAX_CNAME_CHAIN = 8


class ZoneDns:
    """A DnsLookup answering from one group's zone the way lookup.DnsPythonLookup answers.

    Names compare case-insensitively, CNAMEs are followed, answers come back as the
    real lookup returns them (TXT strings joined, names lower-case without the final dot,
    addresses in their canonical text), and "timeout" entries raise DnsTempError.
    """

    def __init__(self, zone: dict[str, dict[str, t.Any]]) -> None:
        self.zone = {name.lower().rstrip("."): records for name, records in zone.items()}

    def lookup(self, name: str, rdtype: str) -> list[str]:
        name = name.lower().rstrip(".")
        for _hop in range(MAX_CNAME_CHAIN):
            records = self.zone.get(name)
            if records is None:
                return []
            if "CNAME" in records and rdtype != "CNAME":
                name = records["CNAME"].lower().rstrip(".")
                continue
            answer = records[rdtype] if rdtype in records else records.get("other", [])
            if answer == "timeout":
                raise DnsTempError("timed out")
            return [self._text(value, rdtype) for value in answer or []]
        raise DnsTempError(f"CNAME chain longer than {MAX_CNAME_CHAIN} at {name}")

    @staticmethod
    def _text(value: t.Any, rdtype: str) -> str:
        if rdtype == "TXT":
            return txt_text(s.encode("utf-8") for s in value)
        if rdtype == "MX":
            return value.split(None, 1)[1].lower().rstrip(".")
        if rdtype == "PTR":
            return value.lower().rstrip(".")
        return str(ipaddress.ip_address(value))


def _cases() -> list[t.Any]:
    cases = []
    for group in SUITE["groups"]:
        for case in group["cases"]:
            marks = [pytest.mark.skip(reason=EXCLUDED[case["id"]])] if case["id"] in EXCLUDED else []
            cases.append(pytest.param(group["zone"], case, id="{}-{}".format(group["title"].split()[0], case["id"]), marks=marks))
    return cases


def test_the_fixture_is_complete() -> None:
    """Every case names its inputs and accepted results, and ids are unique per group."""
    for group in SUITE["groups"]:
        ids = [case["id"] for case in group["cases"]]
        assert len(ids) == len(set(ids)), group["title"]
        for case in group["cases"]:
            assert set(case) == {"id", "rfc", "client", "mail_from", "helo", "expect"}, case["id"]
            assert case["expect"] and set(case["expect"]) <= set(RESULTS), case["id"]
    assert sum(len(group["cases"]) for group in SUITE["groups"]) == 203
    assert set(EXCLUDED) <= {case["id"] for group in SUITE["groups"] for case in group["cases"]}


@pytest.mark.parametrize("zone, case", _cases())
def test_rfc7208_suite(zone: dict, case: dict) -> None:
    # check_host() arguments as an MTA derives them (RFC 7208 2.3, 2.4, 4.1):
    # the MAIL FROM domain, or the HELO name for the null sender.
    mail_from, helo = case["mail_from"], case["helo"]
    if mail_from:
        sender, domain = mail_from, mail_from.rpartition("@")[2]
    else:
        sender, domain = "postmaster@" + helo, helo
    outcome = check_host(ZoneDns(zone), case["client"], domain, sender=sender, helo=helo)
    assert outcome.result in case["expect"], "{} (rfc {}): {}".format(case["id"], case["rfc"], outcome.reason)
