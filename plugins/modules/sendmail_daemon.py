#!/usr/bin/python
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: sendmail_daemon
short_description: Manage one sendmail DAEMON_OPTIONS entry (a listening socket)
version_added: 0.1.0
description:
  - Adds, changes, comments out or removes the C(DAEMON_OPTIONS) entry with a given C(Name) in
    C(sendmail.mc), or the matching C(O DaemonPortOptions=) line when O(path) ends in C(.cf).
  - Keys are read the way sendmail reads them (only the first letter counts, a repeated key
    overrides the earlier one) and compared by meaning, so C(Addr=2001:DB8::25) equals
    C(A=2001:db8::25) and C(Port=smtp) equals C(Port=25).
  - Every other line of the file is kept byte for byte. New entries go after the last
    C(DAEMON_OPTIONS) entry, or before the C(MAILER) lines.
  - Refuses, and leaves the file untouched, when a value is invalid, is an address of the other
    family, could change the structure of the .mc or .cf (quotes, commas, parentheses, newlines),
    or when the daemons could not all bind. With C(net.ipv6.bindv6only=0) an inet6 daemon on
    C(::) also takes the IPv4 port, so it cannot coexist with an inet daemon on the same port.
  - Before writing, the candidate is built with m4 and checked with C(sendmail -bC); see O(validate).
author:
  - dualstack.mta maintainers (@dualstack)
extends_documentation_fragment:
  - dualstack.mta.attributes
  - dualstack.mta.sendmail_file
  - dualstack.mta.sendmail_file.PORT_ENTRY
options:
  name:
    description:
      - The C(Name) of the daemon; identifies the entry.
    type: str
    required: true
  state:
    description:
      - V(present) makes the entry active (uncommenting it if needed), V(commented) keeps it
        commented out with C(dnl) (C(#) in a .cf), V(absent) removes every entry with this name,
        active or commented.
    type: str
    choices: [present, absent, commented]
    default: present
  family:
    description:
      - Address family of the socket. sendmail uses V(inet) when the key is missing.
    type: str
    choices: [inet, inet6]
  addr:
    description:
      - Address to listen on (C(Addr)), an IP literal of the entry's family or a host name.
      - An empty string removes the key, so the daemon listens on every address of its family.
    type: str
  port:
    description:
      - Port number (1-65535) or service name such as V(smtp) or V(submission).
      - An empty string removes the key (sendmail then uses V(smtp)).
    type: str
  modifiers:
    description:
      - Modifier letters (C(M)), for example V(Ea). Compared as a set of letters.
      - An empty string removes the key.
    type: str
  options:
    description:
      - Any other DaemonPortOptions keys by name, for example C(Listen), C(children),
        C(InputMailFilters), C(ReceiveSize). A null or empty value removes the key.
    type: dict
  bindv6only:
    description:
      - The value of C(net.ipv6.bindv6only) to plan for, instead of the one the target has now.
      - For a host whose sysctl is set to change (for example in C(/etc/sysctl.d)) before sendmail
        next starts. A wrong value lets through a layout that cannot bind.
    type: bool
  path:
    description:
      - The file to edit. A path ending in C(.cf) edits C(O DaemonPortOptions=) lines directly.
    type: path
    default: /etc/mail/sendmail.mc
notes:
  - After a change to a .mc, rebuild sendmail.cf and restart sendmail; RV(rebuild_needed) says when.
seealso:
  - module: dualstack.mta.sendmail_client
  - module: dualstack.mta.sendmail_mc
"""

EXAMPLES = r"""
- name: Listen on IPv6 next to the Debian default IPv4 daemon
  dualstack.mta.sendmail_daemon:
    name: MTA-v6
    family: inet6
    addr: "2001:db8::25"
    port: smtp

- name: "One daemon on :: for IPv4 and IPv6 (needs net.ipv6.bindv6only=0)"
  dualstack.mta.sendmail_daemon:
    name: MTA-v6
    family: inet6
    addr: "::"
    replaces: [MTA-v4]  # the inet daemon on the same port goes in the same edit

- name: Submission port with a larger listen queue
  dualstack.mta.sendmail_daemon:
    name: MSP-v6
    family: inet6
    addr: "::1"
    port: submission
    modifiers: Ea
    options:
      Listen: 64

- name: Keep the example entry, but commented out
  dualstack.mta.sendmail_daemon:
    name: MTA-v6
    state: commented

- name: Edit sendmail.cf directly, keeping a backup
  dualstack.mta.sendmail_daemon:
    path: /etc/mail/sendmail.cf
    name: MTA-v6
    family: inet6
    addr: "::1"
    backup: true
"""

RETURN = r"""
entry:
  description:
    - The entry with this name after the change (the active one if there is one).
    - V(null) when O(state=absent).
  returned: always
  type: dict
  sample:
    name: MTA-v6
    family: inet6
    addr: "2001:db8::25"
    port: smtp
    modifiers: null
    options: {}
    state: present
    line: 57
    text: "DAEMON_OPTIONS(``Name=MTA-v6, Family=inet6, Addr=2001:db8::25, Port=smtp'')dnl"
entries:
  description: Every DAEMON_OPTIONS entry of the file after the change, active and commented, in file order.
  returned: always
  type: list
  elements: dict
rebuild_needed:
  description:
    - V(true) when a .mc was (or in check mode would be) changed, so sendmail.cf must be rebuilt.
    - Always V(false) for a .cf, which only needs a restart of sendmail after a change.
  returned: always
  type: bool
backup_file:
  description: Name of the backup file.
  returned: when O(backup=true) and the file was changed
  type: str
  sample: /etc/mail/sendmail.mc.12345.2025-01-01@12:00:00~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.config_host import (
    PORT_ENTRY_ARGUMENTS,
    read_bindv6only,
    run_port_entry,
)


def main():
    module = AnsibleModule(argument_spec=dict(PORT_ENTRY_ARGUMENTS, bindv6only=dict(type="bool")),
                           supports_check_mode=True)
    bindv6only = module.params["bindv6only"]
    run_port_entry(module, "DAEMON_OPTIONS", read_bindv6only() if bindv6only is None else bindv6only)


if __name__ == "__main__":
    main()
