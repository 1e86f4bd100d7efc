"""Do the two ledgers agree? Assertions that read both sandboxes back through their APIs."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tests.support.sandboxes import Sandboxes


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def eligible_invoices(boxes: Sandboxes) -> dict[str, dict[str, Any]]:
    return {str(i["id"]): i for i in boxes.invoiced_all("/invoices") if not i["draft"] and i["status"] != "voided"}


def letters(name: str) -> str:
    """A name as QBO may store it: the sync replaces characters QBO refuses."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def assert_books_match(boxes: Sandboxes, realm: str) -> None:
    """Every live Invoiced invoice is in that QBO company once, to the cent, on one of that
    company's own customers carrying the Invoiced customer's name; every payment there
    applies to that company's own invoices."""
    expected = eligible_invoices(boxes)
    customers = {str(c["id"]): c for c in boxes.invoiced_all("/customers")}
    qbo_customers = {c["Id"]: c for c in boxes.qbo_rows("Customer", realm=realm)}
    qbo_invoices = boxes.qbo_rows("Invoice", realm=realm)
    ours: dict[str, list[dict[str, Any]]] = {}
    for row in qbo_invoices:
        found = re.search(r"Invoiced invoice (\d+)", row.get("PrivateNote", ""))
        # Where two accounts number from 1, the marker alone is ambiguous: the number tells.
        if found and found.group(1) in expected and row["DocNumber"][:8] == expected[found.group(1)]["number"][:8]:
            ours.setdefault(found.group(1), []).append(row)
    assert set(ours) == set(expected)
    for invoice_id, invoice in expected.items():
        [row] = ours[invoice_id]
        assert money(row["TotalAmt"]) == money(invoice["total"]), invoice["number"]
        owner = qbo_customers[row["CustomerRef"]["value"]]  # KeyError: a foreign customer id
        name = customers[str(invoice["customer"])]["name"]
        assert letters(name)[:30] in letters(owner["DisplayName"]), (name, owner["DisplayName"])
    invoice_ids = {row["Id"] for row in qbo_invoices}
    for payment in boxes.qbo_rows("Payment", realm=realm):
        assert payment["CustomerRef"]["value"] in qbo_customers
        for line in payment.get("Line", []):
            assert all(link["TxnId"] in invoice_ids for link in line["LinkedTxn"] if link["TxnType"] == "Invoice")
