"""Lists stay fast on a large account (no per-request copy of the account)."""

from __future__ import annotations

import time

from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient

INVOICES = 20_000


def test_large_account_lists_quickly(inv: InvoicedClient) -> None:
    customers = inv.control("bulk", {"customers": [{"name": f"Scale {n}"} for n in range(200)]})["customers"]
    invoices = [
        {
            "customer": customers[n % len(customers)],
            "items": [{"name": "Line", "quantity": 2, "unit_cost": 12.5}],
            "metadata": {"quickbooks_invoice_id": str(n)},
        }
        for n in range(INVOICES)
    ]
    started = time.monotonic()
    assert len(inv.control("bulk", {"invoices": invoices})["invoices"]) == INVOICES
    assert time.monotonic() - started < 15
    queries = [
        {"sort": "updated_at asc", "updated_after": 1, "page": 150},
        {"filter[customer]": customers[7]},
        {"metadata[quickbooks_invoice_id]": "19999"},
        {"filter[status]": "not_sent", "sort": "total desc", "page": 3},
    ]
    for params in queries:
        started = time.monotonic()
        response = inv.get("/invoices", params=params)
        assert response.status_code == 200
        assert time.monotonic() - started < 1.0, params
    assert inv.get("/invoices", params=queries[2]).headers["X-Total-Count"] == "1"
