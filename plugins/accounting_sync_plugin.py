"""Registers the Accounting Sync pages with Airflow: mounted at /accounting-sync in the
API server, with an "Accounting Sync" entry in the Airflow UI's navigation.

Every Airflow process loads plugins (the scheduler, the DAG processor, each task), but
only the API server serves pages, so the app and Airflow's API-server modules it needs
are imported on the first request rather than when the plugin loads.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

from accounting_sync.ui.routes import UI_ROUTE, URL_PREFIX


class LazyApp:
    """An ASGI app that builds the FastAPI app when it is first called."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from accounting_sync.ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


def _base_path() -> str:
    """Airflow's own path prefix (``[api] base_url``), so the nav entry finds the app."""
    return urlsplit(conf.get("api", "base_url", fallback="") or "/").path.rstrip("/")


class AccountingSyncPlugin(AirflowPlugin):
    name = "accounting_sync"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "Accounting Sync"}]
    external_views = [
        {
            "name": "Accounting Sync",
            "href": f"{_base_path()}{URL_PREFIX}/",
            "destination": "nav",
            "url_route": UI_ROUTE,
            "nav_top_level": True,
        }
    ]
