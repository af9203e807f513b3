# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters that turn dualstack.mta.mta_readiness results into the fleet report."""

from __future__ import annotations

import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils.readiness.report import build, html_page, text_table


def readiness_report(hostvars: t.Any, hosts: list[str], variable: str = "__readiness_result", generated: str = "") -> dict[str, t.Any]:
    results = {}
    for host in hosts:
        try:
            results[host] = hostvars[host].get(variable)
        except KeyError:
            results[host] = None
    return build(results, hosts, generated)


class FilterModule:
    """Readiness report filters."""

    def filters(self):
        return {
            "readiness_report": readiness_report,
            "readiness_html": html_page,
            "readiness_table": text_table,
        }
