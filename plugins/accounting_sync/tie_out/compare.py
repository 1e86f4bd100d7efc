"""Do the two ledgers agree? The comparison of one linked record, and why it differs.

Pure: the step (``tie_out.step``) reads both sides and hands each linked pair here. An
invoice agrees when QuickBooks shows what Invoiced implies (its total and open balance
in its currency; nothing open once voided or written off); a credit memo, its total and
remaining credit; a payment, its amount, what it leaves unapplied and what it applies to
each document (``payment_on_invoiced`` and ``payment_in_qbo``). A difference is explained
by the first of these that holds, else it is a defect of the sync and flagged as one:

1. the record (or a payment applied to it) is not synced yet: it failed, waits or was
   ignored (Ignore on the Accounting Sync pages);
2. something was applied to it in QuickBooks by hand (a payment or credit memo the sync
   never wrote);
3. a payment the sync wrote is no longer applied to it in QuickBooks (deleted or
   unapplied there);
4. QuickBooks changed it after the sync (someone edited or deleted it there);
5. QuickBooks computed the tax itself: its total differs from Invoiced's by exactly the
   difference of the two taxes, and it holds what the sync wrote (automated sales tax
   ignoring the amount sent, or a VAT/GST company rounding otherwise);
6. it is in another currency on each side.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from accounting_sync.common.values import money
from accounting_sync.qbo_sync.globaltax import applied_taxes
from accounting_sync.qbo_sync.transform import split_total

NOT_SYNCED = "not synced yet"
BY_HAND = "applied in QuickBooks by hand"
UNAPPLIED = "payment removed in QuickBooks"
CHANGED = "changed in QuickBooks after the sync"
TAX = "tax or rounding computed by QuickBooks"
CURRENCY = "currency"
UNEXPLAINED = "unexplained"


ZERO = Decimal("0.00")
Applied = tuple[tuple[str, Decimal], ...]
"""What a payment applies where: (document, amount), sorted, without zeros."""


@dataclass(frozen=True)
class Amounts:
    """One side's money of a record. ``open``: an invoice's balance, a credit memo's credit
    left, a payment's unapplied amount."""

    total: Decimal
    open: Decimal
    currency: str | None
    applied: Applied = ()  # a payment: what it applies to each document
    tax: Decimal | None = None  # an invoice: the tax in its total, where it is known


@dataclass(frozen=True)
class Pair:
    """One linked record with everything the explanation may need."""

    invoiced_id: str
    qbo_id: str
    number: str
    mastered_by: str  # "invoiced" (qbo_sync writes it) or "quickbooks" (qbo_import brings it)
    invoiced: Amounts
    qbo: Amounts | None  # None: gone from QuickBooks
    qbo_changed: bool = False  # QuickBooks' SyncToken is newer than the one the sync holds
    pending: str | None = None  # "failed: <reason>" / "ignored" / "waiting", for it or a payment
    unknown_links: tuple[str, ...] = ()  # applied in QBO, never written by the sync
    missing_payments: tuple[str, ...] = ()  # written by the sync, no longer applied in QBO
    object_type: str = "invoice"  # or "credit_note", "payment"


@dataclass
class Difference:
    number: str
    invoiced_id: str
    qbo_id: str
    invoiced: str
    qbo: str
    explanation: str
    detail: str
    resync: bool = False  # an invoice Invoiced masters: Re-sync can write Invoiced's version again
    object_type: str = "invoice"  # or "credit_note", "payment", "customer": the records the page links to

    @property
    def unexplained(self) -> bool:
        return self.explanation == UNEXPLAINED


@dataclass
class CustomerBalance:
    """One QBO customer (and the Invoiced customers merged into it) in a full tie-out: the
    parts of the gap between the two balances that are explained, and what is left."""

    name: str
    qbo_id: str
    invoiced_open: Decimal  # what Invoiced implies QuickBooks should carry for them
    qbo_balance: Decimal  # Customer.Balance in QuickBooks
    linked: Decimal = Decimal("0.00")  # gaps on linked invoices (listed one by one)
    never_written: Decimal = Decimal("0.00")  # open in QBO on invoices the sync never wrote
    not_synced: Decimal = Decimal("0.00")  # open on Invoiced on invoices not synced
    credit: Decimal = Decimal("0.00")  # unapplied credit Invoiced holds for them

    @property
    def residual(self) -> Decimal:
        return (
            self.qbo_balance - self.invoiced_open - self.linked - self.never_written + self.not_synced + self.credit
        )

    def difference(self) -> Difference | None:
        """Customer-level gaps the invoice lines do not already show; None when there are none."""
        parts = [
            (self.never_written, BY_HAND, "open in QuickBooks on invoices the sync never wrote"),
            (-self.not_synced, NOT_SYNCED, "open on Invoiced on invoices not synced (before the start date, failing or ignored)"),
            (self.residual, UNEXPLAINED, "a defect of the sync: please report it"),
        ]
        found = [(amount, why, what) for amount, why, what in parts if amount]
        if not found:
            return None
        explanation = next((why for _, why, _ in found if why == UNEXPLAINED), found[0][1])
        return Difference(
            number=f"customer {self.name}",
            invoiced_id="",
            qbo_id=self.qbo_id,
            invoiced=f"open {self.invoiced_open - self.credit}",
            qbo=f"balance {self.qbo_balance}",
            explanation=explanation,
            detail="; ".join(f"{what}: {amount}" for amount, _, what in found),
            object_type="customer",
        )


@dataclass
class TieOut:
    """The result of one tie-out: what was checked, what is open on each side, and every
    difference with its explanation."""

    full: bool
    checked: int = 0
    payments: int = 0
    credit_memos: int = 0
    open_invoiced: Decimal = Decimal("0.00")
    open_qbo: Decimal = Decimal("0.00")
    qbo_reads: int = 0
    differences: list[Difference] = field(default_factory=list)
    receivable_invoiced: Decimal | None = None  # full tie-outs: Invoiced A/R (open invoices, less credits)
    receivable_qbo: Decimal | None = None  # full tie-outs: the A/R the synced customers carry in QBO

    @property
    def unexplained(self) -> list[Difference]:
        return [d for d in self.differences if d.unexplained]

    def summary(self) -> str:
        kind = "full" if self.full else "incremental"
        receivable = (
            f"; accounts receivable ${self.receivable_invoiced:,.2f} on Invoiced, ${self.receivable_qbo:,.2f} on the "
            "synced customers in QuickBooks"
            if self.receivable_invoiced is not None and self.receivable_qbo is not None
            else ""
        )
        if not self.differences:
            return (
                f"Books match: {self._records()}, ${self.open_qbo:,.2f} open on both sides{receivable} "
                f"({kind} tie-out, {self.qbo_reads} QuickBooks reads)"
            )
        gap = self.open_invoiced - self.open_qbo
        return (
            f"Books differ on {len(self.differences)} of {self._records()}: ${self.open_invoiced:,.2f} open "
            f"on Invoiced, ${self.open_qbo:,.2f} in QuickBooks (difference ${gap:,.2f}); "
            f"{len(self.unexplained)} unexplained{receivable} ({kind} tie-out, {self.qbo_reads} QuickBooks reads)"
        )

    def _records(self) -> str:
        """"2,143 invoices, 812 payments and 3 credit memos": what was compared."""
        counted = [(self.checked, "invoices"), (self.payments, "payments"), (self.credit_memos, "credit memos")]
        parts = [f"{count:,} {what}" for index, (count, what) in enumerate(counted) if count or not index]
        return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else parts[0]

    def as_json(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "checked": self.checked,
            "payments": self.payments,
            "credit_memos": self.credit_memos,
            "open_invoiced": str(self.open_invoiced),
            "open_qbo": str(self.open_qbo),
            "qbo_reads": self.qbo_reads,
            "receivable_invoiced": None if self.receivable_invoiced is None else str(self.receivable_invoiced),
            "receivable_qbo": None if self.receivable_qbo is None else str(self.receivable_qbo),
            "differences": [asdict(d) for d in self.differences],
        }


def expected_in_qbo(invoice: dict[str, Any]) -> Amounts:
    """What QuickBooks must show for an invoice Invoiced masters: nothing once voided,
    nothing open once written off (a credit memo closes it), else the same."""
    currency = str(invoice.get("currency") or "").upper() or None
    if invoice.get("status") == "voided" or invoice.get("voided"):
        return Amounts(Decimal("0.00"), Decimal("0.00"), currency)
    total = money(invoice.get("total") or 0)
    written_off = invoice.get("status") == "bad_debt" or (bool(invoice.get("closed")) and not invoice.get("paid"))
    return Amounts(total, Decimal("0.00") if written_off else money(invoice.get("balance") or 0), currency)


def on_invoiced(invoice: dict[str, Any]) -> Amounts:
    """An imported invoice's copy on Invoiced, as it stands (voided: nothing)."""
    currency = str(invoice.get("currency") or "").upper() or None
    if invoice.get("status") == "voided" or invoice.get("voided"):
        return Amounts(Decimal("0.00"), Decimal("0.00"), currency)
    return Amounts(money(invoice.get("total") or 0), money(invoice.get("balance") or 0), currency)


def invoiced_tax(invoice: dict[str, Any]) -> Decimal | None:
    """The tax Invoiced applied to an invoice; None when its lines were not read."""
    if "items" not in invoice:
        return None
    return money(sum((money(tax.get("amount") or 0) for tax in applied_taxes(invoice)), Decimal(0)))


def in_qbo(row: dict[str, Any], home_currency: str | None) -> Amounts:
    currency = (row.get("CurrencyRef") or {}).get("value") or home_currency
    detail = row.get("TxnTaxDetail")
    tax = money(detail.get("TotalTax") or 0) if isinstance(detail, dict) else None
    return Amounts(money(row.get("TotalAmt") or 0), money(row.get("Balance") or 0), currency, tax=tax)


def payment_on_invoiced(payment: dict[str, Any], invoices: Container[str], credit_notes: Container[str]) -> Amounts:
    """What QuickBooks must show for an Invoiced payment qbo_sync wrote, by the rules of
    ``transform.payment_payload``: the cash applied to each invoice the sync wrote (an
    invoice it never wrote, e.g. dated before the start date, is left out of the payment),
    a credit note applied to an invoice as a line on each of them (a $0 payment when no
    cash moved), the convenience fee on its fee invoice, customer credit unapplied.
    Voided: nothing (QuickBooks keeps the voided payment at 0, applied nowhere)."""
    currency = str(payment.get("currency") or "").upper() or None
    if payment.get("voided"):
        return Amounts(ZERO, ZERO, currency)
    applied: dict[str, Decimal] = {}
    cash = Decimal(0)
    for split in payment.get("applied_to") or []:
        invoice, amount = str(split.get("invoice")), money(split.get("amount") or 0)
        if invoice not in invoices:
            continue
        if split.get("type") == "invoice":
            cash += amount
            _add(applied, f"invoice {invoice}", amount)
        elif split.get("type") == "credit_note" and str(split.get("credit_note")) in credit_notes:
            _add(applied, f"invoice {invoice}", amount)
            _add(applied, f"credit note {split.get('credit_note')}", amount)
    fee, credit = split_total(payment, "convenience_fee"), split_total(payment, "credit")
    _add(applied, f"convenience fee {payment['id']}", fee)
    return Amounts(money(cash + fee + credit), money(credit), currency, _applied(applied))


def payment_in_qbo(row: dict[str, Any], labels: Mapping[tuple[str, str], str]) -> Amounts:
    """A QBO payment: its amount, what is left unapplied (its amount less the invoices
    it pays, plus the credit memos it spends) and what each line applies, named by
    ``labels`` ((TxnType, TxnId) -> the Invoiced document, as ``payment_on_invoiced``
    names it) or as the QuickBooks document when the sync never wrote it."""
    applied: dict[str, Decimal] = {}
    net = Decimal(0)
    for line, txn_type, txn_id in _links(row):
        amount = money(line.get("Amount") or 0)
        _add(applied, labels.get((txn_type, txn_id), f"QuickBooks {txn_type} {txn_id}"), amount)
        net += amount if txn_type == "Invoice" else -amount
    total = money(row.get("TotalAmt") or 0)
    return Amounts(total, money(total - net), _currency(row), _applied(applied))


def imported_on_invoiced(payment: dict[str, Any]) -> Amounts:
    """A payment qbo_import recorded on Invoiced for what was paid in QuickBooks on one
    invoice: its amount, all of it applied there (voided: nothing)."""
    currency = str(payment.get("currency") or "").upper() or None
    if payment.get("voided"):
        return Amounts(ZERO, ZERO, currency)
    applied: dict[str, Decimal] = {}
    for split in payment.get("applied_to") or []:
        if split.get("type") == "invoice":
            _add(applied, f"invoice {split.get('invoice')}", money(split.get("amount") or 0))
    return Amounts(money(payment.get("amount") or 0), ZERO, currency, _applied(applied))


def imported_in_qbo(rows: Iterable[dict[str, Any]], labels: Mapping[tuple[str, str], str], on: Amounts) -> Amounts:
    """What the QBO payments an imported payment stands for apply to the invoices it is
    applied to on Invoiced (``on``); what else they pay was recorded apart."""
    wanted = {label for label, _ in on.applied}
    applied: dict[str, Decimal] = {}
    currency = None
    for row in rows:
        currency = currency or _currency(row)
        for line, txn_type, txn_id in _links(row):
            label = labels.get((txn_type, txn_id), "")
            if label in wanted:
                _add(applied, label, money(line.get("Amount") or 0))
    total = money(sum(applied.values(), Decimal(0)))
    return Amounts(total, ZERO, currency, _applied(applied))


def _links(row: dict[str, Any]) -> Iterable[tuple[dict[str, Any], str, str]]:
    for line in row.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            yield line, str(link.get("TxnType")), str(link.get("TxnId"))


def _currency(row: dict[str, Any]) -> str | None:
    return (row.get("CurrencyRef") or {}).get("value")


def _add(applied: dict[str, Decimal], label: str, amount: Decimal) -> None:
    applied[label] = applied.get(label, Decimal(0)) + amount


def _applied(applied: dict[str, Decimal]) -> Applied:
    return tuple(sorted((label, money(amount)) for label, amount in applied.items() if amount))


def agrees(pair: Pair) -> bool:
    qbo = pair.qbo or Amounts(ZERO, ZERO, pair.invoiced.currency)
    same_currency = not (pair.invoiced.currency and qbo.currency) or pair.invoiced.currency == qbo.currency
    mine, theirs = pair.invoiced, qbo
    return (mine.total, mine.open, mine.applied) == (theirs.total, theirs.open, theirs.applied) and same_currency


def explain(pair: Pair) -> tuple[str, str]:
    """(explanation, detail) of a pair that does not agree."""
    if pair.pending:
        return NOT_SYNCED, pair.pending
    if pair.unknown_links:
        return BY_HAND, "not written by the sync: " + ", ".join(pair.unknown_links)
    if pair.missing_payments:
        return UNAPPLIED, "no longer applied in QuickBooks: " + ", ".join(pair.missing_payments)
    if pair.qbo is None:
        return CHANGED, "deleted in QuickBooks"
    if pair.qbo_changed:
        return CHANGED, _changed(pair)
    computed = computed_tax(pair)
    if computed:
        return TAX, computed
    if pair.invoiced.currency and pair.qbo.currency and pair.invoiced.currency != pair.qbo.currency:
        return CURRENCY, f"{pair.invoiced.currency} on Invoiced, {pair.qbo.currency} in QuickBooks"
    return UNEXPLAINED, "a defect of the sync: please report it"


def _changed(pair: Pair) -> str:
    if pair.mastered_by == "invoiced":
        return "edited in QuickBooks (its SyncToken is newer than the sync's)"
    if pair.object_type == "payment":  # qbo_import records what was paid, once: an edit stays in QuickBooks
        return "edited in QuickBooks after qbo_import recorded it on Invoiced"
    return "changed in QuickBooks since it was imported: the next import brings it over"


def computed_tax(pair: Pair) -> str | None:
    """Whether QuickBooks' own tax accounts for the whole gap of an invoice the sync wrote:
    its total is off Invoiced's by exactly the difference of the two taxes (its open
    balance by the same, or not at all); what to say then."""
    mine, theirs = pair.invoiced, pair.qbo
    if pair.mastered_by != "invoiced" or theirs is None or mine.tax is None or theirs.tax is None:
        return None
    gap = theirs.total - mine.total
    if not gap or gap != theirs.tax - mine.tax or theirs.open - mine.open not in (ZERO, gap):
        return None
    return f"QuickBooks computed tax {theirs.tax}, Invoiced {mine.tax}"


def difference(pair: Pair) -> Difference:
    explanation, detail = explain(pair)
    return Difference(
        number=pair.number,
        invoiced_id=pair.invoiced_id,
        qbo_id=pair.qbo_id,
        invoiced=_shown(pair.invoiced, pair.object_type),
        qbo=_shown(pair.qbo, pair.object_type) if pair.qbo else "deleted",
        explanation=explanation,
        detail=detail,
        resync=pair.object_type == "invoice" and pair.mastered_by == "invoiced" and pair.qbo is not None,
        object_type=pair.object_type,
    )


def _shown(amounts: Amounts, object_type: str) -> str:
    currency = f" {amounts.currency}" if amounts.currency else ""
    if object_type != "payment":
        return f"total {amounts.total}, open {amounts.open}{currency}"
    applied = "; ".join(f"{label} {amount}" for label, amount in amounts.applied) or "applied nowhere"
    return f"amount {amounts.total}, unapplied {amounts.open}{currency}: {applied}"
