"""Name-list entities: Customer, Vendor, Employee, Item, Account, Class, Department, Term.

These can never be deleted (only made inactive) and share QBO's uniqueness rules:
one DisplayName space for customers, vendors and employees; item and account names apart.
"""

from __future__ import annotations

import re

from sandbox.quickbooks import currency, errors
from sandbox.quickbooks.money import amount, money, number
from sandbox.quickbooks.rules import (
    EntityRules,
    WriteContext,
    check_characters,
    check_lengths,
    ensure_unique_name,
    parse_amount,
    parse_day,
    require,
)
from sandbox.quickbooks.schema import ACCOUNT_SUBTYPES, ACCOUNT_TYPES, ITEM_TYPES
from sandbox.quickbooks.store import Obj

NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
PERSON_LIMITS = {
    "DisplayName": 500, "Title": 16, "GivenName": 100, "MiddleName": 100, "FamilyName": 100, "Suffix": 16,
    "CompanyName": 100, "PrintOnCheckName": 110, "Notes": 2000, "ResaleNum": 16,
}
NO_SEPARATORS = ("DisplayName", *NAME_PARTS, "PrintOnCheckName")
SEPARATORS = ":\t\n"


def _numbered(suffix: str, n: int) -> str:
    """` (deleted)`, then ` (deleted-2)`, ... when an inactive namesake already holds it."""
    if n == 1:
        return suffix
    return f"{suffix[:-1]}-{n})" if suffix.endswith(")") else f"{suffix}-{n}"


def _suffix_pattern(suffix: str) -> re.Pattern[str]:
    body = re.escape(suffix[:-1]) + r"(?:-\d+)?\)" if suffix.endswith(")") else re.escape(suffix) + r"(?:-\d+)?"
    return re.compile(body + "$", re.IGNORECASE)


def inactive_name(ctx: WriteContext, group: str, entity: str, name: str, active: bool, existing: Obj | None,
                  limit: int) -> str:
    """QBO renames a row it makes inactive to `<name> (deleted)` (recorded responses show
    "Thrifty Meats (deleted)"), which frees the plain name; reactivating gives it back."""
    suffix = ctx.config.inactive_name_suffix
    if not suffix or (entity == "Item" and not ctx.config.rename_inactive_items):
        return name
    pattern = _suffix_pattern(suffix)
    if active:
        was_inactive = existing is not None and existing.get("Active") is False
        return pattern.sub("", name) if was_inactive else name
    if pattern.search(name):
        return name
    for n in range(1, 1000):
        tail = _numbered(suffix, n)
        candidate = name[: limit - len(tail)] + tail
        if not any(holder != (entity, (existing or {}).get("Id")) for holder in ctx.realm.holders(group, candidate)):
            return candidate
    raise errors.duplicate_name(entity)


def _check_email(data: Obj) -> None:
    address = (data.get("PrimaryEmailAddr") or {}).get("Address")
    if not isinstance(address, str):
        return
    if len(address) > 100:
        raise errors.string_too_long("PrimaryEmailAddr.Address", 100, len(address))
    if "@" not in address or "." not in address.split("@")[-1]:
        raise errors.invalid_email(address)


class PersonRules(EntityRules):
    """Customer, Vendor and Employee: DisplayName required-or-derived and unique across all three."""

    def __init__(self, entity: str) -> None:
        self.entity = entity

    def build(self, ctx: WriteContext, data: Obj, existing: Obj | None) -> Obj:
        obj = dict(data)
        check_lengths(obj, PERSON_LIMITS)
        check_characters(obj, NO_SEPARATORS, SEPARATORS)
        display = obj.get("DisplayName") or " ".join(obj[part] for part in NAME_PARTS if obj.get(part))
        if not display:
            raise errors.no_name_provided()
        display = inactive_name(ctx, "people", self.entity, display, obj.get("Active", True) is not False,
                                existing, PERSON_LIMITS["DisplayName"])
        obj["DisplayName"] = display
        _check_email(obj)
        ensure_unique_name(ctx, "people", self.entity, display, existing)
        obj.setdefault("Active", True)
        if self.entity != "Employee":
            obj.setdefault("PrintOnCheckName", display)
            currency.name_currency(ctx, obj, existing, self.entity)
            obj["Balance"] = existing.get("Balance", 0) if existing else 0
        if self.entity == "Customer":
            self._customer_fields(ctx, obj, existing)
        return obj

    @staticmethod
    def _customer_fields(ctx: WriteContext, obj: Obj, existing: Obj | None) -> None:
        if existing is not None and obj["Active"] is False and money(existing.get("Balance", 0)) != 0:
            raise errors.list_has_balance("Customer")
        if "ParentRef" in obj:
            obj["ParentRef"] = ctx.named_ref("Customer", obj["ParentRef"], "ParentRef")
        obj["FullyQualifiedName"] = obj["DisplayName"]
        obj["BalanceWithJobs"] = obj["Balance"]
        obj.setdefault("Taxable", False)
        obj.setdefault("Job", False)
        obj.setdefault("BillWithParent", False)
        obj.setdefault("PreferredDeliveryMethod", "Print")
        obj.setdefault("IsProject", False)


class ItemRules(EntityRules):
    """Products and services; sold items need an income account."""

    entity = "Item"
    LIMITS = {"Name": 100, "Sku": 100, "Description": 4000, "PurchaseDesc": 1000}
    ACCOUNT_REFS = ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef")

    def build(self, ctx: WriteContext, data: Obj, existing: Obj | None) -> Obj:
        obj = dict(data)
        name = require(obj, "Name")
        check_lengths(obj, self.LIMITS)
        check_characters(obj, ("Name",), SEPARATORS)
        item_type = require(obj, "Type")
        if item_type not in ITEM_TYPES:
            raise errors.invalid_enumeration("Type", item_type)
        require(obj, "IncomeAccountRef")
        if item_type == "Inventory":
            for needed in ("AssetAccountRef", "ExpenseAccountRef", "InvStartDate", "QtyOnHand"):
                require(obj, needed)
            parse_day(obj["InvStartDate"], "InvStartDate")
            obj["TrackQtyOnHand"] = True
        for ref in self.ACCOUNT_REFS:
            if ref in obj:
                obj[ref] = ctx.named_ref("Account", obj[ref], ref)
        for price in ("UnitPrice", "PurchaseCost", "QtyOnHand"):
            if price in obj:
                obj[price] = number(parse_amount(obj[price], price))
        name = obj["Name"] = inactive_name(ctx, "Item", "Item", name, obj.get("Active", True) is not False,
                                           existing, self.LIMITS["Name"])
        ensure_unique_name(ctx, "Item", "Item", name, existing)
        obj["FullyQualifiedName"] = name
        obj.setdefault("Active", True)
        obj.setdefault("Taxable", False)
        obj.setdefault("UnitPrice", 0)
        obj.setdefault("TrackQtyOnHand", False)
        return obj


class AccountRules(EntityRules):
    """Chart of accounts: type from AccountType or derived from AccountSubType."""

    entity = "Account"

    def build(self, ctx: WriteContext, data: Obj, existing: Obj | None) -> Obj:
        obj = dict(data)
        name = require(obj, "Name")
        check_lengths(obj, {"Name": 100, "Description": 100, "AcctNum": 7})
        check_characters(obj, ("Name",), '":')
        check_characters(obj, ("AcctNum",), ":")
        obj["AccountType"] = self._account_type(obj)
        ensure_unique_name(ctx, "Account", "Account", name, existing)
        obj["FullyQualifiedName"] = name
        obj["Classification"] = ACCOUNT_TYPES[obj["AccountType"]]
        obj["CurrentBalance"] = existing.get("CurrentBalance", 0) if existing else 0
        obj["CurrentBalanceWithSubAccounts"] = obj["CurrentBalance"]
        if "OpeningBalance" in obj:
            obj["OpeningBalance"] = amount(parse_amount(obj["OpeningBalance"], "OpeningBalance"))
        obj.setdefault("Active", True)
        obj.setdefault("SubAccount", False)
        obj.setdefault("CurrencyRef", currency.home_ref(ctx))
        return obj

    @staticmethod
    def _account_type(obj: Obj) -> str:
        account_type, subtype = obj.get("AccountType"), obj.get("AccountSubType")
        if account_type is None and subtype is None:
            raise errors.required_missing("AccountType")
        if account_type is None:
            if subtype not in ACCOUNT_SUBTYPES:
                raise errors.invalid_enumeration("AccountSubType", subtype)
            return ACCOUNT_SUBTYPES[subtype]
        if account_type not in ACCOUNT_TYPES:
            raise errors.invalid_enumeration("AccountType", account_type)
        return str(account_type)


TERM_TYPES = frozenset({"STANDARD", "DATE_DRIVEN"})


class ListRules(EntityRules):
    """Class, Department (a location in QBO's UI) and Term: a unique name, made inactive
    rather than deleted. Classes and departments nest (``FullyQualifiedName`` = parent:child);
    a term is ``STANDARD`` (``DueDays`` after the transaction) or ``DATE_DRIVEN``."""

    def __init__(self, entity: str) -> None:
        self.entity = entity

    def build(self, ctx: WriteContext, data: Obj, existing: Obj | None) -> Obj:
        obj = dict(data)
        name = require(obj, "Name")
        check_lengths(obj, {"Name": 31 if self.entity == "Term" else 100})
        check_characters(obj, ("Name",), ":")
        ensure_unique_name(ctx, self.entity, self.entity, name, existing)
        obj.setdefault("Active", True)
        if self.entity == "Term":
            obj.setdefault("Type", "STANDARD")
            if obj["Type"] not in TERM_TYPES:
                raise errors.invalid_enumeration("Type", obj["Type"])
            return obj
        parent = obj.get("ParentRef")
        obj[f"Sub{self.entity}"] = parent is not None
        prefix = ctx.reference(self.entity, parent, "ParentRef")["FullyQualifiedName"] + ":" if parent else ""
        obj["FullyQualifiedName"] = prefix + name
        return obj
