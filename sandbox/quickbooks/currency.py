"""Multicurrency: which currencies a company has, a name's fixed currency, a transaction's
CurrencyRef/ExchangeRate and home-currency amounts, and realised exchange gain or loss."""

from __future__ import annotations

from decimal import Decimal

from sandbox.quickbooks import errors, profiles
from sandbox.quickbooks.money import amount, money, number
from sandbox.quickbooks.rules import WriteContext, parse_amount, ref_value, revise
from sandbox.quickbooks.store import Obj

HOME_FIELDS = {"TotalAmt": "HomeTotalAmt", "Balance": "HomeBalance"}
GAIN_OR_LOSS_SUBTYPE = "ExchangeGainOrLoss"


def _ref(code: str) -> Obj:
    return {"value": code, "name": profiles.CURRENCY_NAMES.get(code, code)}


def home(ctx: WriteContext) -> str:
    return str(ctx.realm.profile.home_currency)


def home_ref(ctx: WriteContext) -> Obj:
    return _ref(home(ctx))


def checked(ctx: WriteContext, sent: object, element: str) -> Obj:
    """A CurrencyRef naming one of the company's currencies (without multicurrency: only home)."""
    code = ref_value(sent, element).upper() if sent else home(ctx)
    if code not in ctx.realm.profile.enabled_currencies():
        raise errors.business_validation(
            f"{code} is not one of this company's currencies. Turn on multicurrency and add {code} first."
        )
    return _ref(code)


def name_currency(ctx: WriteContext, obj: Obj, existing: Obj | None, entity: str) -> None:
    """A customer or vendor has one currency, which cannot change once it has transactions."""
    ref = checked(ctx, obj.get("CurrencyRef"), "CurrencyRef")
    before = (existing or {}).get("CurrencyRef", {}).get("value")
    if existing is not None and before != ref["value"] and _has_transactions(ctx, existing["Id"]):
        raise errors.business_validation(
            f"You can't change the currency of a {entity.lower()} that has transactions."
        )
    obj["CurrencyRef"] = ref


def _has_transactions(ctx: WriteContext, customer_id: str) -> bool:
    return any(
        row["CustomerRef"]["value"] == customer_id
        for entity in ("Invoice", "CreditMemo", "Payment")
        for row in ctx.realm.rows(entity)
    )


def transaction_currency(ctx: WriteContext, obj: Obj) -> None:
    """CurrencyRef defaults to, and must equal, the customer's; a foreign document's
    ExchangeRate is the one sent, else the sandbox's rate table."""
    customer = ctx.realm.get("Customer", obj["CustomerRef"]["value"]) or {}
    customer_code = customer.get("CurrencyRef", {}).get("value", home(ctx))
    ref = checked(ctx, obj.get("CurrencyRef") or {"value": customer_code}, "CurrencyRef")
    if ref["value"] != customer_code:
        raise errors.business_validation(
            f"The transaction's currency ({ref['value']}) must be the customer's currency ({customer_code})."
        )
    obj["CurrencyRef"] = ref
    if not ctx.realm.profile.multicurrency:
        obj.pop("ExchangeRate", None)
        return
    sent = obj.get("ExchangeRate")
    rate = parse_amount(sent, "ExchangeRate") if sent not in (None, 0, "0") else None
    if ref["value"] == home(ctx):
        rate = Decimal(1)
    elif rate is None or rate <= 0:
        rate = profiles.exchange_rate(ref["value"], home(ctx))
    obj["ExchangeRate"] = number(rate)


def home_amounts(ctx: WriteContext, obj: Obj) -> Obj:
    """HomeTotalAmt / HomeBalance: the amount times the document's rate, half-up to the cent."""
    if not ctx.realm.profile.multicurrency:
        return {}
    rate = money(obj.get("ExchangeRate", 1))
    return {home_field: amount(money(obj[field]) * rate) for field, home_field in HOME_FIELDS.items() if field in obj}


def realise_exchange(ctx: WriteContext, old: Obj | None, new: Obj | None) -> None:
    """A payment at another rate than its invoice's realises a gain or loss in home currency,
    kept as the CurrentBalance of the company's Exchange Gain or Loss account."""
    change = _gain(ctx, new) - _gain(ctx, old)
    account = ctx.account_with_subtype(GAIN_OR_LOSS_SUBTYPE)
    if not change or account is None:
        return
    balance = amount(money(account.get("CurrentBalance", 0)) + change)
    ctx.realm.put("Account", revise(ctx, account, {"CurrentBalance": balance, "CurrentBalanceWithSubAccounts": balance}))


def _gain(ctx: WriteContext, payment: Obj | None) -> Decimal:
    if payment is None or not ctx.realm.profile.multicurrency:
        return Decimal(0)
    rate = money(payment.get("ExchangeRate", 1))
    total = Decimal(0)
    for line in payment.get("Line", []):
        for link in line.get("LinkedTxn", []):
            invoice = ctx.realm.get(link["TxnType"], link["TxnId"]) if link["TxnType"] == "Invoice" else None
            if invoice is not None:
                total += money(line["Amount"]) * (rate - money(invoice.get("ExchangeRate", 1)))
    return total
