"""Optional QBO fields set through Invoiced metadata (issue: "class, location (department),
sales terms and up to three custom fields ... looked up by name, never created silently"),
against both sandboxes."""

from __future__ import annotations

from typing import Any

import pytest

from accounting_sync.common.report import RecordsFailed
from tests.e2e.import_harness import COMPANY, Pipelines


def invoiced_invoice(pipes: Pipelines, number: str, metadata: dict[str, str]) -> dict[str, Any]:
    customer = pipes.invoiced("POST", "/customers", json={"name": f"Customer of {number}"})
    return dict(pipes.invoiced("POST", "/invoices", json={
        "customer": customer["id"], "number": number, "metadata": metadata,
        "items": [{"name": "Consulting", "quantity": 2, "unit_cost": 60.25}],
    }))


def in_qbo(pipes: Pipelines, invoice: dict[str, Any]) -> dict[str, Any]:
    return next(row for row in pipes.boxes.qbo_rows("Invoice")
                if f"Invoiced invoice {invoice['id']}" in row.get("PrivateNote", ""))


def test_class_location_terms_and_a_custom_field_arrive_as_qbo_references(pipelines: Pipelines) -> None:
    retail = pipelines.qbo("POST", "class", json={"Name": "Retail"})["Class"]
    downtown = pipelines.qbo("POST", "department", json={"Name": "Downtown"})["Department"]
    net_15 = pipelines.boxes.qbo_rows("Term", "Name = 'Net 15'")[0]
    pipelines.settings["custom_fields"] = [{"metadata_key": "po", "qbo_name": "PO number", "definition_id": "2"}]
    invoice = invoiced_invoice(pipelines, "OPT-1", {"qbo_class": "retail", "qbo_location": "Downtown",
                                                    "qbo_terms": "Net 15", "po": "PO-77"})
    note = pipelines.invoiced("POST", "/credit_notes", json={
        "customer": invoice["customer"], "metadata": {"qbo_class": "Retail", "qbo_terms": "Net 15"},
        "items": [{"name": "Consulting", "unit_cost": 20}]})

    pipelines.run_sync()

    written = in_qbo(pipelines, invoice)
    assert written["ClassRef"]["value"] == retail["Id"]
    assert written["DepartmentRef"]["value"] == downtown["Id"]
    assert written["SalesTermRef"]["value"] == net_15["Id"]
    assert [(f["DefinitionId"], f["StringValue"]) for f in written["CustomField"]] == [("2", "PO-77")]
    assert written["TotalAmt"] == invoice["total"] == 120.5
    memo = next(row for row in pipelines.boxes.qbo_rows("CreditMemo")
                if f"Invoiced credit note {note['id']}" in row.get("PrivateNote", ""))
    assert memo["ClassRef"]["value"] == retail["Id"] and "SalesTermRef" not in memo  # a credit is never due
    pipelines.boxes.reset_stats()
    pipelines.run_sync()
    assert pipelines.qbo_writes() == []  # a second run writes nothing


def test_a_class_quickbooks_does_not_have_fails_the_invoice_with_a_hint_and_is_never_created(
    pipelines: Pipelines,
) -> None:
    invoice = invoiced_invoice(pipelines, "OPT-2", {"qbo_class": "Wholesale"})

    with pytest.raises(RecordsFailed):
        pipelines.run_sync()

    [error] = [e for e in pipelines.store.open_errors(COMPANY, "qbo_sync") if e.source_id == str(invoice["id"])]
    assert error.code == "missing_class" and "'Wholesale'" in error.message
    assert "never creates" in (error.hint or "") and "Classes" in (error.hint or "")
    assert pipelines.boxes.qbo_rows("Class") == []

    wholesale = pipelines.qbo("POST", "class", json={"Name": "Wholesale"})["Class"]  # the fix the hint names
    pipelines.run_sync()

    assert in_qbo(pipelines, invoice)["ClassRef"]["value"] == wholesale["Id"]
    assert [e for e in pipelines.store.open_errors(COMPANY, "qbo_sync") if e.source_id == str(invoice["id"])] == []
