"""Cursors: named values per company, such as where the next incremental read starts."""

from __future__ import annotations

from sqlalchemy import delete

from accounting_sync.store.schema import Repository, SyncCursor


class CursorRepository(Repository):
    def get_cursor(self, company: str, name: str) -> str | None:
        with self.session() as session:
            row = session.get(SyncCursor, (company, name))
            return row.value if row else None

    def set_cursor(self, company: str, name: str, value: str) -> None:
        with self.session() as session:
            session.merge(SyncCursor(company_key=company, name=name, value=value))

    def clear_cursors(self, company: str, prefix: str) -> None:
        with self.session() as session:
            session.execute(
                delete(SyncCursor).where(SyncCursor.company_key == company, SyncCursor.name.startswith(prefix))
            )
