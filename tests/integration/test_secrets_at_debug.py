"""With logging at DEBUG, as an Airflow deployment may set it, no log line may carry the
client secret, its Basic header or a token: oauthlib and requests-oauthlib log the token
request's headers and Intuit's answer at DEBUG before anything could mask them."""

from __future__ import annotations

import base64
import importlib
import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from accounting_sync.quickbooks.oauth import TokenManager
from accounting_sync.store.facade import StateStore
from accounting_sync.ui import oauth
from tests.integration.ui.ui_support import consent
from tests.support.sandboxes import Sandboxes


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The root logger at DEBUG, every record kept, as Airflow's logging_level = DEBUG does.
    Airflow configures logging when first imported (the token code's masker imports it),
    so that happens here, before the test's records are captured."""
    importlib.import_module("airflow.sdk.log")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    caplog.handler.setLevel(logging.DEBUG)
    yield caplog
    root.setLevel(level)


def leaked(logs: pytest.LogCaptureFixture, printed: pytest.CaptureFixture[str], secrets: list[str]) -> list[str]:
    """The secrets found in any log record (message and arguments) or printed log line."""
    out, err = printed.readouterr()
    text = "\n".join([*(f"{r.name}: {r.getMessage()} {r.args!r}" for r in logs.records), out, err])
    return [secret[:6] + "…" for secret in secrets if secret and secret in text]


def token_request_logged(logs: pytest.LogCaptureFixture) -> bool:
    """A witness that DEBUG records were captured: urllib3 logs the token request line."""
    return any("tokens/bearer" in r.getMessage() for r in logs.records)


def test_a_refresh_at_debug_logs_no_secret(
    boxes: Sandboxes, store: StateStore, debug_logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    config = boxes.qbo_config()
    boxes.connect(store)
    with store.locked_token("default") as row:
        row.access_expires_at = None
    manager = TokenManager(store, "default", config)
    old_refresh = manager._decrypt(store.read_token("default").refresh_token_enc)  # noqa: SLF001 - the witness

    token = manager.access_token()

    new_refresh = manager._decrypt(store.read_token("default").refresh_token_enc)  # noqa: SLF001
    basic = base64.b64encode(f"{config.client_id}:{config.client_secret}".encode()).decode()
    assert token_request_logged(debug_logs)
    secrets = [config.client_secret, basic, token.value, old_refresh or "", new_refresh or ""]
    assert leaked(debug_logs, capsys, secrets) == []


def test_the_connect_exchange_at_debug_logs_no_secret(
    boxes: Sandboxes, debug_logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    config = boxes.qbo_config()
    redirect_uri = "http://localhost/accounting-sync/callback"
    authorize_url, _, verifier = oauth.authorization_url(config, redirect_uri)
    code = parse_qs(urlsplit(consent(authorize_url)).query)["code"][0]

    token = oauth.exchange_code(config, redirect_uri, code, verifier)

    basic = base64.b64encode(f"{config.client_id}:{config.client_secret}".encode()).decode()
    assert token_request_logged(debug_logs)
    secrets = [config.client_secret, basic, code, token["access_token"], token["refresh_token"]]
    assert leaked(debug_logs, capsys, secrets) == []
