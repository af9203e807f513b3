# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""dualstack.mta.mail_dns_check against BIND serving test zones on loopback.

Every query goes to a named started here on 127.0.0.1 and ::1 (or to a silent
socket for timeouts); nothing leaves the machine.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

NAMED = shutil.which("named") or "/usr/sbin/named"
REPO = Path(__file__).resolve().parents[2]
ANSIBLE = str(Path(sys.executable).with_name("ansible"))

pytestmark = pytest.mark.skipif(not os.access(NAMED, os.X_OK), reason="named not installed (Debian package bind9)")

GOOD4, GOOD6 = "198.51.100.25", "2001:db8:25::25"
LIAR4, LIAR6 = "198.51.100.26", "2001:db8:25::26"  # PTR points at a name that does not resolve back
NOPTR4, NOPTR6 = "198.51.100.27", "2001:db8:25::27"

# One string per term: a TXT string holds 255 bytes.
TOO_MANY_TERMS = '"a:other.example.test " ' * 11

FORWARD = f"""$TTL 300
@        SOA ns hostmaster 1 3600 600 86400 300
@        NS ns
ns       A 127.0.0.1
@        MX 10 mail
@        TXT "v=spf1 ip4:198.51.100.0/24 " "ip6:2001:db8:25::/64 -all"
mail     A 198.51.100.25
mail     AAAA 2001:db8:25::25
liar     A 198.51.100.99
alias    A 198.51.100.25
alias    AAAA 2001:db8:25::25
other    A 192.0.2.77
other    AAAA 2001:db8:ffff::77
v4only   TXT "v=spf1 ip4:198.51.100.0/24 -all"
chain    TXT "v=spf1 include:_spf1.example.test -all"
_spf1    TXT "v=spf1 include:_spf2.example.test ~all"
_spf2    TXT "v=spf1 mx:example.test//64 -all"
toomany  TXT "v=spf1 " {TOO_MANY_TERMS}"ip4:198.51.100.0/24 ip6:2001:db8:25::/64 -all"
hostbits TXT "v=spf1 ip4:198.51.100.10/24 ip6:2001:db8:25::1/64 -all"
helo     TXT "v=spf1 a:%{{h}} -all"
client   TXT "v=spf1 exists:%{{p}}.p.example.test -all"
mail.example.test.p A 127.0.0.2
crt      TXT "v=spf1 exists:%{{r}}.example.test -all"
"""

PTRS = {GOOD4: "mail", GOOD6: "mail", LIAR4: "liar", LIAR6: "liar"}
REVERSE_ZONES = ("100.51.198.in-addr.arpa", "0.0.0.0.5.2.0.0.8.b.d.0.1.0.0.2.ip6.arpa")


def zone_file(origin: str, records: str) -> str:
    return f"$TTL 300\n$ORIGIN {origin}.\n@ SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300\n@ NS ns.example.test.\n{records}"


def free_port() -> int:
    """A port free for UDP and TCP on both loopback addresses."""
    for _attempt in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(family, kind) as sock:
                        sock.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port on loopback")


def answers(port: int, host: str) -> bool:
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = [host], port, 0.3
    try:
        resolver.resolve("example.test", "SOA")
    except dns.exception.DNSException:
        return False
    return True


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory):
    """Port of a non-recursive named serving the test zones on 127.0.0.1 and ::1."""
    root = tmp_path_factory.mktemp("named")
    port = free_port()
    (root / "example.test.zone").write_text(FORWARD)
    for origin in REVERSE_ZONES:
        records = "".join(
            f"{ipaddress.ip_address(a).reverse_pointer}. PTR {name}.example.test.\n"
            for a, name in PTRS.items() if ipaddress.ip_address(a).reverse_pointer.endswith(origin))
        (root / (origin + ".zone")).write_text(zone_file(origin, records))
    # An empty root zone answers NXDOMAIN for single-label names such as a HELO of OEMCOMPUTER,
    # as the real DNS does, instead of refusing them.
    (root / "root.zone").write_text("$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 127.0.0.1\n")
    zones = 'zone "." { type primary; file "root.zone"; };\n'
    zones += "".join(f'zone "{z}" {{ type primary; file "{z}.zone"; }};\n' for z in ("example.test",) + REVERSE_ZONES)
    (root / "named.conf").write_text(f"""options {{
  directory "{root}";
  pid-file "{root}/named.pid";
  session-keyfile "{root}/session.key";
  managed-keys-directory "{root}";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 port {port} {{ ::1; }};
  recursion no;
  notify no;
  dnssec-validation no;
}};
controls {{ }};
{zones}""")

    log = open(root / "named.log", "wb")
    process = subprocess.Popen([NAMED, "-g", "-n", "1", "-c", str(root / "named.conf")], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not (answers(port, "127.0.0.1") and answers(port, "::1")):
            broken = "not loaded due to errors" in (root / "named.log").read_text()
            if broken or process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("named did not start:\n" + (root / "named.log").read_text())
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def silent_port():
    """A loopback UDP port that takes queries and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def run(args: dict, check_mode: bool = False) -> dict:
    """Run the module through `ansible localhost`; return its result."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", LC_ALL="C.UTF-8")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".cache" / "collections"))
    command = [ANSIBLE, "localhost", "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=" + sys.executable,
               "-m", "dualstack.mta.mail_dns_check", "-a", json.dumps(args)]
    if check_mode:
        command.append("--check")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    try:
        return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        pytest.fail(f"no module result (rc={done.returncode}):\n{done.stdout}\n{done.stderr}")


def check(port: int, addresses: list, **args) -> dict:
    args = {"addresses": addresses, "resolver": ["127.0.0.1"], "resolver_port": port,
            "sender_domain": "example.test", "helo_name": "mail.example.test", **args}
    return run(args)


def by_address(result: dict) -> dict:
    return {r["address"]: r for r in result["results"]}


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check_mode"])
def test_good_addresses_pass(named: int, check_mode: bool) -> None:
    # Over IPv6 transport to the server, too.
    args = {"addresses": [GOOD4, GOOD6], "resolver": ["::1"], "resolver_port": named,
            "sender_domain": "example.test", "helo_name": "mail.example.test"}
    result = run(args, check_mode=check_mode)
    assert result["changed"] is False and result["ready"] is True, result
    for address, entry in by_address(result).items():
        assert entry["passed"] and entry["failed"] == [] and entry["reasons"] == []
        assert entry["ptr"] == {"result": "pass", "names": ["mail.example.test"], "reason": f"{address} has PTR mail.example.test"}
        assert entry["fcrdns"]["names"] == ["mail.example.test"]
        assert entry["spf"]["result"] == "pass"
        assert entry["helo"]["result"] == "pass"
    assert by_address(result)[GOOD6]["spf"]["reason"] == "2001:db8:25::25 matched ip6:2001:db8:25::/64 in example.test"


def test_missing_and_unconfirmed_ptr(named: int) -> None:
    result = by_address(check(named, [LIAR4, NOPTR4, LIAR6, NOPTR6]))
    assert result[LIAR4]["ptr"]["result"] == "pass"
    assert result[LIAR4]["fcrdns"] == {"result": "fail", "names": [],
                                       "reason": "liar.example.test resolves to 198.51.100.99, not 198.51.100.26"}
    assert result[LIAR6]["fcrdns"]["reason"] == "liar.example.test has no AAAA record"
    for address in (NOPTR4, NOPTR6):
        assert result[address]["ptr"] == {"result": "fail", "names": [], "reason": f"{address} has no PTR record"}
        assert result[address]["fcrdns"]["result"] == "fail"
    for entry in result.values():
        assert entry["spf"]["result"] == "pass"  # SPF is fine; reverse DNS is what is missing
        expected = ["fcrdns", "helo"] if entry["ptr"]["result"] == "pass" else ["ptr", "fcrdns", "helo"]
        assert entry["failed"] == expected
        assert not entry["passed"]


def test_spf_without_ip6_fails_ipv6_only(named: int) -> None:
    result = by_address(check(named, [GOOD4, GOOD6], sender_domain="v4only.example.test"))
    assert result[GOOD4]["spf"]["result"] == "pass"
    assert result[GOOD6]["spf"] == {"result": "fail", "domain": "v4only.example.test",
                                    "reason": "2001:db8:25::25 matched -all in v4only.example.test"}
    assert result[GOOD6]["failed"] == ["spf"]


def test_spf_include_chain(named: int) -> None:
    result = by_address(check(named, [GOOD6, GOOD4, LIAR4], sender_domain="chain.example.test"))
    assert result[GOOD6]["spf"]["result"] == "pass"
    assert result[GOOD4]["spf"]["result"] == "pass"
    assert result[LIAR4]["spf"]["result"] == "fail"  # _spf2 fails, _spf1 softfails: neither matches


def test_more_than_ten_lookups_is_permerror(named: int) -> None:
    spf = by_address(check(named, [GOOD6], sender_domain="toomany.example.test"))[GOOD6]["spf"]
    assert spf["result"] == "permerror"
    assert spf["reason"] == "more than 10 DNS lookups (at a:other.example.test)"


@pytest.mark.parametrize("domain, helo, results", [
    # Networks written with host bits set (RFC 7208 5.6 ignores those bits).
    ("hostbits", "mail.example.test", {GOOD4: "pass", GOOD6: "pass", "192.0.2.10": "fail", "2001:db8:26::1": "fail"}),
    # Names from macros are looked up, not syntax-checked: OEMCOMPUTER has no address, so a:%{h} does not match.
    ("helo", "OEMCOMPUTER", {GOOD4: "fail", GOOD6: "fail"}),
    ("helo", "JUMPIN' JUPITER", {GOOD4: "fail", GOOD6: "fail"}),
    ("helo", "mail.example.test", {GOOD4: "pass", GOOD6: "pass", LIAR4: "fail"}),
    # %{p}: the PTR name that resolves back to the client, else "unknown".
    ("client", "mail.example.test", {GOOD4: "pass", GOOD6: "pass", LIAR4: "fail", NOPTR6: "fail"}),
    ("crt", "mail.example.test", {GOOD6: "permerror"}),
])
def test_spf_records_from_the_field(named: int, domain: str, helo: str, results: dict) -> None:
    result = by_address(check(named, list(results), sender_domain=domain + ".example.test", helo_name=helo))
    assert {address: entry["spf"]["result"] for address, entry in result.items()} == results
    if domain == "crt":
        assert "allowed only in explanation text" in result[GOOD6]["spf"]["reason"]


def test_timeout_is_temperror(silent_port: int) -> None:
    result = run({"addresses": [GOOD6], "resolver": ["127.0.0.1"], "resolver_port": silent_port, "timeout": 0.3,
                  "sender_domain": "example.test", "helo_name": "mail.example.test"})
    entry = result["results"][0]
    assert [entry[c]["result"] for c in ("ptr", "fcrdns", "spf", "helo")] == ["temperror"] * 4
    assert entry["spf"]["reason"] == "example.test TXT: timed out after 0.3s"
    assert result["ready"] is False


@pytest.mark.parametrize("helo, reason", [
    ("other.example.test", "HELO name other.example.test resolves to 2001:db8:ffff::77, not 2001:db8:25::25; "
                           "HELO name other.example.test is not a PTR name of 2001:db8:25::25 (PTR: mail.example.test)"),
    ("alias.example.test", "HELO name alias.example.test is not a PTR name of 2001:db8:25::25 (PTR: mail.example.test)"),
    ("nowhere.example.test", "HELO name nowhere.example.test has no AAAA record; "
                             "HELO name nowhere.example.test is not a PTR name of 2001:db8:25::25 (PTR: mail.example.test)"),
])
def test_helo_mismatch(named: int, helo: str, reason: str) -> None:
    entry = check(named, [GOOD6], helo_name=helo)["results"][0]
    assert entry["helo"] == {"result": "fail", "name": helo, "reason": reason}
    assert entry["failed"] == ["helo"]


def test_fail_on_stops_with_results(named: int) -> None:
    result = check(named, [GOOD4, NOPTR4], fail_on=["ptr", "spf"])
    assert result["failed"] is True
    assert result["msg"] == "DNS is not ready for mail from 198.51.100.27: ptr fail: 198.51.100.27 has no PTR record"
    assert set(by_address(result)) == {GOOD4, NOPTR4}


def test_fail_on_ignores_unlisted_checks(named: int) -> None:
    result = check(named, [GOOD6], sender_domain="v4only.example.test", fail_on=["ptr", "fcrdns", "helo"])
    assert not result.get("failed") and result["ready"] is False
    assert result["results"][0]["failed"] == ["spf"]


def test_fail_on_spf_needs_sender_domain(named: int) -> None:
    result = check(named, [GOOD6], sender_domain=None, fail_on=["spf"])
    assert result["failed"] is True
    assert result["msg"] == "fail_on includes spf, which needs sender_domain"


def test_spf_skipped_without_sender_domain(named: int) -> None:
    entry = check(named, [GOOD6], sender_domain=None)["results"][0]
    assert entry["spf"] == {"result": "skipped", "domain": None, "reason": "sender_domain not given"}
    assert entry["passed"] is True


def test_addresses_found_on_the_host(named: int) -> None:
    from ansible_collections.dualstack.mta.plugins.module_utils.dns.mail_dns import host_addresses

    expected = host_addresses(subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, text=True, check=True).stdout)
    result = check(named, None, mta="none")
    assert [r["address"] for r in result["results"]] == expected
    assert not any(ipaddress.ip_address(a).is_loopback or ipaddress.ip_address(a).is_link_local for a in expected)
