# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Attributes shared by the collection's modules."""

    # Modules that edit a file: full check mode, diff and idempotence.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing) in diff mode.
    support: full
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports no change.
    support: full
"""

    # Read-only modules: nothing to change, so check mode is the same as a normal run.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode; the module never changes anything.
    support: full
  diff_mode:
    description: The module changes nothing, so there is no diff.
    support: none
  idempotent:
    description: The module only reads state.
    support: full
"""
