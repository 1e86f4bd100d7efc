"""Records a person chose to ignore (Ignore on the Accounting Sync pages), as one run of
either pipeline sees them.

An ignored record is left out of the run, even when its listing shows it again (a cursor
overlap, or a run after failures), until it changes at its source after it was ignored:
then it is synced again and the ignore is lifted. Retry lifts it by hand.

"After" allows for ``CLOCK_MARGIN``: the source stamps its changes with its own clock (and
may stamp a record a few seconds ahead, one second per save), not with ours.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from accounting_sync.common.values import aware
from accounting_sync.store.facade import StateStore

log = logging.getLogger(__name__)

CLOCK_MARGIN = timedelta(seconds=60)


class Ignores:
    def __init__(self, store: StateStore, company: str, flow: str, object_type: str) -> None:
        self.store, self.company, self.flow, self.object_type = store, company, flow, object_type
        self.since = {
            key[2]: aware(row.ignored_at) or row.ignored_at
            for key, row in store.ignored_records(company, flow).items()
            if key[1] == object_type
        }
        self.lifted: set[str] = set()

    def keep(self, record_id: str, changed_at: datetime) -> bool:
        """Whether the run takes this record: not ignored, or changed since."""
        ignored_at = self.since.get(record_id)
        if ignored_at is None:
            return True
        if changed_at > ignored_at + CLOCK_MARGIN:
            self.lifted.add(record_id)
            return True
        return False

    def lift_changed(self) -> None:
        """Lift the ignores of the records that changed (call once the listing is read)."""
        if self.lifted:
            self.store.unignore_records(self.company, self.flow, self.object_type, self.lifted)
            log.info("Changed since they were ignored, so synced again: %s %s", self.object_type, sorted(self.lifted))
