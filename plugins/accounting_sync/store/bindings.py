"""Bindings: which QuickBooks company and Invoiced account each set of sync state belongs
to, and the holds raised when a connection points elsewhere (the rules live in
``common/binding.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from accounting_sync.common.values import utcnow
from accounting_sync.store.schema import BindingHold, IdMap, Repository, StateBinding, SyncCursor, WriteIntent


class StateHeld(RuntimeError):
    """A connection points at another QBO company or Invoiced account than the company's
    sync state belongs to: nothing may be read into or written with that state until a
    person chooses on the Connection page."""


class BindingRepository(Repository):
    def bindings(self, company: str) -> list[StateBinding]:
        with self.session() as session:
            return list(
                session.scalars(select(StateBinding).where(StateBinding.company_key == company).order_by(StateBinding.id))
            )

    def add_binding(self, company: str, realm_id: str, fingerprint: str, anchors: dict[str, Any]) -> StateBinding:
        """A new active binding. The first one of a company uses the company key as its
        scope, so state written before bindings existed stays where it is."""
        with self.session() as session:
            taken = set(session.scalars(select(StateBinding.scope_key).where(StateBinding.company_key == company)))
            scope = company if company not in taken else next(
                f"{company}~{n}" for n in range(2, len(taken) + 3) if f"{company}~{n}" not in taken
            )
            session.execute(update(StateBinding).where(StateBinding.company_key == company).values(active=False))
            row = StateBinding(
                company_key=company,
                scope_key=scope,
                realm_id=realm_id,
                invoiced_fingerprint=fingerprint,
                invoiced_anchors=anchors,
                active=True,
            )
            session.add(row)
            session.execute(delete(BindingHold).where(BindingHold.company_key == company))
        return row

    def activate_binding(self, company: str, scope_key: str) -> None:
        with self.session() as session:
            session.execute(
                update(StateBinding)
                .where(StateBinding.company_key == company)
                .values(active=StateBinding.scope_key == scope_key)
            )
            session.execute(delete(BindingHold).where(BindingHold.company_key == company))

    def update_binding(self, scope_key: str, **values: Any) -> None:
        with self.session() as session:
            session.execute(update(StateBinding).where(StateBinding.scope_key == scope_key).values(**values))

    def holds(self, company: str) -> list[BindingHold]:
        with self.session() as session:
            return list(session.scalars(select(BindingHold).where(BindingHold.company_key == company)))

    def put_hold(self, company: str, side: str, found: str, message: str) -> None:
        with self.session() as session:
            row = session.get(BindingHold, (company, side))
            if row is None:
                session.add(BindingHold(company_key=company, side=side, found=found, message=message))
            elif row.found != found or row.message != message:
                row.found, row.message, row.detected_at = found, message, utcnow()

    def clear_hold(self, company: str, side: str) -> None:
        with self.session() as session:
            session.execute(delete(BindingHold).where(BindingHold.company_key == company, BindingHold.side == side))

    def has_state(self, scope_key: str) -> bool:
        """Whether a scope holds anything a foreign company could be harmed by."""
        with self.session() as session:
            for table, column in ((IdMap, IdMap.company_key), (WriteIntent, WriteIntent.company_key),
                                  (SyncCursor, SyncCursor.company_key)):
                if session.scalar(select(func.count()).select_from(table).where(column == scope_key)):
                    return True
        return False
