#!/usr/bin/python
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: sendmail_config
short_description: Apply the whole wanted state of sendmail.mc (or sendmail.cf) in one edit
version_added: 0.1.0
description:
  - Sets every listed C(DAEMON_OPTIONS), C(CLIENT_OPTIONS), C(FEATURE), C(define), C(undefine)
    and masquerading entry of one file in one locked edit, with the vocabulary of
    M(dualstack.mta.sendmail_daemon), M(dualstack.mta.sendmail_client) and
    M(dualstack.mta.sendmail_mc), and the same rules for values, quoting and placement.
  - Entries with O(daemons[].state=absent) (and the other lists' removals) are applied first,
    then the rest in the order given, on one document. Bind conflicts are checked on the result
    only, so a daemon can take over the socket of one removed in the same task, and check mode
    reports exactly what a real run does.
  - The candidate is validated once (m4, the expected sendmail.cf lines, C(sendmail -bC)),
    backed up once and written once. Entries that are not listed are left as they are, unless
    O(exclusive=true).
author:
  - dualstack.mta maintainers (@dualstack)
extends_documentation_fragment:
  - dualstack.mta.attributes
  - dualstack.mta.sendmail_file
options:
  listen:
    description:
      - What to listen on, instead of O(daemons). V(all) is every address of both families on
        port 25; a list of addresses (V(all), V(loopback), IPv4 or IPv6 literals) is those on port
        25; a list of dicts with the keys C(addresses) and C(ports) says both, as in the examples.
      - The daemons are planned from the entries the file has, matched by the sockets they bind
        (not by name). An entry that already binds a wanted socket is kept, one of the same family
        on the same port is rebound keeping its modifiers and options, a commented example is
        reused, and other ports are left alone. For all addresses it plans one inet6 daemon on
        C(::) with C(net.ipv6.bindv6only=0), one wildcard per family with V(1), and IPv4 only when
        the host has no IPv6 (no C(net.ipv6.bindv6only), or no IPv6 address on any interface,
        as with C(net.ipv6.conf.all.disable_ipv6=1)). Every decision is returned in RV(listen_reasons) and shown with
        C(--diff).
      - An address the host does not have, a port that is not a port, or a layout that cannot bind
        is refused with the reason, and nothing changes.
    type: raw
  daemons:
    description:
      - C(DAEMON_OPTIONS) entries, each with the options of M(dualstack.mta.sendmail_daemon)
        except O(dualstack.mta.sendmail_daemon#module:replaces), which one edit does not need.
    type: list
    elements: dict
    default: []
    suboptions: &port_entry
      name:
        description: The C(Name) that identifies the entry.
        type: str
        required: true
      state:
        description:
          - V(present) makes the entry active, V(commented) keeps it commented out, V(absent)
            removes every entry with this name.
        type: str
        choices: [present, absent, commented]
        default: present
      family:
        description: Address family, V(inet) or V(inet6).
        type: str
        choices: [inet, inet6]
      addr:
        description: Address (C(Addr)), an IP literal of the entry's family or a host name; an empty string removes the key.
        type: str
      port:
        description: Port number or service name such as V(smtp); an empty string removes the key.
        type: str
      modifiers:
        description: Modifier letters (C(M)), compared as a set; an empty string removes the key.
        type: str
      options:
        description: Other keys by name, for example C(Listen); a null or empty value removes the key.
        type: dict
  clients:
    description:
      - C(CLIENT_OPTIONS) entries, each with the options of M(dualstack.mta.sendmail_client).
    type: list
    elements: dict
    default: []
    suboptions: *port_entry
  settings:
    description:
      - C(FEATURE), C(define), C(undefine) and masquerading entries, each with the options of
        M(dualstack.mta.sendmail_mc).
      - Each entry names exactly one of O(settings[].feature), O(settings[].define),
        O(settings[].undefine), O(settings[].masquerade_as), O(settings[].masquerade_domain) or
        O(settings[].exposed_user).
    type: list
    elements: dict
    default: []
    suboptions:
      feature:
        description: Name of a C(FEATURE), for example V(nocanonify).
        type: str
      feature_args:
        description: Arguments after the feature name; when omitted, those of an existing entry are kept.
        type: list
        elements: str
      define:
        description: Name to C(define), for example V(SMART_HOST) or V(confLOG_LEVEL).
        type: str
      value:
        description: Value for O(settings[].define).
        type: str
      undefine:
        description: Name to C(undefine).
        type: str
      masquerade_as:
        description: Domain for C(MASQUERADE_AS).
        type: str
      masquerade_domain:
        description: One domain of the C(MASQUERADE_DOMAIN) list.
        type: str
      exposed_user:
        description: One user of the C(EXPOSED_USER) list.
        type: str
      state:
        description: V(present), V(absent) or V(commented), as for the entries above.
        type: str
        choices: [present, absent, commented]
        default: present
  exclusive:
    description:
      - Also remove every C(DAEMON_OPTIONS) and C(CLIENT_OPTIONS) entry, active or commented, whose
        name is not listed in O(daemons) or O(clients). Settings are never removed this way.
      - With no daemon left, sendmail falls back to its implicit daemon (IPv4, all addresses, port 25).
    type: bool
    default: false
  bindv6only:
    description:
      - The value of C(net.ipv6.bindv6only) to plan for, instead of the one the target has now.
    type: bool
  cf_path:
    description:
      - Also install the sendmail.cf built and checked from the new .mc at this path (normally
        C(/etc/mail/sendmail.cf)), right after the .mc. It is then newer than the .mc, so the
        distribution's C(make) (which Debian's init script and Red Hat's unit run at every start)
        does not build it again, and the configuration is built and checked exactly once.
      - Needs a .mc as O(path) and O(validate=true). With O(backup=true) the old .cf is kept too.
    type: path
  path:
    description:
      - The file to edit. A path ending in C(.cf) edits C(O DaemonPortOptions=) and
        C(O ClientPortOptions=) lines directly; settings exist only in a .mc.
    type: path
    default: /etc/mail/sendmail.mc
  validate:
    description:
      - Build the candidate .mc with m4 (exit 0 and no error output), check that the built .cf
        holds every entry as given, and, where sendmail is installed, run
        C(sendmail -C candidate.cf -bC). The file is changed only when all of this passes.
    type: bool
    default: true
notes:
  - After a change to a .mc without O(cf_path), rebuild sendmail.cf and restart sendmail;
    RV(rebuild_needed) says when. With O(cf_path), restart sendmail.
  - When sendmail is to listen on IPv6, the module reads the C(access) file beside the .mc (it never
    changes it) and warns about each IPv6 key that sendmail never looks up, such as Debian's stock
    C(ClientRate:IPv6:::1) exemption. sendmail looks up an IPv6 client with all eight groups and no
    leading zeros (C(IPv6:0:0:0:0:0:0:0:1)), so a key written with C(::) has no effect, and busy
    clients on ::1 get C(421 4.3.2 Connection rate limit exceeded).
seealso:
  - module: dualstack.mta.sendmail_daemon
  - module: dualstack.mta.sendmail_client
  - module: dualstack.mta.sendmail_mc
"""

EXAMPLES = r"""
- name: Receive on every address of both families, whatever the stock file names its daemons
  dualstack.mta.sendmail_config:
    listen: all
    cf_path: /etc/mail/sendmail.cf

- name: Receive on two addresses, and submission on loopback only
  dualstack.mta.sendmail_config:
    listen:
      - {addresses: [198.51.100.25, "2001:db8::25"], ports: [smtp]}
      - {addresses: [loopback], ports: [submission]}

- name: "One inet6 daemon on :: for both families, instead of the IPv4-only MTA-v4 of Debian"
  dualstack.mta.sendmail_config:
    daemons:
      - name: MTA-v4
        state: absent
      - name: MTA-v6
        family: inet6
        addr: "::"
        port: smtp
    cf_path: /etc/mail/sendmail.cf
    backup: true

- name: Relay through a smart host without DNS, sending from fixed addresses
  dualstack.mta.sendmail_config:
    clients:
      - {name: OUT-v4, family: inet, addr: 198.51.100.25}
      - {name: OUT-v6, family: inet6, addr: "2001:db8::25"}
    settings:
      - {define: SMART_HOST, value: "[mailhost.example.com]"}
      - {feature: nocanonify}
      - {feature: accept_unresolvable_domains}

- name: Only these daemons, whatever the file had
  dualstack.mta.sendmail_config:
    daemons:
      - {name: MTA-v4, family: inet, addr: 198.51.100.25}
      - {name: MTA-v6, family: inet6, addr: "2001:db8::25"}
    exclusive: true
"""

RETURN = r"""
changes:
  description: The entries that changed (or would change in check mode), in the order applied.
  returned: always
  type: list
  elements: dict
  sample:
    - {kind: daemon, name: MTA-v4, state: absent}
    - {kind: daemon, name: MTA-v6, state: present}
daemons:
  description: Every DAEMON_OPTIONS entry of the file after the change, active and commented, in file order.
  returned: always
  type: list
  elements: dict
  sample:
    - name: MTA-v6
      family: inet6
      addr: "::"
      port: smtp
      modifiers: null
      options: {}
      state: present
      line: 57
      text: "DAEMON_OPTIONS(``Name=MTA-v6, Family=inet6, Addr=::, Port=smtp'')dnl"
listen_reasons:
  description: With O(listen), why the daemons were planned as they were, one sentence per decision.
  returned: always
  type: list
  elements: str
ipv6_available:
  description:
    - Whether the host has IPv6, as planned for.
    - V(false) when C(net.ipv6.bindv6only) is missing (inet6 daemons cannot listen), or, with O(listen), when no
      interface has an IPv6 address (C(net.ipv6.conf.all.disable_ipv6=1)).
  returned: always
  type: bool
clients:
  description: Every CLIENT_OPTIONS entry of the file after the change, in the same form as RV(daemons).
  returned: always
  type: list
  elements: dict
validated:
  description: Whether the candidate was built and checked (once) in this run; V(false) when nothing changed.
  returned: always
  type: bool
rebuild_needed:
  description: V(true) when a .mc changed without O(cf_path), so sendmail.cf must still be rebuilt.
  returned: always
  type: bool
cf_installed:
  description: V(true) when the checked sendmail.cf was (or in check mode would be) installed at O(cf_path).
  returned: always
  type: bool
backup_file:
  description: Name of the backup of the edited file.
  returned: when O(backup=true) and the file was changed
  type: str
  sample: /etc/mail/sendmail.mc.12345.2025-01-01@12:00:00~
cf_backup_file:
  description: Name of the backup of the sendmail.cf that O(cf_path) replaced.
  returned: when O(backup=true), O(cf_path) is set, the file existed and was replaced
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.config_host import CONFIG_ARGUMENTS, run_config


def main():
    run_config(AnsibleModule(argument_spec=CONFIG_ARGUMENTS, supports_check_mode=True))


if __name__ == "__main__":
    main()
