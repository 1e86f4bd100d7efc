"""Intuit OAuth 2.0 endpoints: consent page, token exchange/refresh, revoke, discovery document."""

from __future__ import annotations

import base64
import binascii
import html
import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox.quickbooks import errors
from sandbox.quickbooks.state import SandboxState, sandbox_state

router = APIRouter()

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/oauth2/v1/tokens/revoke"


def _with_params(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = urlencode([*parse_qsl(parts.query), *params.items()])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _redirect_allowed(state: SandboxState, redirect_uri: str) -> bool:
    allowed = state.config.redirect_uris
    return bool(redirect_uri) and (allowed is None or redirect_uri in allowed)


def _error_page(message: str) -> HTMLResponse:
    """Intuit shows an error page (no redirect) when the client or redirect_uri is not trusted."""
    body = f"<!doctype html><html><body><h1>Authorization error</h1><p>{html.escape(message)}</p></body></html>"
    return HTMLResponse(body, status_code=400)


def _check_request(state: SandboxState, params: dict[str, str]) -> Response | None:
    """Errors that cannot be redirected (page) or must be redirected (OAuth error codes)."""
    if params.get("client_id") != state.config.client_id:
        return _error_page("Unknown client_id.")
    redirect_uri = params.get("redirect_uri", "")
    if not _redirect_allowed(state, redirect_uri):
        return _error_page("The redirect_uri is not registered for this app.")
    error = None
    if params.get("response_type", "code") != "code":
        error = "unsupported_response_type"
    elif ACCOUNTING_SCOPE not in params.get("scope", "").split():
        error = "invalid_scope"
    if error:
        return RedirectResponse(_with_params(redirect_uri, {"error": error, "state": params.get("state", "")}), 303)
    return None


def _consent_page(state: SandboxState, params: dict[str, str]) -> HTMLResponse:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""))}">'
        for name in ("client_id", "redirect_uri", "state", "scope", "response_type", "code_challenge",
                     "code_challenge_method")
    )
    options = "".join(
        f'<option value="{html.escape(realm.realm_id)}">{html.escape(realm.company_name)}</option>'
        for realm in state.realms.values()
    )
    company = html.escape(state.default_realm.company_name)
    body = (
        "<!doctype html><html><head><title>Connect to QuickBooks</title></head><body>"
        f"<h1>Connect to {company}</h1>"
        "<p>This app wants access to your QuickBooks Online accounting data.</p>"
        f'<form method="post" action="/connect/oauth2">{hidden}'
        f'<label for="realm_id">Company</label> <select id="realm_id" name="realm_id">{options}</select>'
        '<button type="submit" name="decision" value="allow">Authorize</button>'
        '<button type="submit" name="decision" value="deny">Deny</button>'
        "</form></body></html>"
    )
    return HTMLResponse(body)


@router.get("/connect/oauth2")
async def authorize(request: Request) -> Response:
    state = sandbox_state(request)
    params = dict(request.query_params)
    return _check_request(state, params) or _consent_page(state, params)


@router.post("/connect/oauth2")
async def decide(request: Request) -> Response:
    """The consent form posts here; the browser is sent back to the app either way."""
    state = sandbox_state(request)
    params = dict(parse_qsl((await request.body()).decode()))
    problem = _check_request(state, params)
    if problem is not None:
        return problem
    redirect_uri = params["redirect_uri"]
    if params.get("decision") != "allow":
        return RedirectResponse(_with_params(redirect_uri, {"error": "access_denied", "state": params.get("state", "")}), 303)
    realm = state.realms.get(params.get("realm_id", ""), state.default_realm)
    if params.get("code_challenge") and params.get("code_challenge_method", "plain") != "S256":
        return RedirectResponse(_with_params(redirect_uri, {"error": "invalid_request", "state": params.get("state", "")}), 303)
    code = state.tokens.issue_code(realm.realm_id, redirect_uri, params.get("code_challenge") or None)
    callback = {"code": code, "state": params.get("state", ""), "realmId": realm.realm_id}
    return RedirectResponse(_with_params(redirect_uri, callback), 303)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """`client_secret_basic` or `client_secret_post`, both advertised by Intuit."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


def _authenticate_client(state: SandboxState, request: Request, form: dict[str, str]) -> None:
    if _client_credentials(request, form) != (state.config.client_id, state.config.client_secret):
        raise errors.OAuthError(401, "invalid_client")


@router.post(TOKEN_PATH)
async def token(request: Request) -> JSONResponse:
    state = sandbox_state(request)
    form = dict(parse_qsl((await request.body()).decode()))
    try:
        _authenticate_client(state, request, form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            pair = state.tokens.redeem_code(form.get("code", ""), form.get("redirect_uri", ""),
                                            form.get("code_verifier", ""))
        elif grant_type == "refresh_token":
            pair = state.tokens.refresh(form.get("refresh_token", ""))
        else:
            raise errors.OAuthError(400, "unsupported_grant_type")
    except errors.OAuthError as exc:
        return exc.response()
    return JSONResponse(pair, headers={"Cache-Control": "no-store"})


@router.post(REVOKE_PATH)
async def revoke(request: Request) -> Response:
    """Body is JSON `{"token": ...}` (intuitlib); a form body is accepted too."""
    state = sandbox_state(request)
    raw = (await request.body()).decode()
    try:
        body = json.loads(raw) if raw.strip().startswith("{") else dict(parse_qsl(raw))
    except ValueError:
        body = {}
    try:
        _authenticate_client(state, request, body)
    except errors.OAuthError as exc:
        return exc.response()
    state.tokens.revoke(str(body.get("token", "")))
    return Response(status_code=200)


@router.get("/.well-known/openid_configuration")
async def discovery(request: Request) -> JSONResponse:
    """Lets `intuitlib.AuthClient(environment=<this URL>)` find the sandbox's endpoints."""
    base = str(request.base_url).rstrip("/")
    return JSONResponse({
        "issuer": f"{base}/op/v1",
        "authorization_endpoint": f"{base}/connect/oauth2",
        "token_endpoint": f"{base}{TOKEN_PATH}",
        "revocation_endpoint": f"{base}{REVOKE_PATH}",
        "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
        "jwks_uri": f"{base}/op/v1/jwks",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "scopes_supported": [ACCOUNTING_SCOPE, "com.intuit.quickbooks.payment", "openid", "profile", "email"],
    })
