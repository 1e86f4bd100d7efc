"""What the pages need from QuickBooks: the connection's state, the company's name and
the accounts and tax codes to choose from.

Pages must stay quick and readable when QuickBooks is slow or the connection is broken,
so calls retry little and every failure becomes a short message (never a token).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from cachetools import TTLCache

from accounting_sync.common import runtime
from accounting_sync.config.companies import Company
from accounting_sync.config.connections import ConnectionUnusable, MissingConnection
from accounting_sync.qbo_sync.company import CompanyKind
from accounting_sync.qbo_sync.globaltax import CompanyTaxCode, company_codes
from accounting_sync.quickbooks.client import QuickBooksClient
from accounting_sync.quickbooks.faults import QboFault
from accounting_sync.quickbooks.oauth import (
    RECONNECT_MESSAGE,
    QuickBooksConnectionExpired,
    QuickBooksNotConnected,
    TokenManager,
)
from accounting_sync.store.facade import StateStore

UI_ATTEMPTS = 2
CACHE_TTL_SECONDS = 300.0

# US companies' TAX/NON mark taxable lines; they are not a tax code for the whole document.
LINE_TAX_CODES = {"TAX", "NON"}

# Which QBO account types fit each mapping, so the lists offer sensible choices.
ACCOUNT_TYPES = {
    "income_account": {"Income", "Other Income"},
    "discount_account": {"Income", "Other Income", "Expense", "Other Expense"},
    "deposit_account": {"Bank", "Other Current Asset"},
    "bad_debt_account": {"Expense", "Other Expense"},
}


@dataclass(frozen=True)
class ConnectionStatus:
    state: str  # connected | disconnected | expired | unavailable
    message: str | None = None
    realm_id: str | None = None
    company_name: str | None = None

    @property
    def connected(self) -> bool:
        return self.state == "connected"


@dataclass(frozen=True)
class Account:
    name: str
    account_type: str
    account_sub_type: str | None


@dataclass(frozen=True)
class Choices:
    """The connected company's accounts and tax codes, and which kind of company it is (a
    VAT/GST company's codes with their rates, to map Invoiced's tax rates onto)."""

    accounts: list[Account]
    tax_codes: list[str]
    kind: CompanyKind = field(default_factory=CompanyKind)
    rated_codes: list[CompanyTaxCode] = field(default_factory=list)

    def accounts_for(self, field: str) -> list[Account]:
        return [account for account in self.accounts if account.account_type in ACCOUNT_TYPES[field]]


# What a page shows of a QBO company, by (company, realm): reloading a page must not
# spend the company's QBO request budget. TTLCache is not thread-safe; pages run in
# FastAPI's thread pool, hence the lock.
_names: TTLCache[tuple[str, str], str] = TTLCache(maxsize=256, ttl=CACHE_TTL_SECONDS)
_choices: TTLCache[tuple[str, str], Choices] = TTLCache(maxsize=256, ttl=CACHE_TTL_SECONDS)
_lock = threading.Lock()


def token_manager(store: StateStore, company: Company) -> TokenManager:
    return runtime.quickbooks_hook(company, store).token_manager()


def client(store: StateStore, company: Company) -> QuickBooksClient:
    qbo = runtime.quickbooks_client(store, company)
    qbo.max_attempts = UI_ATTEMPTS
    return qbo


def connection_status(store: StateStore, company: Company, fresh: bool = False) -> ConnectionStatus:
    """The stored token's state, with the company's name read from CompanyInfo."""
    try:
        row = token_manager(store, company).status()
    except MissingConnection as error:
        return ConnectionStatus(
            "unavailable", f"{error}: add it with the app's client id and secret to connect."
        )
    except ConnectionUnusable as error:  # the connection exists but a field is wrong
        return ConnectionStatus("unavailable", str(error))
    except RuntimeError as error:  # no encryption key configured
        return ConnectionStatus("unavailable", str(error))
    if row is None or row.status == "disconnected" or not row.realm_id:
        return ConnectionStatus("disconnected")
    if row.status == "expired":
        return ConnectionStatus("expired", RECONNECT_MESSAGE, row.realm_id)
    key = (company.key, row.realm_id)
    with _lock:
        name = None if fresh else _names.get(key)
    if name is None:
        try:
            name = str(client(store, company).company_info().get("CompanyName") or "")
        except QuickBooksConnectionExpired:
            return ConnectionStatus("expired", RECONNECT_MESSAGE, row.realm_id)
        except QuickBooksNotConnected as error:
            return ConnectionStatus("disconnected", str(error))
        except Exception as error:  # noqa: BLE001 - the page must render whatever QBO does
            return ConnectionStatus("unavailable", describe(error), row.realm_id)
        with _lock:
            _names[key] = name
    return ConnectionStatus("connected", realm_id=row.realm_id, company_name=name)


def choices(store: StateStore, company: Company, realm_id: str) -> Choices:
    """The accounts and tax codes of the connected company, read at most once in
    CACHE_TTL_SECONDS (two queries; the Configure page and every failed save show them)."""
    with _lock:
        cached = _choices.get((company.key, realm_id))
    if cached is None:
        cached = _read_choices(store, company)
        with _lock:
            _choices[(company.key, realm_id)] = cached
    return cached


def _read_choices(store: StateStore, company: Company) -> Choices:
    qbo = client(store, company)
    accounts = [
        Account(str(row.get("Name", "")), str(row.get("AccountType", "")), row.get("AccountSubType"))
        for row in qbo.query_rows("Account")
    ]
    rows = list(qbo.query_rows("TaxCode"))
    tax_codes = [str(row["Name"]) for row in rows if row.get("Name") not in LINE_TAX_CODES]
    kind = CompanyKind.from_preferences(qbo.preferences(), qbo.company_info().get("Country"))
    rated = company_codes(rows, list(qbo.query_rows("TaxRate"))) if kind.global_tax else []
    return Choices(sorted(accounts, key=lambda a: a.name.lower()), sorted(tax_codes, key=str.lower), kind, rated)


def describe(error: Exception) -> str:
    """A failure in words fit for the page: QBO's fault text, else only the kind."""
    if isinstance(error, QboFault | QuickBooksNotConnected):
        return str(error)
    return f"QuickBooks could not be reached ({type(error).__name__})."
