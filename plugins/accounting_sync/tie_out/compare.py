"""Do the two ledgers agree? The comparison of one linked invoice, and why it differs.

Pure: the step (``tie_out.step``) reads both sides and hands each linked pair here. An
invoice agrees when QuickBooks shows what Invoiced implies (its total and open balance
in its currency; nothing open once voided or written off). A difference is explained by
the first of these that holds, else it is a defect of the sync and flagged as one:

1. the record (or a payment applied to it) is not synced yet: it failed, waits or was
   ignored (Ignore on the Accounting Sync pages);
2. something was applied to it in QuickBooks by hand (a payment or credit memo the sync
   never wrote);
3. a payment the sync wrote is no longer applied to it in QuickBooks (deleted or
   unapplied there);
4. QuickBooks changed it after the sync (someone edited or deleted it there);
5. it is in another currency on each side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from accounting_sync.common.values import money

NOT_SYNCED = "not synced yet"
BY_HAND = "applied in QuickBooks by hand"
UNAPPLIED = "payment removed in QuickBooks"
CHANGED = "changed in QuickBooks after the sync"
CURRENCY = "currency"
UNEXPLAINED = "unexplained"


@dataclass(frozen=True)
class Amounts:
    total: Decimal
    open: Decimal
    currency: str | None


@dataclass(frozen=True)
class Pair:
    """One linked invoice with everything the explanation may need."""

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
        )


@dataclass
class TieOut:
    """The result of one tie-out: what was checked, what is open on each side, and every
    difference with its explanation."""

    full: bool
    checked: int = 0
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
        memos = f" and {self.credit_memos:,} credit memos" if self.credit_memos else ""
        if not self.differences:
            return (
                f"Books match: {self.checked:,} invoices{memos}, ${self.open_qbo:,.2f} open on both sides{receivable} "
                f"({kind} tie-out, {self.qbo_reads} QuickBooks reads)"
            )
        gap = self.open_invoiced - self.open_qbo
        return (
            f"Books differ on {len(self.differences)} of {self.checked:,} invoices{memos}: ${self.open_invoiced:,.2f} open "
            f"on Invoiced, ${self.open_qbo:,.2f} in QuickBooks (difference ${gap:,.2f}); "
            f"{len(self.unexplained)} unexplained{receivable} ({kind} tie-out, {self.qbo_reads} QuickBooks reads)"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "checked": self.checked,
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


def in_qbo(row: dict[str, Any], home_currency: str | None) -> Amounts:
    currency = (row.get("CurrencyRef") or {}).get("value") or home_currency
    return Amounts(money(row.get("TotalAmt") or 0), money(row.get("Balance") or 0), currency)


def agrees(pair: Pair) -> bool:
    qbo = pair.qbo or Amounts(Decimal("0.00"), Decimal("0.00"), pair.invoiced.currency)
    same_currency = not (pair.invoiced.currency and qbo.currency) or pair.invoiced.currency == qbo.currency
    return (pair.invoiced.total, pair.invoiced.open) == (qbo.total, qbo.open) and same_currency


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
    if pair.qbo_changed and pair.mastered_by == "quickbooks":
        return CHANGED, "changed in QuickBooks since it was imported: the next import brings it over"
    if pair.qbo_changed:
        return CHANGED, "edited in QuickBooks (its SyncToken is newer than the sync's)"
    if pair.invoiced.currency and pair.qbo.currency and pair.invoiced.currency != pair.qbo.currency:
        return CURRENCY, f"{pair.invoiced.currency} on Invoiced, {pair.qbo.currency} in QuickBooks"
    return UNEXPLAINED, "a defect of the sync: please report it"


def difference(pair: Pair) -> Difference:
    explanation, detail = explain(pair)
    return Difference(
        number=pair.number,
        invoiced_id=pair.invoiced_id,
        qbo_id=pair.qbo_id,
        invoiced=_shown(pair.invoiced),
        qbo=_shown(pair.qbo) if pair.qbo else "deleted",
        explanation=explanation,
        detail=detail,
        resync=pair.mastered_by == "invoiced" and pair.qbo is not None,
    )


def _shown(amounts: Amounts) -> str:
    return f"total {amounts.total}, open {amounts.open}" + (f" {amounts.currency}" if amounts.currency else "")
