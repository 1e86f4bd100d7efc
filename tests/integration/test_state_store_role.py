"""airflow-init (scripts/deploy_init.py) gives the state store a PostgreSQL role of its
own: it owns the state database and nothing else, so the sync's credentials cannot read
Airflow's metadata or any other database on the server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ProgrammingError

from scripts.deploy_init import create_state_database


@pytest.fixture
def state_url(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[URL]:
    admin = make_url(postgres_url)
    with create_engine(admin).begin() as connection:  # a table of "Airflow's" database
        connection.execute(text("CREATE TABLE IF NOT EXISTS airflow_secret (value text)"))
    url = admin.set(username="accounting_sync", password="s3cret-pw", database="accounting_sync_role")
    monkeypatch.setenv("AIRFLOW_CONN_ACCOUNTING_SYNC_DB", url.render_as_string(hide_password=False))
    monkeypatch.setenv("ACCOUNTING_SYNC_DB_ADMIN_URL", postgres_url)
    yield url


def test_the_state_store_gets_its_own_unprivileged_role_owning_its_database(state_url: URL, postgres_url: str) -> None:
    create_state_database()
    create_state_database()  # airflow-init runs on every `up`

    with create_engine(postgres_url).connect() as admin:
        role = admin.execute(
            text("SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = 'accounting_sync'")
        ).one()
        owner = admin.scalar(
            text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'accounting_sync_role'")
        )
    state = create_engine(state_url)
    with state.connect() as connection:
        tables = connection.scalars(
            text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'id_map'")
        ).all()
    with pytest.raises(ProgrammingError, match="permission denied"), create_engine(
        state_url.set(database=make_url(postgres_url).database)
    ).connect() as elsewhere:
        elsewhere.execute(text("SELECT value FROM airflow_secret"))
    state.dispose()

    assert tuple(role) == (False, False, False, True)
    assert owner == "accounting_sync" and tables == ["accounting_sync"]
