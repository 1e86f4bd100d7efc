"""Settings of one sandbox server; every UNCONFIRMED Intuit behaviour is a switch here."""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from sandbox.quickbooks.clock import company_tz


def new_realm_id() -> str:
    """Real realm ids are 16-19 digit numbers; clients sometimes store them as integers."""
    return str(10**15 + secrets.randbelow(9 * 10**15))


class LimitsConfig(BaseModel):
    """Per-realm throttles (Intuit: 500 requests/min, 10 concurrent, 40 batches/min)."""

    requests_per_window: int = Field(default=500, ge=1)
    window_seconds: float = Field(default=60.0, gt=0)
    concurrent: int = Field(default=10, ge=1)
    batch_per_window: int = Field(default=40, ge=1)


class LimitsUpdate(BaseModel):
    """Body of `POST /_sandbox/limits`: any subset of the limits."""

    requests_per_window: int | None = Field(default=None, ge=1)
    window_seconds: float | None = Field(default=None, gt=0)
    concurrent: int | None = Field(default=None, ge=1)
    batch_per_window: int | None = Field(default=None, ge=1)


class LatencyConfig(BaseModel):
    """Time an API request takes before it is answered: `base_seconds` plus
    `per_item_seconds` for each batch item (a single-entity request counts as one).
    Off by default, so unit-speed tests stay fast; the benchmarks turn it on."""

    enabled: bool = False
    base_seconds: float = Field(default=0.25, ge=0)
    per_item_seconds: float = Field(default=0.05, ge=0)

    def seconds(self, items: int = 1) -> float:
        return self.base_seconds + self.per_item_seconds * items if self.enabled else 0.0


Country = Literal["US", "CA", "GB", "AU"]
HOME_CURRENCY: dict[str, str] = {"US": "USD", "CA": "CAD", "GB": "GBP", "AU": "AUD"}


class CompanyProfile(BaseModel):
    """The kind of QBO company a realm is (`POST /_sandbox/company`, `--company-profile`):
    its country's tax model, currencies and the sales-form preferences that change the API."""

    country: Country = "US"
    automated_sales_tax: bool = False
    multicurrency: bool = False
    home_currency: str | None = None
    currencies: list[str] = Field(default_factory=lambda: ["USD", "EUR", "CAD", "GBP", "AUD"])
    allow_discounts: bool = True
    custom_txn_numbers: bool = True
    duplicate_docnum_warning_only: bool = False
    ast_override: Literal["honoured", "ignored"] = "honoured"
    """Under automated sales tax, whether a sent TotalTax (with a TxnTaxCodeRef) is kept, as
    Intuit's blog says, or QBO's engine recomputes the tax from its rates, as integrators
    report (sandbox/README.md, "Automated sales tax")."""

    @model_validator(mode="after")
    def _consistent(self) -> CompanyProfile:
        if self.automated_sales_tax and self.country != "US":
            raise ValueError("automated sales tax exists only in US companies")
        self.home_currency = (self.home_currency or HOME_CURRENCY[self.country]).upper()
        self.currencies = [code.upper() for code in self.currencies]
        return self

    @property
    def global_tax(self) -> bool:
        """Every country but the US uses QBO's global tax model (real tax codes on each line)."""
        return self.country != "US"

    def enabled_currencies(self) -> list[str]:
        """The home currency, plus the listed ones when multicurrency is on."""
        assert self.home_currency is not None
        extra = [code for code in self.currencies if code != self.home_currency] if self.multicurrency else []
        return [self.home_currency, *extra]


class SandboxConfig(BaseModel):
    """Everything that shapes one server; tests build variants with short lifetimes."""

    client_id: str = Field(default_factory=lambda: "AB" + secrets.token_urlsafe(24))
    client_secret: str = Field(default_factory=lambda: secrets.token_urlsafe(30))
    realm_id: str = Field(default_factory=new_realm_id)
    company_name: str = "Sandbox Company US"
    redirect_uris: list[str] | None = None
    timezone: str = "America/Los_Angeles"

    access_token_ttl: float = Field(default=3600.0, gt=0)
    refresh_token_ttl: float = Field(default=8_726_400.0, gt=0)
    refresh_rotation_interval: float = Field(default=86_400.0, ge=0)
    refresh_grace: float = Field(default=0.0, ge=0)
    refresh_extends_expiry: bool = False
    auth_code_ttl: float = Field(default=300.0, gt=0)

    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    throttle_format: Literal["json", "xml"] = "json"
    concurrency_retry_after: int = Field(default=1, ge=1)

    batch_max_items: int = Field(default=10, ge=1)
    query_max_results: int = Field(default=1000, ge=1)
    query_default_results: int = Field(default=100, ge=1)
    cdc_lookback_days: int = Field(default=30, ge=1)
    cdc_max_objects: int = Field(default=1000, ge=1)
    cdc_cap_per_entity: bool = False

    requestid_ttl_seconds: float | None = Field(default=86_400.0, gt=0)
    requestid_replays_faults: bool = False
    requestid_max_length: int = 50
    requestid_batch_max_length: int = 36

    names_case_insensitive: bool = True
    duplicate_name_includes_inactive: bool = True
    name_write_hold_seconds: float = Field(default=0.0, ge=0)
    default_due_days: int = 30
    overpayment: Literal["credit", "refuse"] = "credit"
    void_invoice_with_payments: Literal["unapply", "refuse"] = "unapply"
    inactive_name_suffix: str | None = " (deleted)"
    rename_inactive_items: bool = True
    latency: LatencyConfig = Field(default_factory=LatencyConfig)
    seed_demo: bool = False
    company_profile: CompanyProfile = Field(default_factory=CompanyProfile)
    global_tax_rounding: Literal["line", "rate"] = "line"
    webhook_retry_schedule: Literal["webhooks_page", "best_practices_2025"] = "webhooks_page"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            company_tz(value)
        except (KeyError, ValueError) as unknown:
            raise ValueError(f"unknown time zone {value!r}") from unknown
        return value
