"""Incremental read cursors: where the next read of one Invoiced stream starts.

A cursor is kept per company and stream in the state store. The read asks for records
with ``updated_at`` strictly after it. The next value is the server's time when the read
began, minus an overlap: a record committed a little late with an older ``updated_at`` is
still re-read next time, and records seen twice are recognised by their content hash.
Anchoring on the server's clock (its ``Date`` header), not on the newest record seen,
means a quiet account does not re-read its last burst of changes on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from accounting_sync.store.facade import StateStore


@dataclass
class Cursor:
    name: str
    start: int | None
    overlap: int
    newest_seen: int = 0
    server_time: int | None = None

    @classmethod
    def load(
        cls, store: StateStore, company: str, name: str, overlap: int, full_resync: bool = False, since: str | None = None
    ) -> Cursor:
        """The cursor for this run: none for a full resync, the ``since`` date if given."""
        if full_resync:
            start = None
        elif since:
            start = int(datetime.combine(date.fromisoformat(since[:10]), datetime.min.time(), timezone.utc).timestamp())
        else:
            stored = store.get_cursor(company, name)
            start = None if stored is None else int(stored)
        return cls(name, start, overlap)

    def params(self) -> dict[str, Any]:
        return {} if self.start is None else {"updated_after": self.start}

    def observe(self, record: dict[str, Any]) -> None:
        self.newest_seen = max(self.newest_seen, int(record.get("updated_at") or 0))

    def next_value(self) -> int:
        """Never moves backwards; without the server's time, the newest record stands in."""
        anchor = self.server_time if self.server_time is not None else self.newest_seen
        return max(anchor - self.overlap, self.start or 0, 0)
