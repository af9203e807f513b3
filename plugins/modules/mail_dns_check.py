#!/usr/bin/python
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mail_dns_check
short_description: Check PTR, forward-confirmed reverse DNS, SPF and HELO for sending addresses
version_added: 0.1.0
description:
  - For every address mail can leave from, checks what large mail providers check before they accept
    mail, above all over IPv6.
  - C(ptr) - the address has a PTR record.
  - C(fcrdns) - a PTR name resolves (A or AAAA) back to the same address.
  - C(spf) - the SPF policy of O(sender_domain) authorises the address (the C(check_host) function of RFC 7208).
  - C(helo) - the HELO name resolves to the address and is one of its PTR names.
  - Only reads DNS and the host's settings; use O(fail_on) to stop a play before IPv6 sending is switched on.
author:
  - dualstack.mta maintainers (@dualstack)
requirements:
  - dnspython
  - C(ip) from iproute2, when O(addresses) is not given
extends_documentation_fragment:
  - dualstack.mta.attributes.READ_ONLY
options:
  addresses:
    description:
      - Sending addresses to check.
      - When not given, the host's addresses with global scope (C(ip -j addr)), leaving out loopback and
        link-local ones. Where the MTA binds outgoing connections to an address (see O(mta)), that address
        replaces the host's addresses of its family.
    type: list
    elements: str
  sender_domain:
    description:
      - Domain whose SPF policy must authorise the addresses (the envelope sender's domain).
      - When not given, the C(spf) check is reported as C(skipped).
    type: str
  helo_name:
    description:
      - Name the MTA greets with (HELO/EHLO).
      - When not given, the MTA's own setting (postfix C(smtp_helo_name), sendmail C(Dj)), else the host's FQDN.
    type: str
  mta:
    description:
      - Whose outbound settings to read for the default O(addresses) and O(helo_name).
      - V(postfix) reads C(smtp_bind_address), C(smtp_bind_address6) and C(smtp_helo_name) with C(postconf).
      - V(sendmail) reads C(O ClientPortOptions=) C(Addr) and C(Dj) from C(/etc/mail/sendmail.cf).
      - V(auto) reads whichever is installed; V(none) reads neither.
    type: str
    choices: [auto, postfix, sendmail, none]
    default: auto
  fail_on:
    description:
      - Checks that make the module fail, with all results, when any address does not pass them.
      - A C(temperror) counts as not passing; a C(skipped) check does not.
      - V(none) only reports.
    type: list
    elements: str
    choices: [ptr, fcrdns, spf, helo, none]
    default: [none]
  resolver:
    description:
      - IP addresses of the DNS servers to ask, for example a split-horizon view.
      - When not given, the servers in C(/etc/resolv.conf).
    type: list
    elements: str
  resolver_port:
    description: Port of the DNS servers, 1 to 65535.
    type: int
    default: 53
  timeout:
    description:
      - Seconds to wait for each DNS answer, more than 0. A lookup that times out makes its check C(temperror).
    type: float
    default: 5.0
notes:
  - SPF follows C(check_host) of RFC 7208 and passes the RFC 7208 conformance test suite's cases about
    the result. The C(exp=) explanation text is not fetched, so it never appears in a C(reason).
  - C(%{p}) expands to a PTR name of the address that resolves back to it, or C(unknown).
  - No DNS answer makes the module fail; what cannot be used gives C(temperror) or C(permerror) with its reason.
seealso:
  - name: RFC 7208 (SPF)
    description: Sender Policy Framework, including the lookup limits enforced here.
    link: https://www.rfc-editor.org/rfc/rfc7208
"""

EXAMPLES = r"""
- name: Check every sending address of the host
  dualstack.mta.mail_dns_check:
    sender_domain: example.com
  register: mail_dns

- name: Stop before IPv6 sending is switched on unless DNS is ready
  dualstack.mta.mail_dns_check:
    addresses:
      - 192.0.2.25
      - 2001:db8:25::25
    sender_domain: example.com
    helo_name: mail.example.com
    fail_on: [ptr, fcrdns, spf, helo]

- name: Ask the internal view of a split-horizon DNS
  dualstack.mta.mail_dns_check:
    sender_domain: example.com
    resolver: [2001:db8::53]
    timeout: 2
"""

RETURN = r"""
ready:
  description: Whether every checked address passed every check that ran. False when no address was found.
  returned: success
  type: bool
  sample: false
helo_name:
  description: The HELO name that was checked.
  returned: success
  type: str
  sample: mail.example.com
results:
  description: One entry per sending address. Also returned when O(fail_on) makes the module fail.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The sending address.
      type: str
      sample: 2001:db8:25::25
    family:
      description: V(ipv4) or V(ipv6).
      type: str
      sample: ipv6
    passed:
      description: Whether every check that ran passed.
      type: bool
    failed:
      description: Names of the checks that did not pass (C(ptr), C(fcrdns), C(spf), C(helo)).
      type: list
      elements: str
      sample: [spf]
    reasons:
      description: Why each check in RV(results[].failed) did not pass.
      type: list
      elements: str
      sample: ["spf fail: 2001:db8:25::25 matched -all in example.com"]
    ptr:
      description: The PTR check. C(result) is C(pass), C(fail) or C(temperror); C(names) the PTR names.
      type: dict
      sample: {"result": "pass", "names": ["mail.example.com"], "reason": "2001:db8:25::25 has PTR mail.example.com"}
    fcrdns:
      description: The forward-confirmed reverse DNS check. C(names) are the PTR names that resolve back.
      type: dict
      sample: {"result": "fail", "names": [], "reason": "mail.example.com has no AAAA record"}
    spf:
      description:
        - The SPF check. C(result) is the RFC 7208 result (C(pass), C(fail), C(softfail), C(neutral), C(none),
          C(permerror), C(temperror)) or C(skipped); C(domain) the domain checked.
      type: dict
      sample: {"result": "pass", "domain": "example.com", "reason": "2001:db8:25::25 matched ip6:2001:db8:25::/64 in example.com"}
    helo:
      description: The HELO check. C(result) is C(pass), C(fail), C(temperror) or C(skipped); C(name) the HELO name.
      type: dict
      sample: {"result": "pass", "name": "mail.example.com", "reason": "mail.example.com resolves to 2001:db8:25::25 and is its PTR name"}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.dualstack.mta.plugins.module_utils.dns.lookup import (
    DNSPYTHON_IMPORT_ERROR,
    HAS_DNSPYTHON,
    DnsPythonLookup,
)
from ansible_collections.dualstack.mta.plugins.module_utils.dns.mail_dns import argument_problem, blocking, check_address
from ansible_collections.dualstack.mta.plugins.module_utils.dns.mail_dns_host import read_settings


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            addresses=dict(type="list", elements="str"),
            sender_domain=dict(type="str"),
            helo_name=dict(type="str"),
            mta=dict(type="str", choices=["auto", "postfix", "sendmail", "none"], default="auto"),
            fail_on=dict(type="list", elements="str", choices=["ptr", "fcrdns", "spf", "helo", "none"], default=["none"]),
            resolver=dict(type="list", elements="str"),
            resolver_port=dict(type="int", default=53),
            timeout=dict(type="float", default=5.0),
        ),
        supports_check_mode=True,
    )
    if not HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=DNSPYTHON_IMPORT_ERROR)
    p = module.params
    problem = argument_problem(p["addresses"] or [], p["resolver"] or [], p["fail_on"], p["sender_domain"],
                               p["resolver_port"], p["timeout"])
    if problem:
        module.fail_json(msg=problem, results=[])

    host = read_settings(module, p["mta"], want_addresses=not p["addresses"], want_helo=not p["helo_name"])
    helo_name = p["helo_name"] or host.helo_name
    dns = DnsPythonLookup(p["resolver"], p["resolver_port"], p["timeout"])
    results = [check_address(dns, address, p["sender_domain"], helo_name) for address in p["addresses"] or host.addresses]
    if not results:
        module.warn("No sending address found; pass addresses explicitly.")

    not_ready = blocking(results, p["fail_on"])
    if not_ready:
        module.fail_json(msg="DNS is not ready for mail from " + " | ".join(not_ready), results=results, helo_name=helo_name)
    module.exit_json(changed=False, ready=bool(results) and all(r["passed"] for r in results), helo_name=helo_name, results=results)


if __name__ == "__main__":
    main()
