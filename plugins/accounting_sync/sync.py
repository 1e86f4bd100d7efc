"""qbo_sync: Invoiced -> QuickBooks Online, as four steps the DAG wires together.

extract   streams changed Invoiced records (cursor with overlap) into the state store;
transform turns them into QBO payloads and decides create / update / void / skip;
load      writes them to QBO (customers, items, invoices, payments, bad debts) exactly once;
report    records the run and fails it, after everything was tried, if a record failed.

Records pass between steps through the state store, never through XCom.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from accounting_sync.cursor import Cursor
from accounting_sync.invoiced import InvoicedClient, InvoicedError
from accounting_sync.qbo_setup import QboSetup
from accounting_sync.qbo_writer import BatchWriter, WriteOp, record_fault, replay_journal
from accounting_sync.quickbooks import QboFault, QuickBooksClient, escape
from accounting_sync.report import RecordsFailed, close_run
from accounting_sync.settings import SyncSettings, field_limits
from accounting_sync.state import ORIGIN_INVOICED, ORIGIN_QUICKBOOKS, MappedRecord, StateStore
from accounting_sync.transform import (
    Planned,
    clean_name,
    content_hash,
    customer_payload,
    disambiguated,
    display_names,
    group_lines,
    lines_frame,
    name_key,
    plan_bad_debt,
    plan_invoice,
    plan_payment,
)

log = logging.getLogger(__name__)

FLOW = "qbo_sync"
INVOICE_INCLUDE = "voided,date_voided,date_bad_debt,amount_written_off,amount_paid,amount_credited"
CURSORS = ("invoices", "payments", "customers")
LEASE_TTL = timedelta(minutes=15)  # renewed on every batch while the load runs
FETCH_ONE_BY_ONE = 50


@dataclass
class SyncJob:
    """Everything one run of one company needs."""

    company: str
    store: StateStore
    settings: SyncSettings
    invoiced: InvoicedClient
    qbo: QuickBooksClient | None
    dag_id: str
    run_id: str
    dry_run: bool = False
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def run_key(self) -> str:
        return f"{self.dag_id}/{self.run_id}"

    def count(self, kind: str, outcome: str, amount: int = 1) -> None:
        if amount:
            self.counts[kind][outcome] += amount

    def counts_dict(self) -> dict[str, dict[str, int]]:
        return {kind: dict(counter) for kind, counter in self.counts.items()}

    def stage(self, stage: str, kind: str, records: Any) -> int:
        return self.store.stage(self.company, self.run_key, stage, kind, records)

    def staged(self, stage: str, kind: str) -> Any:
        return self.store.staged(self.company, self.run_key, stage, kind)


def record_key(source_id: Any) -> str:
    """Zero-padded so staged records stream in numeric order."""
    text = str(source_id)
    return text.zfill(20) if text.isdigit() else text


# -- extract --------------------------------------------------------------------------------


def extract(job: SyncJob, full_resync: bool = False, since: str | None = None) -> dict[str, int]:
    """Stage every Invoiced record this run has to look at."""
    job.store.clear_stage(job.company, f"{job.dag_id}/")
    overlap = job.settings.cursor_overlap_seconds
    cursors = {
        name: Cursor.load(job.store, job.company, f"{FLOW}.{name}", overlap, full_resync, since) for name in CURSORS
    }

    invoices = _read_stream(job, "/invoices", cursors["invoices"], INVOICE_INCLUDE)
    for invoice_id in job.store.unresolved_source_ids(job.company, FLOW, "invoice") - invoices.keys():
        fetched = _fetch(job.invoiced, f"/invoices/{invoice_id}", {"include": INVOICE_INCLUDE})
        if fetched:
            invoices[invoice_id] = fetched

    payments = _read_stream(job, "/payments", cursors["payments"], "applied_to")
    for payment_id in job.store.unresolved_source_ids(job.company, FLOW, "payment") - payments.keys():
        fetched = _fetch(job.invoiced, f"/payments/{payment_id}", {"include": "applied_to"})
        if fetched:
            payments[payment_id] = fetched

    # Invoices that payments apply to and that this run has not seen: their date decides
    # whether the payment is before the sync start date.
    applied = {
        str(split["invoice"])
        for payment in payments.values()
        for split in payment.get("applied_to") or []
        if split.get("type") == "invoice" and split.get("invoice") is not None
    }
    known = set(job.store.get_mappings(job.company, "invoice", applied - invoices.keys()))
    for invoice_id in sorted(applied - invoices.keys() - known):
        fetched = _fetch(job.invoiced, f"/invoices/{invoice_id}", {"include": INVOICE_INCLUDE})
        if fetched:
            invoices[invoice_id] = fetched

    customers = _extract_customers(job, invoices, payments, cursors["customers"])

    counts = {
        "invoices": job.stage("extract", "invoice", ((record_key(k), v) for k, v in invoices.items())),
        "payments": job.stage("extract", "payment", ((record_key(k), v) for k, v in payments.items())),
        "customers": job.stage("extract", "customer", ((record_key(k), v) for k, v in customers.items())),
    }
    job.stage("extract", "meta", [("cursors", {name: cursor.next_value() for name, cursor in cursors.items()})])
    log.info("Extracted from Invoiced: %s", counts)
    return counts


def _read_stream(job: SyncJob, path: str, cursor: Cursor, include: str) -> dict[str, dict[str, Any]]:
    """Records changed after the cursor, streamed page by page, de-duplicated by id."""
    records: dict[str, dict[str, Any]] = {}
    params = {"include": include, **cursor.params()} if include else cursor.params()
    for record in job.invoiced.iter_list(path, params):
        records[str(record["id"])] = record
        cursor.observe(record)
    cursor.server_time = job.invoiced.list_started_at
    return records


def _fetch(client: InvoicedClient, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return dict(client.get(path, params))
    except InvoicedError as error:
        if error.status == 404:
            return None
        raise


def _extract_customers(
    job: SyncJob, invoices: dict[str, dict[str, Any]], payments: dict[str, dict[str, Any]], cursor: Cursor
) -> dict[str, dict[str, Any]]:
    """Customers changed since the cursor, plus the unmapped ones the records refer to
    (one GET each when they are few, else one streamed list of every customer)."""
    referenced = {
        str(record["customer"])
        for record in [*invoices.values(), *payments.values()]
        if record.get("customer") not in (None, "")
    }
    missing = referenced - set(job.store.get_mappings(job.company, "customer", referenced))
    if cursor.start is not None and len(missing) > FETCH_ONE_BY_ONE:
        every = Cursor(cursor.name, None, cursor.overlap)
        changed_or_missing = _read_stream(job, "/customers", every, "")
        customers = {
            cid: c for cid, c in changed_or_missing.items()
            if cid in missing or int(c.get("updated_at") or 0) > cursor.start
        }
        cursor.server_time, cursor.newest_seen = every.server_time, every.newest_seen
    else:
        customers = _read_stream(job, "/customers", cursor, "")
    for customer_id in sorted(missing - customers.keys()):
        fetched = _fetch(job.invoiced, f"/customers/{customer_id}", {})
        if fetched:
            customers[customer_id] = fetched
    return customers


# -- transform ------------------------------------------------------------------------------


def transform(job: SyncJob) -> dict[str, int]:
    """Plan every write; the plan is staged for the load step."""
    invoices = [payload for _, payload in job.staged("extract", "invoice")]
    payments = [payload for _, payload in job.staged("extract", "payment")]
    invoice_map = job.store.get_mappings(job.company, "invoice", [str(i["id"]) for i in invoices])
    lines_by_invoice = group_lines(lines_frame(invoices, job.settings))

    written_off = job.store.get_mappings(job.company, "bad_debt_payment", [str(i["id"]) for i in invoices])
    plans: list[Planned] = []
    for invoice in invoices:
        mapped = invoice_map.get(str(invoice["id"]))
        plan = plan_invoice(
            invoice,
            lines_by_invoice.get(str(invoice["id"]), []),
            job.settings,
            mapped.content_hash if mapped else None,
            mapped.origin if mapped else None,
        )
        plans.append(plan)
        if plan.action in {"create", "update", "unchanged"} or (mapped and mapped.origin == ORIGIN_INVOICED):
            bad_debt = plan_bad_debt(invoice, job.settings)
            if bad_debt is not None and plan.action != "skip":
                if bad_debt.source_id in written_off:
                    bad_debt.action = "unchanged"  # written off exactly once
                plans.append(bad_debt)

    by_id = {str(i["id"]): i for i in invoices}
    payment_map = job.store.get_mappings(job.company, "payment", [str(p["id"]) for p in payments])
    for payment in payments:
        mapped = payment_map.get(str(payment["id"]))
        applied = {str(s.get("invoice")) for s in payment.get("applied_to") or [] if s.get("type") == "invoice"}
        plans.append(
            plan_payment(
                payment, {i: by_id.get(i) for i in applied}, job.settings, mapped.content_hash if mapped else None
            )
        )

    job.stage("transform", "plan", ((f"{p.kind}:{record_key(p.source_id)}", p.to_dict()) for p in plans))
    summary = Counter(f"{p.kind}.{p.action}" for p in plans)
    log.info("Planned: %s", dict(sorted(summary.items())))
    return dict(summary)


# -- load -----------------------------------------------------------------------------------


def load(job: SyncJob) -> dict[str, dict[str, int]]:
    """Write the plan to QBO. Holds the company's write lease so qbo_import waits."""
    plans = [Planned.from_dict(payload) for _, payload in job.staged("transform", "plan")]
    if job.dry_run:
        for plan in plans:
            job.count(plan.kind, f"would_{plan.action}")
        job.stage("load", "counts", [("counts", job.counts_dict())])
        return job.counts_dict()
    assert job.qbo is not None
    with job.store.lease(job.company, "writes", job.run_key, LEASE_TTL):
        replayed = replay_journal(job.store, job.qbo, job.company, FLOW, job.run_id)
        if replayed:
            log.warning("Replayed %d unconfirmed batches before this run's writes", replayed)
        Loader(job, plans).run()
        cursors = dict(next(iter(job.staged("extract", "meta")), ("", {}))[1])
        for name, value in cursors.items():
            job.store.set_cursor(job.company, f"{FLOW}.{name}", str(value))
    job.stage("load", "counts", [("counts", job.counts_dict())])
    return job.counts_dict()


class Loader:
    """Runs the load phases in dependency order."""

    def __init__(self, job: SyncJob, plans: list[Planned]) -> None:
        assert job.qbo is not None
        self.job, self.qbo, self.plans = job, job.qbo, plans
        self.setup = QboSetup(job.store, job.qbo, job.company, job.settings)
        self.writes = [p for p in plans if p.action in {"create", "update"}]

    def run(self) -> None:
        for plan in self.plans:
            if plan.action in {"skip", "unchanged"}:
                self.job.count(plan.kind, "skipped" if plan.action == "skip" else "unchanged")
            elif plan.action == "error":
                self._fail_plan(plan, plan.code or "invalid_record", plan.reason or "invalid", plan.hint)
        if self.writes:
            self._check_currency()
        self._customers()
        self._items()
        self._documents("invoice", "Invoice")
        self._voids("invoice")
        self._documents("payment", "Payment")
        self._voids("payment")
        self._bad_debts()

    # -- shared helpers ---------------------------------------------------------------------

    def _fail_plan(self, plan: Planned, code: str, message: str, hint: str | None) -> None:
        self.job.count(plan.kind, "failed")
        self.job.store.record_error(
            self.job.company,
            FLOW,
            "invoice" if plan.kind == "bad_debt" else plan.kind,
            plan.source_id,
            message=message,
            document_number=plan.document_number,
            code=code,
            hint=hint,
            run_id=self.job.run_id,
        )
        self.writes = [w for w in self.writes if w is not plan]

    def _writer(self, entity: str, **kwargs: Any) -> BatchWriter:
        return BatchWriter(
            self.job.store, self.qbo, self.job.company, FLOW, self.job.run_id, entity, heartbeat=self._renew_lease,
            **kwargs,
        )

    def _renew_lease(self) -> None:
        self.job.store.acquire_lease(self.job.company, "writes", self.job.run_key, LEASE_TTL)

    def _check_currency(self) -> None:
        home = self.setup.home_currency()
        for plan in list(self.writes):
            if plan.currency and home and plan.currency != home.upper():
                self._fail_plan(
                    plan,
                    "currency_mismatch",
                    f"{plan.kind} currency {plan.currency} differs from the QuickBooks home currency {home}",
                    "Turn on multicurrency in QuickBooks, or bill this customer in the home currency.",
                )

    # -- customers --------------------------------------------------------------------------

    def _customers(self) -> None:
        staged = {str(c["id"]): c for _, c in self.job.staged("extract", "customer")}
        needed = {dep.split(":", 1)[1] for plan in self.writes for dep in plan.depends_on if dep.startswith("customer:")}
        mappings = self.job.store.get_mappings(self.job.company, "customer", set(staged) | needed)
        for customer_id in sorted(needed - mappings.keys() - staged.keys()):
            for plan in [p for p in self.writes if f"customer:{customer_id}" in p.depends_on]:
                self._fail_plan(plan, "missing_customer", f"customer {customer_id} does not exist on Invoiced", None)
        new = [staged[i] for i in sorted(needed & staged.keys()) if i not in mappings]
        self._create_customers(new)
        self._update_customers([c for i, c in staged.items() if i in mappings], mappings)

    def _create_customers(self, customers: list[dict[str, Any]]) -> None:
        if not customers:
            return
        limit = field_limits()["display_name"]
        policy = self.job.settings.duplicate_customer_names
        plain = {str(c["id"]): clean_name(c.get("name"), limit) for c in customers}
        existing = self._qbo_customers_by_name({n for n in plain.values() if n})
        owners = self.job.store.find_by_qbo_id(self.job.company, "customer", [q["Id"] for q in existing.values()])
        taken = {key: owners[q["Id"]].invoiced_id for key, q in existing.items() if q["Id"] in owners}
        names = display_names(customers, taken, policy)
        links: list[MappedRecord] = []
        creates: list[WriteOp] = []
        created_names: dict[str, str] = {}
        for customer in customers:
            cid = str(customer["id"])
            payload = customer_payload(customer, names[cid])
            match = existing.get(name_key(names[cid]))
            if match is not None and (taken.get(name_key(names[cid])) in (None, cid) or policy == "merge"):
                links.append(MappedRecord(cid, match["Id"], match.get("SyncToken"), customer_hash(payload), ORIGIN_INVOICED))
                taken[name_key(names[cid])] = taken.get(name_key(names[cid])) or cid
            elif name_key(names[cid]) in created_names and policy == "merge":
                continue  # linked after its twin is created
            else:
                created_names[name_key(names[cid])] = cid
                creates.append(
                    WriteOp("customer", cid, "create", payload, customer_hash(payload), customer.get("number") or cid)
                )
        self.job.store.put_mappings(self.job.company, "customer", links)
        self.job.count("customer", "linked", len(links))
        outcome = self._writer("Customer", on_fault=self._customer_name_taken).write(creates)
        self.job.count("customer", "created", len(outcome.created))
        self.job.count("customer", "failed", len(outcome.failed))
        twins = [c for c in customers if name_key(names[str(c["id"])]) in created_names
                 and created_names[name_key(names[str(c["id"])])] != str(c["id"])]
        self._link_merged_twins(twins, names, created_names)

    def _link_merged_twins(
        self, twins: list[dict[str, Any]], names: dict[str, str], created: dict[str, str]
    ) -> None:
        """Under ``merge``, customers sharing a name map to the one created for the first."""
        owners = self.job.store.get_mappings(self.job.company, "customer", set(created.values()))
        records = []
        for customer in twins:
            owner = owners.get(created[name_key(names[str(customer["id"])])])
            if owner is not None:
                records.append(MappedRecord(str(customer["id"]), owner.qbo_id, owner.sync_token, None, ORIGIN_INVOICED))
        self.job.store.put_mappings(self.job.company, "customer", records)
        self.job.count("customer", "linked", len(records))

    def _customer_name_taken(self, op: WriteOp, fault: QboFault) -> WriteOp | None:
        """6240: the name belongs to a vendor, an employee or an inactive customer."""
        if fault.code != "6240" or self.job.settings.duplicate_customer_names != "disambiguate":
            return None
        name = op.payload["DisplayName"]
        staged = {"id": op.source_id, "number": op.document_number}
        renamed = disambiguated(name, staged, field_limits()["display_name"])
        if renamed == name:
            return None
        payload = {**op.payload, "DisplayName": renamed}
        return WriteOp(op.object_type, op.source_id, op.operation, payload, op.hash, op.document_number)

    def _update_customers(self, customers: list[dict[str, Any]], mappings: dict[str, MappedRecord]) -> None:
        updates = []
        for customer in customers:
            mapped = mappings[str(customer["id"])]
            if mapped.origin == ORIGIN_QUICKBOOKS or mapped.content_hash is None:
                # Imported from QBO (QBO is its master), or a merged twin whose QBO
                # record belongs to the first customer of that name.
                continue
            payload = customer_payload(customer, clean_name(customer.get("name"), field_limits()["display_name"]))
            digest = customer_hash(payload)
            if digest == mapped.content_hash:
                continue
            del payload["DisplayName"]  # the name stays as first synced (it may carry a suffix)
            body = {**payload, "Id": mapped.qbo_id, "SyncToken": mapped.sync_token, "sparse": True}
            updates.append(WriteOp("customer", str(customer["id"]), "update", body, digest, customer.get("number")))
        outcome = self._writer("Customer", refresh_tokens=self._refreshed("Customer")).write(updates)
        self.job.count("customer", "updated", len(outcome.updated))
        self.job.count("customer", "failed", len(outcome.failed))

    def _qbo_customers_by_name(self, names: set[str]) -> dict[str, dict[str, Any]]:
        """Existing QBO customers (active or not) holding any of the names."""
        found: dict[str, dict[str, Any]] = {}
        ordered = sorted(names)
        if len(ordered) > 500:
            rows = self.qbo.query_rows("Customer", "Active IN (true, false)")
        else:
            rows = (
                row
                for start in range(0, len(ordered), 40)
                for row in self.qbo.query_rows(
                    "Customer",
                    "Active IN (true, false) AND DisplayName IN ("
                    + ", ".join(f"'{escape(n)}'" for n in ordered[start : start + 40])
                    + ")",
                )
            )
        wanted = {name_key(n) for n in names}
        for row in rows:
            key = name_key(row.get("DisplayName", ""))
            if key in wanted:
                found.setdefault(key, row)
        return found

    # -- items ------------------------------------------------------------------------------

    def _items(self) -> None:
        keys = {dep.split(":", 1)[1] for plan in self.writes for dep in plan.depends_on if dep.startswith("item:")}
        if any(plan.kind == "bad_debt" for plan in self.writes):
            keys.add("setup:bad_debt")
        failed = self.setup.ensure_items(keys, self._item_names(keys), self._writer)
        for key, fault in failed.items():
            for plan in [p for p in self.writes if f"item:{key}" in p.depends_on]:
                self._fail_plan(plan, fault.code, f"item {key}: {fault.message}", fault.hint)

    def _item_names(self, keys: set[str]) -> dict[str, str]:
        """The QBO item name for each key, from the staged line items."""
        frame = lines_frame([payload for _, payload in self.job.staged("extract", "invoice")], self.job.settings)
        names = dict(zip(frame["item_key"], frame["item_name"], strict=True)) if not frame.empty else {}
        names["setup:bad_debt"] = self.job.settings.bad_debt_item_name
        return {key: names.get(key, key.split(":", 1)[1]) for key in keys}

    # -- invoices and payments --------------------------------------------------------------

    def _documents(self, kind: str, entity: str) -> None:
        plans = [p for p in self.writes if p.kind == kind]
        if not plans:
            return
        self.setup.prefetch(plans)
        ops = [op for op in (self._resolve_op(p) for p in plans) if op is not None]
        outcome = self._writer(entity, refresh_tokens=self._refreshed(entity)).write(ops)
        self.job.count(kind, "created", len(outcome.created))
        self.job.count(kind, "updated", len(outcome.updated))
        self.job.count(kind, "failed", len(outcome.failed))

    def _resolve_op(self, plan: Planned) -> WriteOp | None:
        """Swap placeholders for QBO ids; a missing dependency fails (or parks) the record."""
        try:
            payload = self.setup.resolve(plan.payload)
        except LookupError as missing:
            kind, key = missing.args[0]
            if kind == "invoice":
                message = f"waiting for invoice {key} to reach QuickBooks; retried on the next sync"
                self._fail_plan(plan, "waiting_for_invoice", message, "Fix the invoice's own error first.")
            else:
                self._fail_plan(plan, f"missing_{kind}", f"{kind} {key} is not in QuickBooks", None)
            return None
        object_type = "bad_debt_credit_memo" if plan.kind == "bad_debt" else plan.kind
        if plan.action == "update":
            mapped = self.job.store.get_mapping(self.job.company, object_type, plan.source_id)
            assert mapped is not None
            payload = {**payload, "Id": mapped.qbo_id, "SyncToken": mapped.sync_token}
        return WriteOp(object_type, plan.source_id, plan.action, payload, plan.hash, plan.document_number)

    def _refreshed(self, entity: str) -> Any:
        """After 5010, read the current SyncTokens in one query and try again."""

        def refresh(ops: list[WriteOp]) -> list[WriteOp]:
            ids = [op.payload["Id"] for op in ops if op.operation == "update" and "Id" in op.payload]
            tokens: dict[str, str] = {}
            for start in range(0, len(ids), 500):
                chunk = ", ".join(f"'{i}'" for i in ids[start : start + 500])
                for row in self.qbo.query_rows(entity, f"Id IN ({chunk})"):
                    tokens[row["Id"]] = row["SyncToken"]
            return [
                WriteOp(op.object_type, op.source_id, op.operation,
                        {**op.payload, "SyncToken": tokens.get(op.payload.get("Id", ""), op.payload.get("SyncToken"))},
                        op.hash, op.document_number)
                for op in ops
            ]

        return refresh

    def _voids(self, kind: str) -> None:
        entity = "Invoice" if kind == "invoice" else "Payment"
        for plan in [p for p in self.plans if p.kind == kind and p.action == "void"]:
            mapped = self.job.store.get_mapping(self.job.company, kind, plan.source_id)
            if mapped is None or mapped.content_hash == "voided":
                self.job.count(kind, "unchanged")
                continue
            try:
                current = self.qbo.read(entity, mapped.qbo_id)
                body = {"Id": mapped.qbo_id, "SyncToken": current["SyncToken"]}
                if kind == "invoice":
                    params = {"operation": "void"}
                else:
                    body["sparse"] = True
                    params = {"operation": "update", "include": "void"}
                result = self.qbo.write(entity, body, f"void-{kind}-{mapped.qbo_id}-{current['SyncToken']}", params)
            except QboFault as fault:
                self.job.count(kind, "failed")
                record_fault(self.job.store, self.job.company, FLOW, self.job.run_id, kind, plan.source_id,
                             plan.document_number, fault)
                continue
            self.job.store.put_mappings(self.job.company, kind, [
                MappedRecord(plan.source_id, mapped.qbo_id, str(result.get("SyncToken", current["SyncToken"])),
                             "voided", mapped.origin)
            ])
            self.job.store.resolve_errors(self.job.company, FLOW, kind, [plan.source_id])
            self.job.count(kind, "voided")

    # -- bad debt ---------------------------------------------------------------------------

    def _bad_debts(self) -> None:
        """Credit memo on the bad-debt item, then a $0 payment applying it to the invoice."""
        plans = [p for p in self.writes if p.kind == "bad_debt"]
        done = self.job.store.get_mappings(self.job.company, "bad_debt_credit_memo", [p.source_id for p in plans])
        memos = [p for p in plans if p.source_id not in done]
        ops = [op for op in (self._resolve_op(p) for p in memos) if op is not None]
        outcome = self._writer("CreditMemo").write(ops)
        self.job.count("bad_debt", "failed", len(outcome.failed))
        credit_memos = self.job.store.get_mappings(self.job.company, "bad_debt_credit_memo", [p.source_id for p in plans])
        applied = self.job.store.get_mappings(self.job.company, "bad_debt_payment", list(credit_memos))
        invoice_ids = self.job.store.get_mappings(self.job.company, "invoice", list(credit_memos))
        payments = []
        for plan in plans:
            memo = credit_memos.get(plan.source_id)
            invoice = invoice_ids.get(plan.source_id)
            if memo is None or invoice is None or plan.source_id in applied:
                continue
            amount = plan.payload["Line"][0]["Amount"]
            payload = {
                "CustomerRef": self.setup.resolve(plan.payload["CustomerRef"]),
                "TotalAmt": 0,
                "TxnDate": plan.payload["TxnDate"],
                "Line": [
                    {"Amount": amount, "LinkedTxn": [{"TxnId": invoice.qbo_id, "TxnType": "Invoice"}]},
                    {"Amount": amount, "LinkedTxn": [{"TxnId": memo.qbo_id, "TxnType": "CreditMemo"}]},
                ],
                "PrivateNote": f"Invoiced bad debt of invoice {plan.source_id}: applies the credit memo",
            }
            payments.append(WriteOp("bad_debt_payment", plan.source_id, "create", payload, plan.hash, plan.document_number))
        outcome = self._writer("Payment").write(payments)
        self.job.count("bad_debt", "created", len(outcome.created))
        self.job.count("bad_debt", "failed", len(outcome.failed))


def customer_hash(payload: dict[str, Any]) -> str:
    """Changes worth an update: everything but the name, which stays as first synced."""
    return content_hash({key: value for key, value in payload.items() if key != "DisplayName"})


# -- report ---------------------------------------------------------------------------------


class SyncFailed(RecordsFailed):
    """Some records could not be synced; the message lists them."""


def report(job: SyncJob) -> str:
    """Record the run and raise if any record of it failed."""
    return close_run(job, FLOW, "synced", SyncFailed)
