"""QuickBooks OAuth2 tokens: encrypted at rest, refreshed once, never lost on rotation.

QBO rotates refresh tokens; the previous one dies soon after. Two tasks refreshing at
once would each get a new pair and one would overwrite the other with a dead token. So a
refresh happens only while holding the token row's lock, re-reads the row first (someone
may have refreshed already) and saves the new pair in the same transaction.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from accounting_sync.common.values import aware, utcnow
from accounting_sync.config.connections import QBO_SCOPE, QuickBooksConfig
from accounting_sync.quickbooks.transport import oauth_calls
from accounting_sync.store.bindings import StateHeld
from accounting_sync.store.facade import StateStore
from accounting_sync.store.schema import OAuthToken

log = logging.getLogger(__name__)

# At DEBUG, oauthlib and requests-oauthlib log each token request with its Basic header
# (client id and secret) and Intuit's answer with the new tokens, before anything could
# mask them. Whatever level a deployment sets, they stay at WARNING here.
for _chatty in ("oauthlib", "requests_oauthlib"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)

REFRESH_MARGIN = timedelta(minutes=5)
RECONNECT_MESSAGE = "QuickBooks connection expired: reconnect in Accounting Sync"


class QuickBooksNotConnected(RuntimeError):
    """No usable tokens: the user has to (re)connect on the Accounting Sync page."""


class QuickBooksConnectionExpired(QuickBooksNotConnected):
    def __init__(self) -> None:
        super().__init__(RECONNECT_MESSAGE)


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    realm_id: str
    expires_at: datetime


def encryption_keys() -> list[bytes]:
    """Keys from ACCOUNTING_SYNC_FERNET_KEY, else Airflow's own ``[core] fernet_key``;
    comma-separated keys allow rotation (the first one encrypts)."""
    keys = os.environ.get("ACCOUNTING_SYNC_FERNET_KEY") or _airflow_fernet_key()
    if not keys:
        raise RuntimeError(
            "No encryption key for QuickBooks tokens: set AIRFLOW__CORE__FERNET_KEY "
            "or ACCOUNTING_SYNC_FERNET_KEY"
        )
    return [key.strip().encode() for key in keys.split(",") if key.strip()]


def fernet() -> MultiFernet:
    """What encrypts the stored tokens."""
    return MultiFernet([Fernet(key) for key in encryption_keys()])


def _airflow_fernet_key() -> str:
    try:
        from airflow.configuration import conf

        return str(conf.get("core", "fernet_key", fallback="") or "")
    except Exception:  # noqa: BLE001 - outside Airflow there is simply no key here
        return ""


def mask(value: str) -> None:
    """Tell Airflow's log masker about a secret, when running inside Airflow."""
    try:
        from airflow.sdk.log import mask_secret

        mask_secret(value)
    except Exception:  # noqa: BLE001 - masking is best effort outside a task
        pass


class TokenManager:
    """Stores, reads and refreshes one company's QuickBooks tokens.

    ``realm_id`` pins the QBO company whose state the caller writes with: a token that
    belongs to another company (a reconnect during the run) is refused, never used."""

    def __init__(
        self, store: StateStore, company: str, config: QuickBooksConfig, realm_id: str | None = None
    ) -> None:
        self.store = store
        self.company = company
        self.config = config
        self.realm_id = realm_id
        self._crypto = fernet()
        self._cached: AccessToken | None = None

    # -- persistence --------------------------------------------------------------------

    def save(self, token: dict[str, Any], realm_id: str) -> None:
        """Store a token response (from the code exchange or a refresh)."""
        with self.store.locked_token(self.company) as row:
            self._write(row, token, realm_id)
        self._cached = None

    def _write(self, row: OAuthToken, token: dict[str, Any], realm_id: str | None) -> None:
        now = utcnow()
        mask(token["access_token"])
        row.access_token_enc = self._encrypt(token["access_token"])
        if token.get("refresh_token"):
            mask(token["refresh_token"])
            row.refresh_token_enc = self._encrypt(token["refresh_token"])
        row.access_expires_at = now + timedelta(seconds=int(token.get("expires_in", 3600)))
        if token.get("x_refresh_token_expires_in"):
            row.refresh_expires_at = now + timedelta(seconds=int(token["x_refresh_token_expires_in"]))
        row.realm_id = realm_id or row.realm_id
        row.status = "connected"
        row.version += 1

    def status(self) -> OAuthToken | None:
        return self.store.read_token(self.company)

    def disconnect(self) -> None:
        """Revoke at Intuit (best effort) and forget the tokens."""
        with self.store.locked_token(self.company) as row:
            refresh = self._decrypt(row.refresh_token_enc)
            if refresh:
                try:
                    with oauth_calls(self.config):
                        self._session().post(
                            self.config.revoke_url,
                            json={"token": refresh},
                            auth=HTTPBasicAuth(self.config.client_id, self.config.client_secret),
                            headers={"Accept": "application/json"},
                            timeout=self.config.timeout,
                        )
                except Exception as error:  # noqa: BLE001 - local forget must still happen
                    log.warning("Revoking the QuickBooks token failed: %s", type(error).__name__)
            row.access_token_enc = row.refresh_token_enc = None
            row.access_expires_at = row.refresh_expires_at = None
            row.status = "disconnected"
            row.version += 1
        self._cached = None

    # -- access -------------------------------------------------------------------------

    def access_token(self) -> AccessToken:
        """A token valid for at least REFRESH_MARGIN, refreshing when needed."""
        if self._cached and self._cached.expires_at - REFRESH_MARGIN > utcnow():
            return self._cached
        row = self.store.read_token(self.company)
        token = self._usable(row)
        if token is None:
            token = self._refresh(stale=None)
        self._cached = token
        return token

    def refresh_after_401(self, rejected: AccessToken) -> AccessToken:
        """QBO refused a token we thought valid: refresh once, unless another process
        already replaced it."""
        self._cached = self._refresh(stale=rejected.value)
        return self._cached

    def _usable(self, row: OAuthToken | None) -> AccessToken | None:
        if row is None or row.status != "connected" or not row.access_token_enc or not row.realm_id:
            return None
        self._check_realm(row.realm_id)
        expires = aware(row.access_expires_at)
        if expires is None or expires - REFRESH_MARGIN <= utcnow():
            return None
        value = self._decrypt(row.access_token_enc)
        if value is None:
            return None
        mask(value)
        return AccessToken(value, row.realm_id, expires)

    def _refresh(self, stale: str | None) -> AccessToken:
        with self.store.locked_token(self.company) as row:
            current = self._usable(row)
            if current is not None and current.value != stale:
                return current
            if row.status == "expired":
                raise QuickBooksConnectionExpired()
            refresh = self._decrypt(row.refresh_token_enc)
            if not refresh or not row.realm_id:
                raise QuickBooksNotConnected(
                    "QuickBooks is not connected: use Connect to QuickBooks in Accounting Sync"
                )
            self._check_realm(row.realm_id)
            mask(refresh)
            token = self._request_refresh(refresh)
            if token is None:
                # Commit the expired status (raising here would roll it back).
                row.status = "expired"
            else:
                self._write(row, token, row.realm_id)
                log.info("QuickBooks access token refreshed (token version %s)", row.version)
        if token is None:
            raise QuickBooksConnectionExpired()
        return AccessToken(token["access_token"], str(row.realm_id), aware(row.access_expires_at) or utcnow())

    def _check_realm(self, realm_id: str) -> None:
        if self.realm_id and realm_id != self.realm_id:
            raise StateHeld(
                f"QuickBooks was reconnected to company {realm_id} while this run held the state of "
                f"company {self.realm_id}; nothing was written. The next run checks the connection again."
            )

    def _request_refresh(self, refresh: str) -> dict[str, Any] | None:
        """The new token pair, or None when Intuit says the refresh token is dead."""
        try:
            with oauth_calls(self.config):
                token = self._session().refresh_token(
                    self.config.token_url,
                    refresh_token=refresh,
                    auth=HTTPBasicAuth(self.config.client_id, self.config.client_secret),
                    timeout=self.config.timeout,
                )
        except Exception as error:
            if "invalid_grant" in str(error):
                return None
            raise RuntimeError(f"QuickBooks token refresh failed: {type(error).__name__}") from None
        return dict(token)

    def _session(self) -> OAuth2Session:
        return OAuth2Session(self.config.client_id, scope=[QBO_SCOPE])

    def _encrypt(self, value: str) -> str:
        return self._crypto.encrypt(value.encode()).decode()

    def _decrypt(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return self._crypto.decrypt(value.encode()).decode()
        except InvalidToken:
            raise QuickBooksNotConnected(
                "Stored QuickBooks tokens cannot be decrypted with the current key: reconnect"
            ) from None

