"""Transactions: Invoice, CreditMemo, Payment and RefundReceipt, with QBO's totals and
balance links.

A Payment line linked to an Invoice lowers its Balance and adds a `LinkedTxn` back to
the payment; a line linked to a CreditMemo consumes its RemainingCredit. A $0 payment
with one of each therefore applies a credit memo to an invoice (a bad-debt write-off, or
an Invoiced credit note applied to an invoice). A RefundReceipt pays money out of an
account on sales lines and touches no receivable.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sandbox.quickbooks import currency, errors, salestax
from sandbox.quickbooks.money import amount, cents, money, number
from sandbox.quickbooks.rules import (
    EntityRules,
    WriteContext,
    check_lengths,
    parse_amount,
    parse_day,
    require,
    revise,
)
from sandbox.quickbooks.schema import (
    DETAIL_KEYS,
    DETAIL_TYPES,
    LINE_DETAILS,
    LINE_FIELDS,
    PAYMENT_LINE_FIELDS,
)
from sandbox.quickbooks.store import Obj

HEADER_LIMITS = {"DocNumber": 21, "PrivateNote": 4000}
LINKABLE = {"Invoice": "Balance", "CreditMemo": "RemainingCredit"}
Applied = dict[tuple[str, str], Decimal]


def _check_open_period(ctx: WriteContext, obj: Obj, existing: Obj | None) -> None:
    """Fault 6210 when the new or the old TxnDate is on/before the books' close date."""
    closed = ctx.book_close_date()
    if closed is None:
        return
    dates = [parse_day(obj["TxnDate"], "TxnDate")]
    if existing is not None:
        dates.append(parse_day(existing["TxnDate"], "TxnDate"))
    if any(day <= closed for day in dates):
        raise errors.period_closed()


def _header(ctx: WriteContext, obj: Obj, existing: Obj | None) -> Obj:
    """Fields every transaction shares: date, customer, closed books, length limits."""
    obj = dict(obj)
    obj["TxnDate"] = parse_day(obj.get("TxnDate", ctx.today.isoformat()), "TxnDate").isoformat()
    _check_open_period(ctx, obj, existing)
    obj["CustomerRef"] = ctx.named_ref("Customer", require(obj, "CustomerRef"), "CustomerRef")
    check_lengths(obj, HEADER_LIMITS)
    memo = obj.get("CustomerMemo")
    if isinstance(memo, dict):
        check_lengths(memo, {"value": 1000}, "CustomerMemo.")
    currency.transaction_currency(ctx, obj)
    return obj


FORM_REFERENCES = {"ClassRef": "Class", "DepartmentRef": "Department", "SalesTermRef": "Term"}
CUSTOM_FIELD_KEYS = frozenset({"DefinitionId", "Name", "Type", "StringValue"})
CUSTOM_FIELD_IDS = frozenset({"1", "2", "3"})
"""The three sales-form custom fields the Accounting API exposes (StringType)."""
CUSTOM_FIELD_LENGTH = 31  # our assumption, harder on the product: QuickBooks' classic custom-field limit


def _form_references(ctx: WriteContext, obj: Obj) -> None:
    """Class, location and terms must be active objects of the company (fault 2500, as for
    any reference); a custom field must be one of the three sales-form fields."""
    for element, entity in FORM_REFERENCES.items():
        if element in obj:
            obj[element] = ctx.named_ref(entity, obj[element], element)
    fields = obj.get("CustomField")
    if fields is None:
        return
    if not isinstance(fields, list) or len(fields) > len(CUSTOM_FIELD_IDS):
        raise errors.malformed_body("CustomField must be a list of at most 3 objects")
    for entry in fields:
        if not isinstance(entry, dict):
            raise errors.malformed_body("CustomField must be a list of at most 3 objects")
        _reject_unknown(entry, CUSTOM_FIELD_KEYS, "CustomField")
        definition = str(require(entry, "DefinitionId", "CustomField.DefinitionId"))
        if definition not in CUSTOM_FIELD_IDS:
            raise errors.invalid_reference("CustomField", definition)
        check_lengths(entry, {"StringValue": CUSTOM_FIELD_LENGTH}, "CustomField.")


def _reject_unknown(data: Obj, allowed: frozenset[str], schema_class: str) -> None:
    for key in data:
        if key not in allowed:
            raise errors.unrecognized_field(key, schema_class)


class _Lines:
    """Validates sales-form lines and computes subtotal, discount and taxable base."""

    def __init__(self, ctx: WriteContext, raw: Any, inclusive: bool = False) -> None:
        if not isinstance(raw, list) or not raw:
            raise errors.required_missing("Line")
        self.ctx = ctx
        self.inclusive = inclusive
        self.items: list[Obj] = []
        self.discounts: list[Obj] = []
        for line in raw:
            self._add(line)
        if not self.items:
            raise errors.required_missing("Line")
        self.subtotal = sum((money(line["Amount"]) for line in self.sales()), Decimal(0))
        self.discount = sum((self._discount_amount(line) for line in self.discounts), Decimal(0))

    def sales(self) -> list[Obj]:
        return [line for line in self.items if line["DetailType"] == "SalesItemLineDetail"]

    def _add(self, line: object) -> None:
        if not isinstance(line, dict):
            raise errors.malformed_body("Line must be a list of objects")
        detail_type = require(line, "DetailType", "Line.DetailType")
        if detail_type not in DETAIL_TYPES.split(", "):
            raise errors.invalid_enumeration("Line.DetailType", f"{detail_type} (permitted: {DETAIL_TYPES})")
        if detail_type not in DETAIL_KEYS:
            raise errors.unsupported_operation(f"Line DetailType {detail_type}")
        detail_key = DETAIL_KEYS[detail_type]
        _reject_unknown(line, LINE_FIELDS | {detail_key}, "Line")
        detail = line.get(detail_key) or {}
        _reject_unknown(detail, LINE_DETAILS[detail_type], detail_key)
        check_lengths(line, {"Description": 4000}, "Line.")
        if detail_type == "SalesItemLineDetail":
            self.items.append(self._sales_line(line, detail))
        elif detail_type == "DiscountLineDetail":
            self.discounts.append(self._discount_line(line, detail))
        elif detail_type == "DescriptionOnly":
            self.items.append(_description_line(line, detail))

    def _sales_line(self, line: Obj, detail: Obj) -> Obj:
        if "ItemRef" not in detail:
            return _description_line(line, detail)
        line_amount = parse_amount(require(line, "Amount", "Line.Amount"), "Line.Amount")
        item = self.ctx.reference("Item", detail["ItemRef"], "Line.SalesItemLineDetail.ItemRef")
        detail = {**detail, "ItemRef": {"value": item["Id"], "name": item["Name"]}}
        qty = self._number(detail, "Qty")
        price = self._number(detail, "UnitPrice")
        gross_sent = self.inclusive and detail.get("TaxInclusiveAmt") not in (None, 0)
        if qty and price and not gross_sent and cents(qty * price) != cents(line_amount):
            raise errors.amount_calculation(line["Amount"])
        detail["TaxCodeRef"] = salestax.line_code(self.ctx, detail, item)
        if self.inclusive:
            line_amount = salestax.inclusive_line(self.ctx, detail, line_amount)
        return {**line, "Amount": amount(line_amount), "SalesItemLineDetail": detail}

    @staticmethod
    def _number(detail: Obj, name: str) -> Decimal | None:
        if name not in detail:
            return None
        value = parse_amount(detail[name], f"Line.SalesItemLineDetail.{name}")
        detail[name] = number(value)
        return value

    def _discount_line(self, line: Obj, detail: Obj) -> Obj:
        if not self.ctx.realm.profile.allow_discounts:
            raise errors.discounts_off()
        if detail.get("PercentBased") and detail.get("DiscountPercent") is None:
            raise errors.discount_line_incomplete()
        if not detail.get("PercentBased") and line.get("Amount") is None:
            raise errors.discount_line_incomplete()
        if "DiscountAccountRef" in detail:
            detail = {**detail, "DiscountAccountRef": self.ctx.named_ref(
                "Account", detail["DiscountAccountRef"], "Line.DiscountLineDetail.DiscountAccountRef")}
        return {**line, "DiscountLineDetail": detail}

    def _discount_amount(self, line: Obj) -> Decimal:
        detail = line["DiscountLineDetail"]
        if detail.get("PercentBased"):
            percent = parse_amount(detail["DiscountPercent"], "Line.DiscountLineDetail.DiscountPercent")
            value = cents(self.subtotal * percent / 100)
        else:
            value = cents(parse_amount(line["Amount"], "Line.Amount"))
        line["Amount"] = amount(value)
        return value

    def taxable(self, after_discount: bool) -> Decimal:
        base = sum(
            (money(line["Amount"]) for line in self.sales()
             if line["SalesItemLineDetail"]["TaxCodeRef"]["value"] == "TAX"),
            Decimal(0),
        )
        if after_discount and self.discount and self.subtotal:
            base = base * (self.subtotal - self.discount) / self.subtotal
        return cents(base)

    def rendered(self) -> list[Obj]:
        """QBO order: item/description lines, then the SubTotal line, then discounts; Ids kept."""
        used = {str(line["Id"]) for line in self.items + self.discounts if str(line.get("Id", "")).isdigit()}
        next_id = max((int(i) for i in used), default=0)
        out: list[Obj] = []
        for position, line in enumerate(self.items + self.discounts, start=1):
            line_id = str(line.get("Id", ""))
            if not line_id.isdigit() or int(line_id) <= 0:
                next_id += 1
                line_id = str(next_id)
            out.append({**line, "Id": line_id, "LineNum": position})
        subtotal = {"Amount": amount(self.subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        return out[: len(self.items)] + [subtotal] + out[len(self.items) :]


def _description_line(line: Obj, detail: Obj) -> Obj:
    """QBO treats a line without an item as documentation: its amount does not count."""
    kept = {key: value for key, value in line.items() if key in ("Id", "LineNum", "Description")}
    details = {key: value for key, value in detail.items() if key in LINE_DETAILS["DescriptionOnly"]}
    return {**kept, "DetailType": "DescriptionOnly", "DescriptionLineDetail": details}


class SalesFormRules(EntityRules):
    """Invoice and CreditMemo: same lines, tax and totals; they differ in what stays open."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.open_field = LINKABLE[entity]

    def build(self, ctx: WriteContext, data: Obj, existing: Obj | None) -> Obj:
        obj = _header(ctx, data, existing)
        _form_references(ctx, obj)
        self._doc_number(ctx, obj, existing)
        if ctx.realm.profile.global_tax:
            obj["GlobalTaxCalculation"] = salestax.global_mode(obj)
        lines = _Lines(ctx, obj.get("Line"), obj.get("GlobalTaxCalculation") == "TaxInclusive")
        tax, total_tax = salestax.tax_detail(ctx, obj, lines)
        total = cents(lines.subtotal - lines.discount + total_tax)
        applied = money(existing["TotalAmt"]) - money(existing[self.open_field]) if existing else Decimal(0)
        if total < applied:
            raise errors.business_validation(
                f"The new total {amount(total)} is below the {amount(applied)} already applied to this transaction."
            )
        obj.update({
            "Line": lines.rendered(),
            "TxnTaxDetail": tax,
            "TotalAmt": amount(total),
            self.open_field: amount(total - applied),
            "LinkedTxn": existing.get("LinkedTxn", []) if existing else [],
        })
        if self.entity == "CreditMemo":
            obj["Balance"] = obj["RemainingCredit"]
        obj.update(currency.home_amounts(ctx, obj))
        self._defaults(ctx, obj)
        return obj

    def _defaults(self, ctx: WriteContext, obj: Obj) -> None:
        customer = ctx.realm.get("Customer", obj["CustomerRef"]["value"]) or {}
        for address in ("BillAddr", "ShipAddr"):
            if address not in obj and "BillAddr" in customer:
                obj[address] = customer["BillAddr"]
        if "BillEmail" not in obj and "PrimaryEmailAddr" in customer:
            obj["BillEmail"] = customer["PrimaryEmailAddr"]
        obj.setdefault("ApplyTaxAfterDiscount", False)
        obj.setdefault("EmailStatus", "NotSet")
        obj.setdefault("PrintStatus", "NotSet")
        if self.entity == "Invoice":
            term = ctx.realm.get("Term", obj["SalesTermRef"]["value"]) if "SalesTermRef" in obj else None
            days = int((term or {}).get("DueDays", ctx.config.default_due_days))
            due = parse_day(obj["TxnDate"], "TxnDate") + timedelta(days=days)
            obj["DueDate"] = parse_day(obj.get("DueDate", due.isoformat()), "DueDate").isoformat()
            obj.setdefault("Deposit", 0)

    def _doc_number(self, ctx: WriteContext, obj: Obj, existing: Obj | None) -> None:
        """Custom numbers must be unique per type (6140) unless `include=allowduplicatedocnum`."""
        if not ctx.realm.preferences["SalesFormsPrefs"]["CustomTxnNumbers"]:
            obj["DocNumber"] = existing["DocNumber"] if existing else self._next_number(ctx)
            return
        doc_number = obj.get("DocNumber")
        warning_only = ctx.realm.profile.duplicate_docnum_warning_only
        if not doc_number or warning_only or "allowduplicatedocnum" in ctx.include:
            return
        for entity, holder_id in ctx.realm.holders(f"doc:{self.entity}", str(doc_number)):
            if existing is None or holder_id != existing["Id"]:
                raise errors.duplicate_doc_number(str(doc_number), entity, holder_id)

    def _next_number(self, ctx: WriteContext) -> str:
        numbers = [int(row["DocNumber"]) for row in ctx.realm.rows(self.entity) if str(row.get("DocNumber")).isdigit()]
        return str(max(numbers, default=1000) + 1)

    def before_delete(self, ctx: WriteContext, obj: Obj) -> None:
        _check_open_period(ctx, obj, None)
        self._refuse_if_linked(obj)

    def void(self, ctx: WriteContext, obj: Obj) -> Obj:
        """Voiding keeps the document but zeroes every amount; QBO marks it in the private note."""
        if self.entity != "Invoice":
            raise errors.unsupported_operation("Void")
        _check_open_period(ctx, obj, None)
        if ctx.config.void_invoice_with_payments == "refuse":
            self._refuse_if_linked(obj)
        for link in obj.get("LinkedTxn", []):
            if link.get("TxnType") == "Payment":
                _unapply(ctx, link["TxnId"], obj["Id"])
        lines = [_voided_line(line) for line in obj["Line"]]
        note = obj.get("PrivateNote")
        return {
            **obj,
            "Line": lines,
            "TxnTaxDetail": {"TotalTax": 0},
            "TotalAmt": 0.0,
            "Balance": 0.0,
            "PrivateNote": f"Voided - {note}" if note else "Voided",
        }

    @staticmethod
    def _refuse_if_linked(obj: Obj) -> None:
        if obj.get("LinkedTxn"):
            raise errors.business_validation(
                "This transaction has payments applied to it. Delete or void the payments first."
            )


REFUND_FROM_TYPES = frozenset({"Bank", "Other Current Asset", "Credit Card"})


class RefundReceiptRules(EntityRules):
    """Money paid back to a customer: sales lines (and tax) like a sales form, paid out of
    ``DepositToAccountRef``, which Intuit's reference marks required; no balance stays open."""

    entity = "RefundReceipt"

    def build(self, ctx: WriteContext, data: Obj, existing: Obj | None) -> Obj:
        obj = _header(ctx, data, existing)
        account = ctx.reference("Account", require(obj, "DepositToAccountRef"), "DepositToAccountRef")
        if account.get("AccountType") not in REFUND_FROM_TYPES:
            raise errors.business_validation(
                f"A refund must be paid from a bank, credit card or other current asset account, "
                f"not {account.get('Name')} ({account.get('AccountType')})."
            )
        obj["DepositToAccountRef"] = {"value": account["Id"], "name": account.get("Name", "")}
        lines = _Lines(ctx, obj.get("Line"))
        tax, total_tax = salestax.tax_detail(ctx, obj, lines)
        obj.update({
            "Line": lines.rendered(),
            "TxnTaxDetail": tax,
            "TotalAmt": amount(cents(lines.subtotal - lines.discount + total_tax)),
            "Balance": 0.0,
        })
        obj.setdefault("ApplyTaxAfterDiscount", False)
        obj.setdefault("PrintStatus", "NotSet")
        return obj

    def before_delete(self, ctx: WriteContext, obj: Obj) -> None:
        _check_open_period(ctx, obj, None)


class PaymentRules(EntityRules):
    """Received payments; lines link to invoices (debits) and credit memos (credits)."""

    entity = "Payment"

    def build(self, ctx: WriteContext, data: Obj, existing: Obj | None) -> Obj:
        obj = _header(ctx, data, existing)
        total = parse_amount(require(obj, "TotalAmt"), "TotalAmt")
        if total < 0:
            raise errors.business_validation("You must set a transaction amount.")
        deposit = obj.get("DepositToAccountRef") or self._undeposited(ctx)
        obj["DepositToAccountRef"] = ctx.named_ref("Account", deposit, "DepositToAccountRef")
        previous = applied_by(existing)
        lines, applied = self._lines(ctx, obj, previous)
        net = sum((value if key[0] == "Invoice" else -value for key, value in applied.items()), Decimal(0))
        if net > total:
            raise errors.business_validation(
                f"The amount applied ({amount(net)}) is more than the payment amount ({amount(total)})."
            )
        obj.update({"Line": lines, "TotalAmt": amount(total), "UnappliedAmt": amount(total - net)})
        return obj

    @staticmethod
    def _undeposited(ctx: WriteContext) -> Obj:
        account = ctx.account_with_subtype("UndepositedFunds")
        if account is None:
            raise errors.required_missing("DepositToAccountRef")
        return {"value": account["Id"]}

    def _lines(self, ctx: WriteContext, obj: Obj, previous: Applied) -> tuple[list[Obj], Applied]:
        raw_lines = obj.get("Line") or []
        if not isinstance(raw_lines, list):
            raise errors.malformed_body("Line must be a list of objects")
        lines: list[Obj] = []
        applied: Applied = {}
        for raw in raw_lines:
            if not isinstance(raw, dict):
                raise errors.malformed_body("Line must be a list of objects")
            _reject_unknown(raw, PAYMENT_LINE_FIELDS, "Line")
            line_amount = parse_amount(require(raw, "Amount", "Line.Amount"), "Line.Amount")
            raw_links = raw.get("LinkedTxn") or []
            if len(raw_links) == 1:
                line_amount = self._applicable(ctx, obj, raw_links[0], line_amount, previous, applied)
                if not line_amount:
                    continue
            links = [self._link(ctx, obj, link, line_amount, previous, applied) for link in raw_links]
            lines.append({**raw, "Amount": amount(line_amount), "LinkedTxn": links})
        return lines, applied

    @staticmethod
    def _applicable(ctx: WriteContext, obj: Obj, link: Obj, line_amount: Decimal, previous: Applied,
                    applied: Applied) -> Decimal:
        """Real QBO accepts a line applying more than an invoice's open balance: only the
        balance is applied and the excess stays on the payment as UnappliedAmt (customer
        credit), with no error. `overpayment="refuse"` faults instead (in `_link`)."""
        target = ctx.find(str(link.get("TxnType")), str(link.get("TxnId"))) if isinstance(link, dict) else None
        if ctx.config.overpayment == "refuse" or target is None or link.get("TxnType") != "Invoice":
            return line_amount
        key = ("Invoice", target["Id"])
        available = money(target["Balance"]) + previous.get(key, Decimal(0)) - applied.get(key, Decimal(0))
        return min(line_amount, max(available, Decimal(0)))

    @staticmethod
    def _link(ctx: WriteContext, obj: Obj, link: Obj, line_amount: Decimal, previous: Applied, applied: Applied) -> Obj:
        """Validate one LinkedTxn: target exists, same customer, amount within its open balance."""
        _reject_unknown(link, frozenset({"TxnId", "TxnType", "TxnLineId"}), "LinkedTxn")
        txn_type = require(link, "TxnType", "Line.LinkedTxn.TxnType")
        txn_id = str(require(link, "TxnId", "Line.LinkedTxn.TxnId"))
        if txn_type not in LINKABLE:
            raise errors.unsupported_operation(f"Payment linked to {txn_type}")
        target = ctx.find(txn_type, txn_id)
        if target is None:
            raise errors.object_not_found(deleted=txn_id in ctx.realm.deleted[txn_type])
        if target["CustomerRef"]["value"] != obj["CustomerRef"]["value"]:
            raise errors.business_validation(f"{txn_type} {txn_id} belongs to a different customer.")
        key = (txn_type, txn_id)
        available = money(target[LINKABLE[txn_type]]) + previous.get(key, Decimal(0)) - applied.get(key, Decimal(0))
        if line_amount > available:
            raise errors.business_validation(
                f"The amount applied to {txn_type} {txn_id} ({amount(line_amount)}) exceeds its open balance "
                f"({amount(available)})."
            )
        applied[key] = applied.get(key, Decimal(0)) + line_amount
        return {"TxnId": txn_id, "TxnType": txn_type}

    def on_saved(self, ctx: WriteContext, old: Obj | None, new: Obj | None) -> None:
        payment_id = (new or old or {})["Id"]
        before, after = applied_by(old), applied_by(new)
        for key in before.keys() | after.keys():
            delta = after.get(key, Decimal(0)) - before.get(key, Decimal(0))
            if delta or (key in before) != (key in after):
                _shift_open_amount(ctx, key, delta, payment_id, linked=key in after)
        currency.realise_exchange(ctx, old, new)

    def before_delete(self, ctx: WriteContext, obj: Obj) -> None:
        _check_open_period(ctx, obj, None)

    def void(self, ctx: WriteContext, obj: Obj) -> Obj:
        _check_open_period(ctx, obj, None)
        note = obj.get("PrivateNote")
        return {
            **obj,
            "Line": [],
            "TotalAmt": 0.0,
            "UnappliedAmt": 0.0,
            "PrivateNote": f"Voided - {note}" if note else "Voided",
        }


def _voided_line(line: Obj) -> Obj:
    """Intuit's "Void an Invoice" sample: lines keep Qty 0 and Amount 0, and no UnitPrice."""
    voided = {**line, "Amount": 0.0}
    detail = line.get("SalesItemLineDetail")
    if isinstance(detail, dict):
        voided["SalesItemLineDetail"] = {**{k: v for k, v in detail.items() if k != "UnitPrice"}, "Qty": 0}
    return voided


def _unapply(ctx: WriteContext, payment_id: str, invoice_id: str) -> None:
    """Voiding a paid invoice keeps the payment: what it applied there becomes UnappliedAmt."""
    payment = ctx.realm.get("Payment", payment_id)
    if payment is None:
        return
    target = {"TxnId": invoice_id, "TxnType": "Invoice"}
    lines = [line for line in payment.get("Line", []) if target not in line.get("LinkedTxn", [])]
    applied = applied_by({"Line": lines})
    net = sum((value if key[0] == "Invoice" else -value for key, value in applied.items()), Decimal(0))
    unapplied = amount(money(payment["TotalAmt"]) - net)
    ctx.realm.put("Payment", revise(ctx, payment, {"Line": lines, "UnappliedAmt": unapplied}))


def applied_by(payment: Obj | None) -> Applied:
    """Amount a payment applies to each (TxnType, TxnId)."""
    applied: Applied = {}
    for line in (payment or {}).get("Line", []):
        for link in line.get("LinkedTxn", []):
            key = (link["TxnType"], link["TxnId"])
            applied[key] = applied.get(key, Decimal(0)) + money(line["Amount"])
    return applied


def _shift_open_amount(ctx: WriteContext, key: tuple[str, str], delta: Decimal, payment_id: str, linked: bool) -> None:
    """Lower (or restore) an invoice's Balance / credit memo's RemainingCredit and keep its links."""
    txn_type, txn_id = key
    target = ctx.realm.get(txn_type, txn_id)
    if target is None:
        return
    open_amount = amount(money(target[LINKABLE[txn_type]]) - delta)
    back_link = {"TxnId": payment_id, "TxnType": "Payment"}
    links = [link for link in target.get("LinkedTxn", []) if link != back_link] + ([back_link] if linked else [])
    changes: dict[str, Any] = {LINKABLE[txn_type]: open_amount, "LinkedTxn": links, "Balance": open_amount}
    changes.update(currency.home_amounts(ctx, {**target, **changes}))
    ctx.realm.put(txn_type, revise(ctx, target, changes))
