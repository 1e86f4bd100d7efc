"""Everything one running Invoiced sandbox holds, in one place for the routes."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.common.faults import FaultInjector
from sandbox.common.middleware import RequestStats
from sandbox.common.webhooks import WebhookSender
from sandbox.invoiced.clock import SandboxClock
from sandbox.invoiced.config import InvoicedConfig
from sandbox.invoiced.gateway import IdempotencyCache
from sandbox.invoiced.listing import PaginationCursors
from sandbox.invoiced.store import Store
from sandbox.invoiced.webhooks import EventLog, sender


@dataclass
class SandboxState:
    config: InvoicedConfig
    clock: SandboxClock
    store: Store
    faults: FaultInjector
    stats: RequestStats
    idempotency: IdempotencyCache
    cursors: PaginationCursors
    webhooks: WebhookSender
    events: EventLog

    @classmethod
    def create(cls, config: InvoicedConfig) -> SandboxState:
        clock = SandboxClock(config.clock_start)
        webhooks = sender()
        return cls(
            config=config,
            clock=clock,
            store=Store(clock, config),
            faults=FaultInjector(),
            stats=RequestStats(),
            idempotency=IdempotencyCache(lambda: config.idempotency_ttl_seconds, clock.now),
            cursors=PaginationCursors(config.pagination_cursor_ttl_seconds),
            webhooks=webhooks,
            events=EventLog(webhooks),
        )

    def reset(self) -> None:
        """An empty account: records, idempotency replays, page cursors and the webhook receiver all go."""
        self.store.reset()
        self.idempotency.clear()
        self.cursors.clear()
        self.webhooks.unregister()
