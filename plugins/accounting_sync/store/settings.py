"""Settings saved on the Configure page, per company."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from accounting_sync.store.schema import Repository, Setting


class SettingsRepository(Repository):
    def get_settings(self, company: str) -> dict[str, Any]:
        with self.session() as session:
            rows = session.scalars(select(Setting).where(Setting.company_key == company))
            return {row.key: row.value.get("v") for row in rows}

    def put_settings(self, company: str, values: dict[str, Any]) -> None:
        with self.session() as session:
            for key, value in values.items():
                session.merge(Setting(company_key=company, key=key, value={"v": value}))
