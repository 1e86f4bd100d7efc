"""QBO's TaxService: the only way to create sales-tax codes (TaxCode is read-only)."""

from __future__ import annotations

from sandbox.quickbooks import errors
from sandbox.quickbooks.money import number
from sandbox.quickbooks.rules import (
    WriteContext,
    check_lengths,
    ensure_unique_name,
    parse_amount,
    require,
    stamp_new,
)
from sandbox.quickbooks.store import Obj

REQUEST_FIELDS = frozenset({"TaxCode", "TaxCodeId", "TaxRateDetails", "Id"})
DETAIL_FIELDS = frozenset({"TaxRateName", "TaxRateId", "RateValue", "TaxAgencyId", "TaxApplicableOn"})


def _planned_rate(ctx: WriteContext, detail: Obj) -> Obj:
    """An existing TaxRate by id, or a validated new one (without Id) for the named agency."""
    for key in detail:
        if key not in DETAIL_FIELDS:
            raise errors.unrecognized_field(key, "TaxRateDetails")
    if detail.get("TaxRateId"):
        return ctx.reference("TaxRate", {"value": detail["TaxRateId"]}, "TaxRateDetails.TaxRateId")
    name = require(detail, "TaxRateName", "TaxRateDetails.TaxRateName")
    check_lengths(detail, {"TaxRateName": 100}, "TaxRateDetails.")
    value = parse_amount(require(detail, "RateValue", "TaxRateDetails.RateValue"), "TaxRateDetails.RateValue")
    agency = ctx.reference("TaxAgency", {"value": require(detail, "TaxAgencyId")}, "TaxRateDetails.TaxAgencyId")
    ensure_unique_name(ctx, "TaxRate", "TaxRate", name, None)
    return {
        "Name": name,
        "Description": name,
        "Active": True,
        "RateValue": number(value),
        "AgencyRef": {"value": agency["Id"]},
        "SpecialTaxType": "NONE",
        "DisplayType": "ReadOnly",
    }


def _stored(ctx: WriteContext, rate: Obj) -> Obj:
    if "Id" in rate:
        return rate
    rate = stamp_new(ctx, "TaxRate", rate)
    ctx.realm.put("TaxRate", rate)
    return rate


def create_tax_code(ctx: WriteContext, body: Obj) -> Obj:
    """`POST taxservice/taxcode`: creates the rates and a code grouping them; answers unwrapped.
    Refused under automated sales tax, where the engine owns the codes."""
    if ctx.realm.profile.automated_sales_tax:
        raise errors.tax_codes_automated()
    for key in body:
        if key not in REQUEST_FIELDS:
            raise errors.unrecognized_field(key, "TaxService")
    name = require(body, "TaxCode")
    check_lengths(body, {"TaxCode": 100})
    details = require(body, "TaxRateDetails")
    if not isinstance(details, list) or not all(isinstance(detail, dict) for detail in details):
        raise errors.malformed_body("TaxRateDetails must be a list of objects")
    ensure_unique_name(ctx, "TaxCode", "TaxCode", name, None)
    applicable = [detail.get("TaxApplicableOn", "Sales") for detail in details]
    planned = [_planned_rate(ctx, detail) for detail in details]
    rates = [_stored(ctx, rate) for rate in planned]
    rate_list = [
        {"TaxRateRef": {"value": rate["Id"], "name": rate["Name"]}, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}
        for rate, on in zip(rates, applicable, strict=True)
        if on == "Sales"
    ]
    code = stamp_new(ctx, "TaxCode", {
        "Name": name,
        "Description": name,
        "Active": True,
        "Hidden": False,
        "Taxable": True,
        "TaxGroup": True,
        "SalesTaxRateList": {"TaxRateDetail": rate_list},
        "PurchaseTaxRateList": {"TaxRateDetail": []},
        "TaxCodeConfigType": "USER_DEFINED",
    })
    ctx.realm.put("TaxCode", code)
    return {
        "TaxCode": name,
        "TaxCodeId": code["Id"],
        "TaxRateDetails": [
            {"TaxRateName": rate["Name"], "TaxRateId": rate["Id"], "RateValue": rate["RateValue"],
             "TaxAgencyId": rate["AgencyRef"]["value"], "TaxApplicableOn": on}
            for rate, on in zip(rates, applicable, strict=True)
        ],
    }
