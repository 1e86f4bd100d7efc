"""Sync settings: defaults from include/mappings, overridden per company.

The order is: ``include/mappings/defaults.yaml`` < the company's entry in
``include/companies.yaml`` < what was saved on the Configure page (state store).
"""

from __future__ import annotations

import functools
import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, field_validator

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The ``accounting_sync`` package, which carries the defaults of ``include/mappings``."""


def include_dir() -> Path:
    """The deployment's ``include/``: ACCOUNTING_SYNC_INCLUDE_DIR if set; else, running
    from the repository, the ``include/`` beside ``plugins/``; else ``$AIRFLOW_HOME/include``
    (``/opt/airflow/include`` in the Docker image)."""
    override = os.environ.get("ACCOUNTING_SYNC_INCLUDE_DIR")
    if override:
        return Path(override)
    if PACKAGE_DIR.parent.name == "plugins" and (PACKAGE_DIR.parents[1] / "include").is_dir():
        return PACKAGE_DIR.parents[1] / "include"
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow") / "include"


def data_file(relative: str) -> Path:
    """``include/<relative>`` of the deployment when it has one, else the default that
    ships inside the package (the wheel carries ``include/mappings`` as
    ``accounting_sync/mappings``): a deployment overrides a file by providing it."""
    for candidate in (include_dir() / relative, PACKAGE_DIR / relative):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{relative} is neither in {include_dir()} nor shipped with the package")


@functools.cache
def load_yaml(relative: str) -> dict[str, Any]:
    with open(data_file(relative), encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


class AccountSpec(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    account_type: str
    account_sub_type: str | None = None


class TaxCodeSpec(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    rate_name: str
    rate_percent: float = 0
    agency_id: str = "1"


class CustomFieldSpec(BaseModel):
    """One QBO custom field filled from an Invoiced metadata key. QBO's sales forms have three
    (DefinitionId 1-3); without an id the n-th mapping fills QBO's n-th field."""

    metadata_key: str = Field(min_length=1, max_length=40)
    qbo_name: str = Field(min_length=1, max_length=31)
    definition_id: Literal["1", "2", "3"] | None = None


class DepositRule(BaseModel):
    method: str = "*"
    currency: str = "*"
    account: str


class SyncSettings(BaseModel):
    """Everything a user can change; validated when saved on the Configure page."""

    income_account: AccountSpec
    discount_account: AccountSpec
    bad_debt_account: AccountSpec
    convenience_fee_account: AccountSpec
    refund_account: AccountSpec
    deposit_account: AccountSpec
    tax_code: TaxCodeSpec
    generic_item_name: str = Field(min_length=1, max_length=100)
    bad_debt_item_name: str = Field(min_length=1, max_length=100)
    discount_item_name: str = Field(min_length=1, max_length=100)
    convenience_fee_item_name: str = Field(min_length=1, max_length=100)
    refund_item_name: str = Field(min_length=1, max_length=100)
    tax_rounding_item_name: str = Field(min_length=1, max_length=100)
    tax_code_map: dict[str, str] = {}
    untaxed_tax_code: str | None = None
    exchange_rates: dict[str, float] = {}
    item_type: Literal["Service", "NonInventory"] = "Service"
    deposit_rules: list[DepositRule] = []
    sync_start_date: date | None = None
    duplicate_customer_names: Literal["merge", "disambiguate"] = "disambiguate"
    write_invoices: bool = True
    write_credit_notes: bool = True
    write_payments: bool = True
    import_invoices: bool = True
    import_customers: bool = True
    import_payments: bool = True
    import_credit_notes: bool = True
    class_metadata_key: str = Field("", max_length=40)
    location_metadata_key: str = Field("", max_length=40)
    terms_metadata_key: str = Field("", max_length=40)
    custom_fields: list[CustomFieldSpec] = Field(default_factory=list, max_length=3)
    cursor_overlap_seconds: int = Field(300, ge=0, le=86400)
    full_tie_out_every_hours: int = Field(24, ge=1, le=24 * 31)
    qbo_cache_hours: float = Field(6, ge=0, le=168)

    @field_validator("sync_start_date", mode="before")
    @classmethod
    def _blank_date_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    def custom_field_ids(self) -> list[tuple[str, CustomFieldSpec]]:
        """Each custom-field mapping with the QBO DefinitionId it fills."""
        return [(spec.definition_id or str(position), spec) for position, spec in enumerate(self.custom_fields, 1)]

    def deposit_account_for(self, method: str | None, currency: str | None) -> str:
        """The best matching deposit rule: exact matches beat wildcards, first wins ties."""
        best: tuple[int, str] | None = None
        for rule in self.deposit_rules:
            score = 0
            for wanted, actual in ((rule.method, method), (rule.currency, currency)):
                if wanted == "*":
                    score += 1
                elif actual and wanted.lower() == actual.lower():
                    score += 2
                else:
                    score = -1
                    break
            if score >= 0 and (best is None or score > best[0]):
                best = (score, rule.account)
        return best[1] if best else self.deposit_account.name


def default_settings_dict() -> dict[str, Any]:
    raw = load_yaml("mappings/defaults.yaml")
    accounts = raw["accounts"]
    return {
        "income_account": accounts["income"],
        "discount_account": accounts["discount"],
        "bad_debt_account": accounts["bad_debt"],
        "convenience_fee_account": accounts["convenience_fee"],
        "refund_account": accounts["refund"],
        "deposit_account": accounts["deposit"],
        "tax_code": raw["tax_code"],
        "generic_item_name": raw["items"]["generic_name"],
        "bad_debt_item_name": raw["items"]["bad_debt_name"],
        "discount_item_name": raw["items"]["discount_name"],
        "convenience_fee_item_name": raw["items"]["convenience_fee_name"],
        "refund_item_name": raw["items"]["refund_name"],
        "tax_rounding_item_name": raw["items"]["tax_rounding_name"],
        "tax_code_map": raw["global_tax"].get("tax_code_map") or {},
        "untaxed_tax_code": raw["global_tax"].get("untaxed_tax_code"),
        "exchange_rates": {str(k).upper(): v for k, v in (raw["multicurrency"].get("exchange_rates") or {}).items()},
        "item_type": raw["items"].get("type", "Service"),
        "deposit_rules": raw.get("deposit_rules") or [],
        **(raw.get("optional_fields") or {}),  # a deployment's older defaults.yaml: off
        **raw["sync"],
    }


def resolve_settings(*overrides: dict[str, Any] | None) -> SyncSettings:
    """Defaults, then each override in order (later wins)."""
    merged = default_settings_dict()
    for override in overrides:
        merged.update({key: value for key, value in (override or {}).items() if key in SyncSettings.model_fields})
    return SyncSettings.model_validate(merged)


def field_limits() -> dict[str, int]:
    return dict(load_yaml("mappings/fields.yaml")["limits"])


def write_off_item() -> str:
    """The Invoiced item of the credit note a bad-debt write-off issues."""
    return str(load_yaml("mappings/defaults.yaml")["invoiced"]["write_off_item"])


def name_replacements() -> dict[str, str]:
    return dict(load_yaml("mappings/fields.yaml")["name_replacements"])

