"""Tokens: the row of a company's QuickBooks tokens, read or held under a lock (the
encryption and the refresh live in ``quickbooks/oauth.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounting_sync.store.schema import OAuthToken, Repository


class TokenRepository(Repository):
    @contextmanager
    def locked_token(self, company: str) -> Iterator[OAuthToken]:
        """The token row under a lock for the whole transaction: ``FOR UPDATE`` on
        PostgreSQL, the database write lock (``BEGIN IMMEDIATE``) on SQLite."""
        self._ensure_token_row(company)
        with self.session() as session:
            query = select(OAuthToken).where(OAuthToken.company_key == company)
            if self.is_postgres:
                query = query.with_for_update()
            yield session.scalars(query).one()

    def _ensure_token_row(self, company: str) -> None:
        """Create the row to lock; a concurrent creator winning the race is fine."""
        try:
            with self.session() as session:
                if session.get(OAuthToken, company) is None:
                    session.add(OAuthToken(company_key=company, status="disconnected", version=0))
        except IntegrityError:
            pass

    def read_token(self, company: str) -> OAuthToken | None:
        with self.session() as session:
            return session.get(OAuthToken, company)
