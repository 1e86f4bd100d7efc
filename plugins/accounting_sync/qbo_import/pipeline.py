"""qbo_import: QuickBooks Online -> Invoiced, as three steps the DAG wires together.

extract  reads QBO: customers and invoices changed since the cursors (with overlap), the
         imported invoices that are still open (which also reveals deletions) and the
         records that failed last time, into the state store;
load     under the company's write lease (qbo_sync's load takes the same one) links or
         creates customers and their contacts, imports outstanding invoices, lowers the
         balance of imported invoices to QBO's, and voids what QBO voided or deleted;
report   records the run and fails it, after every record was tried, if one failed.

QuickBooks is the master of what is imported here and Invoiced of what qbo_sync writes;
the shared id map says which side each record came from, and neither pipeline writes the
other's records back. Payments cross by reconciling balances, which is what stops them
echoing between the two systems.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from accounting_sync.common.job import LEASE_TTL, SYNC_FLOW, SyncJob, record_key
from accounting_sync.common.report import RecordsFailed, close_run
from accounting_sync.common.values import RecordRejected, content_hash, money
from accounting_sync.invoiced.client import InvoicedError
from accounting_sync.qbo_import.transform import (
    METADATA_KEY,
    PAYMENT_KEY,
    VOIDED,
    accounting_mark,
    body_hash,
    contact_body,
    customer_body,
    customer_changes,
    decide_invoice,
    idempotency_key,
    invoice_body,
    invoice_changes,
    invoice_state,
    is_open,
    linked_payments,
    new_customer_body,
    new_invoice_body,
    paid_in_quickbooks,
    payment_body,
    updated_at,
)
from accounting_sync.quickbooks.client import QuickBooksClient
from accounting_sync.store.idmap import ORIGIN_INVOICED, ORIGIN_QUICKBOOKS, MappedRecord

log = logging.getLogger(__name__)

FLOW = "qbo_import"
LEASE_RENEWAL_SECONDS = 60
ID_CHUNK = 200  # ids per "Id IN (...)" query
NAME_LOOKUPS = 25  # more new customers than this: one streamed list beats a filter per name
DRY_RUN_ID = "0"
FATAL_STATUSES = {401, 402, 403}  # the key or the account, not the record: fail the run
INVOICED_HINTS = {
    "already been taken": "Another Invoiced record already uses this number. Renumber one of them; "
    "the next import retries.",
    "has a payment applied": "A payment received on Invoiced is applied to this invoice. Void or unapply it "
    "on Invoiced; the next import then voids the invoice.",
    "document is closed": "The invoice is closed on Invoiced. Reopen it there; the next import retries.",
    "customer is inactive": "The Invoiced customer is inactive. Reactivate it on Invoiced.",
}


# -- extract --------------------------------------------------------------------------------


def extract(job: SyncJob, full_reimport: bool = False) -> dict[str, int]:
    """Stage every QBO record this run has to look at."""
    assert job.qbo is not None
    job.store.clear_stage(job.company, f"{job.dag_id}/")
    cursors: dict[str, str] = {}
    customers: dict[str, dict[str, Any]] = {}
    invoices: dict[str, dict[str, Any]] = {}
    refs: dict[str, dict[str, Any]] = {}
    deleted: set[str] = set()
    if job.settings.import_customers:
        customers = _changed(job, "Customer", "customers", "", full_reimport, cursors)
        retry = _failed_ids(job, "customer") - customers.keys()
        customers.update(_by_id(job.qbo, "Customer", retry, "Active IN (true, false)"))
    if job.settings.import_invoices:
        invoices = _changed(job, "Invoice", "invoices", "Balance > '0'", full_reimport, cursors)
        watched = (_open_imports(job) | _failed_ids(job, "invoice")) - invoices.keys()
        found = _by_id(job.qbo, "Invoice", watched)
        invoices.update(found)
        deleted = watched - found.keys()
        wanted = {str(i["CustomerRef"]["value"]) for i in invoices.values() if money(i.get("Balance", 0)) > 0}
        unmapped = wanted - customers.keys() - job.store.find_by_qbo_id(job.company, "customer", wanted).keys()
        refs = _by_id(job.qbo, "Customer", unmapped, "Active IN (true, false)")
    counts = {
        "customers": job.stage("extract", "customer", _keyed(customers)),
        "customer_refs": job.stage("extract", "customer_ref", _keyed(refs)),
        "invoices": job.stage("extract", "invoice", _keyed(invoices)),
        "deleted": job.stage("extract", "deleted", ((record_key(i), {"Id": i}) for i in sorted(deleted))),
    }
    job.stage("extract", "meta", [("cursors", cursors)])
    log.info("Read from QuickBooks: %s", counts)
    return counts


def _keyed(records: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((record_key(qbo_id), record) for qbo_id, record in records.items())


def _changed(
    job: SyncJob, entity: str, name: str, first_where: str, full: bool, cursors: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Records changed since the cursor (minus the overlap); without one, ``first_where``."""
    assert job.qbo is not None
    cursor = None if full else job.store.get_cursor(job.company, f"{FLOW}.{name}")
    where = first_where
    if cursor is not None:
        since = datetime.fromisoformat(cursor) - timedelta(seconds=job.settings.cursor_overlap_seconds)
        where = f"MetaData.LastUpdatedTime >= '{since.isoformat(timespec='seconds')}'"
    rows = {str(row["Id"]): row for row in job.qbo.query_rows(entity, where)}
    if rows:
        cursors[name] = max(rows.values(), key=updated_at)["MetaData"]["LastUpdatedTime"]
    return rows


def _by_id(client: QuickBooksClient, entity: str, ids: Iterable[str], where: str = "") -> dict[str, dict[str, Any]]:
    """The current version of each record; deleted ones are simply absent."""
    ordered = sorted(ids)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ordered), ID_CHUNK):
        clause = "Id IN (" + ", ".join(f"'{i}'" for i in ordered[start : start + ID_CHUNK]) + ")"
        for row in client.query_rows(entity, f"{where} AND {clause}" if where else clause):
            found[str(row["Id"])] = row
    return found


def _open_imports(job: SyncJob) -> set[str]:
    """QBO ids of imported invoices that still had a balance when last seen."""
    mappings = job.store.get_mappings(job.company, "invoice").values()
    return {m.qbo_id for m in mappings if m.origin == ORIGIN_QUICKBOOKS and is_open(m)}


def _failed_ids(job: SyncJob, object_type: str) -> set[str]:
    return job.store.unresolved_source_ids(job.company, FLOW, object_type)


# -- load -----------------------------------------------------------------------------------


def load(job: SyncJob) -> dict[str, dict[str, int]]:
    """Write to Invoiced under the write lease; the cursors advance once all is recorded."""
    lease = (
        contextlib.nullcontext()
        if job.dry_run
        else job.store.lease(job.company, "writes", job.run_key, LEASE_TTL)
    )
    with lease:
        importer = Importer(job)
        importer.run()
        if not job.dry_run and not importer.deferred:
            cursors = dict(next(iter(job.staged("extract", "meta")), ("", {}))[1])
            for name, value in cursors.items():
                job.store.set_cursor(job.company, f"{FLOW}.{name}", str(value))
    job.stage("load", "counts", [("counts", job.counts_dict())])
    return job.counts_dict()


class _DryRun(Exception):
    """Raised instead of a write in a dry run; the record is counted as ``would_<action>``."""

    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


class _Deferred(Exception):
    """qbo_sync has unconfirmed QBO writes, so the id map may not yet know every record
    it created: creating anything new now could import qbo_sync's own records."""


class Importer:
    """Applies the staged QBO records to Invoiced, one record at a time."""

    def __init__(self, job: SyncJob) -> None:
        self.job, self.store, self.company = job, job.store, job.company
        self.customers = _staged(job, "customer")
        self.refs = _staged(job, "customer_ref")
        self.invoices = _staged(job, "invoice")
        self.deleted = sorted(_staged(job, "deleted"))
        self.failures: dict[str, dict[str, int]] = {"customer": {}, "invoice": {}}
        for error in self.store.open_errors(self.company, FLOW):
            self.failures.setdefault(error.object_type, {})[error.source_id] = error.attempts
        self.mappings = {
            "customer": self.store.find_by_qbo_id(self.company, "customer", {*self.customers, *self.refs}),
            "contact": self.store.find_by_qbo_id(self.company, "contact", {*self.customers, *self.refs}),
            "invoice": self.store.find_by_qbo_id(self.company, "invoice", {*self.invoices, *self.deleted}),
        }
        self.deferring = bool(self.store.pending_intents(self.company, SYNC_FLOW))
        self.deferred = 0
        unmapped = {*self.customers, *self.refs} - self.mappings["customer"].keys()
        self._filtered = len(unmapped) <= NAME_LOOKUPS
        self._names: dict[str, list[dict[str, Any]]] | None = None
        self._lease_renewed = time.monotonic()

    def run(self) -> None:
        if self.deferring:
            log.warning("qbo_sync has unconfirmed QuickBooks writes: new records wait for its next run")
        if self.job.settings.import_customers:
            for record in self.customers.values():
                self.customer(record)
        if self.job.settings.import_invoices:
            for qbo_id, record in self.invoices.items():
                self.invoice(qbo_id, record)
            for qbo_id in self.deleted:
                self.invoice(qbo_id, None)

    # -- shared helpers ---------------------------------------------------------------------

    def _key(self, action: str, qbo_id: str, fingerprint: str) -> str:
        """Deterministic per record, content and failed attempts so far. Invoiced replays a
        key's first answer for a day, refusals included, so a record refused before gets a
        fresh key once; a write whose answer was lost is caught by the checks each run
        starts with (same number, same name, same email, the current balance)."""
        kind = "customer" if action.startswith(("customer", "contact")) else "invoice"
        failures = self.failures[kind].get(qbo_id, 0)
        return idempotency_key(self.company, action, qbo_id, f"{fingerprint}#{failures}")

    def _post(
        self, action: str, path: str, body: dict[str, Any], key: str, read_back: Callable[[], dict[str, Any] | None]
    ) -> dict[str, Any]:
        """Create on Invoiced; ``read_back`` finds the record when an answer is lost."""
        if self.job.dry_run:
            raise _DryRun(action)
        self._renew_lease()
        return dict(self.job.invoiced.post(path, body, key, read_back) or {})

    def _patch(self, action: str, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        if self.job.dry_run:
            raise _DryRun(action)
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
        if not self.job.dry_run:
            self.store.put_mappings(self.company, kind, [mapped])
        self.mappings[kind][str(record["Id"])] = mapped

    def _resolved(self, kind: str, qbo_id: str) -> None:
        if not self.job.dry_run and qbo_id in self.failures[kind]:
            self.store.resolve_errors(self.company, FLOW, kind, [qbo_id])

    def _failed(self, kind: str, qbo_id: str, document: str | None, error: Exception) -> None:
        """Record why one record failed; the run goes on and fails at the report."""
        if isinstance(error, InvoicedError) and error.status in FATAL_STATUSES:
            raise error
        self.job.count(kind, "failed")
        if isinstance(error, RecordRejected):
            code, message, hint = error.code, str(error), error.hint
        else:
            assert isinstance(error, InvoicedError)
            code, message = f"invoiced_{error.status or error.type}", error.message
            hint = next((text for needle, text in INVOICED_HINTS.items() if needle in message), None)
        log.warning("%s %s could not be imported: %s", kind, document or qbo_id, message)
        if not self.job.dry_run:
            self.store.record_error(self.company, FLOW, kind, qbo_id, message=message, document_number=document,
                                    code=code, hint=hint, run_id=self.job.run_id)

    # -- customers --------------------------------------------------------------------------

    def customer(self, record: dict[str, Any]) -> str | None:
        """Link, create or update one QBO customer; its Invoiced id, or None if it failed."""
        qbo_id = str(record["Id"])
        mapped = self.mappings["customer"].get(qbo_id)
        if mapped is not None and mapped.origin == ORIGIN_INVOICED:
            self.job.count("customer", "skipped")  # qbo_sync created it from Invoiced
            self._resolved("customer", qbo_id)
            return mapped.invoiced_id
        try:
            body = customer_body(record)
            digest = content_hash(body)
            if mapped is None:
                invoiced_id = self._new_customer(record, body, digest)
            elif mapped.content_hash != digest or qbo_id in self.failures["customer"]:
                invoiced_id = mapped.invoiced_id
                self._update_customer(invoiced_id, record, body, digest)
            else:
                self.job.count("customer", "unchanged")
                return mapped.invoiced_id
            self._contact(invoiced_id, record)
            self._map("customer", invoiced_id, record, digest, record.get("SyncToken"))
            self._resolved("customer", qbo_id)
            return invoiced_id
        except (InvoicedError, RecordRejected) as error:
            self._failed("customer", qbo_id, record.get("DisplayName"), error)
        except _DryRun as would:
            self.job.count("customer", f"would_{would.action}")
            return DRY_RUN_ID
        except _Deferred:
            self.job.count("customer", "deferred")
            self.deferred += 1
        return None

    def _new_customer(self, record: dict[str, Any], body: dict[str, Any], digest: str) -> str:
        """Link to the Invoiced customer of the same name, or create one."""
        if self.deferring:
            raise _Deferred()
        qbo_id = str(record["Id"])
        namesake = self._unmapped_namesake(body["name"])
        if namesake is not None:
            changes = {**customer_changes(body, namesake), **accounting_mark(qbo_id)}
            self._patch("link", f"/customers/{namesake['id']}", changes, self._key("customer.link", qbo_id, digest))
            self.job.count("customer", "linked")
            return str(namesake["id"])
        new = new_customer_body(record, body)
        created = self._post("create", "/customers", new, self._key("customer.create", qbo_id, digest),
                             lambda: self._first("/customers", {"filter[number]": new["number"]}))
        self.job.count("customer", "created")
        return str(created["id"])

    def _update_customer(self, invoiced_id: str, record: dict[str, Any], body: dict[str, Any], digest: str) -> None:
        """Carry a QBO change over, writing only the fields Invoiced does not have yet."""
        current = self.job.invoiced.get(f"/customers/{invoiced_id}")
        changes = customer_changes(body, current)
        if not changes:
            self.job.count("customer", "unchanged")
            return
        key = self._key("customer.update", str(record["Id"]), content_hash(changes))
        self._patch("update", f"/customers/{invoiced_id}", changes, key)
        self.job.count("customer", "updated")

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
        if mapped is None:
            contact = self._contact_with_email(path, body["email"])
            if contact is None:
                contact = self._post("create", path, body, self._key("contact.create", qbo_id, digest),
                                     lambda: self._contact_with_email(path, body["email"]))
                self.job.count("contact", "created")
            else:
                self.job.count("contact", "linked")
        else:
            contact = self._patch("update", f"{path}/{mapped.invoiced_id}", body,
                                  self._key("contact.update", qbo_id, digest))
            self.job.count("contact", "updated")
        self._map("contact", str(contact["id"]), record, digest, record.get("SyncToken"))

    def _contact_with_email(self, path: str, email: str) -> dict[str, Any] | None:
        wanted = email.casefold()
        return next((c for c in self.job.invoiced.iter_list(path) if str(c.get("email") or "").casefold() == wanted),
                    None)

    # -- invoices ---------------------------------------------------------------------------

    def invoice(self, qbo_id: str, record: dict[str, Any] | None) -> None:
        """Import, refresh or void one QBO invoice (``record`` None: deleted in QBO)."""
        mapped = self.mappings["invoice"].get(qbo_id)
        retry = qbo_id in self.failures["invoice"]
        decision = decide_invoice(record, mapped, retry=retry, start=self.job.settings.sync_start_date)
        document = str((record or {}).get("DocNumber") or qbo_id)
        if decision.action in {"skip", "unchanged"}:
            self.job.count("invoice", "skipped" if decision.action == "skip" else "unchanged")
            self._resolved("invoice", qbo_id)
            return
        try:
            if decision.action == "void":
                assert mapped is not None
                self._void_invoice(qbo_id, mapped)
            elif decision.action == "create":
                assert record is not None
                self._create_invoice(record)
            else:
                assert record is not None and mapped is not None
                self._refresh_invoice(record, mapped)
            self._resolved("invoice", qbo_id)
        except (InvoicedError, RecordRejected) as error:
            self._failed("invoice", qbo_id, document, error)
        except _DryRun as would:
            self.job.count("invoice", f"would_{would.action}")
        except _Deferred:
            self.job.count("invoice", "deferred")
            self.deferred += 1

    def _create_invoice(self, record: dict[str, Any]) -> None:
        if self.deferring:
            raise _Deferred()
        qbo_id = str(record["Id"])
        body = invoice_body(record, self._invoice_customer(record))
        digest = content_hash(body)
        try:
            created = self._post("create", "/invoices", new_invoice_body(record, body),
                                 self._key("invoice.create", qbo_id, digest),
                                 lambda: self._earlier_import(record, body["number"]))
        except InvoicedError as error:
            # The number is taken: by our own earlier import whose answer was lost, or by another invoice.
            earlier = self._earlier_import(record, body["number"]) if "already been taken" in error.message else None
            if earlier is None:
                raise
            created = earlier
        self.job.count("invoice", "created")
        # Mapped before the paid part is recorded, without a SyncToken, so a crash in
        # between is finished by the next run instead of leaving the balance too high.
        self._map("invoice", str(created["id"]), record, invoice_state(record, digest), None)
        self._settle(record, created)
        self._map("invoice", str(created["id"]), record, invoice_state(record, digest), record.get("SyncToken"))

    def _earlier_import(self, record: dict[str, Any], number: str) -> dict[str, Any] | None:
        """The invoice an earlier attempt imported for this QBO invoice, if any."""
        found = self.job.invoiced.iter_list("/invoices", {"filter[number]": number})
        return next((dict(i) for i in found if str((i.get("metadata") or {}).get(METADATA_KEY)) == str(record["Id"])),
                    None)

    def _first(self, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
        return next((dict(found) for found in self.job.invoiced.iter_list(path, params)), None)

    def _invoice_customer(self, record: dict[str, Any]) -> str:
        """The Invoiced customer of a QBO invoice, importing the customer when needed."""
        qbo_customer = str((record.get("CustomerRef") or {}).get("value") or "")
        mapped = self.mappings["customer"].get(qbo_customer)
        if mapped is not None:
            return mapped.invoiced_id
        source = self.customers.get(qbo_customer) or self.refs.get(qbo_customer)
        if source is None:
            raise RecordRejected(f"its customer {qbo_customer} was not found in QuickBooks", code="missing_customer")
        invoiced_id = self.customer(source)
        if invoiced_id is None:
            name = source.get("DisplayName") or qbo_customer
            raise RecordRejected(f"its customer {name} could not be imported", "Fix the customer's error first.",
                                 "customer_failed")
        return invoiced_id

    def _refresh_invoice(self, record: dict[str, Any], mapped: MappedRecord) -> None:
        """QBO changed an imported invoice: carry edits over, then match the balance."""
        current = dict(self.job.invoiced.get(f"/invoices/{mapped.invoiced_id}"))
        if current.get("status") == "voided":
            self.job.count("invoice", "skipped")  # voided on Invoiced; nothing left to keep in step
            self._map("invoice", mapped.invoiced_id, record, VOIDED, record.get("SyncToken"))
            return
        body = invoice_body(record, str(current["customer"]))
        digest = content_hash(body)
        # Like Invoiced's own loaders: a document closed on Invoiced (paid there) keeps its content.
        differs = body_hash(mapped) != digest or money(current.get("total")) != money(record.get("TotalAmt"))
        edited = differs and not current.get("closed")
        if edited:
            changes = invoice_changes(body)
            changes["metadata"] = {**(current.get("metadata") or {}), **body["metadata"]}
            current = self._patch("update", f"/invoices/{mapped.invoiced_id}", changes,
                                  self._key("invoice.update", str(record["Id"]), digest))
        settled = self._settle(record, current)
        self.job.count("invoice", "updated" if edited else "balance_matched" if settled else "unchanged")
        self._map("invoice", mapped.invoiced_id, record, invoice_state(record, digest), record.get("SyncToken"))

    def _settle(self, record: dict[str, Any], invoice: dict[str, Any]) -> bool:
        """Record what was paid or credited in QBO so the Invoiced balance matches QBO's;
        True when a payment had to be recorded."""
        amount = paid_in_quickbooks(record, invoice.get("balance"))
        if amount <= 0:
            return False
        if money(invoice.get("total")) != money(record.get("TotalAmt")):
            raise RecordRejected(
                f"the Invoiced total {money(invoice.get('total'))} differs from the QuickBooks total "
                f"{money(record.get('TotalAmt'))}, so the amount paid in QuickBooks cannot be told apart",
                "QuickBooks is the master of imported invoices: reopen the invoice on Invoiced so the next "
                "import can restore it.",
                "total_mismatch",
            )
        qbo_id = str(record["Id"])
        ours = self.store.find_by_qbo_id(self.company, "payment", linked_payments(record))
        quickbooks_side = [p for p in linked_payments(record) if p not in ours]
        fingerprint = f"{invoice['id']}:{money(invoice.get('balance'))}->{money(record.get('Balance'))}"
        key = self._key("payment", qbo_id, fingerprint)
        body = payment_body(record, invoice, amount, quickbooks_side, key)
        created = self._post("record_payment", "/payments", body, key,
                             lambda: self._first("/payments", {f"metadata[{PAYMENT_KEY}]": key}))
        self.job.count("payment", "created")
        # The id map says which side the payment came from, so qbo_sync leaves it alone.
        recorded = MappedRecord(str(created["id"]), ",".join(quickbooks_side)[:64] or qbo_id, None,
                                content_hash(body), ORIGIN_QUICKBOOKS)
        self.store.put_mappings(self.company, "payment", [recorded])
        return True

    def _void_invoice(self, qbo_id: str, mapped: MappedRecord) -> None:
        """Voided or deleted in QBO: undo what was recorded from QBO, then void."""
        try:
            current = dict(self.job.invoiced.get(f"/invoices/{mapped.invoiced_id}"))
        except InvoicedError as error:
            if error.status != 404:
                raise
            current = {"status": "voided"}  # deleted on Invoiced: nothing left to void
        if current.get("status") != "voided":
            for payment in self._recorded_payments(qbo_id):
                if self.job.dry_run:
                    raise _DryRun("void")
                self.job.invoiced.request("DELETE", f"/payments/{payment['id']}")
                self.job.count("payment", "voided")
            path = f"/invoices/{mapped.invoiced_id}"
            self._post("void", f"{path}/void", {}, self._key("invoice.void", qbo_id, ""),
                       lambda: voided if (voided := self.job.invoiced.get(path)).get("status") == "voided" else None)
            self.job.count("invoice", "voided")
        else:
            self.job.count("invoice", "unchanged")
        self._map("invoice", mapped.invoiced_id, {"Id": qbo_id}, VOIDED, mapped.sync_token)

    def _recorded_payments(self, qbo_id: str) -> list[dict[str, Any]]:
        """The payments this pipeline recorded on Invoiced for a QBO invoice: they carry our
        marker (``source`` alone proves nothing: Invoiced's default is ``keyed``)."""
        found = self.job.invoiced.iter_list("/payments", {f"metadata[{METADATA_KEY}]": qbo_id})
        return [p for p in found if not p.get("voided")]


def _staged(job: SyncJob, kind: str) -> dict[str, dict[str, Any]]:
    return {str(payload["Id"]): payload for _, payload in job.staged("extract", kind)}


# -- report ---------------------------------------------------------------------------------


class ImportFailed(RecordsFailed):
    """Some records could not be imported; the message lists them."""


def report(job: SyncJob) -> str:
    """Record the run and raise, listing document numbers and reasons, if a record failed."""
    return close_run(job, FLOW, "imported", ImportFailed)
