"""Connect to QuickBooks: Intuit's OAuth 2.0 authorization-code flow (requests-oauthlib).

The ``state`` sent to Intuit is also kept, sealed, in an HttpOnly cookie of the browser
that started the flow, with the company, the user and the redirect URI. The callback
accepts a code only when the returned state matches that cookie, so a code injected
into someone else's browser (login CSRF) connects nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests.auth import HTTPBasicAuth
from requests.exceptions import RequestException
from requests_oauthlib import OAuth2Session

from accounting_sync.config.connections import QBO_SCOPE, QuickBooksConfig
from accounting_sync.quickbooks.transport import oauth_calls
from accounting_sync.store.facade import StateStore
from accounting_sync.ui.security import same_secret

STATE_COOKIE = "accounting_sync_oauth"
STATE_MAX_AGE = 600


class AuthorizationFailed(Exception):
    """The round trip to Intuit did not give us a usable authorization."""


@dataclass(frozen=True)
class PendingAuthorization:
    """What the browser's state cookie holds while the user is at Intuit."""

    state: str
    company: str
    user: str
    redirect_uri: str
    verifier: str  # PKCE: only this browser can finish the exchange of the code

    def as_dict(self) -> dict[str, str]:
        return {"s": self.state, "c": self.company, "u": self.user, "r": self.redirect_uri, "v": self.verifier}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PendingAuthorization | None:
        if not data or not all(isinstance(data.get(key), str) for key in "scurv"):
            return None
        return cls(state=data["s"], company=data["c"], user=data["u"], redirect_uri=data["r"], verifier=data["v"])


def _session(config: QuickBooksConfig, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(config.client_id, redirect_uri=redirect_uri, scope=[QBO_SCOPE])


def authorization_url(config: QuickBooksConfig, redirect_uri: str) -> tuple[str, str, str]:
    """Intuit's consent page for this app, the state it will hand back, and the PKCE
    verifier (S256) that the code's exchange must present."""
    pkce = WebApplicationClient(config.client_id)
    verifier = pkce.create_code_verifier(64)
    with oauth_calls(config):
        url, state = _session(config, redirect_uri).authorization_url(
            config.authorize_url,
            code_challenge=pkce.create_code_challenge(verifier, "S256"),
            code_challenge_method="S256",
        )
    return str(url), str(state), verifier


def returned_code(params: dict[str, str], pending: PendingAuthorization | None, user: str) -> str:
    """The authorization code of a callback, once the callback is proven to answer the
    request this browser and user started."""
    if pending is None:
        raise AuthorizationFailed(
            "The QuickBooks authorization could not be matched to this browser "
            "(no pending request, or it is older than 10 minutes). Start again with Reconnect."
        )
    if not same_secret(params.get("state", ""), pending.state) or pending.user != user:
        raise AuthorizationFailed(
            "The answer from QuickBooks does not belong to the request started here "
            "(state mismatch), so it was ignored. Start again with Reconnect."
        )
    error = params.get("error")
    if error == "access_denied":
        raise AuthorizationFailed(
            "Access to QuickBooks was denied on the Intuit page, so nothing was connected."
        )
    if error:
        raise AuthorizationFailed(f"QuickBooks did not authorize the connection ({error}).")
    if not params.get("code") or not params.get("realmId"):
        raise AuthorizationFailed("QuickBooks answered without an authorization code or company (realmId).")
    if not params["realmId"].isascii() or not params["realmId"].isdigit():
        raise AuthorizationFailed("QuickBooks answered with a company id (realmId) that is not a number.")
    return params["code"]


def claim_code(store: StateStore, company: str, code: str) -> bool:
    """Take a code for this callback alone. Intuit revokes the tokens of a code exchanged
    twice, so a repeated callback (a double click, a reload, a second tab) must not
    exchange it again: the lease is atomic in the store, shared by every API server."""
    name = "oauth_code:" + hashlib.sha256(code.encode()).hexdigest()[:40]
    return store.acquire_lease(company, name, secrets.token_hex(16), timedelta(seconds=STATE_MAX_AGE))


def exchange_code(config: QuickBooksConfig, redirect_uri: str, code: str, verifier: str) -> dict[str, Any]:
    """Trade the one-time code for the token pair (client authenticated by HTTP Basic)."""
    try:
        with oauth_calls(config):
            token = _session(config, redirect_uri).fetch_token(
                config.token_url,
                code=code,
                code_verifier=verifier,
                auth=HTTPBasicAuth(config.client_id, config.client_secret),
                timeout=config.timeout,
            )
    except OAuth2Error as error:
        raise AuthorizationFailed(
            f"QuickBooks refused the authorization code ({error.error}). Start again with Reconnect."
        ) from None
    except RequestException as error:
        raise AuthorizationFailed(f"QuickBooks could not be reached ({type(error).__name__}).") from None
    return dict(token)
