"""Incremental read cursors: where the next read of one stream starts, in both pipelines.

A cursor is kept per company and stream in the state store as the *position* the last
read reached: the server's clock when that read began, handed over with the listing, or,
when the server does not say, the newest change the read saw. The next read starts at the
position minus an overlap, so a record committed a little late with an older stamp is
still read again (records seen twice are recognised by their content hash); the position
never moves backwards. Anchoring on the server's clock rather than on the newest record
means a quiet account does not re-read its last burst of changes on every run.

Positions are UNIX seconds (``EPOCH``, Invoiced's ``updated_at``) or ISO-8601 times with
their offset (``ISO``, QuickBooks' ``LastUpdatedTime``). ISO positions are compared as
instants, never as text, and stored as the server spelt them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal, Protocol

Kind = Literal["epoch", "iso"]
EPOCH: Kind = "epoch"
ISO: Kind = "iso"


class CursorStore(Protocol):
    def get_cursor(self, company: str, name: str) -> str | None: ...


@dataclass(frozen=True)
class Stamp:
    """One point in time as a cursor keeps it: the instant, and its stored spelling."""

    at: datetime
    text: str

    @classmethod
    def parse(cls, value: str | int | float, kind: Kind) -> Stamp:
        if kind == EPOCH:
            seconds = int(value)
            return cls(datetime.fromtimestamp(seconds, timezone.utc), str(seconds))
        return cls(datetime.fromisoformat(str(value)), str(value))

    @classmethod
    def of(cls, at: datetime, kind: Kind) -> Stamp:
        return cls(at, str(int(at.timestamp())) if kind == EPOCH else at.isoformat(timespec="seconds"))


def _later(first: Stamp | None, second: Stamp | None) -> Stamp | None:
    """The later of two stamps (the first one on a tie, or when the other is missing)."""
    if first is None or (second is not None and second.at > first.at):
        return second
    return first


@dataclass
class Cursor:
    """One read of one stream: where it starts, and what it learns about the next one."""

    name: str
    overlap: timedelta
    kind: Kind = EPOCH
    start: datetime | None = None
    """Where this read starts (``None``: read everything)."""
    floor: Stamp | None = None
    """The position this read started from: the next one is never earlier."""
    newest: Stamp | None = None
    server_time: Stamp | None = None

    @classmethod
    def load(
        cls,
        store: CursorStore,
        company: str,
        name: str,
        overlap_seconds: int,
        *,
        kind: Kind = EPOCH,
        full: bool = False,
        since: str | None = None,
    ) -> Cursor:
        """The cursor of this run: none for a full read, the ``since`` date (midnight UTC)
        if given, else the stored position minus the overlap."""
        overlap = timedelta(seconds=overlap_seconds)
        if full:
            return cls(name, overlap, kind)
        if since:
            start = datetime.combine(date.fromisoformat(since[:10]), time(), timezone.utc)
            return cls(name, overlap, kind, start, Stamp.of(start + overlap, kind))
        stored = store.get_cursor(company, name)
        if stored is None:
            return cls(name, overlap, kind)
        position = Stamp.parse(stored, kind)
        return cls(name, overlap, kind, position.at - overlap, position)

    @property
    def start_epoch(self) -> int | None:
        return None if self.start is None else int(self.start.timestamp())

    @property
    def start_iso(self) -> str | None:
        return None if self.start is None else self.start.isoformat(timespec="seconds")

    def observe(self, stamp: str | int | float) -> None:
        """A record this read saw, by its change stamp."""
        self.newest = _later(self.newest, Stamp.parse(stamp, self.kind))

    def read_at(self, server_time: datetime | None) -> None:
        """The server's clock when the listing began, as the listing reported it."""
        self.server_time = None if server_time is None else Stamp.of(server_time, self.kind)

    def next_position(self) -> str | None:
        """What to store for the next read; ``None`` when this read learnt nothing."""
        anchor = self.server_time or self.newest
        if anchor is None:
            return None
        position = _later(self.floor, anchor)
        return position.text if position else None
