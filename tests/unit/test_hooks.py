"""The two hooks and the connection types they register, on connections made by a factory
and looked up the way Airflow looks them up (``AIRFLOW_CONN_*``), with no server."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from airflow.sdk import Connection

from accounting_sync.config.connections import (
    INTUIT_API_BASE,
    INVOICED_API_BASE,
    InvalidConnection,
    InvoicedExtra,
    MissingConnection,
    QuickBooksExtra,
    RateLimits,
)
from accounting_sync.get_provider_info import PACKAGE_NAME, get_provider_info
from accounting_sync.invoiced.hook import InvoicedHook
from accounting_sync.quickbooks.client import QuickBooksClient
from accounting_sync.quickbooks.hook import QuickBooksHook
from accounting_sync.store.facade import StateStore

ConnFactory = Callable[..., Connection]


@pytest.fixture
def create_connection(monkeypatch: pytest.MonkeyPatch) -> ConnFactory:
    """Define a connection as an AIRFLOW_CONN_* variable; ``extra`` may be a dict or raw text."""

    def create(conn_id: str, conn_type: str, extra: dict[str, Any] | str | None = None, **fields: Any) -> Connection:
        raw_extra = extra if isinstance(extra, str) else json.dumps(extra or {})
        conn = Connection(conn_id=conn_id, conn_type=conn_type, extra=raw_extra, **fields)
        value = {"conn_type": conn_type, **fields, "extra": raw_extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
        return conn

    return create


def quickbooks(create: ConnFactory, extra: dict[str, Any] | str | None = None, **fields: Any) -> Connection:
    fields = {"login": "client-id", "password": "client-secret", **fields}
    return create("quickbooks_default", fields.pop("conn_type", "quickbooks"), extra, **fields)


def provider_connection_types() -> dict[str, dict[str, Any]]:
    return {entry["connection-type"]: entry for entry in get_provider_info()["connection-types"]}


# -- provider info: the Connections form ----------------------------------------------


def test_provider_info_is_valid_for_airflow() -> None:
    schema = json.loads((files("airflow") / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)
    assert get_provider_info()["package-name"] == PACKAGE_NAME


def test_each_connection_type_names_its_hook() -> None:
    for conn_type, hook in (("quickbooks", QuickBooksHook), ("invoiced", InvoicedHook)):
        entry = provider_connection_types()[conn_type]
        assert entry["hook-class-name"] == f"{hook.__module__}.{hook.__name__}"
        assert hook.conn_type == conn_type
        assert hook.default_conn_name == f"{conn_type}_default"
        assert entry["hook-name"] == hook.hook_name


def test_quickbooks_form_relabels_login_and_password_and_hides_the_url_fields() -> None:
    entry = provider_connection_types()["quickbooks"]
    behaviour = entry["ui-field-behaviour"]
    assert set(behaviour["hidden-fields"]) == {"host", "schema", "port"}
    assert behaviour["relabeling"] == {"login": "Client ID", "password": "Client secret"}
    fields = entry["conn-fields"]
    assert fields["environment"]["schema"]["enum"] == ["production", "sandbox", "local"]
    assert fields["environment"]["schema"]["default"] == "production"
    assert {"redirect_uri", "timeout", "rate_limit_requests", "rate_limit_batches", "rate_limit_concurrent"} <= set(fields)


def test_invoiced_form_asks_for_the_api_url_and_key() -> None:
    behaviour = provider_connection_types()["invoiced"]["ui-field-behaviour"]
    assert behaviour["relabeling"] == {"host": "API URL", "password": "API key"}
    assert behaviour["placeholders"]["host"] == INVOICED_API_BASE
    assert "host" not in behaviour["hidden-fields"] and "password" not in behaviour["hidden-fields"]


@pytest.mark.parametrize(("conn_type", "model"), [("quickbooks", QuickBooksExtra), ("invoiced", InvoicedExtra)])
def test_every_form_field_is_an_extra_the_hook_reads(conn_type: str, model: type[Any]) -> None:
    """The form writes each field under its own name in the extra; the hook must accept it."""
    assert set(provider_connection_types()[conn_type]["conn-fields"]) <= set(model.model_fields)


# -- QuickBooksHook -----------------------------------------------------------------------


def test_quickbooks_config_from_the_form_fields(create_connection: ConnFactory) -> None:
    quickbooks(
        create_connection,
        {
            "environment": "sandbox",
            "redirect_uri": "https://airflow.example.com/accounting-sync/callback",
            "timeout": 15,
            "rate_limit_requests": 250,
            "rate_limit_batches": 20,
            "rate_limit_concurrent": 5,
        },
    )
    config = QuickBooksHook().config()
    assert config.api_base == INTUIT_API_BASE["sandbox"]
    assert (config.client_id, config.client_secret) == ("client-id", "client-secret")
    assert config.redirect_uri == "https://airflow.example.com/accounting-sync/callback"
    assert config.timeout == 15
    assert config.limits == RateLimits(requests_per_window=250, batch_per_window=20, concurrent=5)


def test_quickbooks_defaults_and_empty_form_fields(create_connection: ConnFactory) -> None:
    quickbooks(create_connection, {"environment": None, "redirect_uri": None, "timeout": None})
    config = QuickBooksHook().config()
    assert config.api_base == INTUIT_API_BASE["production"]
    assert config.redirect_uri is None and config.timeout == 60 and config.limits == RateLimits()


def test_quickbooks_host_and_oauth_urls_point_at_a_stand_in(create_connection: ConnFactory) -> None:
    base = "http://127.0.0.1:8100"
    extra = {"environment": "local", "token_url": f"{base}/token", "rate_limit": {"window_seconds": 1}}
    quickbooks(create_connection, extra, host=base)
    config = QuickBooksHook().config()
    assert (config.api_base, config.token_url) == (base, f"{base}/token")
    assert config.limits.window_seconds == 1


@pytest.mark.parametrize("environment", [None, "production", "sandbox"])
@pytest.mark.parametrize(("field", "url"), [
    ("token_url", "https://collector.example/token"),
    ("authorize_url", "https://appcenter.intuit.com.evil.example/connect"),
    ("revoke_url", "http://developer.api.intuit.com/v2/oauth2/tokens/revoke"),  # plain HTTP
    ("host", "https://quickbooks.api.example"),
])
def test_an_intuit_connection_cannot_send_its_secrets_elsewhere(
    create_connection: ConnFactory, environment: str | None, field: str, url: str
) -> None:
    """Whoever may edit the connection could otherwise collect the client secret and the
    refresh token: production and Intuit-sandbox connections reach intuit.com only."""
    extra = {"environment": environment} if environment else {}
    fields = {"host": url} if field == "host" else {}
    quickbooks(create_connection, {**extra, **({} if field == "host" else {field: url})}, **fields)
    with pytest.raises(InvalidConnection, match=f"{field} .* is not an https URL on intuit.com"):
        QuickBooksHook().config()


def test_intuit_urls_may_be_overridden_within_intuit(create_connection: ConnFactory) -> None:
    quickbooks(create_connection, {"environment": "sandbox", "token_url": "https://oauth.platform.intuit.com/t"})
    assert QuickBooksHook().config().token_url == "https://oauth.platform.intuit.com/t"


def test_a_local_connection_needs_its_host(create_connection: ConnFactory) -> None:
    quickbooks(create_connection, {"environment": "local"})
    with pytest.raises(InvalidConnection, match="'local' needs the API base in host"):
        QuickBooksHook().config()


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"environment": "prod"}, "'environment'"),
        ({"timeout": -1}, "'timeout'"),
        ({"timeout": "soon"}, "'timeout'"),
        ({"rate_limit_concurrent": 0}, "'rate_limit_concurrent'"),
        ({"rate_limit": {"window_seconds": "x"}}, "'rate_limit.window_seconds'"),
        ({"timout": 10}, "'timout': unknown field"),
    ],
)
def test_invalid_quickbooks_extra_names_the_field(
    create_connection: ConnFactory, extra: dict[str, Any], named: str
) -> None:
    quickbooks(create_connection, extra)
    with pytest.raises(InvalidConnection, match="quickbooks_default") as raised:
        QuickBooksHook().config()
    assert f"extra field {named}" in str(raised.value)


def test_extra_that_is_not_json_is_refused(create_connection: ConnFactory) -> None:
    quickbooks(create_connection, '{"environment": "sandbox"')
    with pytest.raises(InvalidConnection, match="extra is not JSON"):
        QuickBooksHook().config()


def test_empty_client_secret_is_refused_by_name(create_connection: ConnFactory) -> None:
    quickbooks(create_connection, password="")
    with pytest.raises(InvalidConnection, match=r"Client secret \(password\) is empty"):
        QuickBooksHook().config()


def test_missing_connection_says_which(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT", raising=False)
    with pytest.raises(MissingConnection, match="Airflow connection 'quickbooks_default' is not defined"):
        QuickBooksHook().config()


def test_a_connection_of_another_type_is_refused(create_connection: ConnFactory) -> None:
    quickbooks(create_connection, conn_type="postgres")
    with pytest.raises(InvalidConnection, match="has type 'postgres'; the pipeline needs a 'quickbooks'"):
        QuickBooksHook().config()


def test_a_legacy_http_connection_still_works_and_says_how_to_migrate(
    create_connection: ConnFactory, caplog: pytest.LogCaptureFixture
) -> None:
    quickbooks(create_connection, {"environment": "sandbox"}, conn_type="http")
    with caplog.at_level(logging.WARNING, logger="accounting_sync.config.connections"):
        config = QuickBooksHook().config()
    assert config.api_base == INTUIT_API_BASE["sandbox"]
    assert "retype it as 'quickbooks'" in caplog.text


def test_get_conn_is_the_client_with_the_company_token_manager(
    create_connection: ConnFactory, tmp_path: Path
) -> None:
    quickbooks(create_connection)
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    client = QuickBooksHook(store=store).get_conn()
    assert isinstance(client, QuickBooksClient)
    assert client.tokens.company == "default"  # the company of include/companies.yaml naming the connection
    assert client.tokens.store is store
    assert client.config.client_id == "client-id"


def test_the_connections_page_copy_finds_the_company_by_its_app(create_connection: ConnFactory) -> None:
    """The page's Test button tests a copy of the connection under a random id."""
    quickbooks(create_connection)
    create_connection("tmp_8f3a", "quickbooks", login="client-id", password="client-secret")
    assert QuickBooksHook("tmp_8f3a").company == "default"


def test_a_connection_no_company_uses_has_no_tokens(create_connection: ConnFactory, tmp_path: Path) -> None:
    quickbooks(create_connection)
    create_connection("quickbooks_spare", "quickbooks", login="another-app", password="secret")
    ok, message = QuickBooksHook("quickbooks_spare", store=StateStore(f"sqlite:///{tmp_path / 's.db'}")).test_connection()
    assert not ok and "no company in include/companies.yaml uses the connection 'quickbooks_spare'" in message


# -- InvoicedHook -------------------------------------------------------------------------


def test_invoiced_defaults_to_the_production_url(create_connection: ConnFactory) -> None:
    create_connection("invoiced_default", "invoiced", password="key")
    hook = InvoicedHook()
    assert hook.config().api_base == INVOICED_API_BASE
    assert hook.url_from_endpoint("/customers") == f"{INVOICED_API_BASE}/customers"


def test_invoiced_session_authenticates_with_the_key_and_keeps_pipeline_extras_out_of_headers(
    create_connection: ConnFactory,
) -> None:
    create_connection(
        "invoiced_default",
        "invoiced",
        {"timeout": 5, "concurrency": 3, "X-Request-Source": "airflow"},
        host="invoiced.test",
        password="key",
    )
    hook = InvoicedHook()
    session = hook.get_conn()
    assert (session.auth.username, session.auth.password) == ("key", "")  # type: ignore[union-attr]
    assert session.headers["X-Request-Source"] == "airflow"  # HttpHook: other extras are headers
    assert "concurrency" not in session.headers and "timeout" not in session.headers
    assert hook.base_url == "https://invoiced.test"
    client = hook.get_client()
    assert client.session.auth == ("key", "") and client.config.timeout == 5 and client.config.concurrency == 3


def test_invalid_invoiced_extra_names_the_field(create_connection: ConnFactory) -> None:
    create_connection("invoiced_default", "invoiced", {"concurrency": 0}, password="key")
    with pytest.raises(InvalidConnection, match="extra field 'concurrency'"):
        InvoicedHook().get_client()


def test_invoiced_without_key_is_refused(create_connection: ConnFactory) -> None:
    create_connection("invoiced_default", "invoiced", host="https://api.invoiced.com")
    ok, message = InvoicedHook().test_connection()
    assert not ok and "API key (password) is empty" in message


# -- webhook secrets ----------------------------------------------------------------------


def test_the_webhook_secrets_are_password_fields_of_the_forms() -> None:
    types = provider_connection_types()
    for conn_type, name in (("quickbooks", "webhook_verifier_token"), ("invoiced", "webhook_secret")):
        assert types[conn_type]["conn-fields"][name]["schema"]["format"] == "password"


def test_the_webhook_secrets_are_read_from_the_extras_and_never_shown(create_connection: ConnFactory) -> None:
    quickbooks(create_connection, {"webhook_verifier_token": "verify-me"})
    create_connection("invoiced_default", "invoiced", {"webhook_secret": "whsec-1"}, password="key")
    qbo, invoiced = QuickBooksHook().config(), InvoicedHook().config()
    assert (qbo.webhook_verifier_token, invoiced.webhook_secret) == ("verify-me", "whsec-1")
    assert "verify-me" not in repr(qbo) and "whsec-1" not in repr(invoiced)


def test_the_invoiced_webhook_secret_is_never_sent_as_a_header(create_connection: ConnFactory) -> None:
    create_connection("invoiced_default", "invoiced", {"webhook_secret": "whsec-1"}, password="key")
    session = InvoicedHook().get_conn()
    assert "webhook_secret" not in session.headers and "whsec-1" not in session.headers.values()


def test_a_malformed_webhook_secret_is_named_but_never_repeated(create_connection: ConnFactory) -> None:
    create_connection("invoiced_default", "invoiced", {"webhook_secret": 987654321}, password="key")
    quickbooks(create_connection, {"webhook_verifier_token": ["verify", "me"]})
    with pytest.raises(InvalidConnection, match="extra field 'webhook_secret'") as invoiced:
        InvoicedHook().config()
    with pytest.raises(InvalidConnection, match="extra field 'webhook_verifier_token'") as qbo:
        QuickBooksHook().config()
    assert "987654321" not in str(invoiced.value) and "verify" not in str(qbo.value)
