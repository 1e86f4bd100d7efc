"""Pydantic models of request bodies, with the service's validation rules and messages.

Every field is optional so one model serves create and PATCH; ``model_fields_set`` tells
which properties a request actually sent, and `require` enforces create-only musts.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from sandbox.invoiced.errors import field_title, invalid, translate_validation_error

METADATA_MAX_KEYS = 10
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 255
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PRICING_ID_PATTERN = re.compile(r"^[a-z0-9_\-:]{2,}$", re.IGNORECASE)
CustomerType = Literal["company", "person", "government", "non_profit"]


def sandbox_error(message: str) -> PydanticCustomError:
    """A validation error whose message is sent to the client verbatim."""
    return PydanticCustomError("sandbox", message)


def _check_metadata(value: Any) -> dict[str, Any]:
    """``null`` and ``[]`` (PHP's empty array) clear the metadata (MetadataTrait)."""
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise sandbox_error("Metadata must be an object")
    if len(value) > METADATA_MAX_KEYS:
        raise sandbox_error(
            f"There can only be up to {METADATA_MAX_KEYS} metadata values. {len(value)} values were provided."
        )
    for key, item in value.items():
        if len(key) > METADATA_MAX_KEY_LENGTH:
            raise sandbox_error(
                f"The `{key}` metadata key exceeds the {METADATA_MAX_KEY_LENGTH} character limit."
            )
        if not isinstance(item, (str, bool, int, float, dict, list)):
            raise sandbox_error(
                f"The provided value for metadata.{key} is an invalid type. "
                "Valid types are string, boolean, number, object, and array."
            )
        if len(str(item)) > METADATA_MAX_VALUE_LENGTH:
            raise sandbox_error(
                f"The provided value for metadata.{key} exceeds the {METADATA_MAX_VALUE_LENGTH} character limit."
            )
    return dict(value)


def _check_currency(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise sandbox_error("Currency is invalid")
    return value.lower()


def _check_email(value: str) -> str:
    if not EMAIL_PATTERN.match(value):
        raise sandbox_error("Email must be a valid email address")
    return value


def _check_pricing_id(value: str) -> str:
    if not PRICING_ID_PATTERN.match(value):
        raise sandbox_error("ID is invalid")
    return value


def _id_of_object(value: Any) -> Any:
    """Relations may be sent expanded (``{"id": 5, ...}``); only the id matters."""
    if isinstance(value, dict) and "id" in value:
        return value["id"]
    return value


def _as_text(value: Any) -> Any:
    """Accounting ids arrive as numbers from some callers; they are stored as strings."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _null_is_false(value: Any) -> Any:
    """Optional flags sent as ``null`` (the Go client always sends them) mean false."""
    return False if value is None else value


MetadataField = Annotated[Any, AfterValidator(_check_metadata)]
OptionalFlag = Annotated[bool, BeforeValidator(_null_is_false)]
Currency = Annotated[str, AfterValidator(_check_currency)]
Email = Annotated[str, AfterValidator(_check_email)]
PricingId = Annotated[str, AfterValidator(_check_pricing_id)]
Relation = Annotated[int, BeforeValidator(_id_of_object)]
Text = Annotated[str, BeforeValidator(_as_text)]
RateRef = str | dict[str, Any]


class InputModel(BaseModel):
    """Unknown properties are ignored, as the ORM ignores values that are not columns."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=False)


class AccountingMark(InputModel):
    """The "imported from an accounting system" parameters accepted on writes."""

    accounting_system: str | None = None
    accounting_id: Text | None = None
    accounting_source: str | None = None


class CustomerInput(AccountingMark):
    name: str = Field("", min_length=1, max_length=255)
    number: str = Field("", min_length=1, max_length=32)
    email: Email | None = None
    type: CustomerType = "company"
    autopay: bool = False
    payment_terms: str | None = Field(None, min_length=1, max_length=255)
    attention_to: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = Field(None, min_length=2, max_length=2)
    language: str | None = Field(None, min_length=2, max_length=2)
    currency: Currency | None = None
    tax_id: str | None = None
    phone: str | None = None
    notes: str | None = None
    taxable: bool = True
    taxes: list[str] = Field(default_factory=list)
    chase: bool = True
    credit_hold: bool = False
    credit_limit: Decimal | None = None
    parent_customer: Relation | None = None
    active: bool = True
    avalara_entity_use_code: str | None = None
    avalara_exemption_number: str | None = None
    metadata: MetadataField = Field(default_factory=dict)


class ContactInput(InputModel):
    name: str = Field("", min_length=1, max_length=255)
    title: str | None = None
    email: Email | None = None
    phone: str | None = None
    primary: OptionalFlag = False
    sms_enabled: OptionalFlag = False
    department: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = Field(None, min_length=2, max_length=2)


class ItemInput(InputModel):
    id: PricingId | None = None
    name: str = Field("", min_length=1)
    currency: Currency | None = None
    unit_cost: Decimal = Decimal(0)
    description: str | None = None
    type: str | None = None
    taxable: bool = True
    taxes: list[str] = Field(default_factory=list)
    discountable: bool = True
    gl_account: str | None = None
    avalara_tax_code: str | None = None
    avalara_location_code: str | None = None
    metadata: MetadataField = Field(default_factory=dict)


class TaxRateInput(InputModel):
    id: PricingId | None = None
    name: str = Field("", min_length=1)
    currency: Currency | None = None
    value: Decimal = Decimal(0)
    is_percent: bool = True
    inclusive: bool = False
    metadata: MetadataField = Field(default_factory=dict)


class CouponInput(InputModel):
    id: PricingId | None = None
    name: str = Field("", min_length=1)
    currency: Currency | None = None
    value: Decimal = Decimal(0)
    is_percent: bool = True
    exclusive: bool = False
    expiration_date: int | None = None
    max_redemptions: int = Field(0, ge=0)
    metadata: MetadataField = Field(default_factory=dict)


class LineItemInput(InputModel):
    id: int | None = None
    catalog_item: str | None = None
    type: str | None = None
    name: str | None = ""
    description: str | None = None
    quantity: Decimal = Decimal(1)
    unit_cost: Decimal = Decimal(0)
    discountable: bool = True
    taxable: bool = True
    discounts: list[RateRef] = Field(default_factory=list)
    taxes: list[RateRef] = Field(default_factory=list)
    metadata: MetadataField = Field(default_factory=dict)


class DocumentInput(AccountingMark):
    customer: Relation | None = None
    name: str | None = None
    number: str = Field("", min_length=1, max_length=32)
    currency: Currency | None = None
    date: int | None = None
    purchase_order: str | None = Field(None, max_length=32)
    notes: str | None = None
    draft: bool = False
    closed: bool = False
    sent: bool = False
    items: list[LineItemInput] = Field(default_factory=list)
    discounts: list[RateRef] = Field(default_factory=list)
    taxes: list[RateRef] = Field(default_factory=list)
    shipping: list[RateRef] | Decimal = Field(default_factory=list)
    discount: Decimal | None = None
    tax: Decimal | None = None
    calculate_taxes: bool | None = None
    metadata: MetadataField = Field(default_factory=dict)


class InvoiceInput(DocumentInput):
    due_date: int | None = None
    payment_terms: str | None = Field(None, min_length=1, max_length=255)
    autopay: bool = False


class CreditNoteInput(DocumentInput):
    invoice: Relation | None = None


class SplitInput(InputModel):
    id: int | None = None
    type: str | None = None
    amount: Decimal | None = None
    invoice: Relation | None = None
    credit_note: Relation | None = None
    estimate: Relation | None = None
    document_type: str | None = None


class PaymentInput(AccountingMark):
    amount: Decimal = Decimal(0)
    currency: Currency | None = None
    customer: Relation | None = None
    date: int | None = None
    method: str | None = None  # not validated: the code knows more methods than the docs
    reference: Text | None = None
    source: str | None = None
    notes: str | None = None
    ach_sender_id: str | None = None
    attachments: list[Any] | None = None
    applied_to: list[SplitInput] = Field(default_factory=list)
    metadata: MetadataField = Field(default_factory=dict)


class TransactionInput(InputModel):
    """``POST /transactions`` (legacy) and ``POST /transactions/:id/refunds``."""

    type: str | None = None
    amount: Decimal | None = None
    credit_note: Relation | None = None
    date: int | None = None
    method: str | None = None
    notes: str | None = None
    metadata: MetadataField = Field(default_factory=dict)


Model = TypeVar("Model", bound=InputModel)


def parse_input(model: type[Model], payload: dict[str, Any]) -> Model:
    """Validate a body; the first problem becomes the service's 400 for that property."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise translate_validation_error(exc) from exc


def require(data: InputModel, *names: str) -> None:
    """Create-time musts: a property the request did not send is ``<Title> is missing``."""
    for name in names:
        if name not in data.model_fields_set or getattr(data, name) is None:
            raise invalid(f"{field_title(name)} is missing", name)


def reject_blocked(payload: dict[str, Any], blocked: frozenset[str], model_name: str) -> None:
    """Protected properties are refused outright rather than silently dropped."""
    for key in payload:
        if key in blocked:
            raise invalid(f"Mass assignment of {key} on {model_name} is not allowed")


def copy_sent_fields(data: InputModel, record: object, allowed: frozenset[str]) -> None:
    """Assign every allowed property the request actually sent (PATCH semantics)."""
    for name in data.model_fields_set & allowed:
        setattr(record, name, getattr(data, name))
