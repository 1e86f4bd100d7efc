"""Intuit OAuth 2.0 token lifecycle: single-use codes, expiring access tokens, rotating refresh tokens.

Rotation follows Intuit's documented behaviour: a refresh returns a *new* refresh token
only once the current one is older than `refresh_rotation_interval`; the replaced value
then stays usable for `refresh_grace` seconds and afterwards fails with `invalid_grant`.
Between rotations the value and its expiry stay put, so `x_refresh_token_expires_in`
shrinks from one refresh to the next (8,721,385 after 8,726,400 in a live report).
"""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.config import SandboxConfig

INVALID_REFRESH = "Incorrect or invalid refresh token"


@dataclass
class Grant:
    """One authorization of the app for one company; its refresh token rotates over time."""

    realm_id: str
    refresh_token: str
    refresh_issued_at: float
    refresh_expires_at: float
    superseded: dict[str, float] = field(default_factory=dict)
    revoked: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float


@dataclass
class AuthCode:
    realm_id: str
    redirect_uri: str
    expires_at: float
    grant: Grant | None = None
    challenge: str | None = None  # PKCE (RFC 7636): S256 of the verifier the exchange must send


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier: unpadded base64url of its SHA-256."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class TokenStore:
    """All OAuth state of one server; times are monotonic seconds."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._codes: dict[str, AuthCode] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, Grant] = {}

    def issue_code(self, realm_id: str, redirect_uri: str, challenge: str | None = None) -> str:
        code = "AB11" + secrets.token_urlsafe(36)
        expires_at = time.monotonic() + self.config.auth_code_ttl
        with self._lock:
            self._codes[code] = AuthCode(realm_id, redirect_uri, expires_at, challenge=challenge)
        return code

    def redeem_code(self, code: str, redirect_uri: str, verifier: str = "") -> dict[str, Any]:
        """Codes are single-use and bound to the redirect_uri of the authorize request. A
        second exchange of a code also revokes the tokens the first one gave (Intuit staff,
        intuit/oauth-jsclient#173), so a double-submitted callback ends up disconnected."""
        with self._lock:
            auth = self._codes.get(code)
            if auth is None or time.monotonic() > auth.expires_at:
                raise errors.OAuthError(400, "invalid_grant", "Authorization code is invalid or expired")
            if auth.grant is not None:
                auth.grant.revoked = True
                raise errors.OAuthError(400, "invalid_grant", "Authorization code is invalid or expired")
            if auth.redirect_uri != redirect_uri:
                raise errors.OAuthError(400, "invalid_grant", "redirect_uri does not match the authorization request")
            if auth.challenge is not None and not secrets.compare_digest(s256(verifier), auth.challenge):
                raise errors.OAuthError(400, "invalid_grant", "code_verifier does not match the code_challenge")
            response = self._new_grant(auth.realm_id)
            auth.grant = self._refresh[response["refresh_token"]]
            return response

    def issue(self, realm_id: str) -> dict[str, Any]:
        with self._lock:
            return self._new_grant(realm_id)

    def refresh(self, value: str) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            grant = self._refresh.get(value)
            if grant is None or grant.revoked or not self._refresh_usable(grant, value, now):
                raise errors.OAuthError(400, "invalid_grant", INVALID_REFRESH)
            if value == grant.refresh_token and now - grant.refresh_issued_at >= self.config.refresh_rotation_interval:
                self._rotate(grant, now)
            elif self.config.refresh_extends_expiry:
                grant.refresh_expires_at = now + self.config.refresh_token_ttl
            return self._token_response(grant, now)

    def revoke(self, value: str) -> None:
        """Revoking either token of a pair ends the whole grant."""
        with self._lock:
            access = self._access.get(value)
            grant = access.grant if access else self._refresh.get(value)
            if grant is not None:
                grant.revoked = True

    def realm_for(self, value: str) -> str:
        """The realm an access token may use, or the gateway's 401 fault."""
        with self._lock:
            access = self._access.get(value)
        if access is None:
            raise errors.authentication_failed("Token invalid")
        if access.grant.revoked:
            raise errors.authentication_failed("Token revoked")
        if time.monotonic() >= access.expires_at:
            raise errors.authentication_failed(f"Token expired: {value[:12]}...")
        return access.grant.realm_id

    def _refresh_usable(self, grant: Grant, value: str, now: float) -> bool:
        if value == grant.refresh_token:
            return now < grant.refresh_expires_at
        return now - grant.superseded[value] < self.config.refresh_grace

    def _rotate(self, grant: Grant, now: float) -> None:
        grant.superseded[grant.refresh_token] = now
        grant.refresh_token = "AB11" + secrets.token_urlsafe(40)
        grant.refresh_issued_at = now
        grant.refresh_expires_at = now + self.config.refresh_token_ttl
        self._refresh[grant.refresh_token] = grant

    def _new_grant(self, realm_id: str) -> dict[str, Any]:
        now = time.monotonic()
        grant = Grant(realm_id, "AB11" + secrets.token_urlsafe(40), now, now + self.config.refresh_token_ttl)
        self._refresh[grant.refresh_token] = grant
        return self._token_response(grant, now)

    def _token_response(self, grant: Grant, now: float) -> dict[str, Any]:
        access = "eyJ" + secrets.token_urlsafe(64)
        self._access[access] = AccessToken(grant, now + self.config.access_token_ttl)
        return {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": grant.refresh_token,
            "expires_in": math.ceil(self.config.access_token_ttl),
            "x_refresh_token_expires_in": math.ceil(grant.refresh_expires_at - now),
        }
