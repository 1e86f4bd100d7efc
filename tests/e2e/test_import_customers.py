"""qbo_import rule 1 against both sandboxes: customers and their contacts."""

from __future__ import annotations

from typing import Any

import pytest

from accounting_sync.common.flows import IMPORT
from accounting_sync.qbo_import import load as importer
from accounting_sync.qbo_import.pipeline import ImportFailed
from accounting_sync.store.idmap import ORIGIN_INVOICED, ORIGIN_QUICKBOOKS
from tests.e2e.import_harness import COMPANY, Pipelines

ACTIVE_DEMO_CUSTOMERS = 10


def customers_named(pipes: Pipelines, name: str) -> list[dict[str, Any]]:
    return [c for c in pipes.invoiced("GET", "/customers") if c["name"] == name]


def test_active_customers_arrive_with_their_details_and_a_primary_contact(pipelines: Pipelines) -> None:
    pipelines.run_import()

    customers = pipelines.invoiced("GET", "/customers")
    assert len(customers) == ACTIVE_DEMO_CUSTOMERS
    amy = customers_named(pipelines, "Amy's Bird Sanctuary")[0]
    assert amy["email"] == "birds@intuit.example"
    assert amy["phone"] == "(650) 555-3311"
    assert (amy["address1"], amy["city"], amy["state"], amy["postal_code"]) == (
        "4581 Finch St.", "Bayshore", "CA", "94326"
    )
    qbo_amy = pipelines.qbo_customer("Amy's Bird Sanctuary")
    assert amy["number"] == f"QBO-{qbo_amy['Id']}"
    contacts = pipelines.invoiced("GET", f"/customers/{amy['id']}/contacts")
    assert [(c["name"], c["email"], c["primary"]) for c in contacts] == [
        ("Amy Lauterbach", "birds@intuit.example", True)
    ]
    status = pipelines.invoiced("GET", f"/customers/{amy['id']}/accounting_sync_status")
    assert (status["accounting_system"], status["accounting_id"]) == ("quickbooks_online", qbo_amy["Id"])
    mapped = pipelines.store.find_by_qbo_id(COMPANY, "customer", [qbo_amy["Id"]])[qbo_amy["Id"]]
    assert (mapped.invoiced_id, mapped.origin) == (str(amy["id"]), ORIGIN_QUICKBOOKS)

    pipelines.boxes.reset_stats()
    pipelines.run_import()
    assert pipelines.invoiced_writes() == []


@pytest.mark.parametrize("name_lookups", [25, 0], ids=["filter-per-name", "one-streamed-list"])
def test_an_invoiced_customer_with_the_same_name_is_linked_not_duplicated(
    pipelines: Pipelines, monkeypatch: pytest.MonkeyPatch, name_lookups: int
) -> None:
    monkeypatch.setattr(importer, "NAME_LOOKUPS", name_lookups)
    existing = pipelines.invoiced("POST", "/customers", json={"name": "cool cars", "number": "CUST-COOL"})

    pipelines.run_import()

    assert customers_named(pipelines, "Cool Cars") + customers_named(pipelines, "cool cars") == [
        pipelines.invoiced("GET", f"/customers/{existing['id']}")
    ]
    linked = pipelines.invoiced("GET", f"/customers/{existing['id']}")
    assert linked["number"] == "CUST-COOL"  # the Invoiced number stays
    assert linked["phone"] == "(415) 555-9933"  # QBO's details are carried over
    assert linked["currency"] == "usd"  # and QBO's currency, which it had none of
    qbo_id = pipelines.qbo_customer("Cool Cars")["Id"]
    assert pipelines.store.find_by_qbo_id(COMPANY, "customer", [qbo_id])[qbo_id].invoiced_id == str(existing["id"])


def test_a_linked_customer_billing_in_another_currency_keeps_it_and_the_import_says_so(
    pipelines: Pipelines,
) -> None:
    existing = pipelines.invoiced("POST", "/customers", json={"name": "Mark Cho", "currency": "eur"})
    pipelines.invoiced("POST", "/invoices", json={"customer": existing["id"], "items": [{"name": "Fee", "unit_cost": 50}]})

    with pytest.raises(ImportFailed, match="currency_conflict"):
        pipelines.run_import()

    linked = pipelines.invoiced("GET", f"/customers/{existing['id']}")
    assert linked["currency"] == "eur"  # Invoiced refuses to change it now that it has an invoice
    qbo_id = pipelines.qbo_customer("Mark Cho")["Id"]
    assert pipelines.store.find_by_qbo_id(COMPANY, "customer", [qbo_id])[qbo_id].invoiced_id == str(existing["id"])
    imported = [i for i in pipelines.invoiced("GET", "/invoices") if i["metadata"].get("quickbooks_invoice_id")
                and i["customer"] == existing["id"]]
    assert imported and {i["currency"] for i in imported} == {"usd"}  # its invoices arrived, in QBO's currency
    [error] = pipelines.store.open_errors(COMPANY, IMPORT.name)
    assert (error.object_type, error.document_number, error.code) == ("customer", "Mark Cho", "currency_conflict")
    assert "EUR" in error.message and "USD" in error.message and error.hint

    pipelines.boxes.reset_stats()
    with pytest.raises(ImportFailed, match="currency_conflict"):  # said again until fixed or ignored
        pipelines.run_import()
    assert pipelines.invoiced_writes() == []


def test_changes_made_in_quickbooks_are_carried_over(pipelines: Pipelines) -> None:
    pipelines.run_import()
    diego = pipelines.qbo_customer("Diego Rodriguez")
    pipelines.qbo("POST", "customer", json={
        "Id": diego["Id"], "SyncToken": diego["SyncToken"], "sparse": True,
        "PrimaryEmailAddr": {"Address": "diego@new.example"}, "PrimaryPhone": {"FreeFormNumber": "555-0100"},
    })
    pipelines.boxes.reset_stats()

    job = pipelines.run_import()

    invoiced = customers_named(pipelines, "Diego Rodriguez")[0]
    assert (invoiced["email"], invoiced["phone"]) == ("diego@new.example", "555-0100")
    contacts = pipelines.invoiced("GET", f"/customers/{invoiced['id']}/contacts")
    assert [(c["name"], c["email"]) for c in contacts] == [("Diego Rodriguez", "diego@new.example")]
    assert job.counts_dict()["customer"] == {"updated": 1, "unchanged": ACTIVE_DEMO_CUSTOMERS - 1}
    writes = [(row["method"], row["path"].count("/"), row["count"]) for row in pipelines.invoiced_writes()]
    assert sorted(writes) == [("PATCH", 2, 1), ("PATCH", 4, 1)]  # the customer and its contact


def test_customers_qbo_sync_created_are_never_imported_back(pipelines: Pipelines) -> None:
    ours = pipelines.invoiced("POST", "/customers", json={"name": "Invoiced Native Ltd", "email": "ap@native.example"})
    pipelines.invoiced("POST", "/invoices", json={
        "customer": ours["id"], "number": "INV-NATIVE", "items": [{"name": "Consulting", "unit_cost": 100}],
    })
    pipelines.run_sync()
    qbo_copy = pipelines.qbo_customer("Invoiced Native Ltd")
    assert pipelines.store.find_by_qbo_id(COMPANY, "customer", [qbo_copy["Id"]])[qbo_copy["Id"]].origin == (
        ORIGIN_INVOICED
    )

    job = pipelines.run_import()

    assert len(customers_named(pipelines, "Invoiced Native Ltd")) == 1
    assert pipelines.invoiced("GET", f"/customers/{ours['id']}/contacts") == []
    assert job.counts_dict()["customer"]["skipped"] == 1
    assert [i["number"] for i in pipelines.invoiced("GET", "/invoices") if i["number"] == "INV-NATIVE"] == [
        "INV-NATIVE"
    ]


def test_without_customer_import_only_the_customers_of_imported_invoices_come_over(pipelines: Pipelines) -> None:
    pipelines.settings = {"import_customers": False}

    pipelines.run_import()

    names = {c["name"] for c in pipelines.invoiced("GET", "/customers")}
    assert "Kookies by Kathy" not in names  # her only invoice is paid
    assert {"Amy's Bird Sanctuary", "Mark Cho"} <= names
