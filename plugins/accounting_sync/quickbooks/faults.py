"""What QuickBooks Online answers when it refuses: ``QboFault`` with its code, whether it
is worth retrying, and the hint a person needs to fix the record.

QBO answers faults as ``Fault`` (API), lowercase ``fault`` (gateway) or XML; all three
end up here as one ``QboFault``.
"""

from __future__ import annotations

import re
from typing import Any

import requests

BATCH_TOO_LARGE = "1040"
STALE_REFERENCE = frozenset({"2500", "610"})  # a referenced account, item or customer is missing or inactive
RETRYABLE_CODES = {"3001", "10000"}
ONE_AT_A_TIME = "at a time"  # 6000 "You can only add or edit one name (product) at a time"

HINTS = {
    "6210": "The books are closed for this date. Reopen the period in QuickBooks and sync again, "
    "or set the sync start date after the close date on the Configure page.",
    "6240": "Another customer, vendor or employee in QuickBooks already uses this name. "
    "Rename one of them, or choose 'merge' for duplicate customer names.",
    "6140": "This document number is already used in QuickBooks. Renumber one of the documents.",
    "6000": "Someone was editing QuickBooks at the same time. The sync retries by itself; "
    "if it persists, sign out of QuickBooks Online and sync again.",
    "2500": "The record refers to something that is missing or inactive in QuickBooks "
    "(account, item or customer). Reactivate it or fix the mapping on the Configure page.",
    "610": "The record refers to something that is missing or inactive in QuickBooks.",
    "5010": "The record changed in QuickBooks during the sync. The next sync retries it.",
    "2050": "A value is longer than QuickBooks allows.",
    "6070": "A line amount does not equal quantity times unit price.",
    "6190": "The QuickBooks subscription has ended or has a billing problem.",
    "3200": "QuickBooks rejected the login: reconnect in Accounting Sync.",
    "inactive_customer": "Reactivate the customer in QuickBooks to have the sync use it, or rename the customer "
    "on Invoiced so a new QuickBooks customer is created.",
    "payments_applied": "Void or delete those payments in QuickBooks (on Invoiced, if they came from there); "
    "the next sync then voids the invoice (deletes the credit memo).",
    "overpayment": "QuickBooks already holds a payment on this invoice that Invoiced does not (one was recorded "
    "in QuickBooks directly). Delete or void the extra payment in QuickBooks, or record it on Invoiced and "
    "change this one; QuickBooks would otherwise keep the excess as unapplied customer credit.",
}


class QboFault(Exception):
    """A fault answered by QBO (or the transport failing for good)."""

    def __init__(self, status: int, code: str, message: str, detail: str = "", element: str = "") -> None:
        self.status, self.code, self.message, self.detail, self.element = status, code, message, detail, element
        super().__init__(f"QBO {code}: {message}" + (f" - {detail}" if detail else ""))

    @property
    def transient(self) -> bool:
        """Worth the same request again later (nothing was written). Code 6000 covers
        every business rule; only its "one name at a time" form goes away by itself."""
        if self.code == "6000":
            return ONE_AT_A_TIME in f"{self.message} {self.detail}"
        return self.code in RETRYABLE_CODES or self.status == 429 or self.status >= 500

    @property
    def hint(self) -> str | None:
        return HINTS.get(self.code)

    @classmethod
    def from_error(cls, status: int, error: dict[str, Any]) -> QboFault:
        return cls(
            status,
            str(error.get("code", "")),
            str(error.get("Message") or error.get("message") or "QuickBooks error"),
            str(error.get("Detail") or error.get("detail") or ""),
            str(error.get("element") or ""),
        )


class AmbiguousWriteError(Exception):
    """The request may or may not have been applied (timeout, dropped connection, 5xx)."""


def parse_fault(response: requests.Response) -> QboFault:
    """QBO answers faults as ``Fault`` (API), lowercase ``fault`` (gateway) or XML."""
    try:
        body = response.json()
    except ValueError:
        code = re.search(r'code="?(\d+)', response.text or "")
        message = re.search(r"<Message>([^<]*)", response.text or "")
        return QboFault(
            response.status_code,
            code.group(1) if code else str(response.status_code),
            message.group(1) if message else (response.reason or "HTTP error"),
        )
    fault = body.get("Fault") or body.get("fault") or {}
    errors = fault.get("Error") or fault.get("error") or [{}]
    return QboFault.from_error(response.status_code, errors[0])

