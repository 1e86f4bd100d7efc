"""``QuickBooksHook``: the ``quickbooks`` connection type.

The connection holds the Intuit app (client ID and secret, environment, redirect URI,
timeout, rate limits). The company's tokens are not in it: the Accounting Sync page's
Connect button stores them, encrypted, in the state store, and the hook reads them there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from accounting_sync.config.connections import (
    QUICKBOOKS_CONN_TYPE,
    ConnectionLike,
    QuickBooksConfig,
    lookup_connection,
    quickbooks_config,
)

if TYPE_CHECKING:
    from accounting_sync.quickbooks.client import QuickBooksClient
    from accounting_sync.quickbooks.oauth import TokenManager
    from accounting_sync.store.facade import StateStore

NOT_CONNECTED = "not connected yet: press Connect on the Accounting Sync page"


class QuickBooksHook(BaseHook):
    """One company's QuickBooks Online API.

    :param quickbooks_conn_id: the ``quickbooks`` connection of the Intuit app.
    :param company: key of the company in ``include/companies.yaml`` whose tokens to use;
        by default the company that names this connection.
    :param store: the state store holding the tokens; by default the deployment's.
    """

    conn_name_attr = "quickbooks_conn_id"
    default_conn_name = "quickbooks_default"
    conn_type = QUICKBOOKS_CONN_TYPE
    hook_name = "QuickBooks Online"

    def __init__(
        self,
        quickbooks_conn_id: str = default_conn_name,
        company: str | None = None,
        store: StateStore | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.quickbooks_conn_id = quickbooks_conn_id
        self._company = company
        self._store = store

    @property
    def connection(self) -> ConnectionLike:
        return lookup_connection(self.quickbooks_conn_id)

    def config(self) -> QuickBooksConfig:
        """The Intuit app of the connection, validated (``InvalidConnection`` names the field)."""
        return quickbooks_config(self.connection)

    @property
    def company(self) -> str:
        """The company whose tokens this hook uses: the one naming this connection, else
        the one whose connection has the same Intuit app (the Connections page tests a
        copy of the connection under a random id)."""
        if self._company is None:
            self._company = self._find_company()
        return self._company

    def _find_company(self) -> str:
        from accounting_sync.config.companies import load_companies
        from accounting_sync.config.connections import ConnectionUnusable

        companies = load_companies()
        for company in companies:
            if company.quickbooks_conn_id == self.quickbooks_conn_id:
                return company.key
        app = self.config()
        for company in companies:
            try:
                other = quickbooks_config(lookup_connection(company.quickbooks_conn_id))
            except ConnectionUnusable:
                continue
            if (other.client_id, other.api_base) == (app.client_id, app.api_base):
                return company.key
        raise LookupError(
            f"no company in include/companies.yaml uses the connection {self.quickbooks_conn_id!r} "
            "or the same Intuit app"
        )

    @property
    def store(self) -> StateStore:
        if self._store is None:
            from accounting_sync.store.facade import open_store

            self._store = open_store()
        return self._store

    def token_manager(self, realm_id: str | None = None, config: QuickBooksConfig | None = None) -> TokenManager:
        """The company's tokens; ``realm_id`` pins the QBO company they must belong to."""
        from accounting_sync.quickbooks.oauth import TokenManager

        return TokenManager(self.store, self.company, config or self.config(), realm_id)

    def get_conn(self) -> QuickBooksClient:
        """The API client, with the token manager that refreshes the company's tokens."""
        from accounting_sync.quickbooks.client import QuickBooksClient

        config = self.config()
        return QuickBooksClient(config, self.token_manager(config=config))

    def test_connection(self) -> tuple[bool, str]:
        """Read CompanyInfo with the stored tokens: proves the app, the tokens and the API."""
        from accounting_sync.quickbooks.oauth import QuickBooksNotConnected

        try:
            client = self.get_conn()
            client.max_attempts = 2
            info = client.company_info()
        except QuickBooksNotConnected as error:
            message = str(error)
            return False, NOT_CONNECTED if message.startswith("QuickBooks is not connected") else message
        except Exception as error:  # noqa: BLE001 - the answer is the message, whatever failed
            return False, f"{type(error).__name__}: {error}"
        realm = client.tokens.access_token().realm_id
        return True, f"Connected to QuickBooks company {info.get('CompanyName') or '?'} (realm {realm})"
