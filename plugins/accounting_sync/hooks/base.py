"""The one way the pipeline looks up an Airflow connection.

``BaseHook.get_connection`` is the public Task SDK call; the SDK picks the right source
for the process it runs in (the API server inside a task, the metadata DB in the API
server, environment variables and secrets backends elsewhere), so nothing here needs to
know which process it is in.
"""

from __future__ import annotations

from accounting_sync.connections import ConnectionLike, MissingConnection


def lookup_connection(conn_id: str) -> ConnectionLike:
    """The connection, or ``MissingConnection`` naming it."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn: ConnectionLike = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise MissingConnection(f"Airflow connection {conn_id!r} is not defined") from None
    return conn
