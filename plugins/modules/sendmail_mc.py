#!/usr/bin/python
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: sendmail_mc
short_description: Manage one FEATURE, define, undefine or masquerading setting in sendmail.mc
version_added: 0.1.0
description:
  - Sets exactly one of C(FEATURE), C(define), C(undefine), C(MASQUERADE_AS),
    C(MASQUERADE_DOMAIN) or C(EXPOSED_USER) in C(sendmail.mc); every other line stays byte for byte.
  - Values are written with the quoting that makes m4 hand them to sendmail.cf unchanged, so host
    names such as C(mx.dnl.example.com) or labels that are m4 words survive. Values that could
    change the structure of the file (quotes, backquotes, parentheses, newlines, C(#)) are refused.
  - A commented-out entry (C(dnl FEATURE(...))) is reused when the setting is made present. New
    entries go after the last entry of the same kind, or before the C(MAILER) lines.
  - Before writing, the candidate is built with m4 (which must exit 0 with no error output), the
    built .cf is checked to contain the value where that is known (C(SMART_HOST), masquerading,
    C(EXPOSED_USER), C(confLOG_LEVEL), C(confDOMAIN_NAME)), and where sendmail is installed the .cf
    must pass C(sendmail -bC).
author:
  - dualstack.mta maintainers (@dualstack)
extends_documentation_fragment:
  - dualstack.mta.attributes
  - dualstack.mta.sendmail_file
options:
  feature:
    description:
      - Name of a C(FEATURE), for example V(nocanonify) or V(access_db).
    type: str
  feature_args:
    description:
      - Arguments after the feature name. When omitted, the arguments of an existing entry are kept.
      - An empty string leaves an argument empty, as in C(FEATURE(`access_db', , `skip')).
    type: list
    elements: str
  define:
    description:
      - Name to C(define); V(SMART_HOST), V(MAIL_HUB), V(LOCAL_RELAY), V(LUSER_RELAY), a
        C(*_MAILER_*) setting or any C(conf*) name such as V(confLOG_LEVEL).
      - With O(state=present) an active C(undefine) of the same name is removed.
    type: str
  value:
    description:
      - Value for O(define). Required when O(state=present).
      - V(SMART_HOST), V(MAIL_HUB) and V(LOCAL_RELAY) take a host name, C([host]) or C([address]),
        optionally after a mailer such as C(relay:).
    type: str
  undefine:
    description:
      - Name to C(undefine), which cancels a default set by C(OSTYPE) or C(DOMAIN). With
        O(state=present) an active C(define) of the same name is removed.
    type: str
  masquerade_as:
    description:
      - Domain for C(MASQUERADE_AS). There is only one; O(state=present) replaces any other.
    type: str
  masquerade_domain:
    description:
      - One domain of the C(MASQUERADE_DOMAIN) list.
    type: str
  exposed_user:
    description:
      - One user of the C(EXPOSED_USER) list (never masqueraded), for example V(root).
    type: str
  state:
    description:
      - V(present) makes the setting active, V(commented) keeps it commented out with C(dnl),
        V(absent) removes every matching entry, active or commented.
    type: str
    choices: [present, absent, commented]
    default: present
  path:
    description:
      - The sendmail.mc to edit. These settings exist only in the .mc.
    type: path
    default: /etc/mail/sendmail.mc
  validate:
    description:
      - Build the candidate with m4 and check the result with C(sendmail -bC) (where installed)
        before writing. The file is changed only when this passes.
    type: bool
    default: true
seealso:
  - module: dualstack.mta.sendmail_daemon
  - module: dualstack.mta.sendmail_client
"""

EXAMPLES = r"""
# Relay through a smart host without DNS, masquerade as company.com, log level 15.
- name: Relay everything through the smart host
  dualstack.mta.sendmail_mc:
    define: SMART_HOST
    value: "[mailhost.emea.company.com]"

- name: Do not look up recipient domains
  dualstack.mta.sendmail_mc:
    feature: "{{ item }}"
  loop:
    - nocanonify
    - accept_unresolvable_domains

- name: Masquerade as company.com
  dualstack.mta.sendmail_mc:
    masquerade_as: company.com

- name: Masquerade the whole domain and the envelope
  dualstack.mta.sendmail_mc:
    feature: "{{ item }}"
  loop: [masquerade_envelope, masquerade_entire_domain, allmasquerade, always_add_domain]

- name: Masquerade mail from company.com hosts
  dualstack.mta.sendmail_mc:
    masquerade_domain: company.com

- name: Masquerade root too
  dualstack.mta.sendmail_mc:
    exposed_user: root
    state: absent

- name: Log more while debugging
  dualstack.mta.sendmail_mc:
    define: confLOG_LEVEL
    value: "15"

- name: A feature with arguments
  dualstack.mta.sendmail_mc:
    feature: access_db
    feature_args: ["", skip]
"""

RETURN = r"""
entry:
  description:
    - The matching entry after the change (the active one if there is one); V(null) when none is left.
  returned: always
  type: dict
  sample:
    macro: define
    args: [SMART_HOST, "[mailhost.emea.company.com]"]
    state: present
    line: 94
    text: "define(`SMART_HOST', ``[mailhost.emea.company.com]'')dnl"
entries:
  description: Every entry of the same macro after the change, active and commented, in file order.
  returned: always
  type: list
  elements: dict
rebuild_needed:
  description: V(true) when the file was (or in check mode would be) changed, so sendmail.cf must be rebuilt.
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
    MC_SETTING_ARGUMENTS,
    MC_SETTING_CONSTRAINTS,
    run_setting,
)


def main():
    module = AnsibleModule(argument_spec=MC_SETTING_ARGUMENTS, supports_check_mode=True, **MC_SETTING_CONSTRAINTS)
    run_setting(module)


if __name__ == "__main__":
    main()
