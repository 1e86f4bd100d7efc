"""The apply step of qbo_import: carry the plan out on Invoiced, one record at a time.

Under the company's write lease (qbo_sync's load takes the same one) it links or creates
customers and their contacts, imports credit memos as credit notes applied where QBO
applied them, imports outstanding invoices, lowers the balance of imported invoices to
QBO's, and voids what QBO voided or deleted. Every write is made once: each
carries an idempotency key, and a create whose answer was lost is found by reading back.

A dry run applies nothing: it reads what the decisions need, counts each write it would
make as ``would_<action>`` and stops that record there.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from accounting_sync.common.flows import IMPORT
from accounting_sync.common.job import LEASE_TTL, SyncJob
from accounting_sync.common.values import RecordRejected, content_hash, money
from accounting_sync.invoiced.client import InvoicedError
from accounting_sync.qbo_import.plan import (
    CustomerDecision,
    ImportPlan,
    body_hash,
    currency_conflict,
    customer_changes,
    invoice_changes,
    invoice_state,
    paid_in_quickbooks,
)
from accounting_sync.qbo_import.transform import (
    CREDIT_MEMO_KEY,
    METADATA_KEY,
    PAYMENT_KEY,
    VOIDED,
    accounting_mark,
    application_body,
    contact_body,
    credit_applications,
    credit_note_body,
    currency_code,
    idempotency_key,
    invoice_body,
    linked_payments,
    new_customer_body,
    new_invoice_body,
    payment_body,
)
from accounting_sync.store.idmap import (
    APPLIED_TYPES,
    CURRENCY_TYPE,
    ORIGIN_INVOICED,
    ORIGIN_QUICKBOOKS,
    MappedRecord,
)

log = logging.getLogger(__name__)

FLOW = IMPORT.name
LEASE_RENEWAL_SECONDS = 60
NAME_LOOKUPS = 25  # more new customers than this: one streamed list beats a filter per name
DRY_RUN_ID = "0"
FATAL_STATUSES = {401, 402, 403}  # the key or the account, not the record: fail the run
DOCUMENTS = {"invoice": ("/invoices", METADATA_KEY), "credit_note": ("/credit_notes", CREDIT_MEMO_KEY)}
"""Where each imported document lives on Invoiced, and the metadata key that marks it."""
KEY_KINDS = (("customer", "customer"), ("contact", "customer"), ("credit_note", "credit_note"))
"""Which record's failures a write's action counts: the rest are invoices'."""
INVOICED_HINTS = {
    "already been taken": "Another Invoiced record already uses this number. Renumber one of them; "
    "the next import retries.",
    "has a payment applied": "A payment received on Invoiced is applied to this invoice. Void or unapply it "
    "on Invoiced; the next import then voids the invoice.",
    "document is closed": "The invoice is closed on Invoiced. Reopen it there; the next import retries.",
    "customer is inactive": "The Invoiced customer is inactive. Reactivate it on Invoiced.",
}


def apply_plan(job: SyncJob) -> dict[str, dict[str, int]]:
    """Plan, then apply under the write lease (none in a dry run, which writes nothing);
    the cursors advance once everything they cover is recorded."""
    lease = contextlib.nullcontext() if job.dry_run else job.store.lease(job.company, "writes", job.run_key, LEASE_TTL)
    with lease:
        importer = Importer(job, ImportPlan.read(job))
        importer.run()
        if not job.dry_run and not importer.deferred:
            job.save_cursors(FLOW)
    return job.loaded()


class Importer:
    """Applies the plan to Invoiced, one record at a time. Each record's method returns
    whether the record is now in step (a deferred record or a dry run is not)."""

    def __init__(self, job: SyncJob, plan: ImportPlan) -> None:
        self.job, self.store, self.company, self.plan = job, job.store, job.company, plan
        self.mappings, self.failures = plan.mappings, plan.failures
        self.dry_run = job.dry_run
        self.deferred = 0
        self._filtered = len(plan.unmapped_customers()) <= NAME_LOOKUPS
        self._names: dict[str, list[dict[str, Any]]] | None = None
        self._lease_renewed = time.monotonic()
        self._held: dict[str, str] = {}
        """QBO invoices a credit memo that failed this run applies to, with its number:
        they fail too, or the credit would be recorded on Invoiced as a payment."""
        self._waiting: set[str] = set()
        """QBO invoices a deferred credit memo applies to: deferred with it."""

    def run(self) -> None:
        if self.plan.deferring:
            log.warning("qbo_sync has unconfirmed QuickBooks writes: new records wait for its next run")
        if self.job.settings.import_customers:
            for customer in self.plan.customers.values():
                self.customer(customer)
        if self.job.settings.import_credit_notes:  # before invoices: applied credit lowers their balance
            for qbo_id, record in self.plan.credit_memos:
                self.credit_memo(qbo_id, record)
        if self.job.settings.import_invoices:
            for qbo_id, record in self.plan.invoices:
                self.invoice(qbo_id, record)

    # -- shared helpers ---------------------------------------------------------------------

    def _key(self, action: str, qbo_id: str, fingerprint: str) -> str:
        """Deterministic per record, content and failed attempts so far. Invoiced replays a
        key's first answer for a day, refusals included, so a record refused before gets a
        fresh key once; a write whose answer was lost is caught by the checks each run
        starts with (same number, same name, same email, the current balance)."""
        kind = next((kind for prefix, kind in KEY_KINDS if action.startswith(prefix)), "invoice")
        failures = self.failures[kind].get(qbo_id, 0)
        return idempotency_key(self.company, action, qbo_id, f"{fingerprint}#{failures}")

    def _would(self, kind: str, action: str) -> None:
        """A dry run's answer to a write: counted, not made."""
        self.job.count(kind, f"would_{action}")

    def _defer(self, kind: str) -> None:
        """Created later: qbo_sync has unconfirmed writes (see ``ImportPlan``)."""
        self.job.count(kind, "deferred")
        self.deferred += 1

    def _post(
        self, path: str, body: dict[str, Any], key: str, read_back: Callable[[], dict[str, Any] | None]
    ) -> dict[str, Any]:
        """Create on Invoiced; ``read_back`` finds the record when an answer is lost."""
        self._renew_lease()
        return dict(self.job.invoiced.post(path, body, key, read_back) or {})

    def _patch(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        self._renew_lease()
        return dict(self.job.invoiced.patch(path, body, idempotency_key=key))

    def _renew_lease(self) -> None:
        """Keep the write lease while writing (it expires if this worker dies)."""
        now = time.monotonic()
        if now - self._lease_renewed > LEASE_RENEWAL_SECONDS:
            self.job.store.acquire_lease(self.job.company, "writes", self.job.run_key, LEASE_TTL)
            self._lease_renewed = now

    def _map(self, kind: str, invoiced_id: str, record: dict[str, Any], state: str, token: str | None) -> None:
        mapped = MappedRecord(invoiced_id, str(record["Id"]), token, state, ORIGIN_QUICKBOOKS)
        if not self.dry_run:
            self.store.put_mappings(self.company, kind, [mapped])
        self.mappings[kind][str(record["Id"])] = mapped

    def _resolved(self, kind: str, qbo_id: str) -> None:
        if not self.dry_run and qbo_id in self.failures[kind]:
            self.store.resolve_errors(self.company, FLOW, kind, [qbo_id])

    def _failed(self, kind: str, qbo_id: str, document: str | None, error: InvoicedError | RecordRejected) -> None:
        """Record why one record failed; the run goes on and fails at the report."""
        if isinstance(error, InvoicedError) and error.status in FATAL_STATUSES:
            raise error
        self.job.count(kind, "failed")
        if isinstance(error, RecordRejected):
            code, message, hint = error.code, str(error), error.hint
        else:
            code, message = f"invoiced_{error.status or error.type}", error.message
            hint = next((text for needle, text in INVOICED_HINTS.items() if needle in message), None)
        log.warning("%s %s could not be imported: %s", kind, document or qbo_id, message)
        if not self.dry_run:
            self.store.record_error(self.company, FLOW, kind, qbo_id, message=message, document_number=document,
                                    code=code, hint=hint, run_id=self.job.run_id)

    # -- customers --------------------------------------------------------------------------

    def customer(self, record: dict[str, Any]) -> str | None:
        """Link, create or update one QBO customer; its Invoiced id (``DRY_RUN_ID`` for one a
        dry run would write), or None when it failed or waits."""
        qbo_id = str(record["Id"])
        mapped = self.mappings["customer"].get(qbo_id)
        try:
            decision = self.plan.customer(record)
            if decision.action == "skip":
                assert mapped is not None
                self.job.count("customer", "skipped")
                self._resolved("customer", qbo_id)
                return invoiced_customer(mapped)
            if decision.action == "unchanged":
                assert mapped is not None
                self.job.count("customer", "unchanged")
                return mapped.invoiced_id
            if decision.action == "new":
                return self._new_customer(record, decision)
            assert mapped is not None
            return self._update_customer(mapped.invoiced_id, record, decision)
        except (InvoicedError, RecordRejected) as error:
            self._failed("customer", qbo_id, record.get("DisplayName"), error)
        return None

    def _new_customer(self, record: dict[str, Any], decision: CustomerDecision) -> str | None:
        """Link to the Invoiced customer of the same name, or create one."""
        if self.plan.deferring:
            self._defer("customer")
            return None
        qbo_id, body, digest = str(record["Id"]), decision.body, decision.digest
        namesake = self._unmapped_namesake(body["name"])
        if self.dry_run:
            self._would("customer", "link" if namesake is not None else "create")
            return DRY_RUN_ID
        if namesake is not None:
            changes = {**customer_changes(body, namesake), **accounting_mark(qbo_id)}
            self._patch(f"/customers/{namesake['id']}", changes, self._key("customer.link", qbo_id, digest))
            self.job.count("customer", "linked")
            current = namesake
        else:
            new = new_customer_body(record, body)
            current = self._post("/customers", new, self._key("customer.create", qbo_id, digest),
                                 lambda: self._first("/customers", {"filter[number]": new["number"]}))
            self.job.count("customer", "created")
        return self._customer_done(str(current["id"]), record, decision, current)

    def _update_customer(self, invoiced_id: str, record: dict[str, Any], decision: CustomerDecision) -> str | None:
        """Carry a QBO change over, writing only the fields Invoiced does not have yet."""
        current = self.job.invoiced.get(f"/customers/{invoiced_id}")
        changes = customer_changes(decision.body, current)
        if not changes:
            self.job.count("customer", "unchanged")
        elif self.dry_run:
            self._would("customer", "update")
            return DRY_RUN_ID
        else:
            key = self._key("customer.update", str(record["Id"]), content_hash(changes))
            self._patch(f"/customers/{invoiced_id}", changes, key)
            self.job.count("customer", "updated")
        return self._customer_done(invoiced_id, record, decision, current)

    def _customer_done(
        self, invoiced_id: str, record: dict[str, Any], decision: CustomerDecision, current: dict[str, Any]
    ) -> str:
        """The customer is in step: its contact, then what the id map remembers. A currency
        the Invoiced customer kept (``current`` is what Invoiced showed before the write) is
        reported; the customer stays linked, so its invoices still arrive."""
        qbo_id = str(record["Id"])
        self._contact(invoiced_id, record)
        self._map("customer", invoiced_id, record, decision.digest, record.get("SyncToken"))
        self._record_currency(invoiced_id, record)
        kept = currency_conflict(decision.body, current)
        if kept is None:
            self._resolved("customer", qbo_id)
        else:
            wanted = str(decision.body["currency"]).upper()
            self._failed("customer", qbo_id, record.get("DisplayName"), RecordRejected(
                f"the Invoiced customer bills in {kept.upper()} and the QuickBooks customer in {wanted}: "
                "its Invoiced currency was kept",
                f"Set the customer's currency on Invoiced to {wanted} if Invoiced lets you (it may not once the "
                "customer has invoices), or Ignore this error to keep it; imported invoices carry their own "
                "currency either way.",
                "currency_conflict",
            ))
        return invoiced_id

    def _record_currency(self, invoiced_id: str, record: dict[str, Any]) -> None:
        """The QBO customer's currency, by which qbo_sync sends this customer's later
        Invoiced documents to it (in that currency) or to a per-currency twin (others)."""
        currency = currency_code(record)
        if currency and not self.dry_run:
            mapped = MappedRecord(invoiced_id, currency.upper(), None, None, ORIGIN_QUICKBOOKS)
            self.store.put_mappings(self.company, CURRENCY_TYPE, [mapped])

    def _unmapped_namesake(self, name: str) -> dict[str, Any] | None:
        """The oldest Invoiced customer with this name that no QBO customer owns yet."""
        wanted = name.strip().casefold()
        if self._filtered:
            found = self.job.invoiced.iter_list("/customers", {"filter[name]": name})
            candidates = [c for c in found if str(c.get("name") or "").strip().casefold() == wanted]
        else:
            candidates = self._name_index().get(wanted, [])
        owners = self.store.get_mappings(self.company, "customer", [str(c["id"]) for c in candidates])
        return next((c for c in sorted(candidates, key=lambda c: int(c["id"])) if str(c["id"]) not in owners), None)

    def _name_index(self) -> dict[str, list[dict[str, Any]]]:
        if self._names is None:
            self._names = {}
            for customer in self.job.invoiced.iter_list("/customers"):
                self._names.setdefault(str(customer.get("name") or "").strip().casefold(), []).append(customer)
        return self._names

    def _contact(self, customer_id: str, record: dict[str, Any]) -> None:
        """The customer's person as primary contact: matched by email, else created."""
        body = contact_body(record)
        if body is None:
            return
        qbo_id, digest = str(record["Id"]), content_hash(body)
        mapped = self.mappings["contact"].get(qbo_id)
        if mapped is not None and mapped.content_hash == digest:
            return
        path = f"/customers/{customer_id}/contacts"
        contact = self._contact_with_email(path, body["email"]) if mapped is None else None
        if contact is not None:
            self.job.count("contact", "linked")
        elif self.dry_run:
            self._would("contact", "create" if mapped is None else "update")
            return
        elif mapped is None:
            contact = self._post(path, body, self._key("contact.create", qbo_id, digest),
                                 lambda: self._contact_with_email(path, body["email"]))
            self.job.count("contact", "created")
        else:
            contact = self._patch(f"{path}/{mapped.invoiced_id}", body, self._key("contact.update", qbo_id, digest))
            self.job.count("contact", "updated")
        self._map("contact", str(contact["id"]), record, digest, record.get("SyncToken"))

    def _contact_with_email(self, path: str, email: str) -> dict[str, Any] | None:
        wanted = email.casefold()
        return next((c for c in self.job.invoiced.iter_list(path) if str(c.get("email") or "").casefold() == wanted),
                    None)

    # -- invoices ---------------------------------------------------------------------------

    def invoice(self, qbo_id: str, record: dict[str, Any] | None) -> None:
        """Import, refresh or void one QBO invoice (``record`` None: deleted in QBO)."""
        settings = self.job.settings
        action = self.plan.invoice(qbo_id, record, settings.sync_start_date, settings.import_payments).action
        mapped = self.mappings["invoice"].get(qbo_id)
        if qbo_id in self._waiting and action not in {"skip", "unchanged"}:
            self._defer("invoice")
            return

        def step() -> bool:
            if qbo_id in self._held:
                raise RecordRejected(f"credit memo {self._held[qbo_id]}, applied to it in QuickBooks, could not be "
                                     "imported", "Fix the credit memo's error first; the invoice follows.",
                                     "credit_memo_failed")
            if action == "void":
                assert mapped is not None
                return self._void_document("invoice", qbo_id, mapped)
            if action == "settle":
                assert record is not None and mapped is not None
                return self._settle_synced(record, mapped)
            assert record is not None
            if action == "create":
                return self._create_invoice(record)
            assert mapped is not None
            return self._refresh_invoice(record, mapped)

        self._carry_out("invoice", qbo_id, record, action, step)

    def _carry_out(self, kind: str, qbo_id: str, record: dict[str, Any] | None, action: str,
                   step: Callable[[], bool]) -> bool:
        """One document's decision: counted when there is nothing to write, else ``step``
        writes it; False when it failed (recorded for the report)."""
        if action in {"skip", "unchanged"}:
            self.job.count(kind, "skipped" if action == "skip" else "unchanged")
            self._resolved(kind, qbo_id)
            return True
        try:
            in_step = step()
        except (InvoicedError, RecordRejected) as error:
            self._failed(kind, qbo_id, str((record or {}).get("DocNumber") or qbo_id), error)
            return False
        if in_step:
            self._resolved(kind, qbo_id)
        return True

    def _create_invoice(self, record: dict[str, Any]) -> bool:
        if self.plan.deferring:
            self._defer("invoice")
            return False
        body = invoice_body(record, self._invoice_customer(record))
        if self.dry_run:
            self._would("invoice", "create")
            return False
        created, digest = self._create_document("invoice", record, body)
        # Mapped before the paid part is recorded, without a SyncToken, so a crash in
        # between is finished by the next run instead of leaving the balance too high.
        self._map("invoice", str(created["id"]), record, invoice_state(record, digest), None)
        self._settle(record, created)
        self._map("invoice", str(created["id"]), record, invoice_state(record, digest), record.get("SyncToken"))
        return True

    def _create_document(self, kind: str, record: dict[str, Any], body: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """Create the Invoiced invoice or credit note of a QBO document; it and its body's hash."""
        qbo_id, digest = str(record["Id"]), content_hash(body)
        path = DOCUMENTS[kind][0]
        try:
            created = self._post(path, new_invoice_body(record, body), self._key(f"{kind}.create", qbo_id, digest),
                                 lambda: self._earlier_import(kind, record, body["number"]))
        except InvoicedError as error:
            # The number is taken: by our own earlier import whose answer was lost, or by another document.
            earlier = self._earlier_import(kind, record, body["number"]) if "already been taken" in error.message else None
            if earlier is None:
                raise
            created = earlier
        self.job.count(kind, "created")
        return created, digest

    def _earlier_import(self, kind: str, record: dict[str, Any], number: str) -> dict[str, Any] | None:
        """The document an earlier attempt imported for this QBO document, if any."""
        path, marker = DOCUMENTS[kind]
        found = self.job.invoiced.iter_list(path, {"filter[number]": number})
        return next((dict(i) for i in found if str((i.get("metadata") or {}).get(marker)) == str(record["Id"])),
                    None)

    def _first(self, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
        return next((dict(found) for found in self.job.invoiced.iter_list(path, params)), None)

    def _invoice_customer(self, record: dict[str, Any]) -> str:
        """The Invoiced customer of a QBO invoice, importing the customer when needed."""
        qbo_customer = str((record.get("CustomerRef") or {}).get("value") or "")
        mapped = self.mappings["customer"].get(qbo_customer)
        if mapped is not None:
            return invoiced_customer(mapped)
        source = self.plan.customers.get(qbo_customer) or self.plan.refs.get(qbo_customer)
        if source is None:
            raise RecordRejected(f"its customer {qbo_customer} was not found in QuickBooks", code="missing_customer")
        invoiced_id = self.customer(source)
        if invoiced_id is None:
            name = source.get("DisplayName") or qbo_customer
            raise RecordRejected(f"its customer {name} could not be imported", "Fix the customer's error first.",
                                 "customer_failed")
        return invoiced_id

    def _refresh_invoice(self, record: dict[str, Any], mapped: MappedRecord) -> bool:
        """QBO changed an imported invoice: carry edits over, then match the balance."""
        current = dict(self.job.invoiced.get(f"/invoices/{mapped.invoiced_id}"))
        if current.get("status") == "voided":
            self.job.count("invoice", "skipped")  # voided on Invoiced; nothing left to keep in step
            self._map("invoice", mapped.invoiced_id, record, VOIDED, record.get("SyncToken"))
            return True
        body = invoice_body(record, str(current["customer"]))
        digest = content_hash(body)
        # Like Invoiced's own loaders: a document closed on Invoiced (paid there) keeps its content.
        differs = body_hash(mapped) != digest or money(current.get("total")) != money(record.get("TotalAmt"))
        edited = differs and not current.get("closed")
        if edited and self.dry_run:
            self._would("invoice", "update")
            return False
        if edited:
            changes = invoice_changes(body)
            changes["metadata"] = {**(current.get("metadata") or {}), **body["metadata"]}
            current = self._patch(f"/invoices/{mapped.invoiced_id}", changes,
                                  self._key("invoice.update", str(record["Id"]), digest))
        if self._payment_due(record, current) and self.dry_run:
            self._would("invoice", "record_payment")
            return False
        settled = self._settle(record, current)
        self.job.count("invoice", "updated" if edited else "balance_matched" if settled else "unchanged")
        self._map("invoice", mapped.invoiced_id, record, invoice_state(record, digest), record.get("SyncToken"))
        return True

    def _payment_due(self, record: dict[str, Any], invoice: dict[str, Any]) -> bool:
        """Whether QBO holds a payment or credit Invoiced does not; ``RecordRejected`` when
        the totals differ, so the amount paid in QuickBooks cannot be told apart."""
        if paid_in_quickbooks(record, invoice.get("balance")) <= 0:
            return False
        if money(invoice.get("total")) != money(record.get("TotalAmt")):
            raise RecordRejected(
                f"the Invoiced total {money(invoice.get('total'))} differs from the QuickBooks total "
                f"{money(record.get('TotalAmt'))}, so the amount paid in QuickBooks cannot be told apart",
                "QuickBooks is the master of imported invoices: reopen the invoice on Invoiced so the next "
                "import can restore it.",
                "total_mismatch",
            )
        return True

    def _settle(self, record: dict[str, Any], invoice: dict[str, Any]) -> bool:
        """Record what was paid or credited in QBO so the Invoiced balance matches QBO's;
        True when a payment had to be recorded."""
        if not self._payment_due(record, invoice):
            return False
        amount = paid_in_quickbooks(record, invoice.get("balance"))
        qbo_id = str(record["Id"])
        ours = self.store.find_by_qbo_id(self.company, "payment", linked_payments(record))
        quickbooks_side = [p for p in linked_payments(record) if p not in ours]
        fingerprint = f"{invoice['id']}:{money(invoice.get('balance'))}->{money(record.get('Balance'))}"
        key = self._key("payment", qbo_id, fingerprint)
        body = payment_body(record, invoice, amount, quickbooks_side, key)
        created = self._post("/payments", body, key,
                             lambda: self._first("/payments", {f"metadata[{PAYMENT_KEY}]": key}))
        self.job.count("payment", "created")
        # The id map says which side the payment came from, so qbo_sync leaves it alone.
        recorded = MappedRecord(str(created["id"]), ",".join(quickbooks_side)[:64] or qbo_id, None,
                                content_hash(body), ORIGIN_QUICKBOOKS)
        self.store.put_mappings(self.company, "payment", [recorded])
        return True

    def _settle_synced(self, record: dict[str, Any], mapped: MappedRecord) -> bool:
        """A payment received in QuickBooks on an invoice qbo_sync wrote: recorded on
        Invoiced (marked as coming from QuickBooks, so qbo_sync never writes it back).
        Only QBO payments the sync did not write count; while the invoice's totals differ
        (an edit qbo_sync has not written yet) it waits for the next run."""
        linked = linked_payments(record)
        if not set(linked) - self.store.known_qbo_ids(self.company, linked, APPLIED_TYPES["Payment"]):
            self.job.count("invoice", "skipped")  # every payment on it is one qbo_sync wrote
            return True
        current = dict(self.job.invoiced.get(f"/invoices/{mapped.invoiced_id}"))
        if current.get("status") == "voided" or money(current.get("total")) != money(record.get("TotalAmt")):
            self.job.count("invoice", "skipped")  # qbo_sync writes Invoiced's version first
            return True
        if self._payment_due(record, current) and self.dry_run:
            self._would("payment", "create")
            return False
        settled = self._settle(record, current)
        self.job.count("invoice", "balance_matched" if settled else "unchanged")
        return True

    def _void_document(self, kind: str, qbo_id: str, mapped: MappedRecord) -> bool:
        """Voided or deleted in QBO: undo what was recorded from QBO (the payments, or the
        credit note's applications), then void the invoice or credit note."""
        path, marker = DOCUMENTS[kind]
        path = f"{path}/{mapped.invoiced_id}"
        try:
            current = dict(self.job.invoiced.get(path))
        except InvoicedError as error:
            if error.status != 404:
                raise
            current = {"status": "voided"}  # deleted on Invoiced: nothing left to void
        if current.get("status") == "voided":
            self.job.count(kind, "unchanged")
        elif self.dry_run:
            self._would(kind, "void")
            return False
        else:
            for payment in self._recorded_payments(marker, qbo_id):
                self.job.invoiced.request("DELETE", f"/payments/{payment['id']}")
                self.job.count("payment", "voided")
            self._post(f"{path}/void", {}, self._key(f"{kind}.void", qbo_id, ""),
                       lambda: voided if (voided := self.job.invoiced.get(path)).get("status") == "voided" else None)
            self.job.count(kind, "voided")
        self._map(kind, mapped.invoiced_id, {"Id": qbo_id}, VOIDED, mapped.sync_token)
        return True

    def _recorded_payments(self, marker: str, qbo_id: str) -> list[dict[str, Any]]:
        """The payments this pipeline recorded on Invoiced for a QBO document: they carry our
        marker (``source`` alone proves nothing: Invoiced's default is ``keyed``)."""
        found = self.job.invoiced.iter_list("/payments", {f"metadata[{marker}]": qbo_id, "include": "applied_to"})
        return [p for p in found if not p.get("voided")]

    # -- credit memos -----------------------------------------------------------------------

    def credit_memo(self, qbo_id: str, record: dict[str, Any] | None) -> None:
        """Import, re-apply or reverse one QBO credit memo (``record`` None: deleted in QBO).
        When it fails, the invoices it applies to wait for it."""
        action = self.plan.credit_memo(qbo_id, record).action
        mapped = self.mappings["credit_note"].get(qbo_id)

        def step() -> bool:
            if action == "void":
                assert mapped is not None
                return self._void_document("credit_note", qbo_id, mapped)
            assert record is not None
            if action == "create":
                return self._create_credit_note(record)
            assert mapped is not None
            return self._refresh_credit_note(record, mapped)

        deferred = self.deferred
        if not self._carry_out("credit_note", qbo_id, record, action, step) and record is not None:
            number = str(record.get("DocNumber") or qbo_id)
            self._held.update(dict.fromkeys(credit_applications(record, self.plan.credit_payments), number))
        elif record is not None and self.deferred > deferred:
            self._waiting.update(credit_applications(record, self.plan.credit_payments))

    def _create_credit_note(self, record: dict[str, Any]) -> bool:
        if self.plan.deferring:
            self._defer("credit_note")
            return False
        body = credit_note_body(record, self._invoice_customer(record))
        wanted = self._applications_wanted(record)
        if self.dry_run:
            self._would("credit_note", "create")
            return False
        created, digest = self._create_document("credit_note", record, body)
        # Mapped before it is applied, without a SyncToken, so a crash in between is
        # finished by the next run.
        self._map("credit_note", str(created["id"]), record, invoice_state(record, digest), None)
        self._apply_credit(record, created, wanted)
        self._map("credit_note", str(created["id"]), record, invoice_state(record, digest), record.get("SyncToken"))
        return True

    def _refresh_credit_note(self, record: dict[str, Any], mapped: MappedRecord) -> bool:
        """QBO changed an imported credit memo: carry edits over, then apply it where QBO does."""
        current = dict(self.job.invoiced.get(f"/credit_notes/{mapped.invoiced_id}"))
        if current.get("status") == "voided":
            self.job.count("credit_note", "skipped")  # voided on Invoiced; nothing left to keep in step
            self._map("credit_note", mapped.invoiced_id, record, VOIDED, record.get("SyncToken"))
            return True
        body = credit_note_body(record, str(current["customer"]))
        digest = content_hash(body)
        wanted = self._applications_wanted(record)
        if self.dry_run:
            self._would("credit_note", "update")
            return False
        applied = self._unapply_changed(str(record["Id"]), wanted)
        edited = body_hash(mapped) != digest and not current.get("closed")  # closed: fully applied on Invoiced
        if edited:
            changes = {**invoice_changes(body), "metadata": {**(current.get("metadata") or {}), **body["metadata"]}}
            current = self._patch(f"/credit_notes/{mapped.invoiced_id}", changes,
                                  self._key("credit_note.update", str(record["Id"]), digest))
        wrote = self._apply_credit(record, current, wanted, applied)
        self.job.count("credit_note", "updated" if edited else "applied" if wrote else "unchanged")
        self._map("credit_note", mapped.invoiced_id, record, invoice_state(record, digest), record.get("SyncToken"))
        return True

    def _applications_wanted(self, record: dict[str, Any]) -> dict[str, Decimal]:
        """What QBO applied of the credit memo, per Invoiced invoice; ``RecordRejected`` when
        it went to an invoice Invoiced does not have."""
        by_qbo = credit_applications(record, self._quickbooks_payments())
        # Only invoices proper: a fee or refund invoice qbo_sync wrote has no Invoiced invoice.
        known = self.store.find_by_qbo_id(self.company, "invoice", by_qbo.keys())
        missing = sorted(by_qbo.keys() - known.keys())
        if missing:
            raise RecordRejected(
                f"it is applied in QuickBooks to invoice {', '.join(missing)}, which is not on Invoiced",
                "Only invoices with a balance are imported: apply the credit memo in QuickBooks before the "
                "invoice is paid in full, or ignore the credit memo.",
                "missing_invoice",
            )
        return {known[qbo_id].invoiced_id: amount for qbo_id, amount in by_qbo.items()}

    def _quickbooks_payments(self) -> dict[str, dict[str, Any]]:
        """The payments applying credit memos that were made in QBO: one qbo_sync wrote
        applies an imported credit note as it was applied on Invoiced already."""
        payments = self.plan.credit_payments
        written = {qbo_id for kind in APPLIED_TYPES["Payment"]
                   for qbo_id, mapped in self.store.find_by_qbo_id(self.company, kind, payments).items()
                   if mapped.origin == ORIGIN_INVOICED}
        return {qbo_id: payment for qbo_id, payment in payments.items() if qbo_id not in written}

    def _unapply_changed(self, qbo_id: str, wanted: dict[str, Decimal]) -> dict[str, Decimal]:
        """What the credit note is applied to on Invoiced per invoice, after taking back every
        application when QBO applies less anywhere (QBO unapplied or moved the credit)."""
        payments = self._recorded_payments(CREDIT_MEMO_KEY, qbo_id)
        applied: dict[str, Decimal] = {}
        for payment in payments:
            for split in payment.get("applied_to") or []:
                if split.get("type") == "credit_note":
                    invoice = str(split.get("invoice"))
                    applied[invoice] = applied.get(invoice, Decimal(0)) + money(split.get("amount", 0))
        if all(amount <= wanted.get(invoice, Decimal(0)) for invoice, amount in applied.items()):
            return applied
        for payment in payments:
            self.job.invoiced.request("DELETE", f"/payments/{payment['id']}")
            self.job.count("payment", "voided")
        return {}

    def _apply_credit(self, record: dict[str, Any], credit_note: dict[str, Any], wanted: dict[str, Decimal],
                      applied: dict[str, Decimal] | None = None) -> bool:
        """Apply the credit note on Invoiced where QBO applied the credit memo and it is not
        applied yet (a $0 payment each); True when something was applied."""
        applied = applied or {}
        qbo_id = str(record["Id"])
        wrote = False
        for invoice_id, amount in sorted(wanted.items()):
            missing = amount - applied.get(invoice_id, Decimal(0))
            if missing <= 0:
                continue
            fingerprint = f"{credit_note['id']}:{invoice_id}:{applied.get(invoice_id, Decimal(0))}->{amount}"
            key = self._key("credit_note.apply", qbo_id, fingerprint)
            self._post("/payments", application_body(record, credit_note, invoice_id, missing, key), key,
                       functools.partial(self._first, "/payments", {f"metadata[{PAYMENT_KEY}]": key}))
            self.job.count("credit_note", "applied")
            wrote = True
        return wrote


def invoiced_customer(mapped: MappedRecord) -> str:
    """The Invoiced customer a mapped QBO customer stands for: a per-currency customer
    qbo_sync created ("Acme (EUR)", id map key ``42:EUR``) is customer 42."""
    return mapped.invoiced_id.partition(":")[0]
