# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reads one mail host for the readiness report; only reads, never writes."""

from __future__ import annotations

import os
import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils.dns.lookup import make_lookup
from ansible_collections.dualstack.mta.plugins.module_utils.dns.mail_dns import check_address, host_addresses
from ansible_collections.dualstack.mta.plugins.module_utils.dns.mail_dns_host import read_settings
from ansible_collections.dualstack.mta.plugins.module_utils.net import MAIL_PORTS
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.postconf import families, parse_postconf
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.sockets import smtpd_sockets
from ansible_collections.dualstack.mta.plugins.module_utils.readiness import facts

if t.TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule

SENDMAIL_CF = "/etc/mail/sendmail.cf"
POSTFIX_MAIN_CF = "/etc/postfix/main.cf"
SENDMAIL_BINARIES = ("/usr/sbin/sendmail-mta", "/usr/lib/sm.bin/sendmail", "/usr/sbin/sendmail.sendmail")
C_LOCALE = {"LC_ALL": "C", "LANG": "C"}
POSTFIX_PARAMETERS = ("mail_version", "inet_protocols", "inet_interfaces", "smtp_bind_address", "smtp_bind_address6")


def _out(module: AnsibleModule, args: list[str]) -> tuple[int, str, str]:
    rc, out, err = module.run_command(args, environ_update=C_LOCALE)
    return rc, out, err.strip()


def detect_mta(module: AnsibleModule, wanted: str) -> str:
    """The MTA asked for, or with auto the one installed: postfix, sendmail or none."""
    if wanted != "auto":
        return wanted
    if module.get_bin_path("postconf") and os.path.exists(POSTFIX_MAIN_CF):
        return "postfix"
    if os.path.exists(SENDMAIL_CF) and any(os.path.exists(p) for p in SENDMAIL_BINARIES):
        return "sendmail"
    return "none"


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def collect(module: AnsibleModule, params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The readiness of this host: every check, its verdict and the facts behind them."""
    mta = detect_mta(module, params["mta"])
    if mta == "none":
        return facts.no_mta()

    if mta == "sendmail":
        if not os.path.exists(SENDMAIL_CF):
            module.fail_json(msg=f"mta=sendmail but {SENDMAIL_CF} does not exist; set mta to auto")
        cf = _read(SENDMAIL_CF)
        version = facts.sendmail_version(cf)
        configured = facts.sendmail_configured(cf)
        pins, pin_by = facts.sendmail_pins(cf), {"ipv4": "ClientPortOptions Addr", "ipv6": "ClientPortOptions Addr"}
        disabled = {}
    else:
        postconf = module.get_bin_path("postconf", required=True)
        rc, out, err = _out(module, [postconf] + list(POSTFIX_PARAMETERS))
        if rc != 0:
            module.fail_json(msg=f"postconf failed (rc={rc}): {err}")
        values = parse_postconf(out)
        _rc, master, _err = _out(module, [postconf, "-M"])
        version = values.get("mail_version")
        configured = smtpd_sockets(values.get("inet_interfaces"), values.get("inet_protocols"), master, MAIL_PORTS)
        pins = {f: values[p].strip("[]") for f, p in (("ipv4", "smtp_bind_address"), ("ipv6", "smtp_bind_address6"))
                if values.get(p)}
        pin_by = {"ipv4": "smtp_bind_address", "ipv6": "smtp_bind_address6"}
        enabled = families(values.get("inet_protocols"))
        disabled = {f: "inet_protocols = {}: postfix sends no {} mail".format(values.get("inet_protocols"), f)
                    for f in facts.FAMILIES if f not in enabled}

    rc, ss_out, err = _out(module, [module.get_bin_path("ss", required=True), "-ltnH"])
    if rc != 0:
        module.fail_json(msg=f"ss -ltnH failed (rc={rc}): {err}")
    listening = facts.parse_ss(ss_out)

    ip = module.get_bin_path("ip", required=True)
    _rc, addr_json, _err = _out(module, [ip, "-j", "addr", "show"])
    local = host_addresses(addr_json)
    snat: dict[str, str] = {}
    for family, tool in (("ipv4", "iptables"), ("ipv6", "ip6tables")):
        path = module.get_bin_path(tool)
        if path:
            rc, rules, _err = _out(module, [path, "-t", "nat", "-S", "POSTROUTING"])
            if rc == 0:
                snat.update({f: a for f, a in facts.snat_sources(rules).items() if f == family})

    outbound = {}
    for family in facts.FAMILIES:
        destination = params["route_to"][family]
        rc, route, err = _out(module, [ip, "-j", f"-{family[-1]}", "route", "get", destination])
        kernel = facts.route_source(route) if rc == 0 else None
        outbound[family] = facts.outbound(family, pins.get(family), pin_by[family], snat.get(family), kernel, err,
                                          destination, local, disabled.get(family))

    settings = read_settings(module, mta, want_addresses=False, want_helo=not params["helo_name"])
    helo = params["helo_name"] or settings.helo_name
    sender_domain = params["sender_domain"] or (helo.split(".", 1)[1] if "." in helo else None)
    sending = [o["sending"] for o in outbound.values() if o["sending"]]
    dns, resolver = make_lookup(params["resolver"], params["resolver_port"], params["timeout"])
    entries = [check_address(dns, address, sender_domain, helo) for address in sending]
    dns_cells = {name: facts.answered_by(cell, resolver) for name, cell in facts.dns_checks(entries, helo).items()}

    checks = {
        "listen_ipv4": facts.listen_check(mta, "ipv4", configured, listening),
        "listen_ipv6": facts.listen_check(mta, "ipv6", configured, listening),
        "sockets": facts.sockets_check(mta, configured, listening),
        "outbound_ipv4": {k: outbound["ipv4"][k] for k in ("result", "detail", "fix")},
        "outbound_ipv6": {k: outbound["ipv6"][k] for k in ("result", "detail", "fix")},
    }
    checks.update(dns_cells)
    verdict, reasons = facts.verdict(checks)
    return {
        "mta": mta, "version": version, "verdict": verdict, "reasons": reasons, "checks": checks,
        "helo_name": helo, "sender_domain": sender_domain,
        "sockets": {"configured": configured, "listening": listening},
        "outbound": outbound, "dns": entries,
    }
