"""The Configure form: what it shows, and turning a submitted form into settings.

Accounts and the tax code can only be one of the connected company's (or the current
value, which the sync creates when missing); everything is then validated by the same
SyncSettings model the DAGs use, and only the keys this form edits are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from accounting_sync.config.companies import Company
from accounting_sync.config.settings import AccountSpec, SyncSettings, resolve_settings
from accounting_sync.qbo_sync.globaltax import TaxCodes
from accounting_sync.store.schema import WrittenTaxCode
from accounting_sync.ui.qbo import Choices

ACCOUNT_FIELDS = ("income_account", "discount_account", "deposit_account", "bad_debt_account")
FLAG_FIELDS = (
    "write_invoices", "write_credit_notes", "write_payments", "import_invoices", "import_customers", "import_payments",
    "import_credit_notes",
)
LABELS = {
    "income_account": "Income account",
    "discount_account": "Discount account",
    "deposit_account": "Deposit account",
    "bad_debt_account": "Bad-debt account",
    "tax_code": "Tax code",
    "bad_debt_item_name": "Bad-debt item",
    "sync_start_date": "Sync start date",
    "duplicate_customer_names": "Duplicate customer names",
    "write_invoices": "Write invoices to QuickBooks",
    "write_credit_notes": "Write credit notes to QuickBooks (credit memos)",
    "write_payments": "Write payments to QuickBooks",
    "import_invoices": "Import invoices from QuickBooks",
    "import_customers": "Import customers from QuickBooks",
    "import_payments": "Record payments received in QuickBooks on Invoiced",
    "import_credit_notes": "Import credit memos made in QuickBooks as credit notes",
    "class_metadata_key": "Invoiced metadata key of the QuickBooks class",
    "location_metadata_key": "Invoiced metadata key of the QuickBooks location",
    "terms_metadata_key": "Invoiced metadata key of the QuickBooks terms",
    "custom_fields": "QuickBooks custom field",
    "tax_code_map": "VAT/GST tax code",
    "untaxed_tax_code": "Tax code of untaxed lines",
}
METADATA_FIELDS = ("class_metadata_key", "location_metadata_key", "terms_metadata_key")
CUSTOM_FIELDS = 3  # QBO's sales forms have three custom fields: row n fills DefinitionId n
CUSTOM_PREFIX = "custom_fields."  # custom_fields.<n>.metadata_key / custom_fields.<n>.qbo_name
TAX_MAP_FIELDS = ("tax_code_map", "untaxed_tax_code")  # only where the company has VAT/GST codes
RATE_PREFIX = "tax_code_map."  # one select per Invoiced tax rate: tax_code_map.<rate id>
REWRITE_PREFIX = "rewrite."  # rewrite.<rate id>: re-write the synced documents of that rate with its code
FORM_KEYS = (
    *ACCOUNT_FIELDS,
    "tax_code",
    "bad_debt_item_name",
    "sync_start_date",
    "duplicate_customer_names",
    *FLAG_FIELDS,
    *METADATA_FIELDS,
    "custom_fields",
    *TAX_MAP_FIELDS,
)


@dataclass(frozen=True)
class RateRow:
    """One Invoiced tax rate on the Configure page: the code the sync picks by itself (None
    when it cannot tell), the one picked here ("" for automatic), and how many synced
    documents carry the rate on each code."""

    id: str
    name: str
    percent: str
    inclusive: bool
    automatic: str | None
    picked: str
    written: tuple[tuple[str, int], ...] = ()

    @property
    def code(self) -> str | None:
        """The code the sync puts the rate on."""
        return self.picked or self.automatic


def rate_rows(
    rates: list[dict[str, Any]], choices: Choices, picked: dict[str, str], written: list[WrittenTaxCode]
) -> list[RateRow]:
    """The Invoiced tax rates with what each maps to among the company's own codes, and
    what the synced documents carrying it were written with."""
    codes = TaxCodes(choices.rated_codes, {})
    documents: dict[str, dict[str, set[tuple[str, str]]]] = {}
    for row in written:
        documents.setdefault(row.rate_id, {}).setdefault(row.code_name, set()).add((row.object_type, row.invoiced_id))
    rows = []
    for rate in rates:
        rate_id, name, percent = str(rate["id"]), str(rate.get("name") or rate["id"]), str(rate.get("value", 0))
        inclusive = bool(rate.get("inclusive"))
        applied = [{"id": rate_id, "name": name, "percent": percent, "inclusive": inclusive}]
        found = codes.candidates(applied) if rate.get("is_percent", True) else []
        automatic = found[0].name if len(found) == 1 else None
        counts = tuple(sorted((code, len(ids)) for code, ids in documents.get(rate_id, {}).items()))
        rows.append(RateRow(rate_id, name, percent, inclusive, automatic, picked.get(rate_id, ""), counts))
    return rows


def rewrites(form: dict[str, str]) -> set[str]:
    """The rates whose "Re-write them with the new code" box is ticked."""
    return {key[len(REWRITE_PREFIX):] for key, value in form.items() if key.startswith(REWRITE_PREFIX) and value == "on"}


def form_values(settings: SyncSettings) -> dict[str, Any]:
    """What the form shows for stored settings (names for accounts and the tax code)."""
    values: dict[str, Any] = {field: getattr(settings, field).name for field in ACCOUNT_FIELDS}
    values["tax_code"] = settings.tax_code.name
    values["bad_debt_item_name"] = settings.bad_debt_item_name
    values["sync_start_date"] = settings.sync_start_date.isoformat() if settings.sync_start_date else ""
    values["duplicate_customer_names"] = settings.duplicate_customer_names
    values.update({flag: getattr(settings, flag) for flag in FLAG_FIELDS})
    values.update({key: getattr(settings, key) for key in METADATA_FIELDS})
    rows = {definition: spec.model_dump() for definition, spec in settings.custom_field_ids()}
    values["custom_fields"] = [rows.get(str(n), {"metadata_key": "", "qbo_name": "", "definition_id": str(n)})
                               for n in range(1, CUSTOM_FIELDS + 1)]
    values["tax_code_map"] = dict(settings.tax_code_map)
    values["untaxed_tax_code"] = settings.untaxed_tax_code or ""
    return values


def submitted_values(form: dict[str, str]) -> dict[str, Any]:
    """The submitted form in the shape ``form_values`` returns (to show it again)."""
    values: dict[str, Any] = {
        key: form.get(key, "").strip() for key in FORM_KEYS if key not in (*FLAG_FIELDS, "tax_code_map", "custom_fields")
    }
    values.update({flag: form.get(flag) == "on" for flag in FLAG_FIELDS})
    values["custom_fields"] = [
        {"metadata_key": form.get(f"{CUSTOM_PREFIX}{n}.metadata_key", "").strip(),
         "qbo_name": form.get(f"{CUSTOM_PREFIX}{n}.qbo_name", "").strip(), "definition_id": str(n)}
        for n in range(1, CUSTOM_FIELDS + 1)
    ]
    values["tax_code_map"] = {
        key[len(RATE_PREFIX):]: value.strip() for key, value in form.items() if key.startswith(RATE_PREFIX) and value.strip()
    }
    return values


def _account(field: str, name: str, current: SyncSettings, choices: Choices | None) -> dict[str, Any] | None:
    existing: AccountSpec = getattr(current, field)
    if name == existing.name:
        return existing.model_dump()
    for account in choices.accounts_for(field) if choices else []:
        if account.name == name:
            return {
                "name": name,
                "account_type": account.account_type,
                "account_sub_type": account.account_sub_type,
            }
    return None


def to_settings(
    company: Company,
    stored: dict[str, Any],
    values: dict[str, Any],
    choices: Choices | None,
) -> tuple[dict[str, Any], list[str]]:
    """The settings to store, or the messages saying what is wrong."""
    current = resolve_settings(company.settings, stored)
    errors: list[str] = []
    update: dict[str, Any] = {
        key: values[key] for key in FORM_KEYS if key not in (*ACCOUNT_FIELDS, "tax_code", *TAX_MAP_FIELDS)
    }
    update["custom_fields"] = [row for row in values["custom_fields"] if row["metadata_key"] or row["qbo_name"]]
    errors.extend(_tax_map(values, current, choices, update))
    for field in ACCOUNT_FIELDS:
        spec = _account(field, values[field], current, choices)
        if spec is None:
            errors.append(
                f"{LABELS[field]}: {values[field]!r} is not one of the offered QuickBooks accounts."
            )
        update[field] = spec
    tax_code = values["tax_code"]
    if choices and not choices.kind.legacy_sales_tax:
        tax_code = current.tax_code.name  # not offered: the company's own codes are used
    if tax_code != current.tax_code.name and not (choices and tax_code in choices.tax_codes):
        errors.append(
            f"{LABELS['tax_code']}: {tax_code!r} is not a tax code of the connected QuickBooks company."
        )
    update["tax_code"] = {**current.tax_code.model_dump(), "name": tax_code}
    if errors:
        return {}, errors
    try:
        settings = resolve_settings(company.settings, stored, update)
    except ValidationError as error:
        return {}, [_message(item) for item in error.errors()]
    dumped = settings.model_dump(mode="json")
    return {key: dumped[key] for key in FORM_KEYS}, []


def _tax_map(values: dict[str, Any], current: SyncSettings, choices: Choices | None, update: dict[str, Any]) -> list[str]:
    """The VAT/GST mapping to store: only codes of the connected company; elsewhere (a US
    company, or none connected to choose from) the current mapping stays."""
    if choices is None or not choices.kind.global_tax:
        update.update(tax_code_map=current.tax_code_map, untaxed_tax_code=current.untaxed_tax_code)
        return []
    rated = {code.name for code in choices.rated_codes}
    untaxed = {code.name for code in choices.rated_codes if code.percent == 0}
    errors = [f"{LABELS['tax_code_map']}: {name!r} is not a tax code of the connected QuickBooks company."
              for name in values.get("tax_code_map", {}).values() if name not in rated]
    if values.get("untaxed_tax_code") and values["untaxed_tax_code"] not in untaxed:
        errors.append(f"{LABELS['untaxed_tax_code']}: {values['untaxed_tax_code']!r} is not a zero-rated or exempt "
                      "code of the connected QuickBooks company.")
    update.update(tax_code_map=values.get("tax_code_map", {}), untaxed_tax_code=values.get("untaxed_tax_code") or None)
    return errors


def _message(item: Any) -> str:
    location = item.get("loc") or ("settings",)
    label = LABELS.get(str(location[0]), str(location[0]))
    return f"{label}: {item.get('msg', 'invalid value')}"
