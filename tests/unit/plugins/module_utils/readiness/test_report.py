"""The fleet report: rows for every host, an offline HTML page and a short table."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from ansible_collections.dualstack.mta.plugins.module_utils.readiness import facts, report

READY_CHECKS = {name: {"result": "pass", "detail": "ok", "fix": ""} for name in facts.CHECK_LABELS}
READY = {"changed": False, "readiness": {"mta": "sendmail", "version": "8.17.1.9", "verdict": "ready", "reasons": [],
                                         "checks": READY_CHECKS}}
BAD = {"changed": False, "readiness": {
    "mta": "postfix", "version": "3.7.11", "verdict": "not ready",
    "reasons": ["IPv6 in: nothing takes ipv6 mail on port 25 from other hosts"],
    "checks": dict(READY_CHECKS, listen_ipv6={"result": "fail", "detail": "nothing <takes> ipv6", "fix": "set inet_protocols = all & restart"})}}
RESULTS = {
    "mx1": READY,
    "mx2": BAD,
    "gone": {"unreachable": True, "changed": False, "msg": "Failed to connect to the host via ssh: timed out\nmore"},
    "broken": {"failed": True, "msg": "ss -ltnH failed (rc=1): boom"},
    "none": {"changed": False, "readiness": facts.no_mta()},
}


def test_every_host_becomes_a_row_with_its_reason_in_the_given_order():
    doc = report.build(RESULTS, ["mx1", "mx2", "gone", "broken", "none", "never"], "2026-11-21 14:00 UTC")
    rows = {row["host"]: row for row in doc["hosts"]}
    assert [row["host"] for row in doc["hosts"]] == ["mx1", "mx2", "gone", "broken", "none", "never"]
    assert doc["summary"] == {"ready": 1, "not ready": 2, "unknown": 3}
    assert rows["gone"]["reasons"] == ["host: unreachable: Failed to connect to the host via ssh: timed out"]
    assert rows["broken"]["reasons"] == ["host: the readiness check failed: ss -ltnH failed (rc=1): boom"]
    assert rows["never"]["verdict"] == "unknown"
    assert json.loads(report.json_text(doc)) == doc


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources, self.rows, self.cells, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.sources += [v for k, v in attrs.items() if k in ("src", "href") and not v.startswith("#")]
        if tag == "link":
            self.sources.append(attrs.get("href"))
        if tag == "tr" and "data-host" in attrs:
            self.rows.append((attrs["data-host"], attrs["data-verdict"]))
        if tag == "td" and "data-result" in attrs:
            self.cells.append((self.rows[-1][0], attrs["class"], attrs["data-result"]))

    def handle_data(self, data):
        self.text.append(data)


def test_the_page_is_self_contained_coloured_by_result_and_escapes_what_hosts_say():
    page = report.html_page(report.build(RESULTS, ["mx1", "mx2", "gone"]))
    parser = _Page()
    parser.feed(page)
    assert parser.sources == []
    assert parser.rows == [("mx1", "ready"), ("mx2", "not ready"), ("gone", "unknown")]
    mx2 = [c for c in parser.cells if c[0] == "mx2"]
    assert mx2[0] == ("mx2", "r v-not-ready", "not ready")
    assert ("mx2", "r fail", "fail") in mx2
    assert "nothing &lt;takes&gt; ipv6" in page and "<takes>" not in page
    assert "set inet_protocols = all &amp; restart" in page
    assert re.search(r'<section class="host" id="host-gone">', page)
    assert "<script>" in page and "aria-sort" in page


def test_the_terminal_table_is_one_line_per_host_and_the_reasons_of_the_others():
    lines = report.text_table(report.build(RESULTS, ["mx1", "mx2", "gone"]))
    assert lines[0].split()[:3] == ["host", "mta", "verdict"]
    assert lines[1].split() == ["mx1", "sendmail", "ready"] + ["ok"] * 9
    assert lines[2].split()[:5] == ["mx2", "postfix", "not", "ready", "ok"]
    assert "FAIL" in lines[2]
    assert lines[4] == "  mx2: IPv6 in: nothing takes ipv6 mail on port 25 from other hosts"
    assert lines[-1] == "1 ready, 1 not ready, 1 unknown"
