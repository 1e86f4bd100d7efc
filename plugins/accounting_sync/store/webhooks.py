"""Webhook events: stored once per event id, then claimed by the trigger that turns them
into an Airflow asset event for the company's DAG."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from accounting_sync.common.values import utcnow
from accounting_sync.store.schema import ReceivedEvent, Repository

KEEP_ANNOUNCED = timedelta(days=7)
"""How long an announced event is kept to recognise a repeat: Invoiced retries for two
days, Intuit's schedules end within a day."""


class WebhookRepository(Repository):
    def record_webhook_events(self, rows: Iterable[dict[str, Any]]) -> int:
        """Store the events not stored yet; returns how many were new. A repeated delivery
        (even a concurrent one) is recognised by its (company, source, event id)."""
        new = 0
        with self.session() as session:
            for row in rows:
                key = (row["company_key"], row["source"], row["event_id"])
                known = select(ReceivedEvent.id).where(
                    ReceivedEvent.company_key == key[0], ReceivedEvent.source == key[1], ReceivedEvent.event_id == key[2]
                )
                if session.scalar(known) is not None:
                    continue
                try:
                    with session.begin_nested():
                        session.add(ReceivedEvent(**row))
                except IntegrityError:
                    continue  # the same event, stored by a delivery running alongside
                new += 1
        return new

    def claim_webhook_events(self, company: str, source: str) -> int:
        """Mark the company's unannounced events from ``source`` announced; how many there
        were. Events announced longer than ``KEEP_ANNOUNCED`` ago go."""
        with self.session() as session:
            session.execute(delete(ReceivedEvent).where(
                ReceivedEvent.company_key == company, ReceivedEvent.announced_at < utcnow() - KEEP_ANNOUNCED))
            result = session.execute(
                update(ReceivedEvent)
                .where(
                    ReceivedEvent.company_key == company,
                    ReceivedEvent.source == source,
                    ReceivedEvent.announced_at.is_(None),
                )
                .values(announced_at=utcnow())
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def webhook_events(self, company: str, limit: int = 100) -> list[ReceivedEvent]:
        """The newest events of a company first."""
        query = select(ReceivedEvent).where(ReceivedEvent.company_key == company)
        with self.session() as session:
            return list(session.scalars(query.order_by(ReceivedEvent.id.desc()).limit(limit)))
