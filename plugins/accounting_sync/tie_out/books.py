"""What one tie-out reads: the linked records on both sides, and the failing or ignored
records that explain a difference.

QuickBooks is read as ``tie_out.reading`` says (pages, or one change-data-capture read).
Invoiced, which does not meter reads, is read from the run's own stage where it can, else
one record at a time for a few, else in pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from accounting_sync.common.flows import IMPORT, SYNC
from accounting_sync.common.job import SyncJob
from accounting_sync.qbo_sync.extract import INVOICE_INCLUDE
from accounting_sync.store.idmap import APPLIED_TYPES, ORIGIN_QUICKBOOKS, MappedRecord
from accounting_sync.tie_out.compare import Pair, expected_in_qbo, in_qbo, invoiced_tax, on_invoiced
from accounting_sync.tie_out.reading import QboSide, read_all, read_changed

ONE_BY_ONE = 50  # more Invoiced records than this are read in pages instead
LISTED = {"include": INVOICE_INCLUDE, "exclude": "items"}  # the lines are not compared
INVOICED_FIELDS = ("id", "number", "customer", "currency", "total", "balance", "status", "closed", "paid", "voided",
                   "draft", "tax")
"""What a tie-out keeps of each Invoiced document (``tax``: see ``slim_invoice``): 100,000 of
them in full would not fit a worker."""
PAYMENT_FIELDS = ("id", "reference", "customer", "currency", "amount", "voided", "applied_to")
WRITTEN_AS_IS = frozenset({"tax_total_differs"})
"""Failure codes of records that were written all the same, QuickBooks totalling them
otherwise (its own tax or rounding): the tie-out explains that, not "not synced yet"."""

Slim = Callable[[dict[str, Any]], dict[str, Any]]


class Books:
    """The id map and the open failures of one company, and the reads of both sides."""

    def __init__(self, job: SyncJob) -> None:
        assert job.qbo is not None
        self.job, self.qbo = job, job.qbo
        self.mappings = job.store.get_mappings(job.company, "invoice")
        self.by_qbo = {m.qbo_id: m for m in self.mappings.values()}
        self.failing = {
            (e.flow, e.object_type, e.source_id): e.message
            for e in job.store.open_errors(job.company) if e.code not in WRITTEN_AS_IS
        }
        self.ignored = set(job.store.ignored_records(job.company))
        self.notes = job.store.get_mappings(job.company, "credit_note")
        self.memos = {m.qbo_id: m for m in self.notes.values()}
        self.staged_invoices = self.staged("invoice", slim_invoice)
        self.staged_payments = self.staged("payment", slim_payment)

    # -- reading ------------------------------------------------------------------------

    def read_qbo(self, since: datetime | None) -> QboSide:
        """Every invoice, credit memo and payment (``since`` None: a full tie-out), or what
        changed since ``since``, plus the invoices the run touched that did not change."""
        has_payments = self.job.store.count_mappings(self.job.company, "payment") > 0
        if since is None:  # payments: those the invoices do not vouch for, by id (``tie_out.payments``)
            return read_all(self.qbo, {"Invoice": len(self.by_qbo), **({"CreditMemo": len(self.memos)} if self.memos else {})})
        entities = ["Invoice", *(["CreditMemo"] if self.memos else []), *(["Payment"] if has_payments else [])]
        side = read_changed(self.qbo, entities, since)
        touched = {self.mappings[i].qbo_id for i in self.staged_invoices if i in self.mappings}
        side.add_by_id(self.qbo, "Invoice", touched)
        return side

    def documents(
        self, path: str, ids: set[str] | None, staged: dict[str, dict[str, Any]], slim: Slim,
        params: dict[str, Any], listed: dict[str, Any] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Invoiced documents by id (every one with ``None``), as ``slim`` keeps them: the
        run's own copies (``staged``, kept so already) first, then one by one, or in pages
        (``listed``: the listing's parameters) for many."""
        many = ids is None or len(ids - staged.keys()) > ONE_BY_ONE
        listing = {str(d["id"]): slim(d) for d in self.job.invoiced.iter_list(path, listed or params)} if many else {}
        if ids is None:
            return listing
        found = {i: staged[i] for i in ids & staged.keys()}
        for document_id in sorted(ids - found.keys()):
            found[document_id] = listing.get(document_id) or slim(self.job.invoiced.get(f"{path}/{document_id}", params))
        return found

    def invoices(self, ids: set[str] | None) -> dict[str, dict[str, Any]]:
        return self.documents("/invoices", ids, self.staged_invoices, slim_invoice, {"include": INVOICE_INCLUDE}, LISTED)

    def staged(self, kind: str, keep: Slim) -> dict[str, dict[str, Any]]:
        """The Invoiced records qbo_sync read this run, as ``keep`` keeps them (qbo_import
        stages QBO rows instead)."""
        if self.job.dag_id.split("__")[0] != SYNC.name:
            return {}
        return {str(record["id"]): keep(record) for _, record in self.job.staged("extract", kind)}

    # -- explaining ---------------------------------------------------------------------

    def pair(self, mapping: MappedRecord, invoice: dict[str, Any], row: dict[str, Any] | None) -> Pair:
        mastered_by = "quickbooks" if mapping.origin == ORIGIN_QUICKBOOKS else "invoiced"
        flow, source = (IMPORT.name, mapping.qbo_id) if mastered_by == "quickbooks" else (SYNC.name, mapping.invoiced_id)
        token = int(row["SyncToken"]) if row else 0
        invoiced = on_invoiced(invoice) if mastered_by == "quickbooks" else expected_in_qbo(invoice)
        return Pair(
            invoiced_id=mapping.invoiced_id,
            qbo_id=mapping.qbo_id,
            number=str(invoice.get("number") or (row or {}).get("DocNumber") or mapping.invoiced_id),
            mastered_by=mastered_by,
            invoiced=replace(invoiced, tax=charged_tax(invoice)),
            qbo=in_qbo(row, None) if row else None,
            qbo_changed=row is not None and token > int(mapping.sync_token or 0),
            pending=self.pending(flow, "invoice", source),
        )

    def explained(self, pair: Pair, invoice: dict[str, Any], row: dict[str, Any] | None) -> Pair:
        """A differing invoice Invoiced masters, with what its explanation needs besides:
        what was applied to it on each side, and the tax Invoiced charged."""
        if pair.pending or pair.mastered_by != "invoiced" or row is None:
            return pair
        return self._with_payments(self._with_tax(pair, invoice), invoice, row)

    def _with_tax(self, pair: Pair, invoice: dict[str, Any]) -> Pair:
        """A listed invoice comes without its lines: read it again for its tax, when QuickBooks has one."""
        unknown = pair.invoiced.tax is None and not _voided(invoice)
        if not unknown or pair.qbo is None or pair.qbo.tax is None or pair.qbo_changed:
            return pair
        read = self.job.invoiced.get(f"/invoices/{pair.invoiced_id}", {"include": INVOICE_INCLUDE})
        return replace(pair, invoiced=replace(pair.invoiced, tax=invoiced_tax(read)))

    def _with_payments(self, pair: Pair, invoice: dict[str, Any], row: dict[str, Any]) -> Pair:
        links = [(str(link.get("TxnType")), str(link["TxnId"])) for link in row.get("LinkedTxn") or []]
        linked = {txn_id for txn_type, txn_id in links if txn_type == "Payment"}
        unknown = set()
        for txn_type, types in APPLIED_TYPES.items():
            ids = {txn_id for kind, txn_id in links if kind == txn_type}
            unknown |= {f"{txn_type} {i}" for i in ids - self.job.store.known_qbo_ids(self.job.company, ids, types)}
        payments = self._payments_applied(invoice)
        mapped = self.job.store.get_mappings(self.job.company, "payment", [str(p["id"]) for p in payments])
        pending = next(
            (
                f"payment {p.get('reference') or p['id']}: {reason}"
                for p in payments
                if str(p["id"]) not in mapped and (reason := self.pending(SYNC.name, "payment", str(p["id"])) or "waiting")
            ),
            None,
        )
        missing = tuple(
            f"payment {p.get('reference') or p['id']} (QuickBooks payment {mapped[str(p['id'])].qbo_id})"
            for p in payments
            if str(p["id"]) in mapped and mapped[str(p["id"])].qbo_id not in linked
        )
        return replace(pair, pending=pending, unknown_links=tuple(f"QuickBooks {link}" for link in sorted(unknown)),
                       missing_payments=missing)

    def pending(self, flow: str, object_type: str, source_id: str) -> str | None:
        if (flow, object_type, source_id) in self.ignored:
            return "ignored on the Accounting Sync page"
        message = self.failing.get((flow, object_type, source_id))
        return f"failed: {message}" if message else None

    def _payments_applied(self, invoice: dict[str, Any]) -> list[dict[str, Any]]:
        """The customer's Invoiced payments (not voided) that apply to this invoice."""
        listing = self.job.invoiced.iter_list(
            "/payments", {"filter[customer]": invoice.get("customer"), "include": "applied_to"}
        )
        return [
            payment
            for payment in listing
            if not payment.get("voided")
            and any(
                split.get("type") == "invoice" and str(split.get("invoice")) == str(invoice["id"])
                for split in payment.get("applied_to") or []
            )
        ]


def slim_invoice(invoice: dict[str, Any]) -> dict[str, Any]:
    """The fields a tie-out keeps, and the tax Invoiced charged when the lines came along."""
    kept = slim(invoice, INVOICED_FIELDS)
    tax = invoiced_tax(invoice)
    return kept if tax is None else {**kept, "tax": str(tax)}


def slim_payment(payment: dict[str, Any]) -> dict[str, Any]:
    return slim(payment, PAYMENT_FIELDS)


def slim(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {key: record[key] for key in fields if key in record}


def _voided(invoice: dict[str, Any]) -> bool:
    return invoice.get("status") == "voided" or bool(invoice.get("voided"))


def charged_tax(invoice: dict[str, Any]) -> Decimal | None:
    """The tax Invoiced charged on a document kept by ``slim_invoice``, when known (a voided
    one charges none)."""
    return None if _voided(invoice) or "tax" not in invoice else Decimal(invoice["tax"])
