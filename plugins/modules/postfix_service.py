#!/usr/bin/python
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: postfix_service
short_description: Add, change, comment out or remove postfix master.cf services
version_added: 0.1.0
description:
  - Manages one service of postfix's C(master.cf) by C(name/type), its fields and its C(-o)
    parameters, through postfix's own C(postconf -M), C(-F) and C(-P) (and C(-MX), C(-M#), C(-PX)).
    The module never edits C(master.cf) itself.
  - Reports a change only when the meaning changes. A field C(-) equals its default (C(private) and
    C(unpriv) V(y), C(chroot) V(n) as in Postfix 3.0 and later, C(wakeup) V(0), C(maxproc) the
    value of C(default_process_limit)); spacing in the command does not count, nor the order of
    C(-o) parameters.
  - Edits a copy of the configuration directory, then replaces C(master.cf) with the result under
    the same lock, symlink and permission rules as M(dualstack.mta.postconf), runs
    C(postfix check), and puts the previous C(master.cf) back when the check fails.
  - Refused input (a blank or newline in a field, an unknown type, an IPv6 address without
    brackets, a port out of range, a C(-o) name that is not a parameter name) leaves C(master.cf)
    byte for byte as it was.
  - Does not reload postfix; see RV(reload_required).
author:
  - dualstack.mta maintainers (@dualstack)
requirements:
  - postfix 3.0 or later (C(postconf) and C(postfix) on the managed host)
extends_documentation_fragment:
  - dualstack.mta.attributes
options:
  service:
    description:
      - The service as C(name/type), for example V(submission/inet), V(smtps/inet),
        V([2001:db8::25]:smtp/inet) or V(127.0.0.1:smtp/inet).
      - The type is one of V(inet), V(unix), V(unix-dgram), V(fifo) or V(pass). An inet name is a
        port (number 1-65535 or service name), C(host:port), or C([IPv6 address]:port).
    type: str
    required: true
  state:
    description:
      - V(present) adds the service or changes it; V(absent) removes it (C(postconf -MX));
        V(commented) comments it out (C(postconf -M#)).
    type: str
    choices: [present, absent, commented]
    default: present
  private:
    description: The C(private) field; unset leaves it as it is (V(-) for a new service).
    type: str
  unpriv:
    description: The C(unpriv) field.
    type: str
  chroot:
    description: The C(chroot) field.
    type: str
  wakeup:
    description: The C(wakeup) field, a number of seconds (optionally ending in C(?)) or V(-).
    type: str
  maxproc:
    description: The C(maxproc) field, a number or V(-).
    type: str
  command:
    description:
      - The command and its arguments, without C(-o) parameters (give those in O(options)).
      - Required to add a service.
    type: str
  options:
    description:
      - C(-o) parameters of the service, as a mapping of name to value; a null value removes the
        parameter. Parameters not named here are kept.
      - Values may not contain blanks, braces, newlines or control characters.
    type: dict
    default: {}
  config_dir:
    description:
      - The configuration directory of the postfix instance (C(postconf -c)).
    type: path
notes:
  - A service added with O(state=present) is appended as an active line; a commented stock entry
    of the same name stays as the comment it is.
  - A new or removed inet service takes effect with C(postfix reload).
seealso:
  - module: dualstack.mta.postconf
  - name: master(5)
    description: The master.cf fields.
    link: https://www.postfix.org/master.5.html
"""

EXAMPLES = r"""
- name: Mail submission on port 587 with TLS and SASL
  dualstack.mta.postfix_service:
    service: submission/inet
    private: "n"
    chroot: "y"
    command: smtpd
    options:
      syslog_name: postfix/submission
      smtpd_tls_security_level: encrypt
      smtpd_sasl_auth_enable: "yes"
  register: __submission

- name: Reload postfix when a service changed
  ansible.builtin.command: postfix reload
  when: __submission.changed
  changed_when: true

- name: SMTP on one IPv6 address only
  dualstack.mta.postfix_service:
    service: "[2001:db8::25]:smtp/inet"
    private: "n"
    command: smtpd

- name: Remove a service bound to the IPv4 loopback address
  dualstack.mta.postfix_service:
    service: 127.0.0.1:smtp/inet
    state: absent
"""

RETURN = r"""
changes:
  description: What changed (in check mode, what would change), one line per field or parameter.
  returned: always
  type: list
  elements: str
  sample: ["submission/inet added"]
commands:
  description: The postconf arguments the change ran (or would run).
  returned: always
  type: list
  elements: str
  sample: ["-M submission/inet=submission inet n - y - - smtpd -o smtpd_sasl_auth_enable=yes"]
reload_required:
  description: Whether master.cf changed, so that C(postfix reload) is needed.
  returned: always
  type: bool
  sample: true
config_dir:
  description: The configuration directory whose master.cf was read.
  returned: always
  type: str
  sample: /etc/postfix
postconf_warnings:
  description: Warnings C(postfix check) printed; also shown as task warnings.
  returned: always
  type: list
  elements: str
  sample: []
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dualstack.mta.plugins.module_utils._safe_file import describe
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.postconf_host import Failure
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.service import Problem, wanted_service
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.service_host import run


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            service=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent", "commented"], default="present"),
            private=dict(type="str"),
            unpriv=dict(type="str"),
            chroot=dict(type="str"),
            wakeup=dict(type="str"),
            maxproc=dict(type="str"),
            command=dict(type="str"),
            options=dict(type="dict", default={}),
            config_dir=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        wanted = wanted_service(
            p["service"], p["state"],
            {name: p[name] for name in ("private", "unpriv", "chroot", "wakeup", "maxproc")},
            p["command"], p["options"],
        )
    except Problem as problem:
        module.fail_json(msg=str(problem))
    try:
        module.exit_json(**run(module, wanted))
    except (Failure, Problem) as failure:
        module.fail_json(msg=str(getattr(failure, "msg", failure)), **getattr(failure, "details", {}))
    except Exception as error:
        module.fail_json(msg=f"master.cf: the task failed unexpectedly: {describe(error)}",
                         exception=traceback.format_exc())


if __name__ == "__main__":
    main()
