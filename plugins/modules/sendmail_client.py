#!/usr/bin/python
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: sendmail_client
short_description: Manage one sendmail CLIENT_OPTIONS entry (the outbound socket of a family)
version_added: 0.1.0
description:
  - Adds, changes, comments out or removes the C(CLIENT_OPTIONS) entry with a given C(Name) in
    C(sendmail.mc), or the matching C(O ClientPortOptions=) line when O(path) ends in C(.cf).
  - Use it to pin the source address of outgoing SMTP per address family, for example the IPv6
    address that has a PTR record and is listed in SPF.
  - sendmail keeps one client setting per family (the last one wins); the module warns when two
    active entries set the same family.
  - Keys are read as sendmail reads them (first letter only, last one wins) and compared by
    meaning. Invalid values, addresses of the other family and anything that could change the
    structure of the .mc or .cf are refused and the file stays untouched.
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
      - The C(Name) of the client setting; identifies the entry.
    type: str
    required: true
  state:
    description:
      - V(present) makes the entry active, V(commented) keeps it commented out, V(absent) removes
        every entry with this name.
    type: str
    choices: [present, absent, commented]
    default: present
  family:
    description:
      - Address family the setting applies to (sendmail uses V(inet) when the key is missing).
    type: str
    choices: [inet, inet6]
  addr:
    description:
      - Source address for outgoing connections, an IP literal of the entry's family or a host name.
      - An empty string removes the key.
    type: str
  port:
    description:
      - Source port (1-65535) or service name. Rarely wanted. An empty string removes the key.
    type: str
  modifiers:
    description:
      - Client modifier letters (V(h), V(A), V(S)). An empty string removes the key.
    type: str
  options:
    description:
      - Any other ClientPortOptions keys by name, for example C(SendSize). A null or empty value
        removes the key.
    type: dict
  path:
    description:
      - The file to edit. A path ending in C(.cf) edits C(O ClientPortOptions=) lines directly.
    type: path
    default: /etc/mail/sendmail.mc
seealso:
  - module: dualstack.mta.sendmail_daemon
  - module: dualstack.mta.sendmail_mc
"""

EXAMPLES = r"""
- name: Send IPv6 mail from the address that has a PTR record
  dualstack.mta.sendmail_client:
    name: MTA-v6-out
    family: inet6
    addr: "2001:db8:25::10"

- name: Pin the IPv4 source address too
  dualstack.mta.sendmail_client:
    name: MTA-v4-out
    family: inet
    addr: 198.51.100.10

- name: Stop pinning the IPv6 source address
  dualstack.mta.sendmail_client:
    name: MTA-v6-out
    state: absent
"""

RETURN = r"""
entry:
  description:
    - The entry with this name after the change (the active one if there is one).
    - V(null) when O(state=absent).
  returned: always
  type: dict
  sample:
    name: MTA-v6-out
    family: inet6
    addr: "2001:db8:25::10"
    port: null
    modifiers: null
    options: {}
    state: present
    line: 60
    text: "CLIENT_OPTIONS(``Name=MTA-v6-out, Family=inet6, Addr=2001:db8:25::10'')dnl"
entries:
  description: Every CLIENT_OPTIONS entry of the file after the change, active and commented, in file order.
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
    run_port_entry,
)


def main():
    module = AnsibleModule(argument_spec=PORT_ENTRY_ARGUMENTS, supports_check_mode=True)
    run_port_entry(module, "CLIENT_OPTIONS")


if __name__ == "__main__":
    main()
