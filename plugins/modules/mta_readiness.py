#!/usr/bin/python
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mta_readiness
short_description: Report whether a mail host receives and sends over IPv4 and IPv6
version_added: 0.1.0
description:
  - Reads, and never changes, one host running sendmail or postfix and reports whether it is ready for
    dual-stack mail, with one line per reason and the fix for each failed check.
  - Detects the MTA and its version; compares the sockets the configuration asks for on ports 25, 587
    and 465 with those that listen (C(ss)); finds per family the source address outbound mail leaves from,
    as pinned by the configuration (sendmail C(ClientPortOptions), postfix C(smtp_bind_address) and
    C(smtp_bind_address6), SNAT rules tagged by the C(dualstack.mta.outbound) role) and as the kernel's
    route lookup would choose it; and runs the checks of M(dualstack.mta.mail_dns_check) (PTR, FCrDNS, SPF,
    HELO) on every sending address.
  - The role C(dualstack.mta.readiness_report) turns the results of many hosts into an HTML page, a JSON
    file and a terminal table.
author:
  - dualstack.mta maintainers (@dualstack)
requirements:
  - C(ss) and C(ip) from iproute2
  - dnspython, for every DNS check; without it, PTR, FCrDNS and HELO are answered by the system resolver
    (NSS, so /etc/hosts first) and SPF is reported as unknown, each check naming the resolver that answered
extends_documentation_fragment:
  - dualstack.mta.attributes.READ_ONLY
options:
  mta:
    description:
      - Which MTA to read. V(auto) picks postfix when C(postconf) and C(/etc/postfix/main.cf) exist, else
        sendmail when C(/etc/mail/sendmail.cf) and a sendmail binary exist, else reports that the host has none.
    type: str
    choices: [auto, sendmail, postfix]
    default: auto
  sender_domain:
    description:
      - Domain whose SPF policy must authorise the sending addresses.
      - When not given, the HELO name without its first label.
    type: str
  helo_name:
    description:
      - Name the MTA greets with. When not given, the MTA's own setting, else the host's FQDN.
    type: str
  route_to:
    description:
      - Destination per family for the kernel's route lookup (C(ip route get)); no packet is sent.
      - Use a real destination of your mail, such as your smart host, when routes differ by destination.
    type: dict
    default: {ipv4: 203.0.113.25, ipv6: "2001:db8:ffff::25"}
    suboptions:
      ipv4:
        description: IPv4 destination.
        type: str
        default: 203.0.113.25
      ipv6:
        description: IPv6 destination.
        type: str
        default: "2001:db8:ffff::25"
  resolver:
    description: IP addresses of the DNS servers to ask; when not given, those in C(/etc/resolv.conf).
    type: list
    elements: str
  resolver_port:
    description: Port of the DNS servers.
    type: int
    default: 53
  timeout:
    description: Seconds to wait for each DNS answer; a lookup that times out makes its check C(unknown).
    type: float
    default: 2.0
seealso:
  - module: dualstack.mta.mail_dns_check
"""

EXAMPLES = r"""
- name: Read the readiness of every mail host
  dualstack.mta.mta_readiness:
    sender_domain: example.com
  register: readiness

- name: Ask the internal view of a split-horizon DNS, route lookups toward the smart host
  dualstack.mta.mta_readiness:
    resolver: [2001:db8::53]
    route_to:
      ipv4: 198.51.100.25
      ipv6: 2001:db8:25::25
"""

RETURN = r"""
readiness:
  description: The host's readiness.
  returned: success
  type: dict
  contains:
    mta:
      description: V(sendmail), V(postfix) or V(none).
      type: str
      sample: postfix
    version:
      description: The MTA's version (postfix C(mail_version); for sendmail the version sendmail.cf was built for).
      type: str
      sample: 3.7.11
    verdict:
      description: V(ready), V(not ready) or V(unknown) (a check could not be decided, such as DNS not answering).
      type: str
      sample: not ready
    reasons:
      description: One line per check that did not pass.
      type: list
      elements: str
      sample: ["IPv6 in: nothing takes ipv6 mail on port 25 from other hosts"]
    checks:
      description:
        - One entry per check (C(listen_ipv4), C(listen_ipv6), C(sockets), C(outbound_ipv4), C(outbound_ipv6),
          C(ptr), C(fcrdns), C(spf), C(helo); only C(mta) when the host has no MTA), each with C(result)
          (V(pass), V(fail), V(unknown) or V(skipped)), C(detail) and C(fix).
      type: dict
    sockets:
      description: C(configured) socket keys ("address port") and C(listening) sockets with the families each takes.
      type: dict
      returned: when an MTA was found
    outbound:
      description: Per family the destination, C(pinned), C(pinned_by), C(snat), C(kernel) and C(sending) addresses and C(agree).
      type: dict
      returned: when an MTA was found
    dns:
      description: The results of the DNS checks per sending address, as M(dualstack.mta.mail_dns_check) returns them.
      type: list
      elements: dict
      returned: when an MTA was found
    helo_name:
      description: The HELO name checked.
      type: str
      returned: when an MTA was found
    sender_domain:
      description: The domain whose SPF policy was checked.
      type: str
      returned: when an MTA was found
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dualstack.mta.plugins.module_utils.readiness.facts_host import collect


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            mta=dict(type="str", choices=["auto", "sendmail", "postfix"], default="auto"),
            sender_domain=dict(type="str"),
            helo_name=dict(type="str"),
            route_to=dict(type="dict", default={"ipv4": "203.0.113.25", "ipv6": "2001:db8:ffff::25"}, options=dict(
                ipv4=dict(type="str", default="203.0.113.25"),
                ipv6=dict(type="str", default="2001:db8:ffff::25"),
            )),
            resolver=dict(type="list", elements="str"),
            resolver_port=dict(type="int", default=53),
            timeout=dict(type="float", default=2.0),
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, readiness=collect(module, module.params))


if __name__ == "__main__":
    main()
