# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every edit of one entry of sendmail.mc (or sendmail.cf) returns, and the states it can ask for.

Each ``ensure_*`` function (port entries in ``mc_ports``, other settings in ``mc_settings``) takes
a parsed document and the wanted state and returns a ``Plan``: the text before and after, the
entry, all entries of its kind, the lines the built sendmail.cf must contain, and warnings.
Invalid or unsafe requests raise ``RefusedChange``.  No I/O happens here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import Document, Macro

PRESENT, ABSENT, COMMENTED = "present", "absent", "commented"
# What a DAEMON_OPTIONS, CLIENT_OPTIONS, FEATURE or define can be asked to become.
ENTRY_STATES = (PRESENT, ABSENT, COMMENTED)


@dataclass(frozen=True)
class Plan:
    """One edit: the text before and after, the entry as it ends up (None when removed), every
    entry of its kind, the lines the built sendmail.cf must then contain, and warnings."""

    before: str
    after: str
    entry: dict[str, object] | None
    entries: list[dict[str, object]]
    expected_cf_lines: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        """Whether the edit changes the text."""
        return self.before != self.after


def state_of(macro: Macro) -> str:
    """PRESENT or COMMENTED: the state a macro of the file is in."""
    return COMMENTED if macro.commented else PRESENT


def remove_elements(document: Document, indexes: list[int]) -> Document:
    """``document`` without the elements at ``indexes``."""
    for index in sorted(indexes, reverse=True):
        document = document.replace_at(index, None)
    return document


__all__ = ["ABSENT", "COMMENTED", "ENTRY_STATES", "PRESENT", "Plan", "remove_elements", "state_of"]
