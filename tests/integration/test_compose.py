"""docker-compose.yaml, Dockerfile and .env.example, checked without a Docker engine.

`docker-compose config` (Debian's docker-compose, installed by scripts/system-deps.sh)
validates and resolves the file the way `up` would, in a copy of the project set up as the
README says: .env made from .env.example with the REQUIRED values filled in. The checks
then hold the compose file to what README.md promises.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"
REQUIRED = ("FERNET_KEY", "JWT_SECRET", "API_SECRET_KEY", "STATE_STORE_PASSWORD", "_AIRFLOW_WWW_USER_PASSWORD")
FILLED = {
    "FERNET_KEY": Fernet.generate_key().decode(),
    "JWT_SECRET": "test-jwt-secret",
    "API_SECRET_KEY": "test-api-secret",
    "STATE_STORE_PASSWORD": "test-state-store-password",
    "_AIRFLOW_WWW_USER_PASSWORD": "test-password",
    "FLOWER_BASIC_AUTH": "flo:test-flower-password",
}
# Which containers may hold each secret of .env, as a variable of its own (connections
# carry the state store password and the sandboxes' credentials inside their URLs).
SECRET_HOLDERS = {
    "FLOWER_BASIC_AUTH": {"flower"},
    "_AIRFLOW_WWW_USER_PASSWORD": {"airflow-init"},
    "STATE_STORE_PASSWORD": set(),
    "QBO_SANDBOX_CLIENT_SECRET": {"quickbooks-sandbox"},
    "INVOICED_SANDBOX_API_KEY": {"invoiced-sandbox"},
}
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
SANDBOX_SERVICES = {"quickbooks-sandbox", "invoiced-sandbox", "sandbox-connect"}
MOUNTED = {"dags", "include"}
EXECUTION_API = "http://airflow-apiserver:8080/execution/"


def docker_compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose not found: install Debian's docker-compose package (make test does)"
    return subprocess.run([binary, *args], cwd=project, capture_output=True, text=True, timeout=120)


def env_lines(path: Path) -> dict[str, str]:
    """The KEY=value lines of an env file, values as compose reads them (outer quotes off)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value[1:-1] if value[:1] == value[-1:] == "'" else value
    return values


def make_project(directory: Path, fill: dict[str, str]) -> Path:
    """A copy of what compose reads, with .env = .env.example plus the given values."""
    for name in ("docker-compose.yaml", "Dockerfile", ".dockerignore"):
        shutil.copy(REPO / name, directory / name)
    lines = [
        f"{key}={fill[key]}" if (key := line.partition("=")[0]) in fill else line
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    ]
    (directory / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield make_project(tmp_path_factory.mktemp("compose"), FILLED)


@pytest.fixture(scope="module")
def config(project: Path) -> dict[str, Any]:
    done = docker_compose(project, "--profile", "sandbox", "config")
    assert done.returncode == 0, done.stderr
    return dict(yaml.safe_load(done.stdout))


def services(config: dict[str, Any], names: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in sorted(names):
        yield name, config["services"][name]


def targets(service: dict[str, Any]) -> dict[str, str]:
    """Mount target -> source (a host path or a volume name)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        mounts[target] = source
    return mounts


def test_the_topology_starts_by_default_and_the_sandboxes_on_request(config: dict[str, Any]) -> None:
    """Services without a profile start on a plain `up` (Debian's docker-compose 1.29 lists
    profiled services in `config` too, so the profiles themselves are checked)."""
    assert set(config["services"]) == {"postgres", "redis", "flower", *AIRFLOW_SERVICES, *SANDBOX_SERVICES}
    for name, service in services(config, {"postgres", "redis", *AIRFLOW_SERVICES}):
        assert "profiles" not in service, name
    for name, service in services(config, SANDBOX_SERVICES):
        assert service["profiles"] == ["sandbox"], name
    assert config["services"]["flower"]["profiles"] == ["flower"]


def test_every_airflow_service_shares_the_celery_setup(config: dict[str, Any], project: Path) -> None:
    for name, service in services(config, AIRFLOW_SERVICES | {"sandbox-connect"}):
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://"), name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow"), name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == EXECUTION_API, name
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false", name
        assert env["AIRFLOW__CORE__FERNET_KEY"] == FILLED["FERNET_KEY"], name
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == FILLED["JWT_SECRET"], name
        assert env["AIRFLOW__API__SECRET_KEY"] == FILLED["API_SECRET_KEY"], name
        assert env["AIRFLOW_CONN_ACCOUNTING_SYNC_DB"].endswith("@postgres:5432/accounting_sync"), name
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in env, name
        assert service["build"]["context"] == str(project), name


def test_dags_and_include_are_mounted_under_opt_airflow(config: dict[str, Any], project: Path) -> None:
    """The package comes from the image's wheel: mounting plugins/ as well would register
    the Accounting Sync pages twice (once from the folder, once from the entry point)."""
    for name, service in services(config, AIRFLOW_SERVICES | {"sandbox-connect"}):
        mounts = targets(service)
        for folder in MOUNTED - ({"dags"} if name == "sandbox-connect" else set()):
            assert mounts.get(f"/opt/airflow/{folder}") == str(project / folder), (name, folder)
        assert "/opt/airflow/plugins" not in mounts, name


def test_connections_come_from_env_file(config: dict[str, Any]) -> None:
    """Every AIRFLOW_CONN_* line of .env reaches every Airflow container, so a new company
    needs no change to the compose file."""
    connections = {key: val for key, val in env_lines(ENV_EXAMPLE).items() if key.startswith("AIRFLOW_CONN_")}
    assert set(connections) >= {"AIRFLOW_CONN_QUICKBOOKS_DEFAULT", "AIRFLOW_CONN_INVOICED_DEFAULT"}
    for name, service in services(config, AIRFLOW_SERVICES):
        for key, value in connections.items():
            assert json.loads(service["environment"][key]) == json.loads(value), (name, key)


def test_only_init_gets_the_ui_password(config: dict[str, Any]) -> None:
    for name, service in services(config, AIRFLOW_SERVICES - {"airflow-init"}):
        assert service["environment"]["_AIRFLOW_WWW_USER_PASSWORD"] == "", name
    init = config["services"]["airflow-init"]
    assert init["environment"]["_AIRFLOW_WWW_USER_PASSWORD"] == FILLED["_AIRFLOW_WWW_USER_PASSWORD"]


def published(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host address, host port) of every published port, as `config` resolves them (the
    short `address:port:port` form, or the long form of newer compose versions)."""
    found = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            found.append((str(port.get("host_ip", "")), str(port["published"])))
        else:
            parts = str(port).split(":")
            found.append((parts[0] if len(parts) == 3 else "", parts[-2] if len(parts) > 1 else parts[0]))
    return found


def test_nothing_is_published_beyond_this_machine(config: dict[str, Any]) -> None:
    """The API server, Flower and the sandboxes listen on loopback unless told otherwise."""
    for name in ("airflow-apiserver", "flower", "quickbooks-sandbox", "invoiced-sandbox"):
        ports = published(config["services"][name])
        assert ports and all(address == "127.0.0.1" for address, _ in ports), (name, ports)
    for name, service in config["services"].items():
        assert all(address == "127.0.0.1" for address, _ in published(service)), name


def test_each_secret_reaches_only_the_containers_that_need_it(config: dict[str, Any]) -> None:
    example = env_lines(ENV_EXAMPLE)
    for key, holders in SECRET_HOLDERS.items():
        secret = FILLED.get(key) or example[key]
        holding = {
            name for name, service in config["services"].items()
            if secret in {str(value) for value in (service.get("environment") or {}).values()}
        }
        assert holding == holders, key


def test_the_state_store_uses_its_own_role(config: dict[str, Any]) -> None:
    for name, service in services(config, AIRFLOW_SERVICES):
        url = service["environment"]["AIRFLOW_CONN_ACCOUNTING_SYNC_DB"]
        assert url == f"postgres://accounting_sync:{FILLED['STATE_STORE_PASSWORD']}@postgres:5432/accounting_sync", name
        assert "airflow:airflow" not in url


def test_flower_refuses_to_start_without_basic_auth(config: dict[str, Any]) -> None:
    flower = config["services"]["flower"]
    script = " ".join(flower["command"])
    assert "AIRFLOW__CELERY__FLOWER_BASIC_AUTH" in script and "exit 1" in script
    assert "exec /entrypoint airflow celery flower" in script
    assert env_lines(ENV_EXAMPLE)["FLOWER_BASIC_AUTH"] == ""  # unset in the example
    assert flower["environment"]["AIRFLOW__CELERY__FLOWER_BASIC_AUTH"] == FILLED["FLOWER_BASIC_AUTH"]


def test_no_service_lifts_oauthlibs_https_check(config: dict[str, Any]) -> None:
    """Plain HTTP is a property of a local connection (the sandbox's), never of a process."""
    for name, service in config["services"].items():
        assert "OAUTHLIB_INSECURE_TRANSPORT" not in (service.get("environment") or {}), name


def test_only_the_api_server_and_init_mount_the_ui_password_volume(config: dict[str, Any]) -> None:
    holders = {name for name, service in config["services"].items()
               if "/opt/airflow/auth" in targets(service)}
    assert holders == {"airflow-apiserver", "airflow-init"}


def test_init_migrates_and_runs_deploy_init(config: dict[str, Any], project: Path) -> None:
    init = config["services"]["airflow-init"]
    script = " ".join(init["command"])
    assert "airflow db migrate" in script
    assert "python /opt/airflow/scripts/deploy_init.py" in script
    assert targets(init)["/opt/airflow/scripts"] == str(project / "scripts")
    waits_for_init = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
    for name, service in services(config, waits_for_init | {"airflow-worker"}):
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully", name


def test_worker_can_be_scaled(config: dict[str, Any]) -> None:
    worker = config["services"]["airflow-worker"]
    assert worker["command"] == "celery worker"
    assert "container_name" not in worker and "ports" not in worker


def test_sandboxes_run_as_in_make_run_with_the_env_credentials(config: dict[str, Any], project: Path) -> None:
    example = env_lines(ENV_EXAMPLE)
    for module, port in (("quickbooks", 8100), ("invoiced", 8200)):
        service = config["services"][f"{module}-sandbox"]
        assert service["entrypoint"] == ["python", "-m", f"sandbox.{module}"]
        assert service["command"] == ["--host", "0.0.0.0", "--port", str(port), "--seed-demo"]
        assert targets(service)["/opt/airflow/sandbox"] == str(project / "sandbox")
    quickbooks = json.loads(example["AIRFLOW_CONN_QUICKBOOKS_DEFAULT"])
    qbo_env = config["services"]["quickbooks-sandbox"]["environment"]
    assert (quickbooks["login"], quickbooks["password"]) == (
        qbo_env["QBO_SANDBOX_CLIENT_ID"],
        qbo_env["QBO_SANDBOX_CLIENT_SECRET"],
    )
    assert quickbooks["host"] == "http://quickbooks-sandbox:8100"
    invoiced = json.loads(example["AIRFLOW_CONN_INVOICED_DEFAULT"])
    invoiced_env = config["services"]["invoiced-sandbox"]["environment"]
    assert invoiced["password"] == invoiced_env["INVOICED_SANDBOX_API_KEY"]
    assert invoiced["host"] == "http://invoiced-sandbox:8200"
    connect = config["services"]["sandbox-connect"]
    assert connect["command"] == [
        "python", "/opt/airflow/scripts/connect_sandbox.py", "--webhooks", "http://airflow-apiserver:8080", "default"
    ]


def test_unfilled_env_example_is_refused(tmp_path: Path) -> None:
    done = docker_compose(make_project(tmp_path, {}), "config")
    assert done.returncode != 0
    assert any(f"set {key} in .env" in done.stderr for key in REQUIRED), done.stderr


def test_env_example_documents_every_variable() -> None:
    """Each setting has a comment above it, the REQUIRED ones ship empty, and every ${VAR}
    the compose file reads is there."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for previous, line in zip(lines, lines[1:], strict=False):
        if line and not line.startswith("#"):
            assert previous.startswith("#"), f"no comment above {line.split('=')[0]}"
    values = env_lines(ENV_EXAMPLE)
    assert all(values[key] == "" for key in REQUIRED)
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_]+)", COMPOSE.read_text(encoding="utf-8")))  # $$ escapes
    assert used <= set(values), f"not in .env.example: {used - set(values)}"


def test_dockerfile_installs_the_wheel_with_the_pins_and_copies_no_code() -> None:
    """The sources reach only the stage that builds the wheel; the image gets the wheel,
    installed in the same pip command as the pins."""
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    stages = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]
    assert len(stages) == 2, "a wheel-building stage, then the image"
    build, image = stages
    assert re.match(r"apache/airflow:3\.3\.2(-python3\.\d+)? AS wheel$", build.splitlines()[0])
    assert re.search(r"^RUN pip wheel .*--no-deps .*--wheel-dir /tmp/dist \.$", build, re.MULTILINE)
    assert re.match(r"apache/airflow:3\.3\.2(-python3\.\d+)?$", image.splitlines()[0])
    install = re.search(r"^RUN pip install .*?[^\\]$", image, re.MULTILINE | re.DOTALL)
    assert install, "no `RUN pip install` in the image stage"
    words = install.group(0).split()
    assert '"apache-airflow==3.3.2"' in words
    assert " ".join(words).count(" -r /opt/airflow/requirements/requirements.txt") == 1
    assert " ".join(words).count(" -c /opt/airflow/requirements/constraints.txt") == 1
    assert "/opt/airflow/dist/invoiced_qbo_airflow-*.whl" in words
    copied = re.findall(r"^COPY .*$", image, re.MULTILINE)
    assert copied == [
        "COPY --chown=airflow:0 requirements.txt constraints.txt /opt/airflow/requirements/",
        "COPY --from=wheel --chown=airflow:0 /tmp/dist/ /opt/airflow/dist/",
    ]
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line[:1] != "#"] == [
        "*",
        "!requirements.txt",
        "!constraints.txt",
        "!pyproject.toml",
        "!README.md",
        "!plugins",
        "!include/mappings",
        "**/__pycache__",
    ]
