"""The wheel, installed with pip into a fresh, empty venv beside Airflow 3.3 (the pins of
constraints.txt), gives what a deployment needs and nothing from this checkout:

- ``airflow providers list`` shows the provider, ``airflow providers hooks`` its hooks,
  and the Connections form (the API server's hook metadata) the two connection types with
  their own fields;
- ``airflow plugins`` shows the Accounting Sync pages, loaded from the entry point;
- the repository's dags/ parse with no import error, on the installed package and the
  mappings defaults it carries.

Speed (a busy 2-core machine): Airflow's own wheels come from a wheelhouse kept between
runs (filled from the package index the first time, or whenever a pin changes), the venv
is made without pip (the suite's pip installs into it) and nothing is byte-compiled.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from accounting_sync.store.facade import StateStore
from tests.support.sandboxes import sandboxes

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints.txt"
AIRFLOW_PIN = "apache-airflow==3.3.2"
TIMEOUT = 600

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def wheelhouse() -> Path:
    """Per constraints file, so a changed pin starts a new one."""
    digest = hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()[:12]
    root = Path(os.environ.get("ACCOUNTING_SYNC_WHEELHOUSE") or Path.home() / ".cache" / "invoiced-qbo-airflow")
    return root / f"wheelhouse-{digest}"


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def last_json(output: str) -> Any:
    """The JSON document an Airflow CLI command printed last (its log lines come first)."""
    for line in reversed(output.splitlines()):
        if line.startswith(("[", "{")):
            return json.loads(line)
    raise AssertionError(f"no JSON in:\n{output[-3000:]}")


@dataclass
class Installed:
    venv: Path
    env: dict[str, str]
    timings: dict[str, float]

    def airflow(self, *args: str) -> Any:
        return last_json(run([str(self.venv / "bin" / "airflow"), *args, "-o", "json"], env=self.env, cwd=self.env["AIRFLOW_HOME"]).stdout)

    def python(self, code: str, **env: str) -> str:
        return run([str(self.venv / "bin" / "python"), "-c", code], env={**self.env, **env}, cwd=self.env["AIRFLOW_HOME"]).stdout


def build_wheel(out: Path) -> Path:
    """The sdist and, built from it, the wheel: proves the sdist is complete too."""
    run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)])
    (wheel,) = out.glob("invoiced_qbo_airflow-*.whl")
    return wheel


def pip_install(venv: Path, wheel: Path) -> None:
    """Install Airflow and the wheel with the constraints, offline from the wheelhouse;
    fill the wheelhouse from the index first if it lacks something."""
    house = wheelhouse()
    requirements = [AIRFLOW_PIN, str(wheel), "-c", str(CONSTRAINTS)]
    install = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-compile"]
    offline = [*install, "--no-index", "--find-links", str(house), *requirements]
    if house.is_dir() and subprocess.run(offline, capture_output=True, text=True, timeout=TIMEOUT).returncode == 0:
        return
    house.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(house), *requirements])
    for copied in house.glob("invoiced_qbo_airflow-*"):  # the project's own wheel is never cached
        copied.unlink()
    run(offline)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("wheel")
    timings: dict[str, float] = {}
    started = time.monotonic()
    wheel = build_wheel(root / "dist")
    timings["build"] = time.monotonic() - started

    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)])
    pip_install(venv, wheel)
    timings["install"] = time.monotonic() - started - timings["build"]

    home = root / "airflow-home"
    (home / "plugins").mkdir(parents=True)  # empty: the pages must come from the entry point
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "PYTHON", "ACCOUNTING_SYNC", "VIRTUAL_ENV", "_AIRFLOW"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PATH": os.pathsep.join([str(venv / "bin"), env.get("PATH", "")]),
        }
    )
    yield Installed(venv, env, timings)
    shutil.rmtree(venv, ignore_errors=True)


def test_the_venv_has_only_the_installed_package(installed: Installed) -> None:
    where = installed.python("import accounting_sync, sys; print(accounting_sync.__file__); print(sys.prefix)").split()
    assert Path(where[0]).is_relative_to(installed.venv), where
    assert not Path(where[0]).is_relative_to(REPO)
    assert Path(where[1]) == installed.venv


def test_airflow_lists_the_provider(installed: Installed) -> None:
    providers = {p["package_name"]: p for p in installed.airflow("providers", "list")}
    assert providers["invoiced-qbo-airflow"]["version"] == "0.1.0"
    assert "apache-airflow-providers-http" in providers


def test_the_hooks_are_registered_for_their_connection_types(installed: Installed) -> None:
    hooks = {h["connection_type"]: h for h in installed.airflow("providers", "hooks")}
    assert hooks["quickbooks"]["class"] == "accounting_sync.quickbooks.hook.QuickBooksHook"
    assert hooks["quickbooks"]["conn_id_attribute_name"] == "quickbooks_conn_id"
    assert hooks["invoiced"]["class"] == "accounting_sync.invoiced.hook.InvoicedHook"
    assert hooks["quickbooks"]["package_name"] == hooks["invoiced"]["package_name"] == "invoiced-qbo-airflow"
    widgets = {w["connection_parameter_name"] for w in installed.airflow("providers", "widgets")}
    assert {"extra__quickbooks__environment", "extra__quickbooks__redirect_uri", "extra__invoiced__timeout"} <= widgets


FORM = """
import json
from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
print(json.dumps({m.connection_type: m.model_dump(mode="json") for m in HookMetaService.hook_meta_data()}))
"""


def test_the_connections_form_shows_each_type_with_its_own_fields(installed: Installed) -> None:
    """What the API server sends the Connections page (``/ui/connections/hook_meta``)."""
    form = last_json(installed.python(FORM))
    quickbooks, invoiced = form["quickbooks"], form["invoiced"]
    assert quickbooks["hook_name"] == "QuickBooks Online" and invoiced["hook_name"] == "Invoiced"
    standard = quickbooks["standard_fields"]
    assert standard["login"]["title"] == "Client ID" and standard["password"]["title"] == "Client secret"
    assert all(standard[name]["hidden"] for name in ("host", "url_schema", "port"))
    environment = quickbooks["extra_fields"]["environment"]
    assert environment["schema"]["enum"] == ["production", "sandbox", "local"] and environment["value"] == "production"
    assert {"redirect_uri", "timeout", "rate_limit_requests", "rate_limit_batches", "rate_limit_concurrent"} <= set(
        quickbooks["extra_fields"]
    )
    host = invoiced["standard_fields"]["host"]
    assert (host["title"], host["placeholder"]) == ("API URL", "https://api.invoiced.com")
    assert invoiced["standard_fields"]["password"]["title"] == "API key"


def test_airflow_lists_the_plugin_from_the_entry_point(installed: Installed) -> None:
    plugins = {p["name"]: p for p in installed.airflow("plugins")}
    plugin = plugins["accounting_sync"]
    assert "invoiced-qbo-airflow==0.1.0" in plugin["source"] and "airflow.plugins" in plugin["source"]
    assert [app["url_prefix"] for app in plugin["fastapi_apps"]] == ["/accounting-sync"]
    assert [view["url_route"] for view in plugin["external_views"]] == ["accounting-sync"]


def test_the_repository_dags_parse_with_no_import_error(installed: Installed) -> None:
    run([str(installed.venv / "bin" / "airflow"), "db", "migrate"], env=installed.env, cwd=installed.env["AIRFLOW_HOME"])
    assert installed.airflow("dags", "list-import-errors", "--local") == []
    dags = {d["dag_id"]: d for d in installed.airflow("dags", "list", "--local")}
    assert {"qbo_sync", "qbo_import"} <= set(dags)
    assert dags["qbo_sync"]["fileloc"] == str(REPO / "dags" / "qbo_sync.py")


MAPPINGS = """
from accounting_sync.config.settings import data_file, resolve_settings
print(data_file("mappings/defaults.yaml"))
print(resolve_settings().income_account.name)
"""


def test_the_mappings_ship_in_the_package_and_include_overrides_them(installed: Installed, tmp_path: Path) -> None:
    shipped, income = installed.python(MAPPINGS).split("\n")[:2]
    assert Path(shipped).is_relative_to(installed.venv) and income == "Invoiced Income"

    mappings = tmp_path / "include" / "mappings"
    mappings.mkdir(parents=True)
    defaults = (REPO / "include" / "mappings" / "defaults.yaml").read_text(encoding="utf-8")
    (mappings / "defaults.yaml").write_text(defaults.replace("Invoiced Income", "Deployment Income"), encoding="utf-8")
    overridden, income = installed.python(MAPPINGS, ACCOUNTING_SYNC_INCLUDE_DIR=str(tmp_path / "include")).split("\n")[:2]
    assert Path(overridden) == mappings / "defaults.yaml" and income == "Deployment Income"


def test_airflow_tests_both_connection_types_through_the_installed_hooks(installed: Installed) -> None:
    """`airflow connections test` (the Connections page's Test button) resolves each type to
    its hook through the provider registry, and the hooks answer against the sandboxes."""
    with sandboxes() as boxes:
        base = boxes.qbo_url
        quickbooks = {
            "conn_type": "quickbooks",
            "host": base,
            "login": boxes.qbo_info["client_id"],
            "password": boxes.qbo_info["client_secret"],
            "extra": {"environment": "local", "token_url": f"{base}/oauth2/v1/tokens/bearer"},
        }
        invoiced = {"conn_type": "invoiced", "host": boxes.invoiced_url, "password": boxes.invoiced_info["api_key"]}
        env = {
            **installed.env,
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "ACCOUNTING_SYNC_FERNET_KEY": os.environ["ACCOUNTING_SYNC_FERNET_KEY"],
            "AIRFLOW_CONN_QUICKBOOKS_DEFAULT": json.dumps(quickbooks),
            "AIRFLOW_CONN_INVOICED_DEFAULT": json.dumps(invoiced),
        }

        def test(conn_id: str) -> subprocess.CompletedProcess[str]:
            airflow = str(installed.venv / "bin" / "airflow")
            return subprocess.run(
                [airflow, "connections", "test", conn_id], env=env, cwd=env["AIRFLOW_HOME"],
                capture_output=True, text=True, timeout=TIMEOUT,
            )

        done = test("invoiced_default")
        assert done.returncode == 0 and "Connection success!" in done.stdout, done.stdout + done.stderr
        done = test("quickbooks_default")
        assert done.returncode == 1 and "not connected yet: press Connect on the Accounting Sync page" in done.stdout

        store = StateStore(f"sqlite:///{Path(env['AIRFLOW_HOME']) / 'accounting_sync.db'}")  # the default store
        boxes.connect(store)
        done = test("quickbooks_default")
        assert done.returncode == 0 and "Connection success!" in done.stdout, done.stdout + done.stderr


def test_report_the_time_it_took(installed: Installed) -> None:
    """Not a check: the build and install times, in the test output (`-rA`)."""
    print(f"wheel build {installed.timings['build']:.0f} s, fresh venv install {installed.timings['install']:.0f} s")
