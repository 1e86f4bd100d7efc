"""What must exist in QBO before documents can be written: accounts, the tax code and
items, plus resolving the placeholders in planned payloads to QBO ids.

Item ids are kept in the id map (object type ``item``). The company's preferences, the
ids of accounts and the tax code, and the classes, locations and terms by name are
reference data kept in the read cache for
``qbo_cache_hours`` (Intuit meters reads): a run within that time makes no setup reads,
and a write QBO refuses for a stale reference drops them (``writer.record_fault``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

from accounting_sync.common.values import RecordRejected, chunked, name_key
from accounting_sync.config.settings import AccountSpec, SyncSettings, field_limits
from accounting_sync.qbo_sync.company import DISCOUNT_ITEM, CompanyKind
from accounting_sync.qbo_sync.globaltax import ROUNDING_ITEM, TaxCodes, company_codes
from accounting_sync.qbo_sync.transform import Planned, clean_name
from accounting_sync.qbo_sync.writer import BatchWriter, WriteOp
from accounting_sync.quickbooks.client import QuickBooksClient, escape
from accounting_sync.quickbooks.faults import QboFault
from accounting_sync.store.facade import StateStore
from accounting_sync.store.idmap import ORIGIN_INVOICED, MappedRecord

log = logging.getLogger(__name__)

PLACEHOLDERS = {
    "$customer": "customer",
    "$item": "item",
    "$invoice": "invoice",
    "$credit_note": "credit_note",
    "$fee": "fee",
    "$refund_invoice": "refund_invoice",
}
TXN_IDS = frozenset({"$invoice", "$credit_note", "$fee", "$refund_invoice"})
"""Placeholders that stand for a LinkedTxn's TxnId (a bare id), not a reference."""
SETUP_ITEMS = {
    "setup:bad_debt": ("bad_debt_item_name", "bad_debt_account"),
    "setup:convenience_fee": ("convenience_fee_item_name", "convenience_fee_account"),
    "setup:refund": ("refund_item_name", "refund_account"),
    DISCOUNT_ITEM: ("discount_item_name", "discount_account"),
    ROUNDING_ITEM: ("tax_rounding_item_name", "income_account"),
}
"""The items the sync books its own lines on: setting of the name, setting of the account."""
LISTS = {
    "$class": ("Class", "class", "class_metadata_key", "Settings > All lists > Classes"),
    "$department": ("Department", "location", "location_metadata_key", "Settings > All lists > Locations"),
    "$term": ("Term", "terms", "terms_metadata_key", "Settings > All lists > Terms"),
}
"""Lists a document refers to by name from Invoiced metadata: the QBO entity, what users
call it, the setting naming the metadata key, and where QBO keeps the list."""
NAMES_PER_QUERY = 40
ITEMS_LISTED_WHOLE = 120
"""Past this many items to find, the item list is read whole (a query per 1,000 items)
instead of by SKU and by name (two queries per 40): fewer reads unless the company has
more than 6,000 items. A first sync of a few hundred items takes one query instead of 16."""


class QboSetup:
    def __init__(self, store: StateStore, qbo: QuickBooksClient, company: str, settings: SyncSettings) -> None:
        self.store, self.qbo, self.company, self.settings = store, qbo, company, settings
        self._cache: dict[str, dict[str, str]] = {kind: {} for kind in PLACEHOLDERS.values()}
        self._setup: dict[str, str] = {}
        self._preferences: dict[str, Any] | None = None
        self._kind: CompanyKind | None = None
        self._tax_codes: TaxCodes | None = None
        self._currencies: set[str] | None = None
        self._lists: dict[str, dict[str, str]] = {}
        self._lists_read: set[str] = set()

    # -- preferences ----------------------------------------------------------------------

    def preferences(self) -> dict[str, Any]:
        if self._preferences is None:
            self._preferences = dict(self._cached("preferences", self.qbo.preferences))
        return self._preferences

    def kind(self) -> CompanyKind:
        if self._kind is None:
            company_info = self._cached("company_info", self.qbo.company_info)
            self._kind = CompanyKind.from_preferences(self.preferences(), company_info.get("Country"))
        return self._kind

    def _cached(self, key: str, read: Callable[[], Any]) -> Any:
        """The cached value of ``key`` while it is younger than ``qbo_cache_hours``, else read anew."""
        value = self.store.cached_read(self.company, key, timedelta(hours=self.settings.qbo_cache_hours))
        if value is None:
            value = read()
            self.store.cache_read(self.company, key, value)
        return value

    def home_currency(self) -> str | None:
        """From the preferences alone (no CompanyInfo read needed for it)."""
        return CompanyKind.from_preferences(self.preferences()).home_currency

    def currencies(self) -> set[str]:
        """The currencies a multicurrency company has added, home included."""
        if self._currencies is None:
            rows = self.qbo.query_rows("CompanyCurrency")
            self._currencies = {str(row["Code"]).upper() for row in rows if row.get("Active", True)}
            self._currencies.add(str(self.home_currency()))
        return self._currencies

    def tax_codes(self) -> TaxCodes:
        """A VAT/GST company's own tax codes and rates, read once per run."""
        if self._tax_codes is None:
            codes = company_codes(list(self.qbo.query_rows("TaxCode")), list(self.qbo.query_rows("TaxRate")))
            self._tax_codes = TaxCodes(codes, self.settings.tax_code_map, self.settings.untaxed_tax_code)
        return self._tax_codes

    # -- placeholders -----------------------------------------------------------------------

    def prefetch(self, plans: list[Planned]) -> None:
        """Load the id map rows the plans refer to, in a few queries instead of one each."""
        wanted: dict[str, set[str]] = {kind: set() for kind in self._cache}
        for plan in plans:
            for dep in plan.depends_on:
                kind, _, key = dep.partition(":")
                if kind in wanted:
                    wanted[kind].add(key)
        for kind, keys in wanted.items():
            missing = keys - self._cache[kind].keys()
            for key, record in self.store.get_mappings(self.company, kind, missing).items():
                self._cache[kind][key] = record.qbo_id

    def resolve(self, value: Any) -> Any:
        """Copy of ``value`` with every placeholder replaced by a QBO reference."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, ref), = value.items()
            if key in PLACEHOLDERS:
                qbo_id = self._lookup(PLACEHOLDERS[key], str(ref))
                return qbo_id if key in TXN_IDS else {"value": qbo_id}
            if key == "$account":
                return {"value": self.account(getattr(self.settings, f"{ref}_account"))}
            if key == "$deposit":
                return {"value": self.deposit_account(str(ref))}
            if key == "$taxcode":
                return {"value": self.tax_code()}
            if key in LISTS:
                return {"value": self.list_id(key, str(ref))}
        return {key: self.resolve(item) for key, item in value.items()}

    def _lookup(self, kind: str, key: str) -> str:
        cached = self._cache[kind].get(key)
        if cached is None:
            record = self.store.get_mapping(self.company, kind, key)
            if record is None:
                raise LookupError((kind, key))
            cached = self._cache[kind][key] = record.qbo_id
        return cached

    # -- accounts and tax code --------------------------------------------------------------

    def _remember(self, key: str, find: Callable[[], str]) -> str:
        if key not in self._setup:
            self._setup[key] = str(self._cached(key, find))
        return self._setup[key]

    def account(self, spec: AccountSpec) -> str:
        """The account with this name, created when absent (Invoiced's default accounts)."""

        def find_or_create() -> str:
            rows = list(self.qbo.query_rows("Account", f"Name = '{escape(spec.name)}'"))
            if not rows and spec.account_sub_type:
                rows = list(self.qbo.query_rows("Account", f"AccountSubType = '{escape(spec.account_sub_type)}'"))
                rows = [row for row in rows if spec.account_sub_type == "UndepositedFunds"]
            if rows:
                return str(rows[0]["Id"])
            payload = {"Name": spec.name, "AccountType": spec.account_type}
            if spec.account_sub_type:
                payload["AccountSubType"] = spec.account_sub_type
            log.info("Creating QuickBooks account %r", spec.name)
            return str(self.qbo.write("Account", payload, _setup_request_id(self.company, "account", spec.name))["Id"])

        return self._remember(f"account:{spec.name}", find_or_create)

    def deposit_account(self, name: str) -> str:
        if name == self.settings.deposit_account.name:
            return self.account(self.settings.deposit_account)

        def find() -> str:
            rows = list(self.qbo.query_rows("Account", f"Name = '{escape(name)}'"))
            if not rows:
                raise QboFault(400, "missing_account", f"deposit account {name!r} does not exist in QuickBooks")
            return str(rows[0]["Id"])

        return self._remember(f"account:{name}", find)

    def tax_code(self) -> str:
        if self.kind().automated_sales_tax:
            return self._remember("taxcode:automated", self._automated_tax_code)
        spec = self.settings.tax_code

        def find_or_create() -> str:
            rows = list(self.qbo.query_rows("TaxCode", f"Name = '{escape(spec.name)}'"))
            if rows:
                return str(rows[0]["Id"])
            body = {
                "TaxCode": spec.name,
                "TaxRateDetails": [
                    {
                        "TaxRateName": spec.rate_name,
                        "RateValue": spec.rate_percent,
                        "TaxAgencyId": spec.agency_id,
                        "TaxApplicableOn": "Sales",
                    }
                ],
            }
            log.info("Creating QuickBooks tax code %r", spec.name)
            answer = self.qbo.request(
                "POST", "taxservice/taxcode", json=body,
                request_id=_setup_request_id(self.company, "taxcode", spec.name), kind="write",
            )
            return str(answer.get("TaxCodeId") or answer.get("TaxCode", {}).get("Id"))

        return self._remember(f"taxcode:{spec.name}", find_or_create)

    def _automated_tax_code(self) -> str:
        """Under AST the override needs one of the company's own rated codes (TAX/NON have no
        rates); the tax service is never called, AST owns the codes."""
        for row in self.qbo.query_rows("TaxCode", "Active = true"):
            if (row.get("SalesTaxRateList") or {}).get("TaxRateDetail"):
                return str(row["Id"])
        raise QboFault(400, "missing_tax_code", "the QuickBooks company has no sales tax code to override the tax with",
                       "Set up sales tax in QuickBooks (Taxes > Sales tax).")

    # -- classes, locations and terms -------------------------------------------------------

    def list_id(self, placeholder: str, name: str) -> str:
        """The id of the active class, location or term with this name; never created: a
        name QBO does not have fails the record (``RecordRejected``) saying how to fix it."""
        entity, label, setting, where = LISTS[placeholder]
        found = self._list(entity).get(name_key(name))
        if found is None and entity not in self._lists_read:
            found = self._list(entity, fresh=True).get(name_key(name))  # perhaps added since it was cached
        if found is None:
            raise RecordRejected(
                f"the QuickBooks {label} {name!r} (Invoiced metadata {getattr(self.settings, setting)}) does not "
                "exist or is inactive",
                f"Add it in QuickBooks ({where}) or correct the metadata on Invoiced; the sync never creates a "
                f"{label}. The next sync retries.",
                f"missing_{entity.lower()}",
            )
        return found

    def _list(self, entity: str, fresh: bool = False) -> dict[str, str]:
        """Name key -> id of the list's active rows, read once per run (and cached between runs)."""
        def read() -> dict[str, str]:
            self._lists_read.add(entity)
            return {name_key(str(row.get("Name", ""))): str(row["Id"]) for row in self.qbo.query_rows(entity)}

        if fresh:
            self._lists[entity] = read()
            self.store.cache_read(self.company, f"list:{entity}", self._lists[entity])
        elif entity not in self._lists:
            self._lists[entity] = dict(self._cached(f"list:{entity}", read))
        return self._lists[entity]

    # -- items ------------------------------------------------------------------------------

    def ensure_items(
        self, keys: set[str], names: dict[str, str], writer: Callable[..., BatchWriter]
    ) -> dict[str, QboFault]:
        """Map every item key to a QBO item: by SKU, then by name, else create it.
        Returns the keys that could not be mapped, with why."""
        known = self.store.get_mappings(self.company, "item", keys)
        missing = sorted(keys - known.keys())
        if not missing:
            return {}
        skus = {key.split(":", 1)[1]: key for key in missing if key.startswith("sku:")}
        listed = list(self.qbo.query_rows("Item", "Active IN (true, false)")) if len(missing) > ITEMS_LISTED_WHOLE else None
        found: dict[str, dict[str, Any]] = {}
        for row in self._item_rows("Sku", skus, listed):
            if row.get("Sku") in skus:
                found[skus[row["Sku"]]] = row
        unresolved = [key for key in missing if key not in found]
        by_name = self._items_by_name({names[key] for key in unresolved}, listed)
        creates: list[WriteOp] = []
        used = {name_key(n) for n in by_name}
        for key in unresolved:
            match = by_name.get(name_key(names[key]))
            sku = key.split(":", 1)[1] if key.startswith("sku:") else None
            if match is not None and (sku is None or not match.get("Sku") or match.get("Sku") == sku):
                found[key] = match
                continue
            creates.append(WriteOp("item", key, "create", self._item_payload(key, names[key], sku, used), None, names[key]))
        self.store.put_mappings(
            self.company, "item", [MappedRecord(k, str(r["Id"]), r.get("SyncToken"), None, ORIGIN_INVOICED) for k, r in found.items()]
        )
        failures: dict[str, QboFault] = {}

        def record_failure(op: WriteOp, fault: QboFault) -> None:
            failures[op.source_id] = fault

        outcome = writer("Item", on_fault=lambda op, fault: record_failure(op, fault)).write(creates)
        for key in outcome.failed:
            failures.setdefault(key, QboFault(400, "item_failed", "QuickBooks refused the item"))
        return failures

    def _item_payload(self, key: str, name: str, sku: str | None, used: set[str]) -> dict[str, Any]:
        limit = field_limits()["item_name"]
        if name_key(name) in used and sku:
            suffix = f" ({sku})"
            name = clean_name(name[: limit - len(suffix)] + suffix, limit)
        used.add(name_key(name))
        account = getattr(self.settings, SETUP_ITEMS[key][1]) if key in SETUP_ITEMS else self.settings.income_account
        payload: dict[str, Any] = {
            "Name": name,
            "Type": self.settings.item_type,
            "IncomeAccountRef": {"value": self.account(account)},
        }
        if sku:
            payload["Sku"] = sku[: field_limits()["sku"]]
        return payload

    def setup_item_names(self) -> dict[str, str]:
        """The QBO name of each item the sync books its own lines on."""
        return {key: getattr(self.settings, name) for key, (name, _) in SETUP_ITEMS.items()}

    def _items_by_name(self, names: set[str], listed: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
        wanted = {name_key(name) for name in names}
        found: dict[str, dict[str, Any]] = {}
        for row in self._item_rows("Name", names, listed):
            if name_key(row.get("Name", "")) in wanted:
                found.setdefault(name_key(row.get("Name", "")), row)
        return found

    def _item_rows(
        self, field: str, values: Iterable[str], listed: list[dict[str, Any]] | None
    ) -> Iterator[dict[str, Any]]:
        """Item rows that may have one of ``values`` in ``field`` (the caller matches them):
        the whole list when it was read, else a query per 40 values."""
        if listed is not None:
            yield from listed
            return
        for chunk in chunked(sorted(values), NAMES_PER_QUERY):
            where = f"Active IN (true, false) AND {field} IN (" + ", ".join(f"'{escape(v)}'" for v in chunk) + ")"
            yield from self.qbo.query_rows("Item", where)


def _setup_request_id(company: str, kind: str, name: str) -> str:
    import hashlib

    return "setup-" + hashlib.sha256(f"{company}|{kind}|{name}".encode()).hexdigest()[:30]

