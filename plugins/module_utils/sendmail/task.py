# -*- coding: utf-8 -*-
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one flow every sendmail editing module follows.

Lock the file, read it, plan the change (pure), validate the candidate,
back up, write atomically, report.  ``changed`` and the diff come from the
same comparison; check mode stops right before the backup and the write.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from typing import Callable, Optional

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_edit import (
    Plan, ensure_define, ensure_feature, ensure_masquerade_as, ensure_member, ensure_port_entry, ensure_undefine,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import CF, MC, Document
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.port_options import (
    RefusedChange, key_for_option_name,
)
from ansible_collections.dualstack.mta.plugins.module_utils._safe_file import FileError, locked, read_text, replace_file
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.check import Tools, check_candidate

DEFAULT_MC = '/etc/mail/sendmail.mc'
BINDV6ONLY = '/proc/sys/net/ipv6/bindv6only'

FILE_ARGUMENTS = dict(
    path=dict(type='path', default=DEFAULT_MC),
    backup=dict(type='bool', default=False),
    validate=dict(type='bool', default=True),
)

PORT_ENTRY_ARGUMENTS = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', default='present', choices=['present', 'absent', 'commented']),
    family=dict(type='str', choices=['inet', 'inet6']),
    addr=dict(type='str'),
    port=dict(type='str'),
    modifiers=dict(type='str'),
    options=dict(type='dict'),
    replaces=dict(type='list', elements='str', default=[]),
    **FILE_ARGUMENTS
)

_DEDICATED = {'N': 'name', 'F': 'family', 'A': 'addr', 'P': 'port', 'M': 'modifiers'}


def syntax_of(path: str) -> str:
    return CF if path.endswith('.cf') else MC


def read_bindv6only(path: str = BINDV6ONLY) -> Optional[bool]:
    """The target's net.ipv6.bindv6only; None when IPv6 is off (the file is missing)."""
    try:
        with open(path) as handle:
            return handle.read().strip() == '1'
    except OSError:
        return None


def port_changes(params: dict) -> dict:
    """Module parameters -> {key letter: value}; '' removes a key."""
    changes = {}
    for letter, option in _DEDICATED.items():
        if option != 'name' and params.get(option) is not None:
            changes[letter] = params[option]
    for key, value in (params.get('options') or {}).items():
        letter = key_for_option_name(str(key))
        if letter in _DEDICATED:
            raise RefusedChange('set %s with the %s option, not inside options' % (key, _DEDICATED[letter]))
        changes[letter] = '' if value is None else str(value)
    return changes


def _command_runner(module) -> Callable:
    def run(args, cwd):
        return module.run_command(args, cwd=cwd, environ_update={'LC_ALL': 'C', 'LANG': 'C'})
    return run


def _tools(module) -> Tools:
    return Tools(
        m4=module.get_bin_path('m4'),
        sendmail=module.get_bin_path('sendmail', opt_dirs=['/usr/sbin', '/usr/lib']),
        timeout=module.get_bin_path('timeout'),
    )


def run_edit(module, make_plan: Callable[[Document], Plan]) -> None:
    """Apply ``make_plan`` to the file at ``path`` safely and exit the module."""
    path = module.params['path']
    if not os.path.isfile(path):
        module.fail_json(msg='%s does not exist or is not a regular file' % path)
    syntax = syntax_of(path)
    result = {}
    with locked(path):
        try:
            plan = make_plan(Document.parse(read_text(path), syntax))
        except RefusedChange as error:
            module.fail_json(msg='%s: %s' % (path, error))
        for warning in plan.warnings:
            module.warn(warning)
        if plan.changed and module.params['validate']:
            workdir = tempfile.mkdtemp(prefix='sendmail-check-', dir=module.tmpdir)
            check = check_candidate(plan.after, syntax, path, workdir, _command_runner(module), _tools(module),
                                    plan.expected_cf_lines)
            if not check.ok:
                module.fail_json(msg=check.msg, rc=check.rc, stdout=check.stdout, stderr=check.stderr)
            for warning in check.warnings:
                module.warn(warning)
        if plan.changed and not module.check_mode:
            try:
                backup_file = replace_file(module, path, plan.after, module.params['backup'])
            except FileError as error:
                module.fail_json(msg=str(error), exception=traceback.format_exc())
            if backup_file:
                result['backup_file'] = backup_file

    result.update(
        changed=plan.changed,
        entry=plan.entry,
        entries=plan.entries,
        rebuild_needed=plan.changed and syntax == MC,
    )
    if module._diff:
        result['diff'] = dict(before=plan.before, after=plan.after, before_header=path, after_header=path)
    module.exit_json(**result)


def run_port_entry(module, kind: str, bindv6only: Optional[bool] = False) -> None:
    """Shared main() of sendmail_daemon and sendmail_client."""
    params = module.params
    try:
        changes = port_changes(params)
    except RefusedChange as error:
        module.fail_json(msg='%s: %s' % (params['path'], error))
    run_edit(module, lambda document: ensure_port_entry(
        document, kind, params['name'], params['state'], changes, bindv6only, tuple(params['replaces'])))


MC_SETTING_KINDS = ('feature', 'define', 'undefine', 'masquerade_as', 'masquerade_domain', 'exposed_user')

MC_SETTING_ARGUMENTS = dict(
    feature=dict(type='str'),
    feature_args=dict(type='list', elements='str'),
    define=dict(type='str'),
    value=dict(type='str'),
    undefine=dict(type='str'),
    masquerade_as=dict(type='str'),
    masquerade_domain=dict(type='str'),
    exposed_user=dict(type='str'),
    state=dict(type='str', default='present', choices=['present', 'absent', 'commented']),
    **FILE_ARGUMENTS
)

MC_SETTING_CONSTRAINTS = dict(
    mutually_exclusive=[MC_SETTING_KINDS],
    required_one_of=[MC_SETTING_KINDS],
    required_by={'feature_args': 'feature', 'value': 'define'},
)


def mc_setting_plan(params: dict) -> Callable[[Document], Plan]:
    """The plan function for the one setting the parameters name."""
    state = params['state']
    if params['feature'] is not None:
        return lambda document: ensure_feature(document, params['feature'], params['feature_args'], state)
    if params['define'] is not None:
        return lambda document: ensure_define(document, params['define'], params['value'], state)
    if params['undefine'] is not None:
        return lambda document: ensure_undefine(document, params['undefine'], state)
    if params['masquerade_as'] is not None:
        return lambda document: ensure_masquerade_as(document, params['masquerade_as'], state)
    if params['masquerade_domain'] is not None:
        return lambda document: ensure_member(document, 'MASQUERADE_DOMAIN', params['masquerade_domain'], state)
    return lambda document: ensure_member(document, 'EXPOSED_USER', params['exposed_user'], state)
