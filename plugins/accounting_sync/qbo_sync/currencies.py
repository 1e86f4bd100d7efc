"""Multicurrency companies: a QBO customer has one currency, fixed once it has
transactions, while an Invoiced customer can bill in several. So each Invoiced customer
has one QBO customer per currency it bills in:

- the one in its own currency (the Invoiced customer's ``currency``, else QBO's home
  currency) keeps the id map key of the customer (``42``) and its plain name;
- one per other currency is keyed ``42:EUR`` and named "Acme (EUR)", so an accountant
  recognises it, and re-runs find it in the id map.

Documents and payments are written with their own ``CurrencyRef``, on the customer of that
currency; the exchange rate is QBO's unless ``exchange_rates`` in the mapping sets one.
"""

from __future__ import annotations

from typing import Any

from accounting_sync.common.job import SyncJob
from accounting_sync.invoiced.client import InvoicedError
from accounting_sync.qbo_sync.transform import clean_name
from accounting_sync.store.idmap import CURRENCY_TYPE, ORIGIN_INVOICED, MappedRecord


def customer_key(customer_id: str, currency: str | None, own: str) -> str:
    """The id map key of the QBO customer for this customer's documents in ``currency``."""
    return customer_id if not currency or currency == own else f"{customer_id}:{currency}"


def split_key(key: str) -> tuple[str, str | None]:
    """``42:EUR`` -> (``42``, ``EUR``); a plain key has no currency of its own."""
    customer_id, _, currency = key.partition(":")
    return customer_id, currency or None


def twin(customer: dict[str, Any], currency: str, limit: int) -> dict[str, Any]:
    """The Invoiced customer as the QBO customer of one more currency."""
    suffix = f" ({currency})"
    name = clean_name(customer.get("name"), limit - len(suffix)) or f"Customer {customer.get('number') or customer['id']}"
    return {**customer, "id": f"{customer['id']}:{currency}", "name": name + suffix, "currency": currency}


def in_currency(payload: dict[str, Any], key: str, currency: str, rate: float | None) -> dict[str, Any]:
    """A document on the customer of its currency, with that currency (and a set rate)."""
    written = {**payload, "CustomerRef": {"$customer": key}, "CurrencyRef": {"value": currency}}
    if rate is not None:
        written["ExchangeRate"] = rate
    return written


class CustomerCurrencies:
    """Which QBO customer (by id map key) holds a customer's documents in a currency."""

    def __init__(self, job: SyncJob, home: str, staged: dict[str, dict[str, Any]]) -> None:
        self.job, self.home, self.staged = job, home.upper(), staged
        self._own: dict[str, str] = {}

    def own(self, customer_id: str) -> str:
        """The currency of the QBO customer keyed by the plain id: as created, linked or
        imported by qbo_import (recorded), else the Invoiced customer's for one not created
        yet, else home (created before multicurrency was turned on)."""
        if customer_id not in self._own:
            store, company = self.job.store, self.job.company
            recorded = store.get_mapping(company, CURRENCY_TYPE, customer_id)
            if recorded is not None:
                currency = recorded.qbo_id
            elif customer_id in self.staged and store.get_mapping(company, "customer", customer_id) is None:
                currency = str(self.staged[customer_id].get("currency") or self.home)
            else:
                currency = self.home
            self._own[customer_id] = currency.upper()
        return self._own[customer_id]

    def key(self, customer_id: str, currency: str | None) -> str:
        return customer_key(customer_id, currency, self.own(customer_id))

    def currency_of(self, customer: dict[str, Any]) -> str:
        customer_id, currency = split_key(str(customer["id"]))
        return currency or self.own(customer_id)

    def twins(self, keys: set[str], limit: int) -> list[dict[str, Any]]:
        """The customers to create for these per-currency keys (a deleted customer has none)."""
        created = []
        for key in sorted(keys):
            customer_id, currency = split_key(key)
            customer = self.staged.get(customer_id) or self._fetched(customer_id)
            if customer is not None and currency:
                created.append(twin(customer, currency, limit))
        return created

    def _fetched(self, customer_id: str) -> dict[str, Any] | None:
        try:
            return dict(self.job.invoiced.get(f"/customers/{customer_id}", {}))
        except InvoicedError as error:
            if error.status != 404:
                raise
            return None

    def record(self, currencies: dict[str, str]) -> None:
        """Remember each new QBO customer's currency, so later runs route documents the same way."""
        self.job.store.put_mappings(self.job.company, CURRENCY_TYPE, [
            MappedRecord(key, currency, None, None, ORIGIN_INVOICED) for key, currency in currencies.items()
        ])
