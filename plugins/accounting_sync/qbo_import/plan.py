"""The plan step of qbo_import: what a run has to do with each QuickBooks record.

``ImportPlan`` gathers, before anything is written, what the decisions need: the staged
QBO records, what the id map already knows of them, the records that failed before and
whether qbo_sync has unconfirmed writes (then nothing new is created: the id map may not
know every record qbo_sync made yet). The decisions themselves are pure functions of a
record and its mapping; the apply step (``load``) carries them out, or nothing in a dry run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from accounting_sync.common.flows import IMPORT, SYNC
from accounting_sync.common.job import SyncJob
from accounting_sync.common.values import content_hash, money
from accounting_sync.qbo_import.transform import VOIDED, customer_body, is_voided, linked_payments
from accounting_sync.store.idmap import APPLIED_TYPES, INVOICE_TYPES, ORIGIN_INVOICED, MappedRecord

FLOW = IMPORT.name


@dataclass
class ImportPlan:
    """One run's records and what is known of them; the mappings stay current as the
    apply step records what it wrote."""

    customers: dict[str, dict[str, Any]]
    refs: dict[str, dict[str, Any]]
    """Customers of outstanding invoices that are not staged themselves: imported on demand."""
    invoices: list[tuple[str, dict[str, Any] | None]]
    """Every invoice to look at; ``None``: deleted in QBO."""
    credit_memos: list[tuple[str, dict[str, Any] | None]]
    """Every credit memo to look at; ``None``: deleted in QBO."""
    credit_payments: dict[str, dict[str, Any]]
    """The QBO payments that apply those credit memos, by id."""
    mappings: dict[str, dict[str, MappedRecord]]
    failures: dict[str, dict[str, int]]
    """Records that failed before, with their attempts so far."""
    deferring: bool

    @classmethod
    def read(cls, job: SyncJob) -> ImportPlan:
        customers, refs = _staged(job, "customer"), _staged(job, "customer_ref")
        invoices = _staged(job, "invoice")
        deleted = sorted(_staged(job, "deleted"))
        memos, deleted_memos = _staged(job, "credit_memo"), sorted(_staged(job, "deleted_credit_memo"))
        failures: dict[str, dict[str, int]] = {"customer": {}, "invoice": {}, "credit_note": {}}
        for error in job.store.open_errors(job.company, FLOW):
            failures.setdefault(error.object_type, {})[error.source_id] = error.attempts
        people = {*customers, *refs}
        mappings = {
            "customer": job.store.find_by_qbo_id(job.company, "customer", people),
            "contact": job.store.find_by_qbo_id(job.company, "contact", people),
            "invoice": {
                qbo_id: record
                for kind in INVOICE_TYPES
                for qbo_id, record in job.store.find_by_qbo_id(job.company, kind, {*invoices, *deleted}).items()
            },
            "credit_note": {
                qbo_id: record
                for kind in APPLIED_TYPES["CreditMemo"]
                for qbo_id, record in job.store.find_by_qbo_id(job.company, kind, {*memos, *deleted_memos}).items()
            },
        }
        return cls(
            customers=customers,
            refs=refs,
            invoices=[*invoices.items(), *((qbo_id, None) for qbo_id in deleted)],
            credit_memos=[*memos.items(), *((qbo_id, None) for qbo_id in deleted_memos)],
            credit_payments=_staged(job, "credit_payment"),
            mappings=mappings,
            failures=failures,
            deferring=bool(job.store.pending_intents(job.company, SYNC.name)),
        )

    def unmapped_customers(self) -> set[str]:
        return {*self.customers, *self.refs} - self.mappings["customer"].keys()

    def customer(self, record: dict[str, Any]) -> CustomerDecision:
        qbo_id = str(record["Id"])
        return decide_customer(record, self.mappings["customer"].get(qbo_id), retry=qbo_id in self.failures["customer"])

    def invoice(
        self, qbo_id: str, record: dict[str, Any] | None, start: date | None, payments: bool = True
    ) -> InvoiceDecision:
        mapped = self.mappings["invoice"].get(qbo_id)
        return decide_invoice(record, mapped, retry=qbo_id in self.failures["invoice"], start=start, payments=payments)


    def credit_memo(self, qbo_id: str, record: dict[str, Any] | None) -> InvoiceDecision:
        mapped = self.mappings["credit_note"].get(qbo_id)
        return decide_credit_memo(record, mapped, retry=qbo_id in self.failures["credit_note"])


def _staged(job: SyncJob, kind: str) -> dict[str, dict[str, Any]]:
    return {str(payload["Id"]): payload for _, payload in job.staged("extract", kind)}


def customer_changes(body: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Only the fields whose Invoiced value differs, so an unchanged customer is not written;
    never a currency the Invoiced customer already bills in another of (``currency_conflict``)."""
    changes = {key: value for key, value in body.items() if current.get(key) != value}
    if currency_conflict(body, current):
        del changes["currency"]
    return changes


def currency_conflict(body: dict[str, Any], current: dict[str, Any]) -> str | None:
    """The Invoiced customer's currency when it is set and not QBO's. It stays: Invoiced may
    refuse to change it once the customer has documents (sandbox/README.md), and its
    documents keep their own currency anyway. Setting one it lacks is no conflict."""
    held, wanted = current.get("currency"), body.get("currency")
    return str(held) if held and wanted and str(held).lower() != wanted else None


def invoice_changes(body: dict[str, Any]) -> dict[str, Any]:
    """What a later QBO edit may change on Invoiced: everything but the customer."""
    return {key: value for key, value in body.items() if key not in {"customer", "calculate_taxes"}}


@dataclass(frozen=True)
class InvoiceDecision:
    action: str  # create | refresh | void | unchanged | skip
    reason: str | None = None


@dataclass(frozen=True)
class CustomerDecision:
    """``new``: link to a namesake or create (the apply step reads Invoiced to choose);
    ``refresh``: carry QBO's changes over; the body is what Invoiced should show."""

    action: str  # new | refresh | unchanged | skip
    body: dict[str, Any] = field(default_factory=dict)
    digest: str = ""


def decide_customer(record: dict[str, Any], mapped: MappedRecord | None, *, retry: bool = False) -> CustomerDecision:
    """What this run does with one QBO customer; ``RecordRejected`` when it cannot be imported."""
    if mapped is not None and mapped.origin == ORIGIN_INVOICED:
        return CustomerDecision("skip")  # qbo_sync created it from Invoiced
    body = customer_body(record)
    digest = content_hash(body)
    if mapped is None:
        return CustomerDecision("new", body, digest)
    if mapped.content_hash != digest or retry:
        return CustomerDecision("refresh", body, digest)
    return CustomerDecision("unchanged", body, digest)


def decide_invoice(
    record: dict[str, Any] | None,
    mapped: MappedRecord | None,
    *,
    retry: bool = False,
    start: date | None = None,
    payments: bool = True,
) -> InvoiceDecision:
    """What this run does with one QBO invoice (``record`` None: deleted in QBO).

    An invoice qbo_sync wrote is Invoiced's; only a payment received on it in QuickBooks
    crosses back (``settle``, with ``payments`` on), so it is paid on Invoiced too."""
    if mapped is not None and mapped.origin == ORIGIN_INVOICED:
        if payments and record is not None and not is_voided(record) and linked_payments(record):
            return InvoiceDecision("settle")
        return InvoiceDecision("skip", "written to QuickBooks by qbo_sync: Invoiced is its master")
    if mapped is None:
        if record is None or is_voided(record):
            return InvoiceDecision("skip", "deleted or voided in QuickBooks before it was imported")
        if money(record.get("Balance", 0)) <= 0:
            return InvoiceDecision("skip", "paid in full in QuickBooks")
        if start is not None and date.fromisoformat(record["TxnDate"][:10]) < start:
            return InvoiceDecision("skip", f"dated before the sync start date {start}")
        return InvoiceDecision("create")
    return _imported_decision(record, mapped, retry)


def decide_credit_memo(
    record: dict[str, Any] | None, mapped: MappedRecord | None, *, retry: bool = False
) -> InvoiceDecision:
    """What this run does with one QBO credit memo (``record`` None: deleted in QBO): one
    qbo_sync wrote (a credit note or a write-off) is Invoiced's and never comes back."""
    if mapped is not None and mapped.origin == ORIGIN_INVOICED:
        return InvoiceDecision("skip", "written to QuickBooks by qbo_sync: Invoiced is its master")
    if mapped is None:
        if record is None or is_voided(record):
            return InvoiceDecision("skip", "deleted or voided in QuickBooks before it was imported")
        return InvoiceDecision("create")
    return _imported_decision(record, mapped, retry)


def _imported_decision(record: dict[str, Any] | None, mapped: MappedRecord, retry: bool) -> InvoiceDecision:
    """A document imported before: voided with QBO's, else refreshed when QBO changed it."""
    if mapped.content_hash == VOIDED:
        return InvoiceDecision("unchanged")
    if record is None or is_voided(record):
        return InvoiceDecision("void")
    if mapped.sync_token == str(record.get("SyncToken")) and not retry:
        return InvoiceDecision("unchanged")
    return InvoiceDecision("refresh")


def invoice_state(record: dict[str, Any], digest: str) -> str:
    """What the id map remembers: whether QBO still has a balance, and the body's hash."""
    return f"{'open' if money(record.get('Balance', 0)) > 0 else 'closed'}:{digest}"


def is_open(mapped: MappedRecord) -> bool:
    return mapped.content_hash is not None and mapped.content_hash.startswith("open:")


def body_hash(mapped: MappedRecord) -> str | None:
    return mapped.content_hash.split(":", 1)[1] if mapped.content_hash and ":" in mapped.content_hash else None


def paid_in_quickbooks(record: dict[str, Any], invoiced_balance: Any) -> Decimal:
    """The amount to record on Invoiced so its balance equals QBO's.

    Only ever lowers the Invoiced balance: when Invoiced is already lower, the difference
    is a payment received on Invoiced that qbo_sync is about to write to QBO, and when
    they match there is nothing to do. That is what stops the two syncs echoing payments.
    """
    return max(Decimal(0), money(invoiced_balance) - money(record.get("Balance", 0)))
