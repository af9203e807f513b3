# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sendmail role's listening intent as postfix's inet_interfaces and inet_protocols."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.dualstack.mta.plugins.module_utils.postfix.listen import (
    PostfixListenError,
    plan_postfix_listen,
)


def postfix_listen(intent):
    """``{inet_interfaces, inet_protocols, reasons}`` for what to listen on."""
    try:
        return plan_postfix_listen(intent).as_dict()
    except PostfixListenError as error:
        raise AnsibleFilterError(f"postfix_listen: {error}") from None


class FilterModule:
    """Listening intent filters."""

    def filters(self):
        return {"postfix_listen": postfix_listen}
