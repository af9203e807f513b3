# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Options of the modules that edit sendmail.mc (and sendmail.cf)."""

    DOCUMENTATION = r"""
requirements:
  - m4 and the sendmail-cf macros, to validate a .mc
options:
  backup:
    description:
      - Keep a timestamped copy of the file before changing it, named C(<path>.<pid>.<date>~) beside
        O(path). The copy gets that name only once it is complete; when the file then cannot be
        changed, the copy is removed again.
    type: bool
    default: false
notes:
  - The file is locked for the whole change, so concurrent runs lose no update.
  - When O(path) is a symbolic link, the file it points to is changed and the link stays.
  - The file is replaced through a temp file in its own directory (fsync, rename), keeping owner, mode,
    ACLs and SELinux context. Temp files left by a killed run (C(.<name>.<pid>.<random>.dualstack.tmp),
    whose process has ended) are removed by the next run; no other file beside O(path) is ever
    removed or replaced. A failed write leaves the file as it was and fails with the file, the step
    and the cause.
"""

    # DAEMON_OPTIONS and CLIENT_OPTIONS entries.
    PORT_ENTRY = r"""
options:
  replaces:
    description:
      - Names of entries of the same kind that this one takes over from. With O(state=present) or
        O(state=commented) they are removed in the same edit, so the new entry is never checked
        against an entry on its way out, and check mode predicts what a real run does.
      - For example O(name=MTA-v6) on V(::) replacing V(MTA-v4) on C(127.0.0.1).
    type: list
    elements: str
    default: []
  validate:
    description:
      - Build the candidate .mc with m4 (exit 0 and no error output), check that the built .cf
        holds the entry exactly as given, and, where sendmail is installed, run
        C(sendmail -C candidate.cf -bC). The file is changed only when all of this passes.
      - When m4 or C(sendmail -bC) refuses the candidate, the current file is checked the same way.
        Problems it already has come back as warnings naming the line and the fix, and only problems
        that the change itself adds refuse it. A current file that m4 cannot build at all is said
        to be so, and nothing changes.
    type: bool
    default: true
"""
