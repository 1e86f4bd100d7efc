"""The Accounting Sync pages: a FastAPI app that Airflow's API server mounts.

Connection (connect / disconnect QuickBooks), Configure (account mapping and sync
options) and Recent Syncs (runs with their errors, Sync Now, auto-sync). Pages are
rendered on the server, so they work inside the Airflow UI's iframe without a build step.
Every page route needs an Airflow user (see ``security``); every POST needs the CSRF
token. The webhook routes (``webhooks``) are the exception: Invoiced and Intuit call them,
authenticated by the signature of the body instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import requests
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from accounting_sync.common import binding, runtime
from accounting_sync.common.flows import FLOWS, SYNC, flow_by_key
from accounting_sync.config.companies import Company, load_companies
from accounting_sync.config.connections import ConnectionUnusable
from accounting_sync.config.settings import resolve_settings
from accounting_sync.invoiced.client import InvoicedClient, InvoicedError
from accounting_sync.store.bindings import StateHeld
from accounting_sync.store.facade import StateStore, open_store
from accounting_sync.store.schema import IgnoredRecord, RecordError
from accounting_sync.tie_out.resync import request_resync, resync_tax_rate
from accounting_sync.ui import audit, oauth, qbo, webhooks
from accounting_sync.ui.airflow_api import AirflowApi, AirflowApiError, loopback_url
from accounting_sync.ui.routes import CALLBACK, UI_ROUTE, URL_PREFIX
from accounting_sync.ui.security import (
    CSRF_COOKIE,
    CSRF_MAX_AGE,
    airflow_token,
    csrf_nonce,
    csrf_protected,
    csrf_token,
    form_data,
    login_url,
    may_edit,
    may_read,
    public_origin,
    public_url,
    readable_companies,
    readable_dags,
    require_edit,
    require_view,
    seal,
    unseal,
    user_id,
)
from accounting_sync.ui.settings_form import (
    LABELS,
    RateRow,
    form_values,
    rate_rows,
    rewrites,
    submitted_values,
    to_settings,
)
from accounting_sync.ui.syncs import recent_syncs

FLASH_COOKIE = "accounting_sync_flash"
FLASH_MAX_AGE = 120
NO_COMPANY = (
    "You may not read any company here: the Accounting Sync pages need read access to a company's "
    "DAGs or its QuickBooks connection. Ask an Airflow admin."
)
HELD_NOTICE = (
    "The sync is held: a connection points at another company than the sync state belongs to. "
    "Choose on the Connection page before configuring, so no setting is saved for the wrong company."
)
TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))

pages = APIRouter()
actions = APIRouter(dependencies=[Depends(csrf_protected)])


# -- dependencies ---------------------------------------------------------------------


def get_store() -> StateStore:
    return open_store()


def selected_company(user: Annotated[BaseUser, Depends(get_user)], company: str | None = None) -> Company:
    """``?company=<key>``, if the user may read it; by default the first company of
    include/companies.yaml the user may read."""
    if company is None:
        readable = readable_companies(user)
        if not readable:
            raise HTTPException(status.HTTP_403_FORBIDDEN, NO_COMPANY)
        return readable[0]
    chosen = next((candidate for candidate in load_companies() if candidate.key == company), None)
    if chosen is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"Company {company!r} is not listed in include/companies.yaml."
        )
    if not may_read(user, chosen):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"You may not read company {company!r}: ask an Airflow admin for read access to its DAGs "
            "or its QuickBooks connection.",
        )
    return chosen


def get_airflow_api(request: Request) -> Iterator[AirflowApi]:
    base = loopback_url(request, airflow_root(request))
    # No proxies from the environment: the user's JWT must not leave this host.
    with httpx.Client(base_url=base, timeout=20, trust_env=False) as http:
        yield AirflowApi(http, airflow_token(request))


UserDep = Annotated[BaseUser, Depends(get_user)]
CompanyDep = Annotated[Company, Depends(selected_company)]
StoreDep = Annotated[StateStore, Depends(get_store)]
FormDep = Annotated[dict[str, str], Depends(form_data)]
ApiDep = Annotated[AirflowApi, Depends(get_airflow_api)]


# -- paths, cookies, rendering ----------------------------------------------------------


def app_root(request: Request) -> str:
    """Where this app is mounted, e.g. ``/accounting-sync`` (under any Airflow base path)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def airflow_root(request: Request) -> str:
    return app_root(request).removesuffix(URL_PREFIX) + "/"


def in_airflow_ui(request: Request, company: Company) -> str:
    """This app's page shown inside the Airflow UI (its nav entry, deep-linked)."""
    return f"{airflow_root(request)}plugin/{UI_ROUTE}{app_root(request)}/?company={company.key}"


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int, samesite: str
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=app_root(request) + "/",
        httponly=True,
        secure=public_origin(request)[0] == "https",
        samesite=samesite,  # type: ignore[arg-type]
    )


def render(
    request: Request,
    user: BaseUser,
    company: Company,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    nonce = csrf_nonce(request)
    flash = unseal("flash", request.cookies.get(FLASH_COOKIE), FLASH_MAX_AGE)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "csrf_token": csrf_token(nonce, user),
            "flash": flash,
            "company": company,
            "link": lambda path: link(request, path, company),
            "companies": readable_companies(user),
            "airflow_root": airflow_root(request),
            "labels": LABELS,
            **context,
        },
        status_code=status_code,
    )
    set_cookie(request, response, CSRF_COOKIE, nonce, CSRF_MAX_AGE, "strict")  # renewed with each page
    if flash:
        response.delete_cookie(FLASH_COOKIE, path=app_root(request) + "/")
    return response


def redirect_with(request: Request, url: str, level: str, text: str) -> RedirectResponse:
    """Post/redirect/get, carrying a one-time message for the next page."""
    response = RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)
    set_cookie(request, response, FLASH_COOKIE, seal("flash", {"level": level, "text": text}), FLASH_MAX_AGE, "lax")
    return response


def link(request: Request, path: str, company: Company) -> str:
    """A URL of this app for one company, built from where the app is mounted."""
    return f"{app_root(request)}/{path}?company={company.key}"


# -- Connection -------------------------------------------------------------------------


@pages.get("/", response_class=HTMLResponse)
def connection_page(
    request: Request,
    user: UserDep,
    company: CompanyDep,
    store: StoreDep,
) -> HTMLResponse:
    connection = qbo.connection_status(store, company)
    context = {
        "page": "connection",
        "status": connection,
        "binding": check_binding(store, company, connection),
        "can_edit": may_edit(user, company),
        "changes": audit.recent_changes(store, company),
    }
    return render(request, user, company, "connection.html", context)


def _invoiced(company: Company) -> InvoicedClient:
    client = runtime.invoiced_client(company)
    client.max_attempts = qbo.UI_ATTEMPTS
    return client


def check_binding(store: StateStore, company: Company, connection: qbo.ConnectionStatus) -> binding.BindingStatus:
    """Check both connections against the pair the state belongs to, as the next task
    would (recording any hold); only the QuickBooks side when Invoiced cannot be asked."""
    if connection.realm_id and connection.state != "disconnected":
        try:
            binding.resolve(store, company.key, connection.realm_id, _invoiced(company))
        except StateHeld:
            pass
        except (ConnectionUnusable, InvoicedError, requests.RequestException):
            with contextlib.suppress(StateHeld):
                binding.check_quickbooks(store, company.key, connection.realm_id, binding.status(store, company.key))
    return binding.status(store, company.key)


@actions.post("/connect")
def connect(request: Request, user: UserDep, company: CompanyDep) -> Response:
    """Send the browser to Intuit's consent page, remembering the state it must bring back."""
    require_edit(user, company)
    try:
        config = runtime.quickbooks_hook(company).config()
    except ConnectionUnusable as error:
        return redirect_with(request, link(request, "", company), "error", str(error))
    redirect_uri = config.redirect_uri or public_url(request, f"{app_root(request)}{CALLBACK}")
    url, state, verifier = oauth.authorization_url(config, redirect_uri)
    pending = oauth.PendingAuthorization(state, company.key, user_id(user), redirect_uri, verifier)
    response = RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)
    set_cookie(request, response, oauth.STATE_COOKIE, seal("oauth", pending.as_dict()), oauth.STATE_MAX_AGE, "lax")
    return response


CODE_ALREADY_USED = (
    "This QuickBooks authorization was already used (a repeated or second callback), so it was not "
    "exchanged again: the connection made with it stands."
)


@pages.get(CALLBACK)
def callback(request: Request, user: UserDep, store: StoreDep) -> Response:
    """Intuit sends the browser back here with ``code``, ``state`` and ``realmId``."""
    pending = oauth.PendingAuthorization.from_dict(
        unseal("oauth", request.cookies.get(oauth.STATE_COOKIE), oauth.STATE_MAX_AGE)
    )
    params = dict(request.query_params)
    company, unknown = _pending_company(pending)
    try:
        if unknown:
            raise oauth.AuthorizationFailed(unknown)
        code = oauth.returned_code(params, pending, user_id(user))
        require_edit(user, company)
        claimed = oauth.claim_code(store, company.key, code)
        if claimed:
            hook = runtime.quickbooks_hook(company, store)
            config = hook.config()
            assert pending is not None  # returned_code refuses a callback without one
            token = oauth.exchange_code(config, pending.redirect_uri, code, pending.verifier)
            previous = store.read_token(company.key)
            hook.token_manager(config=config).save(token, params["realmId"])
            audit.record(
                store, company, user, "connect",
                realm_id=params["realmId"], previous_realm_id=previous.realm_id if previous else None,
            )
    except (oauth.AuthorizationFailed, ConnectionUnusable) as error:
        context = {
            "page": "connection",
            "title": "QuickBooks was not connected",
            "message": str(error),
            "reconnect": True,
            "back_url": in_airflow_ui(request, company),
        }
        response: Response = render(request, user, company, "message.html", context, 400)
    else:
        response = _connected(request, store, company) if claimed else redirect_with(
            request, in_airflow_ui(request, company), "warn", CODE_ALREADY_USED
        )
    response.delete_cookie(oauth.STATE_COOKIE, path=app_root(request) + "/")
    return response


def _connected(request: Request, store: StateStore, company: Company) -> Response:
    """Back to the Connection page, saying what the new token reaches."""
    connected = qbo.connection_status(store, company, fresh=True)
    held = check_binding(store, company, connected).held
    if connected.connected and held:
        level, text = (
            "warn",
            f"Connected to QuickBooks company {connected.company_name}, but the sync state belongs to "
            "another company: the sync is held until you choose below.",
        )
    elif connected.connected:
        level, text = "ok", f"Connected to QuickBooks company {connected.company_name}."
    else:
        level, text = (
            "error",
            f"The tokens were stored, but QuickBooks did not answer: {connected.message}",
        )
    return redirect_with(request, in_airflow_ui(request, company), level, text)


def _pending_company(pending: oauth.PendingAuthorization | None) -> tuple[Company, str | None]:
    """The company the authorization was started for, or (for the error page only) the
    first company with the reason to refuse: a code is never saved for another company."""
    if pending is None:
        return load_companies()[0], None
    try:
        return runtime.company(pending.company), None
    except LookupError:
        return load_companies()[0], (
            f"The authorization was started for company {pending.company!r}, which is no longer configured, "
            "so it was ignored. Start again with Connect on that company's page."
        )


@actions.post("/disconnect")
def disconnect(
    request: Request,
    user: UserDep,
    company: CompanyDep,
    store: StoreDep,
) -> Response:
    require_edit(user, company)
    connected = store.read_token(company.key)
    try:
        qbo.token_manager(store, company).disconnect()
    except ConnectionUnusable as error:
        return redirect_with(request, link(request, "", company), "error", str(error))
    audit.record(store, company, user, "disconnect", realm_id=connected.realm_id if connected else None)
    text = "Disconnected from QuickBooks: the tokens were revoked at Intuit and deleted here."
    return redirect_with(request, link(request, "", company), "ok", text)


@actions.post("/binding/afresh")
def start_afresh(request: Request, user: UserDep, company: CompanyDep, store: StoreDep) -> Response:
    """Bind the company to the QuickBooks company and Invoiced account connected now."""
    require_edit(user, company)
    back = link(request, "", company)
    connection = qbo.connection_status(store, company)
    if not connection.realm_id or connection.state == "disconnected":
        return redirect_with(request, back, "error", "Connect to QuickBooks first.")
    try:
        _, resumed = binding.start_afresh(store, company.key, connection.realm_id, _invoiced(company))
    except (ConnectionUnusable, InvoicedError, requests.RequestException) as error:
        return redirect_with(request, back, "error", f"Invoiced could not be checked: {type(error).__name__}.")
    audit.record(
        store, company, user, "state_afresh",
        realm_id=connection.realm_id, state="earlier state resumed" if resumed else "fresh state",
    )
    state = "resumes its earlier sync state" if resumed else "starts with a fresh sync state"
    text = (
        f"QuickBooks company {connection.realm_id} {state}. The previous company's state is kept and "
        "comes back if you reconnect it. Check Configure before the next sync."
    )
    return redirect_with(request, back, "ok", text)


@actions.post("/binding/same-invoiced")
def same_invoiced_account(request: Request, user: UserDep, company: CompanyDep, store: StoreDep) -> Response:
    """The person confirms that the new Invoiced key reaches the same account."""
    require_edit(user, company)
    back = link(request, "", company)
    try:
        binding.confirm_same_invoiced_account(store, company.key, _invoiced(company))
    except (ConnectionUnusable, InvoicedError, requests.RequestException) as error:
        return redirect_with(request, back, "error", f"Invoiced could not be checked: {type(error).__name__}.")
    audit.record(store, company, user, "same_invoiced")
    return redirect_with(request, back, "ok", "Kept the sync state for the new Invoiced API key.")


# -- Configure --------------------------------------------------------------------------


def _choices(store: StateStore, company: Company) -> tuple[qbo.Choices | None, str | None]:
    """The connected company's accounts, or why they cannot be offered."""
    connection = qbo.connection_status(store, company)
    if not connection.connected:
        return None, "Connect to QuickBooks to choose from the company's own accounts and tax codes."
    if check_binding(store, company, connection).held:
        return None, HELD_NOTICE
    try:
        assert connection.realm_id is not None  # connected
        return qbo.choices(store, company, connection.realm_id), None
    except Exception as error:  # noqa: BLE001 - the form still works with the current values
        return None, qbo.describe(error)


def _tax_rates(
    store: StateStore, company: Company, choices: qbo.Choices | None, picked: dict[str, str]
) -> tuple[list[RateRow], str | None]:
    """A VAT/GST company's mapping: each Invoiced tax rate, with the code it goes to and
    the codes its synced documents carry."""
    if choices is None or not choices.kind.global_tax:
        return [], None
    try:
        rates = list(_invoiced(company).iter_list("/tax_rates"))
    except (ConnectionUnusable, InvoicedError, requests.RequestException) as error:
        return [], f"Invoiced's tax rates could not be read ({type(error).__name__}); the mapping below is kept as saved."
    written = store.written_with(binding.active_scope_key(store, company.key), [str(rate["id"]) for rate in rates])
    return rate_rows(rates, choices, picked, written), None


def _rewrite_tax_codes(
    store: StateStore, company: Company, user: BaseUser, choices: qbo.Choices | None, ticked: set[str]
) -> int:
    """The synced documents of each ticked rate that carry another code than the one it
    goes to now are queued, so the next run writes them with it (closed periods are the
    user's call: nothing is rewritten unasked). Returns how many were queued."""
    if not ticked:
        return 0
    scope = binding.active_scope_key(store, company.key)
    current = resolve_settings(company.settings, store.get_settings(scope))
    rows, _ = _tax_rates(store, company, choices, current.tax_code_map)
    queued = 0
    for row in rows:
        if row.id in ticked and row.code:
            documents = resync_tax_rate(store, scope, row.id, row.code, user.get_name())
            if documents:
                audit.record(store, company, user, "rewrite_tax_code", rate=row.name, code=row.code,
                             count=len(documents), documents=", ".join(document for _, document in documents))
            queued += len(documents)
    return queued


def _configure(
    request: Request,
    user: BaseUser,
    company: Company,
    store: StateStore,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
) -> HTMLResponse:
    choices, notice = _choices(store, company)
    scope = binding.active_scope_key(store, company.key)
    current = resolve_settings(company.settings, store.get_settings(scope))
    values = values or form_values(current)
    rates, rates_notice = _tax_rates(store, company, choices, values["tax_code_map"])
    context = {
        "page": "configure",
        "values": values,
        "choices": choices,
        "notice": notice,
        "errors": errors or [],
        "can_edit": may_edit(user, company),
        "rates": rates,
        "rates_notice": rates_notice,
    }
    return render(request, user, company, "configure.html", context, 400 if errors else 200)


@pages.get("/configure", response_class=HTMLResponse)
def configure_page(
    request: Request,
    user: UserDep,
    company: CompanyDep,
    store: StoreDep,
) -> HTMLResponse:
    return _configure(request, user, company, store)


@actions.post("/configure")
def save_settings(
    request: Request,
    user: UserDep,
    company: CompanyDep,
    store: StoreDep,
    form: FormDep,
) -> Response:
    require_edit(user, company)
    values = submitted_values(form)
    choices, notice = _choices(store, company)
    if notice == HELD_NOTICE:
        return _configure(request, user, company, store, values, [HELD_NOTICE])
    scope = binding.active_scope_key(store, company.key)
    stored = store.get_settings(scope)
    settings, errors = to_settings(company, stored, values, choices)
    if errors:
        return _configure(request, user, company, store, values, errors)
    store.put_settings(scope, settings)
    audit.record_settings(
        store, company, user,
        form_values(resolve_settings(company.settings, stored)),
        form_values(resolve_settings(company.settings, store.get_settings(scope))),
    )
    queued = _rewrite_tax_codes(store, company, user, choices, rewrites(form))
    rewritten = f" {queued} synced document(s) are queued to be written again with the new tax code." if queued else ""
    return redirect_with(
        request, link(request, "configure", company), "ok", f"Settings saved: the next sync uses them.{rewritten}"
    )


# -- Recent Syncs -----------------------------------------------------------------------


@pages.get("/syncs", response_class=HTMLResponse)
def syncs_page(
    request: Request,
    user: UserDep,
    company: CompanyDep,
    store: StoreDep,
    api: ApiDep,
) -> HTMLResponse:
    view = recent_syncs(store, company, api, airflow_root(request), readable_dags(user, company))
    context = {"page": "syncs", "view": view, "can_edit": may_edit(user, company)}
    return render(request, user, company, "syncs.html", context)


@pages.get("/syncs/table", response_class=HTMLResponse)
def syncs_table(
    request: Request,
    user: UserDep,
    company: CompanyDep,
    store: StoreDep,
    api: ApiDep,
) -> HTMLResponse:
    """The Recent Syncs table alone, which the page swaps in while a run is active.

    A reload of the whole page would drop its message and could swallow a click; this
    leaves the flash and CSRF cookies alone so the page's forms stay valid. When Airflow
    cannot be read the page keeps the table it has (503) and tries again.
    """
    view = recent_syncs(store, company, api, airflow_root(request), readable_dags(user, company))
    if view.problem:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, view.problem)
    context = {
        "view": view,
        "link": lambda path: link(request, path, company),
        "csrf_token": csrf_token(csrf_nonce(request), user),  # the page's cookie, not renewed
        "can_edit": may_edit(user, company),
    }
    return TEMPLATES.TemplateResponse(request, "syncs_runs.html", context)


def _flow_dag(company: Company, form: dict[str, str]) -> tuple[str, str]:
    """Only this company's own sync DAGs can be driven from here."""
    flow = flow_by_key(form.get("flow", ""))
    if flow is None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"Unknown flow: choose one of {[f.key for f in FLOWS]}."
        )
    return company.dag_id(flow.name), flow.action


@actions.post("/syncs/run")
def run_now(
    request: Request,
    user: UserDep,
    company: CompanyDep,
    store: StoreDep,
    form: FormDep,
    api: ApiDep,
) -> Response:
    """Sync Now: trigger the DAG through Airflow's API, as the signed-in user."""
    dag_id, action = _flow_dag(company, form)
    back = link(request, "syncs", company)
    try:
        dag = api.dag(dag_id)
        if dag is None:
            return redirect_with(
                request, back, "error", f"Airflow does not know the DAG {dag_id} (not parsed yet?)."
            )
        run_id = api.trigger(dag_id)
    except AirflowApiError as error:
        return redirect_with(request, back, "error", f"{action} failed. {error}")
    audit.record(store, company, user, "sync_now", dag_id=dag_id, run_id=run_id)
    if dag.is_paused:
        text = (
            f"{action}: run {run_id} is queued, but auto-sync is paused and Airflow starts no run "
            "of a paused DAG. Enable auto-sync to let it start."
        )
        return redirect_with(request, back, "warn", text)
    return redirect_with(
        request, back, "ok", f"{action}: run {run_id} started. It appears below when it begins."
    )


@actions.post("/syncs/auto")
def auto_sync(
    request: Request,
    user: UserDep,
    company: CompanyDep,
    store: StoreDep,
    form: FormDep,
    api: ApiDep,
) -> Response:
    """Enable or pause auto-sync: unpause or pause the DAG in Airflow."""
    dag_id, _ = _flow_dag(company, form)
    enable = form.get("enabled") == "true"
    back = link(request, "syncs", company)
    try:
        api.set_paused(dag_id, paused=not enable)
    except AirflowApiError as error:
        return redirect_with(request, back, "error", f"Auto-sync was not changed. {error}")
    audit.record(store, company, user, "auto_sync", dag_id=dag_id, state="enabled" if enable else "paused")
    text = (
        f"Auto-sync enabled: {dag_id} runs every hour."
        if enable
        else f"Auto-sync paused: {dag_id} no longer runs."
    )
    return redirect_with(request, back, "ok", text)


# -- Failing records: Retry and Ignore ---------------------------------------------------


@dataclass
class FailingView:
    failing: list[RecordError]
    ignored: dict[tuple[str, str, str], IgnoredRecord]


@pages.get("/errors", response_class=HTMLResponse)
def errors_page(request: Request, user: UserDep, company: CompanyDep, store: StoreDep) -> HTMLResponse:
    """Every record still failing, across runs, of the flows whose DAGs the user may read."""
    scope = binding.active_scope_key(store, company.key)
    flows = {flow.name for flow in FLOWS if company.dag_id(flow.name) in readable_dags(user, company)}
    failing = [error for error in store.failing_records(scope) if error.flow in flows]
    context = {
        "page": "errors",
        "view": FailingView(failing, store.ignored_records(scope)),
        "labels_of_flows": {flow.name: flow.label for flow in FLOWS},
        "can_edit": may_edit(user, company),
    }
    return render(request, user, company, "errors.html", context)


def _failing_record(store: StateStore, company: Company, form: dict[str, str]) -> tuple[str, RecordError]:
    """The record a Retry or Ignore form names: one of this company's failing records."""
    scope = binding.active_scope_key(store, company.key)
    flow = next((f.name for f in FLOWS if f.name == form.get("flow")), None)
    error = flow and store.find_error(scope, flow, form.get("object_type", ""), form.get("source_id", ""))
    if not error or error.resolved:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "That record is not failing (any more): reload the page.")
    return scope, error


def _back(request: Request, company: Company, form: dict[str, str]) -> str:
    return link(request, "errors" if form.get("back") == "errors" else "syncs", company)


@actions.post("/errors/ignore")
def ignore_record(request: Request, user: UserDep, company: CompanyDep, store: StoreDep, form: FormDep) -> Response:
    """Stop retrying a record until it changes at its source or Retry is pressed."""
    require_edit(user, company)
    scope, error = _failing_record(store, company, form)
    store.ignore_record(scope, error.flow, error.object_type, error.source_id, user.get_name())
    document = error.document_number or error.source_id
    audit.record(store, company, user, "ignore", flow=error.flow, object_type=error.object_type, document=document)
    text = f"{error.object_type} {document} is ignored: no run retries it until it changes or you press Retry."
    return redirect_with(request, _back(request, company, form), "ok", text)


@actions.post("/errors/retry")
def retry_record(request: Request, user: UserDep, company: CompanyDep, store: StoreDep, form: FormDep) -> Response:
    """Queue a failing record for the next run (lifting an Ignore)."""
    require_edit(user, company)
    scope, error = _failing_record(store, company, form)
    store.unignore_records(scope, error.flow, error.object_type, [error.source_id])
    document = error.document_number or error.source_id
    audit.record(store, company, user, "retry", flow=error.flow, object_type=error.object_type, document=document)
    action = next(flow.action for flow in FLOWS if flow.name == error.flow)
    text = f"{error.object_type} {document} is queued for the next run: press {action} on Recent Syncs to run it now."
    return redirect_with(request, _back(request, company, form), "ok", text)


@actions.post("/books/resync")
def resync_record(request: Request, user: UserDep, company: CompanyDep, store: StoreDep, form: FormDep) -> Response:
    """Write the Invoiced version of an invoice again (a tie-out found QuickBooks differing)."""
    require_edit(user, company)
    scope = binding.active_scope_key(store, company.key)
    invoiced_id = form.get("invoiced_id", "")
    document = form.get("document") or invoiced_id
    if not request_resync(store, scope, invoiced_id, document, user.get_name()):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No invoice that Invoiced masters has that id: reload the page.")
    audit.record(store, company, user, "resync", object_type="invoice", document=document, flow=SYNC.name)
    text = f"Invoice {document} is queued: the next run writes the Invoiced version again (press {SYNC.action} to run it now)."
    return redirect_with(request, link(request, "syncs", company), "ok", text)


# -- errors -----------------------------------------------------------------------------


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def http_error(request: Request, error: StarletteHTTPException) -> Response:
    """Signed-out browsers go to Airflow's login; other refusals get a readable page."""
    signed_out = error.status_code == 401 or error.detail in {"Invalid JWT token", "Token Expired"}
    if _wants_html(request) and request.method == "GET" and signed_out:
        return RedirectResponse(login_url(request), status_code=status.HTTP_303_SEE_OTHER)
    if _wants_html(request):
        context = {"title": "Accounting Sync", "message": str(error.detail), "bare": True}
        return TEMPLATES.TemplateResponse(request, "message.html", context, status_code=error.status_code)
    return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=error.headers)


SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "frame-ancestors 'self'",  # framed by the Airflow UI only
    "Referrer-Policy": "same-origin",  # the callback URL carries a one-time code
    "X-Content-Type-Options": "nosniff",
}


async def security_headers(request: Request, call_next: Any) -> Response:
    response: Response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def create_app() -> FastAPI:
    app = FastAPI(title="Accounting Sync", docs_url=None, redoc_url=None, openapi_url=None)
    # Airflow's auth on every page router, not on the app: the webhook routes have none.
    app.include_router(pages, dependencies=[Depends(require_view)])
    app.include_router(actions, dependencies=[Depends(require_view)])
    app.include_router(webhooks.build_router(get_store))
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.middleware("http")(security_headers)
    return app
