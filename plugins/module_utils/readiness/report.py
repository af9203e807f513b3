# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet readiness report: rows from the hosts' results, as JSON data, an HTML page and a text table.

Pure: takes the registered results of dualstack.mta.mta_readiness and returns values and text.
"""

from __future__ import annotations

import html
import json
import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils.net import MAIL_PORTS
from ansible_collections.dualstack.mta.plugins.module_utils.readiness.facts import CHECK_LABELS

COLUMNS = tuple(CHECK_LABELS)
VERDICTS = ("ready", "not ready", "unknown")
FORMAT = 1


def _first_line(message: t.Any, limit: int = 200) -> str:
    lines = str(message or "no message").strip().splitlines() or ["no message"]
    return lines[0] if len(lines[0]) <= limit else lines[0][:limit - 3].rstrip() + "..."


def host_row(host: str, result: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """One host's row: its readiness, or why there is none (unreachable, module failure, not run)."""
    if result and "readiness" in result and not result.get("failed"):
        return dict(result["readiness"], host=host)
    if not result:
        reason = "host: no result; the host left the play before the readiness task"
        fix = "run the play again and read its output for this host"
    elif result.get("unreachable"):
        reason = "host: unreachable: {}".format(_first_line(result.get("msg")))
        fix = "make the host reachable over its connection (ansible -m ansible.builtin.ping), then run again"
    elif result.get("skipped"):
        reason = "host: skipped: {}".format(result.get("skip_reason") or "condition false")
        fix = "run the report on this host"
    else:
        reason = "host: the readiness check failed: {}".format(_first_line(result.get("msg")))
        fix = "fix what the message says, then run again"
    return {"host": host, "mta": None, "version": None, "verdict": "unknown", "reasons": [reason],
            "checks": {"host": {"result": "unknown", "detail": reason[len("host: "):], "fix": fix}}}


def build(results: t.Mapping[str, t.Any], hosts: t.Iterable[str], generated: str = "") -> dict[str, t.Any]:
    """The whole report: one row per host, in the order given, and a count per verdict."""
    rows = [host_row(host, results.get(host)) for host in hosts]
    summary = {v: sum(1 for r in rows if r["verdict"] == v) for v in VERDICTS}
    return {"format": FORMAT, "generated": generated, "columns": [{"name": c, "label": CHECK_LABELS[c]} for c in COLUMNS],
            "summary": summary, "hosts": rows}


# --- the terminal table ---------------------------------------------------------------------

_SHORT = {"pass": "ok", "fail": "FAIL", "unknown": "?", "skipped": "-"}


def text_table(report: t.Mapping[str, t.Any]) -> list[str]:
    """A short table: host, MTA, verdict and one narrow column per check."""
    header = ["host", "mta", "verdict"] + [CHECK_LABELS[c] for c in COLUMNS]
    lines = [header]
    for row in report["hosts"]:
        cells = [row["host"], row["mta"] or "-", row["verdict"]]
        cells += [_SHORT.get(row["checks"].get(c, {}).get("result", ""), "-") for c in COLUMNS]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
    for row in report["hosts"]:
        text += ["  {}: {}".format(row["host"], reason) for reason in row["reasons"][:3]]
    summary = report["summary"]
    text.append(f"{summary['ready']} ready, {summary['not ready']} not ready, {summary['unknown']} unknown")
    return text


# --- the HTML page --------------------------------------------------------------------------

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#1b1b1b;background:#fff}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .4em}
.meta{color:#555;margin:0 0 1em}.counts span{margin-right:1.2em;font-weight:600}
table{border-collapse:collapse;margin:.4em 0}th,td{border:1px solid #c8c8c8;padding:.3em .55em;text-align:left;vertical-align:top}
#summary th{background:#eef0f3;cursor:pointer;user-select:none;white-space:nowrap}
#summary th[aria-sort=ascending]::after{content:" \\25B2"}#summary th[aria-sort=descending]::after{content:" \\25BC"}
#summary td.r{text-align:center;font-weight:600;white-space:nowrap}
.pass{background:#d7f0d8;color:#14532d}.fail{background:#f9d3d0;color:#7f1d1d}
.unknown{background:#fdecc2;color:#713f12}.skipped{background:#ececec;color:#555}
.v-ready{background:#2e7d32;color:#fff}.v-not-ready{background:#c62828;color:#fff}.v-unknown{background:#d99a00;color:#fff}
section.host{border-top:2px solid #ddd;margin-top:1.2em}.reasons li{margin:.15em 0}
.fix{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em}
"""

_JS = """
(function(){
  var table=document.getElementById('summary');var heads=table.tHead.rows[0].cells;
  function key(cell){var r=cell.getAttribute('data-sort');return r===null?cell.textContent.trim().toLowerCase():r;}
  Array.prototype.forEach.call(heads,function(th,index){
    th.addEventListener('click',function(){
      var up=th.getAttribute('aria-sort')!=='ascending';
      Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',up?'ascending':'descending');
      var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){var x=key(a.cells[index]),y=key(b.cells[index]);
        var c=(x<y?-1:x>y?1:0);if(!c){c=a.cells[0].textContent<b.cells[0].textContent?-1:1;}return up?c:-c;});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
})();
"""

_RANK = {"pass": "0", "skipped": "1", "unknown": "2", "fail": "3"}
_VERDICT_RANK = {"ready": "0", "unknown": "1", "not ready": "2"}


def _e(value: t.Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _anchor(host: str) -> str:
    return "host-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in host)


def _cell(check: t.Mapping[str, t.Any] | None) -> str:
    if not check:
        return '<td class="r skipped" data-result="n/a" data-sort="1">n/a</td>'
    result = check["result"]
    return '<td class="r {result}" data-result="{result}" data-sort="{rank}" title="{detail}">{shown}</td>'.format(
        result=result, rank=_RANK.get(result, "1"), detail=_e(check.get("detail")), shown=_e(result))


def _details(row: t.Mapping[str, t.Any]) -> str:
    parts = ['<section class="host" id="{}">'.format(_anchor(row["host"])),
             '<h2>{} <span class="{}" style="padding:0 .4em">{}</span></h2>'.format(
                 _e(row["host"]), "v-" + row["verdict"].replace(" ", "-"), _e(row["verdict"]))]
    if row.get("mta"):
        parts.append("<p>{} {}".format(_e(row["mta"]), _e(row.get("version") or "")))
        if row.get("helo_name"):
            parts.append(" &middot; HELO {} &middot; SPF domain {}".format(_e(row["helo_name"]), _e(row.get("sender_domain") or "none")))
        parts.append("</p>")
    if row["reasons"]:
        parts.append('<ul class="reasons">{}</ul>'.format("".join(f"<li>{_e(r)}</li>" for r in row["reasons"])))
    parts.append('<table class="checks"><thead><tr><th>check</th><th>result</th><th>detail</th><th>fix</th></tr></thead><tbody>')
    for name, check in row["checks"].items():
        parts.append('<tr data-check="{}"><td>{}</td><td class="{}">{}</td><td>{}</td><td class="fix">{}</td></tr>'.format(
            _e(name), _e(CHECK_LABELS.get(name, name)), _e(check["result"]), _e(check["result"]),
            _e(check.get("detail")), _e(check.get("fix"))))
    parts.append("</tbody></table>")
    outbound = row.get("outbound") or {}
    if outbound:
        parts.append('<table class="outbound"><thead><tr><th>family</th><th>pinned</th><th>SNAT</th><th>kernel</th>'
                     '<th>sending</th><th>agree</th></tr></thead><tbody>')
        for family, info in sorted(outbound.items()):
            pinned = "{} ({})".format(info["pinned"], info["pinned_by"]) if info.get("pinned") else "-"
            parts.append("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                _e(family), _e(pinned), _e(info.get("snat") or "-"), _e(info.get("kernel") or "-"),
                _e(info.get("sending") or "-"), "yes" if info.get("agree") else "no"))
        parts.append("</tbody></table>")
    sockets = row.get("sockets") or {}
    if sockets:
        listening = sorted({"{}:{}".format("[{}]".format(s["address"]) if ":" in s["address"] else s["address"], s["port"])
                            for s in sockets.get("listening", []) if s["port"] in MAIL_PORTS})
        parts.append("<p>configured: {}<br>listening: {}</p>".format(
            _e(", ".join(sockets.get("configured", [])) or "none"), _e(", ".join(listening) or "none")))
    parts.append("</section>")
    return "".join(parts)


def html_page(report: t.Mapping[str, t.Any], title: str = "Dual-stack mail readiness") -> str:
    """A page that works offline from a file: no external asset, styles and script inline."""
    summary = report["summary"]
    head = "".join(f'<th scope="col">{_e(label)}</th>' for label in ["host", "MTA", "verdict"] + [CHECK_LABELS[c] for c in COLUMNS])
    rows = []
    for row in report["hosts"]:
        verdict = row["verdict"]
        cells = ['<td data-sort="{}"><a href="#{}">{}</a></td>'.format(_e(row["host"].lower()), _anchor(row["host"]), _e(row["host"])),
                 "<td>{}</td>".format(_e(("{} {}".format(row["mta"], row.get("version") or "")).strip() if row["mta"] else "-")),
                 '<td class="r {}" data-result="{}" data-sort="{}" title="{}">{}</td>'.format(
                     "v-" + verdict.replace(" ", "-"), _e(verdict), _VERDICT_RANK[verdict], _e(" | ".join(row["reasons"])), _e(verdict))]
        cells += [_cell(row["checks"].get(c)) for c in COLUMNS]
        rows.append('<tr data-host="{}" data-verdict="{}">{}</tr>'.format(_e(row["host"]), _e(verdict), "".join(cells)))
    generated = (", generated " + _e(report["generated"])) if report.get("generated") else ""
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">{len(report["hosts"])} hosts{generated}. Click a column to sort; click a host for its details and fixes.</p>',
        '<p class="counts"><span class="v-ready" style="padding:0 .4em">{} ready</span>'
        '<span class="v-not-ready" style="padding:0 .4em">{} not ready</span>'
        '<span class="v-unknown" style="padding:0 .4em">{} unknown</span></p>'.format(
            summary["ready"], summary["not ready"], summary["unknown"]),
        '<table id="summary"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'.format(head, "".join(rows)),
        "".join(_details(row) for row in report["hosts"]),
        f"<script>{_JS}</script></body></html>\n",
    ])


def json_text(report: t.Mapping[str, t.Any]) -> str:
    """The report as indented JSON, keys in their order, with a final newline."""
    return json.dumps(report, indent=2, sort_keys=False) + "\n"
