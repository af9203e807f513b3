# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Dual-stack readiness of one mail host, from what its tools print.

Pure: every function takes the text a tool printed (ss, ip, iptables, postconf,
sendmail.cf) or values built from it, and returns values. Reading the host is
facts_host.py's job.
"""

from __future__ import annotations

import ipaddress
import json
import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils.net import MAIL_PORTS, address_text, parse_ip, socket_key
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.port_options import PortOptions, daemon_socket

FAMILIES = ("ipv4", "ipv6")
ANY = {"ipv4": "0.0.0.0", "ipv6": "::"}
# The comment the outbound role puts on its SNAT rules.
SNAT_TAG = "dualstack.mta outbound"

# Cell results, worst last.
PASS, SKIPPED, UNKNOWN, FAIL = "pass", "skipped", "unknown", "fail"
_RANK = {PASS: 0, SKIPPED: 0, UNKNOWN: 1, FAIL: 2}

Check = t.Dict[str, t.Any]


def shown(key: str) -> str:
    """A socket key as people write sockets: 192.0.2.1:25, [2001:db8::1]:25."""
    address, port = key.split()
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def family_of(address: str) -> str:
    """ipv4 or ipv6: the family of an address literal."""
    return f"ipv{ipaddress.ip_address(address).version}"


# --- what listens ---------------------------------------------------------------------------


def parse_ss(output: str) -> list[dict[str, t.Any]]:
    """Listening TCP sockets from ``ss -ltnH``: address, port and the families each one takes.

    ss writes an IPv6 wildcard socket that also takes IPv4 (IPV6_V6ONLY off) as ``*``.
    """
    found = []
    for line in output.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[0] != "LISTEN":
            continue
        host, _sep, port = fields[3].rpartition(":")
        host = host.split("%", 1)[0].strip("[]")
        if not port.isdigit():
            continue
        if host in ("*", ""):
            found.append({"address": "::", "port": int(port), "families": ["ipv4", "ipv6"]})
            continue
        ip = ipaddress.ip_address(host)
        mapped = getattr(ip, "ipv4_mapped", None)
        families = ["ipv4"] if mapped is not None or ip.version == 4 else ["ipv6"]
        found.append({"address": address_text(ip), "port": int(port), "families": families})
    return found


def receiving(listening: list[dict[str, t.Any]], family: str, port: int = 25) -> list[str]:
    """Sockets on port that take mail of family from other hosts (loopback does not count)."""
    keys = []
    for entry in listening:
        if entry["port"] != port or family not in entry["families"]:
            continue
        ip = ipaddress.ip_address(entry["address"])
        if not ip.is_loopback and not (getattr(ip, "ipv4_mapped", None) or ip).is_loopback:
            keys.append(socket_key(entry["address"], port))
    return sorted(set(keys))


# --- what the configuration asks for --------------------------------------------------------


def _cf_options(sendmail_cf: str, option: str) -> list[PortOptions]:
    prefix = f"O {option}="
    return [PortOptions.parse(line[len(prefix):]) for line in sendmail_cf.splitlines() if line.startswith(prefix)]


def sendmail_version(sendmail_cf: str) -> str | None:
    """The version sendmail.cf was built for (its ``DZ`` line)."""
    for line in sendmail_cf.splitlines():
        if line.startswith("DZ") and len(line) > 2:
            return line[2:].strip()
    return None


def sendmail_configured(sendmail_cf: str) -> list[str]:
    """Sockets on the mail ports that the DaemonPortOptions of sendmail.cf open."""
    keys = []
    for position, options in enumerate(_cf_options(sendmail_cf, "DaemonPortOptions")):
        socket = daemon_socket(options, position)
        if socket is None or socket.port not in MAIL_PORTS:
            continue  # host-name addresses, local sockets and other ports are not checked
        address = socket.address if socket.address is not None else ANY["ipv6" if socket.family == "inet6" else "ipv4"]
        keys.append(socket_key(str(address), socket.port))
    return sorted(set(keys))


def sendmail_pins(sendmail_cf: str) -> dict[str, str]:
    """The source address per family that ClientPortOptions' ``Addr`` pins."""
    pins = {}
    for options in _cf_options(sendmail_cf, "ClientPortOptions"):
        ip = parse_ip(options.get("A") or "")
        if ip is not None and int(ip) != 0:
            pins[f"ipv{ip.version}"] = ip.compressed
    return pins


# --- where mail leaves from -----------------------------------------------------------------


def snat_sources(rules: str) -> dict[str, str]:
    """The ``--to-source`` of SNAT rules tagged by the outbound role (``iptables -t nat -S``)."""
    found = {}
    for line in rules.splitlines():
        words = line.split()
        if "SNAT" not in words or "--to-source" not in words or SNAT_TAG not in line:
            continue
        target = words[words.index("--to-source") + 1]
        target = target.split("-", 1)[0].strip("[]")
        ip = parse_ip(target, sendmail_prefix=False)
        if ip is not None:
            found[f"ipv{ip.version}"] = ip.compressed
    return found


def route_source(route_json: str) -> str | None:
    """The source address the kernel picks, from ``ip -j route get`` output."""
    try:
        routes = json.loads(route_json or "[]")
    except ValueError:
        return None
    for route in routes:
        if route.get("prefsrc"):
            return ipaddress.ip_address(route["prefsrc"]).compressed
    return None


def outbound(family: str, pin: str | None, pin_by: str, snat: str | None, kernel: str | None,
             kernel_error: str, destination: str, local: list[str], disabled: str | None = None) -> dict[str, t.Any]:
    """The source address mail of one family leaves from, and whether configuration and kernel agree.

    ``disabled`` says why the MTA does not send this family at all.
    """
    sending = None if disabled else snat or pin or kernel
    result: dict[str, t.Any] = {
        "family": family, "destination": destination, "pinned": pin, "pinned_by": pin_by if pin else None,
        "snat": snat, "kernel": kernel, "sending": sending, "agree": pin is None or pin == kernel,
    }
    local_ips = {ipaddress.ip_address(a) for a in local}
    if disabled:
        result.update(result=FAIL, detail=disabled, fix="set inet_protocols = all (role dualstack.mta.postfix with "
                      "postfix_inet_protocols: all), then stop and start postfix")
    elif kernel is None:
        result.update(result=FAIL, detail="no {} route to {}: {}".format(family, destination, kernel_error or "no source address"),
                      fix=f"give the host a global {family} address and a default route (ip -{family[-1]} route get {destination} must answer)")
    elif pin is not None and ipaddress.ip_address(pin) not in local_ips:
        same_family = ", ".join(a for a in local if family_of(a) == family) or "none"
        result.update(result=FAIL, detail=f"{pin_by} pins {pin}, which is not an address of this host",
                      fix=f"set {pin_by} to one of this host's {family} addresses ({same_family}) or remove it")
    else:
        how = (f"SNAT to {snat}") if snat else (f"{pin_by} {pin}") if pin else "the kernel's choice"
        note = "" if result["agree"] else f"; the kernel alone would use {kernel}"
        result.update(result=PASS, detail=f"leaves from {sending} ({how}){note}", fix="")
    return result


# --- the verdict ----------------------------------------------------------------------------


def worst(results: t.Iterable[str]) -> str:
    """The worst of the results: fail, else unknown, else pass when any passed, else skipped."""
    found = list(results)
    if not found:
        return SKIPPED
    top = max(found, key=lambda r: _RANK[r])
    return PASS if top == SKIPPED and PASS in found else top


def dns_result(result: str) -> str:
    """A DNS check's result as a readiness result: temperror is unknown; all but pass and skipped fail."""
    return {"pass": PASS, "skipped": SKIPPED, "temperror": UNKNOWN}.get(result, FAIL)


def listen_check(mta: str, family: str, configured: list[str], listening: list[dict[str, t.Any]]) -> Check:
    """Whether port 25 takes ``family`` mail from other hosts, and how to fix it when not."""
    sockets = receiving(listening, family)
    if sockets:
        return {"result": PASS, "detail": "port 25 listens on {}".format(", ".join(s.split()[0] for s in sockets)), "fix": ""}
    wanted = [k for k in configured if k.endswith(" 25") and family_of(k.split()[0]) == family
              and not ipaddress.ip_address(k.split()[0]).is_loopback]
    if wanted:
        return {"result": FAIL, "detail": "configured for {} but nothing listens there".format(", ".join(map(shown, wanted))),
                "fix": f"restart {mta} and read its log (journalctl -u {mta}): the configured socket did not come up"}
    if mta == "postfix":
        fix = ("set inet_protocols = all and inet_interfaces = all (role dualstack.mta.postfix with "
               "postfix_inet_protocols: all), then stop and start postfix: a reload does not apply inet_protocols")
    elif family == "ipv4":
        fix = ("add a daemon that takes IPv4 from other hosts: DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port=smtp') "
               "(dualstack.mta.sendmail_daemon name=MTA-v4 family=inet), or one inet6 daemon on :: with "
               "net.ipv6.bindv6only=0, then rebuild sendmail.cf and restart sendmail")
    else:
        fix = ("add an inet6 daemon on :: for both families, DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::') "
               "in place of the inet one (dualstack.mta.sendmail_daemon name=MTA-v6 family=inet6 addr=:: replaces=MTA-v4, "
               "or role dualstack.mta.sendmail), then rebuild sendmail.cf and restart sendmail")
    return {"result": FAIL, "detail": f"nothing takes {family} mail on port 25 from other hosts", "fix": fix}


def sockets_check(mta: str, configured: list[str], listening: list[dict[str, t.Any]]) -> Check:
    """Whether the mail ports listen on exactly the sockets the configuration names."""
    actual = sorted({socket_key(e["address"], e["port"]) for e in listening if e["port"] in MAIL_PORTS})
    missing = [k for k in configured if k not in actual]
    extra = [k for k in actual if k not in configured]
    if not missing and not extra:
        agreed = ", ".join(map(shown, actual)) or "none"
        return {"result": PASS, "detail": f"configuration and listening sockets agree ({agreed})", "fix": ""}
    parts = []
    if missing:
        parts.append("configured but not listening: {}".format(", ".join(map(shown, missing))))
    if extra:
        parts.append("listening but not configured: {}".format(", ".join(map(shown, extra))))
    return {"result": FAIL, "detail": "; ".join(parts),
            "fix": f"stop and start {mta} so the running daemon uses its configuration (systemctl restart {mta}), "
                   "then read its log if a socket is still missing"}


def _reverse_fix(address: str, names: list[str], helo: str | None) -> str:
    ip = ipaddress.ip_address(address)
    name = (names or [helo or "mail.example.com"])[0]
    return "add {}. PTR {}. in the reverse zone (ask whoever holds {})".format(ip.reverse_pointer, name, f"the range of {address}")


def dns_fix(check: str, entry: dict[str, t.Any], helo: str | None) -> str:
    """What to change so that one DNS check (ptr, fcrdns, spf, helo) passes for one sending address."""
    address, result = entry["address"], entry[check]
    rr = "A" if entry["family"] == "ipv4" else "AAAA"
    if result["result"] == "temperror":
        return "the DNS server did not answer from this host: check /etc/resolv.conf or the resolver option, then run again"
    if check == "ptr":
        return _reverse_fix(address, [], helo)
    if check == "fcrdns":
        names = entry["ptr"]["names"]
        return f"add {names[0] if names else helo}. {rr} {address} (or point the PTR at a name that has it)"
    if check == "spf":
        domain = result.get("domain") or "the sender domain"
        mechanism = "ip4:" if entry["family"] == "ipv4" else "ip6:"
        return f"authorise {address} in the SPF record of {domain}: add {mechanism}{address} before its all mechanism"
    name = result.get("name") or helo
    ptr_names = entry["ptr"]["names"]
    if ptr_names and name not in ptr_names:
        return f"greet as {ptr_names[0]} (the PTR name: sendmail confDOMAIN_NAME, postfix smtp_helo_name), or make {name} the PTR of {address}"
    return f"give the HELO name {name} an {rr} record {address} and make it the PTR name of {address}"


def dns_checks(entries: list[dict[str, t.Any]], helo: str | None) -> dict[str, Check]:
    """One cell per DNS check over every sending address, worst result first."""
    cells = {}
    for check in ("ptr", "fcrdns", "spf", "helo"):
        per = [(e, dns_result(e[check]["result"])) for e in entries]
        if not per:
            cells[check] = {"result": UNKNOWN, "detail": "no sending address to check", "fix": ""}
            continue
        bad = [(e, r) for e, r in per if r in (FAIL, UNKNOWN)]
        cells[check] = {
            "result": worst(r for _e, r in per),
            "detail": "; ".join("{} {}: {}".format(e["address"], e[check]["result"], e[check]["reason"]) for e, _r in (bad or per)),
            "fix": "; ".join("{}: {}".format(e["address"], dns_fix(check, e, helo)) for e, _r in bad),
        }
    return cells


CHECK_LABELS = {
    "listen_ipv4": "IPv4 in", "listen_ipv6": "IPv6 in", "sockets": "sockets",
    "outbound_ipv4": "IPv4 out", "outbound_ipv6": "IPv6 out",
    "ptr": "PTR", "fcrdns": "FCrDNS", "spf": "SPF", "helo": "HELO",
}


def verdict(checks: t.Mapping[str, Check]) -> tuple[str, list[str]]:
    """ready / not ready / unknown, and one reason line per check that did not pass."""
    results = [c["result"] for c in checks.values()]
    reasons = ["{}: {}".format(CHECK_LABELS.get(name, name), c["detail"]) for name, c in checks.items() if c["result"] in (FAIL, UNKNOWN)]
    if FAIL in results:
        return "not ready", reasons
    if UNKNOWN in results:
        return "unknown", reasons
    return "ready", reasons


def no_mta() -> dict[str, t.Any]:
    """The readiness of a host without sendmail or postfix: not ready, for that reason alone."""
    checks = {"mta": {"result": FAIL, "detail": "neither sendmail nor postfix is installed",
                      "fix": "install one with role dualstack.mta.sendmail or dualstack.mta.postfix, or leave the host out of the report"}}
    return {"mta": "none", "version": None, "verdict": "not ready", "reasons": ["MTA: neither sendmail nor postfix is installed"],
            "checks": checks}


def answered_by(cell: dict[str, t.Any], resolver: str) -> dict[str, t.Any]:
    """A DNS check's cell with the resolver that answered it, named in its detail unless it is dnspython."""
    cell = dict(cell, resolver=resolver)
    if resolver != "dnspython" and cell.get("detail"):
        cell["detail"] = "{} (answered by {})".format(cell["detail"], resolver)
    return cell
