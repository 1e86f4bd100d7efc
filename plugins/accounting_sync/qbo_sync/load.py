"""The load step of qbo_sync: customers, items, invoices, credit memos, fee invoices,
payments, voids, bad-debt write-offs and refund receipts go to QBO in dependency order,
each phase in batches through ``BatchWriter``, under the company's write lease
(qbo_import's load takes the same one). Batches an interrupted run left in the journal
are settled first."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from accounting_sync.common.flows import SYNC
from accounting_sync.common.job import CHUNK, LEASE_TTL, SyncJob
from accounting_sync.common.values import RecordRejected, chunked, content_hash, money, name_key
from accounting_sync.config.settings import field_limits
from accounting_sync.qbo_sync.company import (
    DISCOUNT_ITEM,
    computed_tax_differs,
    fit_invoice,
    needs_discount_item,
)
from accounting_sync.qbo_sync.currencies import CustomerCurrencies, in_currency
from accounting_sync.qbo_sync.globaltax import (
    ROUNDING_ITEM,
    ROUNDING_NOTE,
    Target,
    fit_global,
    is_inclusive,
    refitted,
    untaxed_lines,
)
from accounting_sync.qbo_sync.setup import QboSetup
from accounting_sync.qbo_sync.transform import (
    Planned,
    clean_name,
    customer_payload,
    disambiguated,
    display_names,
    kind_label,
)
from accounting_sync.qbo_sync.writer import BatchWriter, WriteOp, error_type, record_fault, replay_journal
from accounting_sync.quickbooks.client import escape, live_name, rows_by_id
from accounting_sync.quickbooks.faults import QboFault
from accounting_sync.store.idmap import ORIGIN_INVOICED, ORIGIN_QUICKBOOKS, MappedRecord, WrittenCodes

log = logging.getLogger(__name__)

FLOW = SYNC.name
WRITES = frozenset({"create", "update"})
ENTITIES = {"invoice": "Invoice", "credit_note": "CreditMemo", "fee": "Invoice", "payment": "Payment",
            "refund": "RefundReceipt", "refund_invoice": "Invoice", "refund_payment": "Payment"}
"""The QBO entity each plan kind is written as (a convenience fee as an invoice of its own)."""
WAITED_FOR = frozenset({"invoice", "credit_note", "fee", "refund_invoice"})
"""Documents a payment links: missing, the payment waits for them to reach QBO."""
ROWS_BY_ID = 500  # ids per "Id IN (...)" query
AUTOMATED_TAX_HINT = (
    "QuickBooks' automated sales tax replaced the tax sent with its own for the customer's address: check the "
    "address in QuickBooks, or charge on Invoiced the tax that applies there."
)
NAMES_PER_QUERY = 40


@dataclass
class Needs:
    """What the planned writes depend on, gathered in one pass over the plan."""

    customers: set[str] = field(default_factory=set)
    items: set[str] = field(default_factory=set)


DOCUMENTS = frozenset({"invoice", "credit_note"})
"""Documents written line for line from Invoiced: fitted to the company's tax and numbering."""
UNTAXED = frozenset({"bad_debt", "fee", "refund_invoice", "refund"})
"""Documents the sync makes itself, untaxed: in a VAT/GST company they carry its untaxed code."""


class Loader:
    """Runs the load phases in dependency order. The plan is streamed from the state
    store one kind and one chunk at a time, so memory does not grow with the run."""

    def __init__(self, job: SyncJob, settled: set[tuple[str, str]] | None = None) -> None:
        """``settled``: records an interrupted run's journal wrote or failed just now."""
        assert job.qbo is not None
        self.job, self.qbo = job, job.qbo
        self.settled = settled or set()
        self.setup = QboSetup(job.store, job.qbo, job.company, job.settings)
        self.failed: set[tuple[str, str]] = set()
        self.failed_items: dict[str, QboFault] = {}
        self.missing_customers: set[str] = set()
        self.targets: dict[str, Target] = {}  # what QBO must show for documents of a VAT/GST company
        self.totals: dict[str, Decimal] = {}  # Invoiced's total of each document, which QBO's must equal
        self.off_total: list[tuple[WriteOp, dict[str, Any], Target | None]] = []  # written, QBO totals otherwise
        self.written_codes: list[WrittenCodes] = []  # the codes written documents carry, recorded per chunk
        self.staged_customers = {str(c["id"]): c for _, c in job.staged("extract", "customer")}
        self.currencies: CustomerCurrencies | None = None  # in a multicurrency company

    def run(self) -> None:
        """Documents before the payments that link them. Payments are voided before the
        documents they applied: an invoice voided in QBO with a payment still applied keeps
        that payment as unapplied customer credit, silently, and a credit memo still applied
        cannot be deleted."""
        needs = self._survey()
        self._customers(needs.customers)
        self._items(needs.items)
        for kind in ("invoice", "credit_note", "fee", "payment"):
            self._documents(kind, ENTITIES[kind])
        for kind in ("payment", "fee", "credit_note", "invoice"):
            self._voids(kind)
        self._bad_debts()
        for kind in ("refund", "refund_invoice", "refund_payment"):
            self._documents(kind, ENTITIES[kind])

    def plans(self, kind: str | None = None, actions: frozenset[str] = WRITES) -> Iterator[Planned]:
        """Planned records of one kind (all kinds when None), streamed from the state store."""
        for _, payload in self.job.store.staged(
            self.job.company, self.job.run_key, "transform", "plan", prefix=f"{kind}:" if kind else None
        ):
            plan = Planned.from_dict(payload)
            if plan.action in actions and (plan.kind, plan.source_id) not in self.failed:
                yield plan

    def _survey(self) -> Needs:
        """Count what needs no write, fail what cannot be written, collect dependencies."""
        needs = Needs()
        kind = self.setup.kind()
        if kind.multicurrency:
            self.currencies = CustomerCurrencies(self.job, kind.home_currency or "", self.staged_customers)
        for plan in self.plans(actions=frozenset({"skip", "unchanged", "error", "create", "update"})):
            if plan.action in {"skip", "unchanged"}:
                self.job.count(plan.kind, "skipped" if plan.action == "skip" else "unchanged")
            elif plan.action == "error":
                self._fail_plan(plan, plan.code or "invalid_record", plan.reason or "invalid", plan.hint)
            elif self._tax_model_ok(plan) and self._currency_ok(plan):
                self._needs(plan, needs)
        return needs

    def _needs(self, plan: Planned, needs: Needs) -> None:
        """The customers and items a document to write depends on, setup items included."""
        for dep in plan.depends_on:
            kind, _, key = dep.partition(":")
            if kind == "customer":
                needs.customers.add(self.currencies.key(key, plan.currency) if self.currencies else key)
            elif kind == "item":
                needs.items.add(key)
        if plan.kind == "bad_debt":
            needs.items.add("setup:bad_debt")
        if plan.kind in DOCUMENTS and needs_discount_item(plan.payload, self.setup.kind()):
            needs.items.add(DISCOUNT_ITEM)
        if plan.kind in DOCUMENTS and self.setup.kind().global_tax:
            needs.items.add(ROUNDING_ITEM)

    # -- shared helpers ---------------------------------------------------------------------

    def _fail_plan(self, plan: Planned, code: str, message: str, hint: str | None) -> None:
        self.job.count(plan.kind, "failed")
        self.job.store.record_error(
            self.job.company,
            FLOW,
            error_type(plan.kind),
            plan.source_id,
            message=message,
            document_number=plan.document_number,
            code=code,
            hint=hint,
            run_id=self.job.run_id,
        )
        self.failed.add((plan.kind, plan.source_id))

    def _writer(self, entity: str, **kwargs: Any) -> BatchWriter:
        return BatchWriter(
            self.job.store, self.qbo, self.job.company, FLOW, self.job.run_id, entity, heartbeat=self._renew_lease,
            **kwargs,
        )

    def _renew_lease(self) -> None:
        self.job.store.acquire_lease(self.job.company, "writes", self.job.run_key, LEASE_TTL)

    def _tax_model_ok(self, plan: Planned) -> bool:
        """Tax-inclusive rates need a VAT/GST company: a US company's tax always comes on top."""
        if self.setup.kind().global_tax or not plan.tax_plan or not is_inclusive(plan.tax_plan):
            return True
        self._fail_plan(
            plan,
            "tax_inclusive_unsupported",
            "the invoice has tax-inclusive rates, which a US QuickBooks company cannot hold (its tax is added on top)",
            "Use tax-exclusive rates for invoices synced to this company.",
        )
        return False

    def _currency_ok(self, plan: Planned) -> bool:
        """QBO without multicurrency would book foreign amounts in its home currency; with it,
        the currency must be one the company has added."""
        home = self.setup.home_currency()
        if not plan.currency or not home or plan.currency == home.upper():
            return True
        if self.currencies is not None:
            if plan.currency in self.setup.currencies():
                return True
            self._fail_plan(plan, "currency_not_enabled",
                            f"{plan.kind} currency {plan.currency} is not one of the QuickBooks company's currencies",
                            f"Add {plan.currency} to the currency list in QuickBooks (Settings > Currencies).")
            return False
        self._fail_plan(
            plan,
            "currency_mismatch",
            f"{plan.kind} currency {plan.currency} differs from the QuickBooks home currency {home}",
            "Turn on multicurrency in QuickBooks, or bill this customer in the home currency.",
        )
        return False

    # -- customers --------------------------------------------------------------------------

    def _customers(self, needed: set[str]) -> None:
        staged = self.staged_customers
        mappings = self.job.store.get_mappings(self.job.company, "customer", set(staged) | needed)
        self.missing_customers = needed - mappings.keys() - staged.keys()
        new = [staged[i] for i in sorted(needed & staged.keys()) if i not in mappings]
        self._create_customers(new)
        self._update_customers([c for i, c in staged.items() if i in mappings], mappings)
        if self.currencies is not None and self.missing_customers:
            # one QBO customer per further currency (currencies.py), created after the plain ones
            twins = self.currencies.twins({key for key in self.missing_customers if ":" in key},
                                          field_limits()["display_name"])
            self.missing_customers -= {str(c["id"]) for c in twins}
            self._create_customers(twins)

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
        linked_currencies: dict[str, str] = {}
        creates: list[WriteOp] = []
        created_names: dict[str, str] = {}
        for customer in customers:
            cid = str(customer["id"])
            payload = customer_payload(customer, names[cid])
            if self.currencies is not None:
                payload["CurrencyRef"] = {"value": self.currencies.currency_of(customer)}
            match = existing.get(name_key(names[cid]))
            if match is not None and match.get("Active") is False and taken.get(name_key(names[cid])) is None:
                self._inactive_namesake(customer, match)
                continue
            if match is not None and (taken.get(name_key(names[cid])) in (None, cid) or policy == "merge"):
                links.append(MappedRecord(cid, match["Id"], match.get("SyncToken"), customer_hash(payload), ORIGIN_INVOICED))
                linked_currencies[cid] = str((match.get("CurrencyRef") or {}).get("value") or "")
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
        if self.currencies is not None:  # the currency each QBO customer is in, linked ones as QBO has them
            created = {op.source_id: op.payload["CurrencyRef"]["value"] for op in creates if op.source_id in outcome.created}
            self.currencies.record({**created, **{k: v for k, v in linked_currencies.items() if v}})
        self.job.count("customer", "created", len(outcome.created))
        self.job.count("customer", "failed", len(outcome.failed))
        twins = [c for c in customers if name_key(names[str(c["id"])]) in created_names
                 and created_names[name_key(names[str(c["id"])])] != str(c["id"])]
        self._link_merged_twins(twins, names, created_names)

    def _inactive_namesake(self, customer: dict[str, Any], match: dict[str, Any]) -> None:
        """Neither link an inactive QBO customer (its documents would be refused) nor create a
        second one beside it: the user decides, by reactivating or renaming."""
        cid = str(customer["id"])
        fault = QboFault(400, "inactive_customer", f"QuickBooks has an inactive customer of this name "
                         f"({match.get('DisplayName')}, Id {match['Id']})")
        record_fault(self.job.store, self.job.company, FLOW, self.job.run_id, "customer", cid,
                     customer.get("number") or cid, fault)
        self.job.count("customer", "failed")

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
        """Existing QBO customers holding any of the names, an active one before an
        inactive one. QBO renames a customer it makes inactive to "<name> (deleted)", so
        inactive rows are read apart and matched without that suffix."""
        ordered = sorted(names)
        if len(ordered) > 500:
            rows: Iterable[dict[str, Any]] = self.qbo.query_rows("Customer", "Active IN (true, false)")
        else:
            active = (
                row
                for part in chunked(ordered, NAMES_PER_QUERY)
                for row in self.qbo.query_rows(
                    "Customer",
                    "Active IN (true, false) AND DisplayName IN (" + ", ".join(f"'{escape(n)}'" for n in part) + ")",
                )
            )
            rows = itertools.chain(active, self.qbo.query_rows("Customer", "Active = false"))
        wanted = {name_key(n) for n in names}
        found: dict[str, dict[str, Any]] = {}
        for row in sorted(rows, key=lambda r: r.get("Active") is False):
            key = name_key(live_name(row))
            if key in wanted:
                found.setdefault(key, row)
        return found

    # -- items ------------------------------------------------------------------------------

    def _items(self, keys: set[str]) -> None:
        self.failed_items = self.setup.ensure_items(keys, self._item_names(keys), self._writer)

    def _item_names(self, keys: set[str]) -> dict[str, str]:
        """The QBO item name for each key, as the transform step derived it."""
        names = dict(dict(self.job.staged("transform", "items")).get("names", {}))
        names.update(self.setup.setup_item_names())
        return {key: names.get(key, key.split(":", 1)[1]) for key in keys}

    # -- invoices and payments --------------------------------------------------------------

    def _documents(self, kind: str, entity: str) -> None:
        on_written = self._written_document if kind in DOCUMENTS else None
        writer = self._writer(entity, refresh_tokens=self._refreshed(entity), on_written=on_written)
        for chunk in chunked(self.plans(kind), CHUNK):
            self.setup.prefetch(chunk)
            ops = [op for op in (self._resolve_op(p) for p in chunk) if op is not None]
            writer.write(self._within_open_balances(ops) if entity == "Payment" else ops)
            self._record_written_codes()
        if self.off_total:
            self._even_out_totals(writer)
            self._record_written_codes()
        self._report_off_totals()
        outcome = writer.outcome
        self.job.count(kind, "created", len(outcome.created))
        self.job.count(kind, "updated", len(outcome.updated))
        self.job.count(kind, "failed", len(outcome.failed))

    def _resolve_op(self, plan: Planned) -> WriteOp | None:
        """Swap placeholders for QBO ids; a missing dependency fails (or parks) the record."""
        broken_item = next((d[5:] for d in plan.depends_on if d[5:] in self.failed_items and d.startswith("item:")), None)
        if broken_item is not None:
            fault = self.failed_items[broken_item]
            self._fail_plan(plan, fault.code, f"item {broken_item}: {fault.message}", fault.hint)
            return None
        try:
            payload = self.setup.resolve(self._fitted(plan))
        except RecordRejected as rejected:
            self._fail_plan(plan, rejected.code, str(rejected), rejected.hint)
            return None
        except LookupError as missing:
            kind, key = missing.args[0]
            if kind in WAITED_FOR:
                what = "the convenience fee invoice" if kind == "fee" else f"{kind_label(kind)} {key}"
                message = f"waiting for {what} to reach QuickBooks; retried on the next sync"
                self._fail_plan(plan, f"waiting_for_{kind}", message, f"Fix the {kind_label(kind)}'s own error first.")
            elif kind == "customer" and key in self.missing_customers:
                self._fail_plan(plan, "missing_customer", f"customer {key} does not exist on Invoiced", None)
            else:
                self._fail_plan(plan, f"missing_{kind}", f"{kind} {key} is not in QuickBooks", None)
            return None
        object_type = "bad_debt_credit_memo" if plan.kind == "bad_debt" else plan.kind
        if (object_type, plan.source_id) in self.settled:
            return None  # planned before the journal of an interrupted run wrote it
        if plan.action == "update":
            mapped = self.job.store.get_mapping(self.job.company, object_type, plan.source_id)
            assert mapped is not None
            payload = {**payload, "Id": mapped.qbo_id, "SyncToken": mapped.sync_token}
        return WriteOp(object_type, plan.source_id, plan.action, payload, plan.hash, plan.document_number)

    def _fitted(self, plan: Planned) -> dict[str, Any]:
        """The planned document as this kind of company needs it (``RecordRejected`` if it cannot be)."""
        kind = self.setup.kind()
        payload = plan.payload
        if plan.kind in DOCUMENTS and plan.tax_plan is not None:
            self.totals[f"{plan.kind}:{plan.source_id}"] = money(plan.tax_plan["total"])
        if plan.kind in DOCUMENTS and kind.global_tax and plan.tax_plan is not None:
            payload, self.targets[f"{plan.kind}:{plan.source_id}"] = fit_global(
                payload, plan.tax_plan, self.setup.tax_codes())
            if any(line.get("Description") == ROUNDING_NOTE for line in payload["Line"]):
                self.job.count(plan.kind, "with_tax_rounding")  # the run summary says how many
        if plan.kind in DOCUMENTS:
            payload = fit_invoice(payload, kind, plan.document_number)
        if plan.kind in UNTAXED and kind.global_tax:
            payload = untaxed_lines(payload, self.setup.tax_codes())
        return self._in_currency(plan, payload)

    def _in_currency(self, plan: Planned, payload: dict[str, Any]) -> dict[str, Any]:
        """In a multicurrency company: on the customer of the document's currency, in it."""
        if self.currencies is None or not plan.currency:
            return payload
        key = self.currencies.key(str(plan.payload["CustomerRef"]["$customer"]), plan.currency)
        return in_currency(payload, key, plan.currency, self.job.settings.exchange_rates.get(plan.currency))

    def _written_document(self, op: WriteOp, written: dict[str, Any]) -> None:
        """What QBO answered for an invoice or credit memo it took: under AST, where its own
        tax would have differed on an invoice; in every company, whether it totals the
        document as Invoiced does."""
        if self.setup.kind().automated_sales_tax and op.object_type == "invoice":
            self._report_automated_tax(op, written)
        self._report_total(op, written)

    def _report_automated_tax(self, op: WriteOp, written: dict[str, Any]) -> None:
        """An accountant wants to know where QBO's own tax would have differed from Invoiced's."""
        difference = computed_tax_differs(written)
        if difference:
            log.warning("invoice %s: %s", op.document_number or op.source_id, difference)
            self.job.count("invoice", "tax_differs_from_automated")

    def _report_total(self, op: WriteOp, written: dict[str, Any]) -> None:
        """Note where QBO totals a document otherwise than Invoiced (reported once its batch is
        recorded, as the writer resolves a written record's old errors): its own tax, under
        automated sales tax that ignored the amount sent; in a VAT/GST company, where the tax
        is predicted per rate, also a rate QBO still taxes otherwise."""
        key = f"{op.object_type}:{op.source_id}"
        target = self.targets.pop(key, None)
        if target is not None:
            self.written_codes.append(WrittenCodes(op.object_type, op.source_id, op.document_number, target.codes))
        expected = self.totals.get(key)
        if (target.missed_by(written) if target is not None else
                expected is not None and money(written.get("TotalAmt", 0)) != expected):
            self.off_total.append((op, written, target))

    def _record_written_codes(self) -> None:
        """So the Configure page can tell which documents a changed tax-code mapping concerns."""
        self.job.store.put_written_codes(self.job.company, self.written_codes)
        self.written_codes = []

    def _even_out_totals(self, writer: BatchWriter) -> None:
        """QBO taxed otherwise than predicted (once per rate, say): the document is fitted
        again under that reading and updated, once; what cannot be, or is still off, is reported."""
        pending, self.off_total = self.off_total, []
        ops = []
        for op, written, target in pending:
            if target is None:  # QBO's own tax (automated sales tax): nothing to fit again
                self.off_total.append((op, written, target))
                continue
            try:
                payload = self.setup.resolve(refitted(op.payload, target, self.setup.tax_codes()))
            except RecordRejected:
                self.off_total.append((op, written, target))
                continue
            self.targets[f"{op.object_type}:{op.source_id}"] = target
            body = {**payload, "Id": written["Id"], "SyncToken": written["SyncToken"]}
            ops.append(WriteOp(op.object_type, op.source_id, "update", body, op.hash, op.document_number))
        if ops:
            before = len(self.off_total)
            writer.write(ops)
            self.job.count(ops[0].object_type, "total_evened", len(ops) - (len(self.off_total) - before))

    def _report_off_totals(self) -> None:
        """A document QBO still totals or taxes otherwise is written, but not as Invoiced has
        it: it is reported as failing, with QBO's tax, until it is fixed or ignored."""
        automated = self.setup.kind().automated_sales_tax
        for op, written, target in self.off_total:
            label = kind_label(op.object_type)
            total, tax = money(written.get("TotalAmt", 0)), money((written.get("TxnTaxDetail") or {}).get("TotalTax", 0))
            difference = self.totals.get(f"{op.object_type}:{op.source_id}", total) - total
            off = f"{difference} off Invoiced's total" if difference else "as Invoiced does, but not its tax"
            invoiced_tax = f" (Invoiced {target.tax})" if target is not None else ""
            self.job.store.record_error(
                self.job.company, FLOW, error_type(op.object_type), op.source_id, code="tax_total_differs",
                message=f"QuickBooks totals the {label} {total}, {off}: it computed tax {tax}{invoiced_tax}",
                hint=AUTOMATED_TAX_HINT if automated else f"Check the {label}'s tax rates on Invoiced.",
                document_number=op.document_number, run_id=self.job.run_id,
            )
            self.job.count(op.object_type, "total_differs")
        self.off_total = []

    def _within_open_balances(self, ops: list[WriteOp]) -> list[WriteOp]:
        """QBO accepts a payment line larger than the invoice's open balance and silently
        keeps the excess as customer credit. So the QBO balances are read first, and a
        payment that would apply more than one of them is reported instead of written
        (it happens when a payment was also recorded in QuickBooks directly)."""
        wanted = {id(op): applied_amounts(op.payload) for op in ops}
        invoice_ids = sorted({invoice for amounts in wanted.values() for invoice in amounts})
        if not invoice_ids:
            return ops
        balances = {row["Id"]: money(row.get("Balance", 0)) for row in self._rows_by_id("Invoice", invoice_ids)}
        updated = [str(op.payload["Id"]) for op in ops if op.operation == "update"]
        before = {row["Id"]: applied_amounts(row) for row in self._rows_by_id("Payment", updated)}
        kept = []
        for op in ops:
            already = before.get(str(op.payload.get("Id")), {}) if op.operation == "update" else {}
            over = [
                f"{amount} on QuickBooks invoice {invoice}, whose open balance is {balances[invoice] + already.get(invoice, 0)}"
                for invoice, amount in wanted[id(op)].items()
                if invoice in balances and amount > balances[invoice] + already.get(invoice, 0)
            ]
            if over:
                self.job.count("payment" if op.object_type == "payment" else "bad_debt", "failed")
                fault = QboFault(400, "overpayment", "the payment would apply more than QuickBooks has open: "
                                 + "; ".join(over))
                record_fault(self.job.store, self.job.company, FLOW, self.job.run_id, op.object_type, op.source_id,
                             op.document_number, fault)
                continue
            for invoice, amount in wanted[id(op)].items():
                if invoice in balances:
                    balances[invoice] -= amount - already.get(invoice, 0)
            kept.append(op)
        return kept

    def _rows_by_id(self, entity: str, ids: list[str]) -> Iterator[dict[str, Any]]:
        return rows_by_id(self.qbo, entity, ids, chunk=ROWS_BY_ID)

    def _refreshed(self, entity: str) -> Any:
        """After 5010, read the current SyncTokens in one query and try again."""

        def refresh(ops: list[WriteOp]) -> list[WriteOp]:
            ids = [op.payload["Id"] for op in ops if op.operation == "update" and "Id" in op.payload]
            tokens = {row["Id"]: row["SyncToken"] for row in self._rows_by_id(entity, ids)}
            return [
                WriteOp(op.object_type, op.source_id, op.operation,
                        {**op.payload, "SyncToken": tokens.get(op.payload.get("Id", ""), op.payload.get("SyncToken"))},
                        op.hash, op.document_number)
                for op in ops
            ]

        return refresh

    def _voids(self, kind: str) -> None:
        """Invoices and payments are voided as Intuit documents it; a credit memo cannot be
        voided, so it is deleted, once no payment applies it any more."""
        entity = ENTITIES[kind]
        operation = "delete" if entity == "CreditMemo" else "void"
        for plan in self.plans(kind, frozenset({"void"})):
            mapped = self.job.store.get_mapping(self.job.company, kind, plan.source_id)
            if mapped is None or mapped.content_hash == "voided":
                self.job.count(kind, "unchanged")
                continue
            try:
                token = self._reverse(kind, entity, operation, mapped)
            except QboFault as fault:
                self.job.count(kind, "failed")
                record_fault(self.job.store, self.job.company, FLOW, self.job.run_id, kind, plan.source_id,
                             plan.document_number, fault)
                continue
            self.job.store.put_mappings(self.job.company, kind, [
                MappedRecord(plan.source_id, mapped.qbo_id, token, "voided", mapped.origin)
            ])
            self.job.store.resolve_errors(self.job.company, FLOW, error_type(kind), [plan.source_id])
            self.job.count(kind, "deleted" if operation == "delete" else "voided")

    def _reverse(self, kind: str, entity: str, operation: str, mapped: MappedRecord) -> str | None:
        """Void (or delete) one QBO record; returns its SyncToken after. A record to delete
        that is gone already (a run that stopped before recording the delete) is done."""
        try:
            current = self.qbo.read(entity, mapped.qbo_id)
        except QboFault as fault:
            if operation == "delete" and fault.code == "610":
                return mapped.sync_token
            raise
        still_applied = [link["TxnId"] for link in current.get("LinkedTxn") or [] if link.get("TxnType") == "Payment"]
        if entity != "Payment" and still_applied:
            raise QboFault(400, "payments_applied", f"QuickBooks {entity} {mapped.qbo_id} still has payments "
                           f"applied ({', '.join(still_applied)}); voiding it would leave them as unapplied "
                           "customer credit")
        body = {"Id": mapped.qbo_id, "SyncToken": current["SyncToken"]}
        rid = f"{operation}-{kind}-{mapped.qbo_id}-{current['SyncToken']}"
        result = self.qbo.write(entity, body, rid, {"operation": operation})
        return str(result.get("SyncToken", current["SyncToken"]))

    # -- bad debt ---------------------------------------------------------------------------

    def _bad_debts(self) -> None:
        """Credit memo on the bad-debt item, then a $0 payment applying it to the invoice."""
        plans = list(self.plans("bad_debt"))
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
                "CustomerRef": self.setup.resolve(self._in_currency(plan, plan.payload)["CustomerRef"]),
                "TotalAmt": 0,
                "TxnDate": plan.payload["TxnDate"],
                "Line": [
                    {"Amount": amount, "LinkedTxn": [{"TxnId": invoice.qbo_id, "TxnType": "Invoice"}]},
                    {"Amount": amount, "LinkedTxn": [{"TxnId": memo.qbo_id, "TxnType": "CreditMemo"}]},
                ],
                "PrivateNote": f"Invoiced bad debt of invoice {plan.source_id}: applies the credit memo",
            }
            payments.append(WriteOp("bad_debt_payment", plan.source_id, "create", payload, plan.hash, plan.document_number))
        outcome = self._writer("Payment").write(self._within_open_balances(payments))
        self.job.count("bad_debt", "created", len(outcome.created))
        self.job.count("bad_debt", "failed", len(outcome.failed))


def customer_hash(payload: dict[str, Any]) -> str:
    """Changes worth an update: everything but the name, which stays as first synced, and the
    currency, which QBO fixes."""
    return content_hash({key: value for key, value in payload.items() if key not in ("DisplayName", "CurrencyRef")})


def applied_amounts(payment: dict[str, Any]) -> dict[str, Decimal]:
    """What a QBO payment (or payment payload) applies to each invoice, by invoice Id."""
    applied: dict[str, Decimal] = {}
    for line in payment.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") == "Invoice":
                applied[str(link["TxnId"])] = applied.get(str(link["TxnId"]), Decimal(0)) + money(line["Amount"])
    return applied


def write_plan(job: SyncJob) -> dict[str, dict[str, int]]:
    """Write the plan to QBO. Holds the company's write lease so qbo_import waits."""
    if job.dry_run:
        for _, payload in job.staged("transform", "plan"):
            job.count(payload["kind"], f"would_{payload['action']}")
        return job.loaded()
    assert job.qbo is not None
    with job.store.lease(job.company, "writes", job.run_key, LEASE_TTL):
        settled = replay_journal(job.store, job.qbo, job.company, FLOW, job.run_id)
        if settled:
            log.warning("Settled %d records of interrupted batches before this run's writes", len(settled))
        Loader(job, settled).run()
        job.save_cursors(FLOW)
    return job.loaded()
