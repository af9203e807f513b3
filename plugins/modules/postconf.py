#!/usr/bin/python
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: postconf
short_description: Set or remove postfix main.cf parameters for a dual-stack mail system
version_added: 0.1.0
description:
  - Sets or removes parameters in postfix's C(main.cf) through postfix's own C(postconf) command,
    and reports a change only when the value postconf reports differs in meaning from the wanted
    one. Spacing and comma or space list separators never count; neither do the order of
    C(inet_protocols) (V(ipv6, ipv4) is V(ipv4, ipv6) is V(all)) and C(inet_interfaces), brackets
    and the spelling of IP addresses, or the order of a C(mynetworks) list of networks without
    negations, files or tables.
  - Checks the values of the parameters that decide the address families before anything is
    written - C(inet_protocols), C(inet_interfaces), C(smtp_bind_address), C(smtp_bind_address6),
    C(mynetworks) and C(smtp_address_preference) - and refuses settings that contradict each other,
    such as C(smtp_bind_address6) while C(inet_protocols) leaves out IPv6.
  - Tries every change on a copy of C(main.cf) first and asks postconf which addresses postfix
    would listen on, so a host without IPv6 is found before C(main.cf) changes.
  - Edits a copy of C(main.cf) with C(postconf -e) and C(postconf -X), then replaces C(main.cf) with
    it through a temp file in the same directory, fsync and rename, under a lock that other runs of
    this module wait for. Owner, mode, ACLs and SELinux context of C(main.cf) are kept
    (C(postconf -e) would leave it at 0644).
  - When C(main.cf) is a symbolic link, the file it points to is changed and the link stays
    (C(postconf -e) itself would replace the link with a regular file).
  - After a change, runs C(postfix check); when it fails, puts the previous C(main.cf) back and fails.
  - A refused or failed task leaves C(main.cf) byte for byte as it was, and no temp file. Failure
    messages name the file and the cause (for example a full or read-only file system, or an
    immutable file). Temp files that an earlier, killed run of this module left beside C(main.cf)
    (C(.main.cf.<pid>.<random>.dualstack.tmp), whose process has ended) are removed; no other
    file there is ever removed or replaced.
  - On a host where C(postconf) cannot read C(main.cf) at all because it names an address no
    interface has (C(no local interface found for ::1), as with the stock EL C(main.cf) on a host
    without IPv6), reads the settings with C(inet_protocols=ipv4) in place for that read and warns,
    so a task that sets C(inet_protocols) (or O(ipv6_fallback=true)) can repair the file.
  - Does not restart or reload postfix; see RV(restart_required) and RV(reload_required).
author:
  - dualstack.mta maintainers (@dualstack)
requirements:
  - postfix (C(postconf) and C(postfix) on the managed host); nothing beyond the Python standard library
extends_documentation_fragment:
  - dualstack.mta.attributes
options:
  parameters:
    description:
      - The main.cf parameters to set, as a mapping of name to value.
      - Values may be strings, numbers, booleans (written as V(yes) or V(no)) or lists (joined with
        commas).
      - With O(state=absent), a list of names to remove (a mapping's values are ignored).
      - Mutually exclusive with O(name).
    type: raw
  name:
    description:
      - One parameter to set or remove, with O(value).
      - Mutually exclusive with O(parameters).
    type: str
  value:
    description:
      - The value for O(name). Required with O(name) and O(state=present).
    type: raw
  state:
    description:
      - V(present) sets the parameters; V(absent) removes them from main.cf (C(postconf -X)), so
        postfix uses its default again.
    type: str
    choices: [present, absent]
    default: present
  config_dir:
    description:
      - The configuration directory of the postfix instance (C(postconf -c)).
      - The default is the instance postconf uses without C(-c), normally C(/etc/postfix).
    type: path
  ipv6_fallback:
    description:
      - What to do when the resulting C(inet_protocols) asks for IPv6 but the host has none
        (no IPv6 in the kernel, no IPv6 address on any interface, or postconf failing with
        C(no local interface found for ::1)).
      - V(false) fails and leaves main.cf as it was.
      - V(true) sets C(inet_protocols) to V(ipv4) instead and warns.
    type: bool
    default: false
  backup:
    description:
      - Before a change, copy C(main.cf) beside it under a name with the time in it (as
        M(ansible.builtin.copy) does), and return the copy's name in RV(backup_file), so a play can
        put the previous C(main.cf) back when postfix does not come up with the new one.
      - The module never removes or replaces a backup.
    type: bool
    default: false
notes:
  - Values may not contain newlines, tabs, NUL or other control characters, anywhere in the value;
    such a task is refused and C(main.cf) stays as it was. Write IPv6 networks in
    C(mynetworks) in brackets, for example C([2001:db8::]/32).
  - Changes of C(inet_protocols) and C(inet_interfaces) need C(postfix stop) and C(postfix start);
    a reload does not apply them.
  - Warns when a master.cf smtpd service listens on a fixed address, which C(inet_interfaces)
    does not change.
seealso:
  - name: Postfix IPv6 support
    description: How postfix uses IPv4 and IPv6.
    link: https://www.postfix.org/IPV6_README.html
  - name: postconf(5)
    description: Every main.cf parameter.
    link: https://www.postfix.org/postconf.5.html
"""

EXAMPLES = r"""
- name: Receive and send mail over IPv4 and IPv6
  dualstack.mta.postconf:
    parameters:
      inet_protocols: all
      inet_interfaces: all
      mynetworks:
        - 127.0.0.0/8
        - "[::1]/128"
        - 198.51.100.0/24
        - "[2001:db8:25::]/64"
  register: __postfix_main_cf

- name: Restart postfix when the listening sockets change (a reload does not apply them)
  ansible.builtin.systemd_service:
    name: postfix
    state: restarted
  when: __postfix_main_cf.restart_required

- name: Send from fixed source addresses, one per family
  dualstack.mta.postconf:
    parameters:
      smtp_bind_address: 198.51.100.25
      smtp_bind_address6: "2001:db8:25::25"
      smtp_address_preference: ipv6

- name: IPv6 where the host has it, IPv4 only otherwise (with a warning)
  dualstack.mta.postconf:
    name: inet_protocols
    value: all
    ipv6_fallback: true

- name: Let postfix choose the source address again
  dualstack.mta.postconf:
    parameters:
      - smtp_bind_address
      - smtp_bind_address6
    state: absent

- name: Configure a second instance
  dualstack.mta.postconf:
    config_dir: /etc/postfix-out
    name: inet_interfaces
    value: 198.51.100.26, [2001:db8:25::26]
"""

RETURN = r"""
changes:
  description:
    - The parameters that change (in check mode, that would change), with the value postconf
      reported before and the value after.
    - C(before) is null for a parameter postconf did not know; C(after) is null for a
      removed parameter.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "inet_protocols", "before": "ipv4", "after": "all"}]
restart_required:
  description: Whether the change needs postfix stopped and started (C(inet_protocols) or C(inet_interfaces) changed).
  returned: always
  type: bool
  sample: true
reload_required:
  description: Whether the change needs a C(postfix reload) (and no restart).
  returned: always
  type: bool
  sample: false
ipv6_fallback_applied:
  description: Whether the host had no IPv6 and O(ipv6_fallback) set C(inet_protocols) to V(ipv4).
  returned: always
  type: bool
  sample: false
config_dir:
  description: The configuration directory whose main.cf was read.
  returned: always
  type: str
  sample: /etc/postfix
backup_file:
  description: The copy of the previous C(main.cf).
  returned: when O(backup=true) and main.cf changed (not in check mode)
  type: str
  sample: /etc/postfix/main.cf.2741.2026-12-05@21:40:12~
postconf_warnings:
  description:
    - Warnings postconf and C(postfix check) printed, such as an unknown parameter name. Also shown
      as task warnings.
  returned: always
  type: list
  elements: str
  sample: ["postconf: warning: inet_protocol: unknown parameter"]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dualstack.mta.plugins.module_utils._safe_file import describe
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.postconf import (
    Problem,
    validate,
    wanted_settings,
)
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.postconf_host import Failure, run


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            parameters=dict(type="raw"),
            name=dict(type="str"),
            value=dict(type="raw"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            config_dir=dict(type="path"),
            ipv6_fallback=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("parameters", "name")],
        required_one_of=[("parameters", "name")],
        required_by={"value": "name"},
        supports_check_mode=True,
    )
    p = module.params
    try:
        wanted = wanted_settings(p["parameters"], p["name"], p["value"], p["state"])
    except Problem as problem:
        module.fail_json(msg=str(problem))
    problems = validate(wanted)
    if problems:
        module.fail_json(msg="; ".join(problems), problems=problems)
    try:
        module.exit_json(**run(module, wanted))
    except Failure as failure:
        module.fail_json(msg=failure.msg, **failure.details)
    except Exception as error:
        module.fail_json(
            msg="main.cf in {}: the task failed unexpectedly: {}. main.cf is unchanged unless the failure came "
            "after the write; compare it with postconf -n and run the task again".format(p["config_dir"] or "the default postfix instance", describe(error)),
            exception=traceback.format_exc(),
        )


if __name__ == "__main__":
    main()
