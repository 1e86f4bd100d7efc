"""Where the tests' Airflow looks for plugin files.

From a plain checkout the Accounting Sync pages load from the repository's plugins/
folder. Once the project is installed (``make run`` installs it, editable), they load
from the package's entry point, and plugins/ would register them a second time (Airflow
reports that as a plugin import error), so an empty folder is used instead.
"""

from __future__ import annotations

import tempfile
from importlib.metadata import entry_points
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def installed() -> bool:
    return any(ep.name == "accounting_sync" for ep in entry_points(group="airflow.plugins"))


def plugins_folder(home: Path | None = None) -> Path:
    if not installed():
        return REPO / "plugins"
    folder = (home or Path(tempfile.mkdtemp(prefix="airflow-plugins-"))) / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
