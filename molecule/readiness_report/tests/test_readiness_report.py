"""The readiness report says host by host what the bed was built to be, in JSON and in a real browser."""

from __future__ import annotations

import ipaddress
import json
import os
import pathlib
import re
import subprocess
import tempfile
from html.parser import HTMLParser

import pytest

OUTPUT = pathlib.Path(__file__).resolve().parents[3] / "tests" / "output" / "readiness_report"
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# The page's colours per result, as the browser computes them.
COLOURS = {"pass": "rgb(215, 240, 216)", "fail": "rgb(249, 211, 208)", "unknown": "rgb(253, 236, 194)",
           "skipped": "rgb(236, 236, 236)"}
VERDICT_COLOURS = {"ready": "rgb(46, 125, 50)", "not ready": "rgb(198, 40, 40)", "unknown": "rgb(217, 154, 0)"}


@pytest.fixture(scope="module")
def report():
    return json.loads((OUTPUT / "run" / "readiness.json").read_text())


@pytest.fixture(scope="module")
def hosts(report):
    return {row["host"]: row for row in report["hosts"]}


def _family(address):
    return f"ipv{ipaddress.ip_address(address).version}"


def test_every_host_has_a_row_in_inventory_order(report):
    assert [row["host"] for row in report["hosts"]] == ["rr-gone", "rr-mx1", "rr-mx2", "rr-mx3", "rr-ns"]
    assert report["summary"] == {"ready": 1, "not ready": 3, "unknown": 1}


def test_the_sendmail_host_is_ready_on_both_families(hosts):
    mx1 = hosts["rr-mx1"]
    assert (mx1["mta"], mx1["verdict"], mx1["reasons"]) == ("sendmail", "ready", [])
    # 8.15 on Debian 11, 8.17 on 12, 8.18 on 13, 8.16 on EL9: as each distribution packages it.
    assert re.match(r"8\.1[5-9]\.[0-9]+", mx1["version"]), mx1["version"]
    assert {name: check["result"] for name, check in mx1["checks"].items()} == {
        "listen_ipv4": "pass", "listen_ipv6": "pass", "sockets": "pass", "outbound_ipv4": "pass",
        "outbound_ipv6": "pass", "ptr": "pass", "fcrdns": "pass", "spf": "pass", "helo": "pass"}
    assert sorted(_family(entry["address"]) for entry in mx1["dns"]) == ["ipv4", "ipv6"]
    assert all(entry["ptr"]["names"] == ["mx1.example.test"] for entry in mx1["dns"])


def test_the_ipv4_only_postfix_is_not_ready_for_exactly_that(hosts, addresses):
    mx2 = hosts["rr-mx2"]
    assert (mx2["mta"], mx2["verdict"]) == ("postfix", "not ready")
    failed = sorted(name for name, check in mx2["checks"].items() if check["result"] != "pass")
    assert failed == ["listen_ipv6", "outbound_ipv6"]
    assert mx2["reasons"] == [
        "IPv6 in: nothing takes ipv6 mail on port 25 from other hosts",
        "IPv6 out: inet_protocols = ipv4: postfix sends no ipv6 mail",
    ]
    assert "inet_protocols = all" in mx2["checks"]["listen_ipv6"]["fix"]
    # Only the IPv4 address sends, and DNS is right for it.
    assert [entry["address"] for entry in mx2["dns"]] == [str(addresses("rr-mx2")["inet"][0])]


def test_the_host_without_an_ipv6_ptr_fails_dns_for_that_address_only(hosts, addresses):
    mx3 = hosts["rr-mx3"]
    v6 = str(addresses("rr-mx3")["inet6"][0])
    assert (mx3["mta"], mx3["verdict"]) == ("postfix", "not ready")
    failed = sorted(name for name, check in mx3["checks"].items() if check["result"] != "pass")
    assert failed == ["fcrdns", "helo", "ptr"]
    by_family = {entry["family"]: entry for entry in mx3["dns"]}
    assert by_family["ipv6"]["address"] == v6
    assert by_family["ipv6"]["failed"] == ["ptr", "fcrdns", "helo"]
    assert by_family["ipv4"]["passed"]
    assert mx3["reasons"][0] == f"PTR: {v6} fail: {v6} has no PTR record"
    assert ipaddress.ip_address(v6).reverse_pointer in mx3["checks"]["ptr"]["fix"]


def test_hosts_without_mta_or_connection_are_rows_with_their_reason(hosts):
    assert hosts["rr-ns"]["verdict"] == "not ready"
    assert hosts["rr-ns"]["reasons"] == ["MTA: neither sendmail nor postfix is installed"]
    gone = hosts["rr-gone"]
    assert gone["verdict"] == "unknown"
    assert gone["reasons"][0].startswith("host: unreachable: ")


def test_check_mode_reports_the_same(report, addresses):
    resolver = str(addresses("rr-ns")["inet"][0])
    subprocess.run(["ansible-playbook", "--check", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
                    str(OUTPUT.parents[2] / "playbooks" / "readiness_report.yml"),
                    "-e", json.dumps({"dualstack_readiness_hosts": "all:!localhost", "readiness_report_resolver": [resolver],
                                      "readiness_report_dir": str(OUTPUT / "check")})],
                   check=True, capture_output=True, timeout=300)
    checked = json.loads((OUTPUT / "check" / "readiness.json").read_text())
    wanted = [row for row in report["hosts"] if row["host"] != "rr-gone"]
    assert checked["hosts"] == wanted


def test_the_mail_hosts_are_unchanged_by_the_report(host_named):
    # The report runs twice (normal and check mode) after converge; postfix's main.cf on mx2 still
    # says ipv4 and nothing listens on IPv6 port 25.
    mx2 = host_named("rr-mx2")
    assert mx2.check_output("postconf -h inet_protocols") == "ipv4"
    assert ":25 " not in mx2.check_output("ss -ltnH -6")


class _Summary(HTMLParser):
    """The summary table as the browser left it: per row, host, verdict and per cell result and colour."""

    def __init__(self):
        super().__init__()
        self.rows, self._in_summary, self._row = [], False, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._in_summary = attrs.get("id") == "summary"
        elif self._in_summary and tag == "tr" and "data-host" in attrs:
            self._row = {"host": attrs["data-host"], "verdict": attrs["data-verdict"], "cells": []}
            self.rows.append(self._row)
        elif self._row is not None and tag == "td" and "data-result" in attrs:
            self._row["cells"].append((attrs["data-result"], attrs.get("data-colour")))

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_summary, self._row = False, None


# Appended to a copy of the page: writes each cell's computed background into the DOM.
_PROBE = ("<script>document.querySelectorAll('#summary td[data-result]').forEach(function(c){"
          "c.setAttribute('data-colour', getComputedStyle(c).backgroundColor);});</script>")


def _chromium(*args, cwd):
    profile = tempfile.mkdtemp(prefix="chromium-", dir=cwd)
    return subprocess.run(CHROMIUM + ["--user-data-dir=" + profile] + list(args),
                          check=True, capture_output=True, text=True, timeout=120).stdout


def test_the_page_in_chromium_shows_what_the_json_says(report, tmp_path):
    page = (OUTPUT / "run" / "readiness.html").read_text()
    assert "http://" not in page and "https://" not in page, "the page must not load anything"
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"))
    parser = _Summary()
    parser.feed(_chromium("--dump-dom", probe.as_uri(), cwd=tmp_path))
    assert [row["host"] for row in parser.rows] == [row["host"] for row in report["hosts"]]
    columns = [column["name"] for column in report["columns"]]
    for shown, row in zip(parser.rows, report["hosts"]):
        assert shown["verdict"] == row["verdict"]
        verdict_cell, *check_cells = shown["cells"]
        assert verdict_cell[0] == row["verdict"]
        assert verdict_cell[1] == VERDICT_COLOURS[row["verdict"]], row["host"]
        for name, (result, colour) in zip(columns, check_cells):
            expected = row["checks"].get(name, {}).get("result", "n/a")
            assert result == expected, (row["host"], name)
            assert colour == COLOURS.get(expected, COLOURS["skipped"]), (row["host"], name)


def test_a_screenshot_of_the_page_is_kept(tmp_path):
    shot = OUTPUT / "readiness.png"
    shot.unlink(missing_ok=True)
    _chromium(f"--screenshot={shot}", "--window-size=1400,1000", "--hide-scrollbars",
              (OUTPUT / "run" / "readiness.html").as_uri(), cwd=tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20000
