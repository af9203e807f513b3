# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""DNS readiness of sending addresses: PTR, forward-confirmed reverse DNS, SPF, HELO.

Pure: parsing takes strings and the checks take a ``DnsLookup`` (see spf.py).
"""

from __future__ import annotations

import ipaddress
import json
import math
import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils.dns.spf import DnsLookup, DnsTempError, IPAddress, check_host
from ansible_collections.dualstack.mta.plugins.module_utils.net import parse_ip

CHECKS = ("ptr", "fcrdns", "spf", "helo")

Check = t.Dict[str, t.Any]


# Finding the sending addresses -----------------------------------------------

def host_addresses(ip_json: str) -> list[str]:
    """Global unicast addresses from ``ip -j addr`` output, in the kernel's order."""
    found = []
    for link in json.loads(ip_json or "[]"):
        for info in link.get("addr_info", []):
            if info.get("family") not in ("inet", "inet6") or info.get("scope") != "global" or info.get("dadfailed"):
                continue
            address = parse_ip(str(info.get("local")), sendmail_prefix=False)
            if address is not None and not (address.is_loopback or address.is_link_local or address.is_multicast or address.is_unspecified):
                found.append(str(address))
    return found


def sendmail_client_addresses(sendmail_cf: str) -> list[str]:
    """``Addr`` of every ``O ClientPortOptions=`` line in sendmail.cf."""
    found = []
    for line in sendmail_cf.splitlines():
        if not line.startswith("O ClientPortOptions="):
            continue
        for option in line.split("=", 1)[1].split(","):
            key, _eq, value = option.strip().partition("=")
            # sendmail itself only looks at the first letter of each key.
            if key[:1].upper() == "A" and value.strip():
                found.append(value.strip())
    return found


def sendmail_helo_name(sendmail_cf: str) -> str | None:
    """The literal ``Dj`` (own host name, used in HELO) of sendmail.cf, if set."""
    for line in sendmail_cf.splitlines():
        if line.startswith("Dj") and len(line) > 2 and "$" not in line:
            return line[2:].strip()
    return None


def bind_address(text: str) -> IPAddress | None:
    """The address an MTA bind setting names ([2001:db8::1], IPv6:2001:db8::1, 192.0.2.1), or None."""
    return parse_ip(text.strip().strip("[]"))


def sending_addresses(host: list[str], bound: list[str]) -> list[str]:
    """Addresses mail can leave from: an MTA bind address replaces the host's addresses of its family.

    Bind settings that are not address literals (sendmail accepts host names) are left out;
    ``bind_address`` tells the caller which.
    """
    # An unspecified bind address (0.0.0.0, ::) leaves the choice to the kernel.
    bound_ips = [ip for ip in map(bind_address, bound) if ip is not None and not ip.is_unspecified]
    families = {ip.version for ip in bound_ips}
    chosen = [str(ip) for ip in bound_ips]
    chosen += [a for a in host if ipaddress.ip_address(a).version not in families]
    return list(dict.fromkeys(chosen))


def argument_problem(addresses: list[str], resolver: list[str], fail_on: list[str], sender_domain: str | None,
                     resolver_port: int = 53, timeout: float = 5.0) -> str | None:
    """Why the arguments cannot work together, or None."""
    if not 0 < resolver_port < 65536:
        return f"resolver_port: {resolver_port} is not a port number (1-65535)"
    if not math.isfinite(timeout) or timeout <= 0:
        return f"timeout: {timeout:g} must be more than 0 seconds"
    for kind, values in (("addresses", addresses), ("resolver", resolver)):
        for value in values:
            if parse_ip(value, sendmail_prefix=False) is None:
                return f"{kind}: {value!r} is not an IP address"
    if "none" in fail_on and len(fail_on) > 1:
        return "fail_on: 'none' cannot be combined with checks ({})".format(", ".join(fail_on))
    if "spf" in fail_on and not sender_domain:
        return "fail_on includes spf, which needs sender_domain"
    return None


# The checks ------------------------------------------------------------------

def _addresses(dns: DnsLookup, name: str, version: int) -> list[IPAddress]:
    """The addresses of ``name`` in one family; answers that are not such addresses are left out."""
    found = []
    for text in dns.lookup(name, "A" if version == 4 else "AAAA"):
        address = parse_ip(text, sendmail_prefix=False)
        if address is not None and address.version == version:
            found.append(address)
    return found


def check_ptr(dns: DnsLookup, ip: IPAddress) -> Check:
    """The PTR names of ``ip``: pass when it has any, fail when none, temperror when DNS did not answer."""
    try:
        names = sorted(set(dns.lookup(ip.reverse_pointer, "PTR")))
    except DnsTempError as exc:
        return {"result": "temperror", "names": [], "reason": f"PTR lookup of {ip.reverse_pointer}: {exc}"}
    if not names:
        return {"result": "fail", "names": [], "reason": f"{ip} has no PTR record"}
    return {"result": "pass", "names": names, "reason": "{} has PTR {}".format(ip, ", ".join(names))}


def check_fcrdns(dns: DnsLookup, ip: IPAddress, ptr: Check) -> Check:
    """Forward-confirmed reverse DNS: the PTR names of ``ip`` that resolve back to it."""
    if ptr["result"] != "pass":
        return {"result": ptr["result"], "names": [], "reason": "no PTR name to confirm: " + ptr["reason"]}
    rdtype = "A" if ip.version == 4 else "AAAA"
    confirmed, problems, temporary = [], [], False
    for name in ptr["names"]:
        try:
            addresses = _addresses(dns, name, ip.version)
        except DnsTempError as exc:
            temporary = True
            problems.append(f"{name} {rdtype} lookup: {exc}")
            continue
        if ip in addresses:
            confirmed.append(name)
        elif addresses:
            problems.append("{} resolves to {}, not {}".format(name, ", ".join(map(str, addresses)), ip))
        else:
            problems.append(f"{name} has no {rdtype} record")
    if confirmed:
        return {"result": "pass", "names": confirmed, "reason": "{} resolves back to {}".format(", ".join(confirmed), ip)}
    return {"result": "temperror" if temporary else "fail", "names": [], "reason": "; ".join(problems)}


def check_spf(dns: DnsLookup, ip: IPAddress, sender_domain: str | None, helo_name: str) -> Check:
    """The SPF result of ``sender_domain`` for mail from ``ip``; skipped without a sender domain."""
    if not sender_domain:
        return {"result": "skipped", "domain": None, "reason": "sender_domain not given"}
    spf = check_host(dns, str(ip), sender_domain, "postmaster@" + sender_domain, helo_name)
    return {"result": spf.result, "domain": sender_domain, "reason": spf.reason}


def check_helo(dns: DnsLookup, ip: IPAddress, helo_name: str | None, ptr: Check) -> Check:
    """Whether the HELO name resolves to ``ip`` and is one of its PTR names; skipped without a name."""
    if not helo_name:
        return {"result": "skipped", "name": None, "reason": "no HELO name known"}
    name = helo_name.rstrip(".").lower()
    rdtype = "A" if ip.version == 4 else "AAAA"
    try:
        addresses = _addresses(dns, name, ip.version)
    except DnsTempError as exc:
        return {"result": "temperror", "name": name, "reason": f"{name} {rdtype} lookup: {exc}"}
    problems = []
    if not addresses:
        problems.append(f"HELO name {name} has no {rdtype} record")
    elif ip not in addresses:
        problems.append("HELO name {} resolves to {}, not {}".format(name, ", ".join(map(str, addresses)), ip))
    if name not in ptr["names"]:
        if ptr["result"] == "temperror" and not problems:
            return {"result": "temperror", "name": name, "reason": "cannot compare with the PTR: " + ptr["reason"]}
        problems.append("HELO name {} is not a PTR name of {} (PTR: {})".format(name, ip, ", ".join(ptr["names"]) or "none"))
    if problems:
        return {"result": "fail", "name": name, "reason": "; ".join(problems)}
    return {"result": "pass", "name": name, "reason": f"{name} resolves to {ip} and is its PTR name"}


def check_address(dns: DnsLookup, address: str, sender_domain: str | None, helo_name: str | None) -> dict[str, t.Any]:
    """Every check for one sending address, with an overall verdict."""
    ip = ipaddress.ip_address(address)
    ptr = check_ptr(dns, ip)
    result: dict[str, t.Any] = {
        "address": str(ip),
        "family": f"ipv{ip.version}",
        "ptr": ptr,
        "fcrdns": check_fcrdns(dns, ip, ptr),
        "spf": check_spf(dns, ip, sender_domain, helo_name or ""),
        "helo": check_helo(dns, ip, helo_name, ptr),
    }
    # Skipped checks neither pass nor fail; everything else must be a pass.
    failed = [c for c in CHECKS if result[c]["result"] not in ("pass", "skipped")]
    result["failed"] = failed
    result["passed"] = not failed
    result["reasons"] = ["{} {}: {}".format(c, result[c]["result"], result[c]["reason"]) for c in failed]
    return result


def blocking(results: list[dict[str, t.Any]], fail_on: list[str]) -> list[str]:
    """One line per address that fails a check listed in ``fail_on``."""
    lines = []
    for result in results:
        reasons = [r for c, r in zip(result["failed"], result["reasons"]) if c in fail_on]
        if reasons:
            lines.append("{}: {}".format(result["address"], "; ".join(reasons)))
    return lines
