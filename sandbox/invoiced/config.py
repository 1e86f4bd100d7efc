"""Settings of one Invoiced sandbox instance.

Behaviours that the reference marks UNCONFIRMED are switches here, so a test can pin the
alternative the real account turns out to have (see sandbox/README.md).
"""

from __future__ import annotations

import secrets

from pydantic import BaseModel, Field


def generate_api_key() -> str:
    return secrets.token_urlsafe(24)


def random_id_base() -> int:
    """Where this account's ids start: Invoiced numbers the records of all its accounts
    from shared sequences, so two accounts never share a customer or invoice id."""
    return secrets.randbelow(900_000) * 1000 + 100_000


class InvoicedConfig(BaseModel):
    """Everything `create_app` needs; the api key is random unless given."""

    api_key: str = Field(default_factory=generate_api_key, min_length=6)
    concurrent: int = Field(default=20, ge=1, description="In-flight request limit (429 above it).")
    company_currency: str = Field(default="usd", min_length=3, max_length=3)
    company_country: str = Field(default="US", min_length=2, max_length=2)
    per_page_max: int = Field(default=100, ge=1)
    cursor_required_offset: int | None = Field(
        default=10000,
        ge=1,
        description="Default-sort offsets from here need the preceding page fetched first; None disables.",
    )
    pagination_cursor_ttl_seconds: int = Field(default=300, ge=1)
    idempotency_ttl_seconds: int = Field(default=86400, ge=1, description="On the sandbox clock.")
    idempotency_cache_server_errors: bool = Field(
        default=True,
        description="A keyed POST/PATCH caches every answer, 5xx too (the code has no status check); "
        "False: 5xx answers are not cached, so a same-key retry runs again.",
    )
    idempotency_lock: bool = Field(
        default=False,
        description="True: requests sharing a key run one at a time. The service holds no lock: a same-key "
        "retry arriving while the first attempt runs executes again.",
    )
    case_insensitive_filters: bool = Field(
        default=True,
        description="filter[...] string matches ignore case, like the service's MySQL collation.",
    )
    allow_payments_on_closed: bool = Field(
        default=False,
        description="The docs say closed invoices take no payments; the vendored code allows them.",
    )
    bad_debt_error_status: int = Field(default=500, ge=400, le=599)
    payment_default_source: str = Field(default="keyed", min_length=1)
    mark_sets_payment_source: bool = Field(
        default=False,
        description="A payment created with an accounting mark gets source accounting_system (our old assumption).",
    )
    mark_only_patch_is_edit: bool = Field(
        default=True,
        description="A PATCH carrying only accounting marks (or nothing) saves the record like any edit: "
        "closed/voided documents refuse it and updated_at moves. False: it only records the mapping.",
    )
    past_due_job: bool = Field(
        default=True,
        description="The service stores status and a per-minute job saves invoices that became past due "
        "(updated_at moves). False: past_due is worked out at every read and updated_at stays.",
    )
    strict_query_options: bool = Field(
        default=True,
        description="Routes that declare their query options (customer and payment lists, payment "
        "writes, customer delete) refuse others with 400 param query. False: extras are ignored.",
    )
    strict_customer_write_options: bool = Field(
        default=True,
        description="Customer POST/PATCH refuse undeclared query options too (the reference); the code "
        "declares them with warn: true, which only logs. False: the code's reading.",
    )
    strict_payment_types: bool = Field(
        default=True,
        description="/payments bodies must have the declared PHP types (customer and date integer or null, "
        "reference and accounting_id string or null, amount numeric). False: values are coerced.",
    )
    payment_methods_validated: bool = Field(
        default=False,
        description="True: only the nine documented payment methods are accepted. The code does not "
        "validate method and knows more (balance, bank_transfer, online, affirm, klarna).",
    )
    document_adjustment_splits: bool = Field(
        default=True,
        description="Accept the code-only applied_to type document_adjustment; False: refuse it as an "
        "invalid payment application type.",
    )
    customer_currency_locked: bool = Field(
        default=True,
        description="A customer's currency, once set, cannot be changed while it has invoices or credit "
        "notes (our assumption, the harder reading). False: the vendored code's reading, any change is saved.",
    )
    id_base: int = Field(
        default_factory=random_id_base,
        ge=0,
        description="First id minus one of every record kind; 0 numbers from 1 like a lone account.",
    )
    seed_demo: bool = False
    clock_start: int | None = Field(default=None, description="Start the sandbox clock at this UNIX time.")
