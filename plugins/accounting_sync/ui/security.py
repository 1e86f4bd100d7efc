"""Who may use the Accounting Sync pages, and protection against cross-site requests.

Airflow 3 mounts plugin apps without its authentication, so every route depends on
Airflow's own auth dependencies: the user comes from the JWT the Airflow UI already
holds (``Authorization: Bearer`` or the ``_token`` cookie), and the auth manager decides.

State-changing requests are POSTs that must carry a CSRF token: a random per-browser
cookie plus a form field sealing that cookie value together with the user (a signed
double submit). A cookie planted from another port of the same host, or a token taken
from another user's page, does not pass. Cross-site requests are refused up front.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Annotated, Any
from urllib.parse import urlsplit

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import (
    AccessView,
    ConnectionDetails,
)
from airflow.api_fastapi.core_api.security import get_user, requires_access_view
from airflow.configuration import conf
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Depends, HTTPException, Request, status

from accounting_sync.common.flows import FLOWS
from accounting_sync.config.companies import Company, load_companies
from accounting_sync.quickbooks.oauth import encryption_keys

CSRF_COOKIE = "accounting_sync_csrf"
CSRF_FIELD = "csrf_token"
CSRF_MAX_AGE = 12 * 3600

# Every page needs Airflow's "plugins" view permission (viewer and above).
require_view = requires_access_view(AccessView.PLUGINS)


SEAL_INFO = b"accounting-sync ui seal v1"


def _sealer() -> MultiFernet:
    """Keys of their own for the UI's sealed values, derived (HKDF-SHA256) from the token
    keys every API server process shares: a cookie is never encrypted under the key that
    protects the stored tokens, and the tokens' key rotation rotates these too."""
    return MultiFernet([
        Fernet(base64.urlsafe_b64encode(
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SEAL_INFO).derive(base64.urlsafe_b64decode(key))
        ))
        for key in encryption_keys()
    ])


def seal(purpose: str, data: dict[str, Any]) -> str:
    """Encrypt and sign a small value for one purpose (``csrf``, ``flash``, ``oauth``)."""
    return _sealer().encrypt(json.dumps({"p": purpose, "d": data}, separators=(",", ":")).encode()).decode()


def unseal(purpose: str, value: str | None, max_age: int) -> dict[str, Any] | None:
    """The sealed value, or None when missing, malformed, forged, sealed for another
    purpose or older than ``max_age`` seconds."""
    if not value:
        return None
    try:
        sealed = json.loads(_sealer().decrypt(value.encode(), ttl=max_age))
    except (InvalidToken, ValueError):
        return None
    if not isinstance(sealed, dict) or sealed.get("p") != purpose or not isinstance(sealed.get("d"), dict):
        return None
    return dict(sealed["d"])


def same_secret(given: object, expected: str) -> bool:
    """Constant-time equality on bytes: ``compare_digest`` raises on non-ASCII text."""
    return isinstance(given, str) and secrets.compare_digest(given.encode(), expected.encode())


def user_id(user: BaseUser) -> str:
    return str(user.get_id())


def readable_dags(user: BaseUser, company: Company) -> set[str]:
    """The company's sync DAGs whose runs Airflow lets this user read."""
    return get_auth_manager().filter_authorized_dag_ids(
        dag_ids={company.dag_id(flow.name) for flow in FLOWS}, user=user, method="GET"
    )


def may_read(user: BaseUser, company: Company) -> bool:
    """A company's pages show its runs, its settings and what its QuickBooks tokens can
    reach, so they need read access to one of its DAGs or to its QuickBooks connection:
    "may view plugins" alone does not show another team's books."""
    return bool(readable_dags(user, company)) or get_auth_manager().is_authorized_connection(
        method="GET", details=ConnectionDetails(conn_id=company.quickbooks_conn_id), user=user
    )


def readable_companies(user: BaseUser) -> list[Company]:
    return [company for company in load_companies() if may_read(user, company)]


def may_edit(user: BaseUser, company: Company) -> bool:
    """Connecting, disconnecting and configuring change how a company's QuickBooks
    connection is used, so they need the right to edit that Airflow connection (Op and
    Admin with the simple auth manager)."""
    return get_auth_manager().is_authorized_connection(
        method="PUT", details=ConnectionDetails(conn_id=company.quickbooks_conn_id), user=user
    )


def require_edit(user: BaseUser, company: Company) -> None:
    if not may_edit(user, company):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"You may not change the QuickBooks connection of company {company.key!r}: "
            "ask an Airflow admin for the right to edit connections.",
        )


def airflow_token(request: Request) -> str | None:
    """The caller's Airflow JWT, to call Airflow's REST API on their behalf."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN)


# -- CSRF ------------------------------------------------------------------------------


def csrf_nonce(request: Request) -> str:
    """The browser's CSRF cookie value, or a new one (the page then sets it)."""
    current = request.cookies.get(CSRF_COOKIE)
    if current and 20 <= len(current) <= 100:
        return current
    return secrets.token_urlsafe(32)


def csrf_token(nonce: str, user: BaseUser) -> str:
    return seal("csrf", {"n": nonce, "u": user_id(user)})


def public_origin(request: Request) -> tuple[str, str, int | None]:
    """(scheme, host, port) the browser sees. Behind a TLS proxy the request arrives over
    plain HTTP with the proxy's Host, so Airflow's ``[api] base_url`` decides when set;
    request headers (which a client can forge) only when it is not."""
    configured = conf.get("api", "base_url", fallback="") or ""
    parts = urlsplit(configured if "://" in configured else str(request.base_url))
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def public_url(request: Request, path: str) -> str:
    scheme, host, port = public_origin(request)
    return f"{scheme}://{host}{f':{port}' if port else ''}{path}"


def is_same_origin(request: Request) -> bool:
    """Browsers send ``Sec-Fetch-Site`` and ``Origin`` with every POST; anything but our
    own origin (scheme, host and port) is a cross-site request."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return (parts.scheme, (parts.hostname or "").lower(), parts.port) == public_origin(request)


async def form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def csrf_protected(
    request: Request,
    form: Annotated[dict[str, str], Depends(form_data)],
    user: Annotated[BaseUser, Depends(get_user)],
) -> None:
    """Refuse a state-changing request that did not come from one of our own pages."""
    sealed = unseal("csrf", form.get(CSRF_FIELD), CSRF_MAX_AGE)
    cookie = request.cookies.get(CSRF_COOKIE)
    valid = (
        is_same_origin(request)
        and sealed is not None
        and cookie is not None
        and same_secret(sealed.get("n"), cookie)
        and same_secret(sealed.get("u"), user_id(user))
    )
    if not valid:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "The form was not sent from this Accounting Sync page (CSRF check failed): reload the page and try again.",
        )


def login_url(request: Request) -> str:
    return get_auth_manager().get_url_login(next_url=str(request.url))
