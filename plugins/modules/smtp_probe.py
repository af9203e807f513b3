#!/usr/bin/python
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: smtp_probe
short_description: Prove that SMTP listeners answer, over IPv4 and IPv6, without sending mail
version_added: 0.1.0
description:
  - Connects to each target, reads the greeting and sends EHLO; reports the reply codes, the names the
    server greets with, its extensions (STARTTLS, SIZE, 8BITMIME, AUTH, ...) and the time taken.
  - With O(rcpt_to) it also asks C(MAIL FROM) and C(RCPT TO) and then C(RSET), so acceptance is proven
    without sending mail; with O(send) it sends one small probe message instead and returns its queue id.
  - A listener that greets with anything but C(220) (for example C(421) under load or rate control, or
    from a wedged daemon) counts as not answering, with its text in the result.
  - Standard library only, so it runs on any managed host and on the controller
    (C(delegate_to) V(localhost) probes from outside).
  - Fails only when asked, see O(require).
author:
  - dualstack.mta maintainers (@dualstack)
extends_documentation_fragment:
  - dualstack.mta.attributes.READ_ONLY
notes:
  - In check mode the probe runs as usual, except that O(send) sends nothing (it then stops after C(RCPT TO)
    and C(RSET)).
  - With O(send) a message is queued on each target that accepts it, and the task reports C(changed).
  - A target bound to every address (V(0.0.0.0), V(::), as the collection's socket filters list wildcard
    sockets) is probed on the loopback address of its family.
options:
  targets:
    description:
      - Where to connect. Each item is V(address), V(address:port), V([ipv6]:port), a bare IPv6 address, or a
        dict with C(address) and C(port) keys, as the P(dualstack.mta.sendmail_sockets#filter) and
        P(dualstack.mta.postfix_sockets#filter) filters return them.
      - Host names are resolved when connecting; give literals to choose the family.
    type: list
    elements: raw
    required: true
  port:
    description: Port for targets that name none.
    type: int
    default: 25
  helo:
    description: Name to send with EHLO. Defaults to the fully qualified name of the host the module runs on.
    type: str
  timeout:
    description: Seconds to wait for the connection and for each reply.
    type: float
    default: 10
  source_address:
    description: Local address to connect from, to probe from a given address of the host.
    type: str
  mail_from:
    description: Envelope sender for O(rcpt_to) and O(send); empty means the null sender C(<>).
    type: str
    default: ''
  rcpt_to:
    description:
      - Envelope recipient to ask for, for example C(postmaster@example.com). Without it the probe stops after EHLO.
    type: str
  send:
    description:
      - Send one probe message to O(rcpt_to) and return its queue id, instead of C(RSET) after C(RCPT TO).
    type: bool
    default: false
  require:
    description:
      - V(all) fails when any target does not answer (or refuses the envelope); V(any) fails when none does;
        V(none) only reports.
    type: str
    choices: [all, any, none]
    default: none
"""

EXAMPLES = r"""
- name: Prove port 25 answers on both families
  dualstack.mta.smtp_probe:
    targets:
      - 192.0.2.25
      - "[2001:db8::25]:25"
    require: all

- name: Prove that the MX accepts mail for postmaster from outside, without sending any
  dualstack.mta.smtp_probe:
    targets: "{{ ansible_facts['all_ipv4_addresses'] + ansible_facts['all_ipv6_addresses'] }}"
    rcpt_to: postmaster@example.com
    require: all
  delegate_to: localhost

- name: Probe the sockets sendmail_config planned
  dualstack.mta.smtp_probe:
    targets: "{{ sendmail_config_result.daemons | dualstack.mta.sendmail_sockets }}"
    require: all

- name: Send one probe message and keep its queue id
  dualstack.mta.smtp_probe:
    targets: ["[::1]:25"]
    rcpt_to: postmaster@example.com
    send: true
    require: all
  register: sent
"""

RETURN = r"""
ok:
  description: Whether every target answered (and accepted the envelope, when asked).
  returned: always
  type: bool
answered:
  description: How many targets answered.
  returned: always
  type: int
results:
  description: One result per target, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The target as probed, C(address:port) or C([address]:port).
      type: str
      sample: "[2001:db8::25]:25"
    family:
      description: V(inet) or V(inet6).
      type: str
    ok:
      description: The listener greeted with 220, answered EHLO with 250 and accepted what was asked.
      type: bool
    error:
      description: Why the target did not pass; null when it did.
      type: str
    banner_code:
      description: Reply code of the greeting.
      type: int
      sample: 220
    banner:
      description: Text of the greeting.
      type: str
      sample: "mx1.example.com ESMTP Sendmail 8.17.1.9/8.17.1.9/Debian-2+deb12u2; Sat, 5 Dec 2026 09:12:01 GMT"
    greeting_name:
      description: The name the server greets with (the first word of the greeting).
      type: str
    ehlo_name:
      description: The name the server gives in its EHLO reply.
      type: str
    extensions:
      description: The EHLO extensions and their parameters, lower-case names.
      type: dict
      sample: {"8bitmime": "", "size": "10240000", "starttls": ""}
    starttls:
      description: STARTTLS is offered. C(size), C(8bitmime), C(auth), C(pipelining), C(smtputf8), C(dsn) and
        C(enhancedstatuscodes) say the same of their extensions.
      type: bool
    mail_code:
      description: Reply code to C(MAIL FROM), with O(rcpt_to); C(mail_text) holds its text.
      type: int
    rcpt_code:
      description: Reply code to C(RCPT TO), with O(rcpt_to); C(rcpt_text) holds its text.
      type: int
    data_code:
      description: Reply code at the end of the message, with O(send); C(data_text) holds its text.
      type: int
    queue_id:
      description: The queue id the server gave the probe message, with O(send).
      type: str
    elapsed:
      description: Seconds from connecting to the end of the last reply.
      type: float
"""

import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dualstack.mta.plugins.module_utils.smtp.probe import (
    Envelope,
    TargetError,
    parse_target,
    probe,
    probe_message,
    verdict,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            targets=dict(type="list", elements="raw", required=True),
            port=dict(type="int", default=25),
            helo=dict(type="str"),
            timeout=dict(type="float", default=10.0),
            source_address=dict(type="str"),
            mail_from=dict(type="str", default=""),
            rcpt_to=dict(type="str"),
            send=dict(type="bool", default=False),
            require=dict(type="str", choices=["all", "any", "none"], default="none"),
        ),
        required_if=[("send", True, ("rcpt_to",))],
        supports_check_mode=True,
    )
    params = module.params
    try:
        targets = [parse_target(target, params["port"]) for target in params["targets"]]
    except TargetError as error:
        module.fail_json(msg=f"cannot probe {error}")
    if params["timeout"] <= 0:
        module.fail_json(msg="timeout must be more than 0 seconds")
    helo = params["helo"] or socket.getfqdn()
    message = None
    if params["send"] and not module.check_mode:
        message = probe_message(params["mail_from"], params["rcpt_to"], helo)
    envelope = Envelope(params["mail_from"], params["rcpt_to"], message)
    results = [probe(target, helo, params["timeout"], envelope, params["source_address"]) for target in targets]
    summary = dict(changed=any(result.get("queue_id") or result.get("data_code") for result in results), ok=all(result["ok"] for result in results),
                   answered=sum(1 for result in results if result["ok"]), results=results)
    problem = verdict(results, params["require"])
    if problem:
        module.fail_json(msg=problem, **summary)
    module.exit_json(**summary)


if __name__ == "__main__":
    main()
