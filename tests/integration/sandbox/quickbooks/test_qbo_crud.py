"""Create, read, full and sparse update, stale SyncToken, delete and void."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from qbo_support import Qbo, ServerFactory, customer, fault, invoice, invoice_body, item, payment

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def test_create_stamps_system_fields(qbo: Qbo) -> None:
    created = customer(qbo, "Acme Corp", CompanyName="Acme")
    assert isinstance(created["Id"], str) and created["SyncToken"] == "0"
    assert created["domain"] == "QBO" and created["sparse"] is False
    assert TIMESTAMP.match(created["MetaData"]["CreateTime"])
    assert created["MetaData"]["CreateTime"] == created["MetaData"]["LastUpdatedTime"]
    assert created["Active"] is True and created["Balance"] == 0


def test_ids_are_sequences_per_entity(qbo: Qbo) -> None:
    first, second = customer(qbo, "One"), customer(qbo, "Two")
    assert int(second["Id"]) == int(first["Id"]) + 1
    assert item(qbo)["Id"] == "1"


def test_read_by_id_and_missing_is_610(qbo: Qbo) -> None:
    created = customer(qbo)
    assert qbo.read("Customer", created["Id"]) == created
    error = fault(qbo.get("customer/999"))
    assert error["code"] == "610" and error["Message"] == "Object Not Found"


def test_sparse_update_changes_only_sent_fields(qbo: Qbo) -> None:
    created = customer(qbo, "Acme Corp", CompanyName="Acme", Notes="keep me")
    updated = qbo.create("Customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "MiddleName": "Q"})
    assert updated["SyncToken"] == "1" and updated["MiddleName"] == "Q"
    assert updated["CompanyName"] == "Acme" and updated["Notes"] == "keep me"
    assert updated["MetaData"]["CreateTime"] == created["MetaData"]["CreateTime"]


def test_full_update_clears_omitted_fields(qbo: Qbo) -> None:
    created = customer(qbo, "Acme Corp", CompanyName="Acme", Notes="gone soon")
    updated = qbo.create("Customer", {"Id": created["Id"], "SyncToken": "0", "DisplayName": "Acme Corp"})
    assert "CompanyName" not in updated and "Notes" not in updated
    assert updated["SyncToken"] == "1"


def test_stale_sync_token_is_5010(qbo: Qbo) -> None:
    created = customer(qbo)
    qbo.create("Customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "first"})
    error = fault(qbo.post("customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "second"}))
    assert error["code"] == "5010"
    assert error["Detail"].startswith("Stale Object Error : You and root were working on this at the same time.")


def test_update_of_missing_object_is_610(qbo: Qbo) -> None:
    assert fault(qbo.post("customer", {"Id": "424242", "SyncToken": "0", "sparse": True}))["code"] == "610"


def test_invoice_delete(qbo: Qbo) -> None:
    created = invoice(qbo, customer(qbo)["Id"], item(qbo)["Id"])
    response = qbo.post("invoice", {"Id": created["Id"], "SyncToken": created["SyncToken"]}, operation="delete")
    assert response.status_code == 200
    assert response.json()["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": created["Id"]}
    error = fault(qbo.get(f"invoice/{created['Id']}"))
    assert error["code"] == "610" and "Another user has deleted this transaction." in error["Detail"]
    assert qbo.query("SELECT * FROM Invoice") == {}


def test_invoice_void_keeps_document_with_zero_amounts(qbo: Qbo) -> None:
    created = invoice(qbo, customer(qbo)["Id"], item(qbo)["Id"], PrivateNote="ext 7")
    response = qbo.post("invoice", {"Id": created["Id"], "SyncToken": created["SyncToken"]}, operation="void")
    voided = response.json()["Invoice"]
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0
    assert voided["PrivateNote"].startswith("Voided")
    assert voided["SyncToken"] == "1"
    assert qbo.read("Invoice", created["Id"])["TotalAmt"] == 0
    [line] = [line for line in voided["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    assert line["Amount"] == 0 and line["SalesItemLineDetail"]["Qty"] == 0
    assert "UnitPrice" not in line["SalesItemLineDetail"]


def test_voiding_a_paid_invoice_keeps_the_payment_as_unapplied_credit(qbo: Qbo) -> None:
    """A live run voided a paid invoice (fresh SyncToken); the payment stayed, UnappliedAmt 20."""
    acme = customer(qbo)["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 50)
    paid = payment(qbo, acme, 20, [("Invoice", inv["Id"], 20)])
    current = qbo.read("Invoice", inv["Id"])
    response = qbo.post("invoice", {"Id": inv["Id"], "SyncToken": current["SyncToken"]}, operation="void")
    assert response.status_code == 200, response.text
    voided = response.json()["Invoice"]
    assert voided["Balance"] == 0 and voided["LinkedTxn"] == [{"TxnId": paid["Id"], "TxnType": "Payment"}]
    kept = qbo.read("Payment", paid["Id"])
    assert kept["TotalAmt"] == 20 and kept["UnappliedAmt"] == 20 and kept["Line"] == []
    assert kept["SyncToken"] == "1"
    assert qbo.read("Customer", acme)["Balance"] == -20


def test_refusing_to_void_a_paid_invoice_is_a_switch(start_server: ServerFactory,
                                                     connect: Callable[..., Qbo]) -> None:
    """LanternOps/breeze#5180 reports QBO refusing the same void: the sources conflict."""
    qbo = connect(*start_server(void_invoice_with_payments="refuse"))
    acme = customer(qbo)["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 50)
    payment(qbo, acme, 20, [("Invoice", inv["Id"], 20)])
    current = qbo.read("Invoice", inv["Id"])
    refused = qbo.post("invoice", {"Id": inv["Id"], "SyncToken": current["SyncToken"]}, operation="void")
    assert fault(refused)["code"] == "6000"


def test_payment_void_with_the_documented_operation(qbo: Qbo) -> None:
    """Intuit's Payment reference: `POST /payment?operation=void` with `{Id, SyncToken}`."""
    acme = customer(qbo)["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 300)
    paid = payment(qbo, acme, 100, [("Invoice", inv["Id"], 100)])
    voided = qbo.post("payment", {"Id": paid["Id"], "SyncToken": paid["SyncToken"]}, operation="void")
    assert voided.status_code == 200, voided.text
    assert voided.json()["Payment"]["TotalAmt"] == 0 and voided.json()["Payment"]["Line"] == []
    assert qbo.read("Invoice", inv["Id"])["Balance"] == 300


def test_payment_void_restores_invoice_balance(qbo: Qbo) -> None:
    acme = customer(qbo)["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 300)
    paid = payment(qbo, acme, 100, [("Invoice", inv["Id"], 100)])
    assert qbo.read("Invoice", inv["Id"])["Balance"] == 200
    body = {"Id": paid["Id"], "SyncToken": paid["SyncToken"], "sparse": True}
    voided = qbo.post("payment", body, operation="update", include="void").json()["Payment"]
    assert voided["TotalAmt"] == 0 and voided["Line"] == [] and voided["PrivateNote"].startswith("Voided")
    restored = qbo.read("Invoice", inv["Id"])
    assert restored["Balance"] == 300 and restored["LinkedTxn"] == []


def test_payment_delete_restores_invoice_balance(qbo: Qbo) -> None:
    acme = customer(qbo)["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 300)
    paid = payment(qbo, acme, 300, [("Invoice", inv["Id"], 300)])
    assert qbo.read("Invoice", inv["Id"])["Balance"] == 0
    assert qbo.post("payment", {"Id": paid["Id"], "SyncToken": "0"}, operation="delete").status_code == 200
    assert qbo.read("Invoice", inv["Id"])["Balance"] == 300


def test_credit_memo_void_is_unsupported(qbo: Qbo) -> None:
    acme = customer(qbo)["Id"]
    memo = qbo.create("CreditMemo", invoice_body(acme, item(qbo)["Id"], 50))
    error = fault(qbo.post("creditmemo", {"Id": memo["Id"], "SyncToken": "0"}, operation="void"))
    assert error["code"] == "500" and error["Message"] == "Unsupported Operation"


def test_name_list_entities_cannot_be_deleted(qbo: Qbo) -> None:
    created = customer(qbo)
    error = fault(qbo.post("customer", {"Id": created["Id"], "SyncToken": "0"}, operation="delete"))
    assert error["code"] == "500"


def test_vendor_and_employee_can_be_created(qbo: Qbo) -> None:
    assert qbo.create("Vendor", {"DisplayName": "Northwind Supplies"})["Active"] is True
    employee = qbo.create("Employee", {"GivenName": "Ada", "FamilyName": "Lovelace"})
    assert employee["DisplayName"] == "Ada Lovelace"


def test_company_info_and_preferences(qbo: Qbo) -> None:
    info = qbo.get(f"companyinfo/{qbo.realm_id}").json()["CompanyInfo"]
    assert info["CompanyName"] == qbo.state.default_realm.company_name and info["Country"] == "US"
    prefs = qbo.get("preferences").json()["Preferences"]
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    assert prefs["SalesFormsPrefs"]["AllowDiscount"] is True
    assert prefs["TaxPrefs"]["UsingSalesTax"] is True
    assert prefs["CurrencyPrefs"] == {"HomeCurrency": {"value": "USD"}, "MultiCurrencyEnabled": False}
    assert "BookCloseDate" not in prefs["AccountingInfoPrefs"]


def test_references_are_echoed_with_names(qbo: Qbo) -> None:
    created = invoice(qbo, customer(qbo, "Acme Corp")["Id"], item(qbo, "Consulting")["Id"])
    assert created["CustomerRef"]["name"] == "Acme Corp"
    assert created["Line"][0]["SalesItemLineDetail"]["ItemRef"]["name"] == "Consulting"


def test_unknown_entity_path_is_unsupported(qbo: Qbo) -> None:
    assert fault(qbo.post("gadget", {"Name": "x"}))["code"] == "500"
    assert fault(qbo.post("taxcode", {"Name": "x"}))["code"] == "500"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "invoice/1/pdf"),
    ("POST", "invoice/1/send"),
    ("GET", "reports/ProfitAndLoss"),
    ("DELETE", "customer/1"),
    ("PUT", "invoice"),
    ("GET", "no/such/route/at/all"),
])
def test_unknown_routes_methods_and_subresources_answer_with_a_fault(qbo: Qbo, method: str, path: str) -> None:
    """python-quickbooks reads `Fault` from every error body; FastAPI's `{"detail"}` is never sent."""
    response = qbo.session.request(method, qbo.url(path), headers=qbo.headers(), timeout=10)
    error = fault(response)
    assert error["code"] == "500" and error["Message"] == "Unsupported Operation"


def test_the_sandbox_controls_keep_their_own_errors(qbo: Qbo) -> None:
    response = qbo.session.post(f"{qbo.base_url}/_sandbox/close-books", json={"date": "June"}, timeout=10)
    assert response.status_code == 422 and "detail" in response.json()


def test_tax_service_creates_code_and_rate(qbo: Qbo) -> None:
    body = {"TaxCode": "Springfield", "TaxRateDetails": [
        {"TaxRateName": "Springfield City", "RateValue": 2.5, "TaxAgencyId": "1", "TaxApplicableOn": "Sales"}]}
    response = qbo.post("taxservice/taxcode", body)
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["TaxCode"] == "Springfield" and created["TaxRateDetails"][0]["RateValue"] == 2.5
    code = qbo.read("TaxCode", created["TaxCodeId"])
    assert code["SalesTaxRateList"]["TaxRateDetail"][0]["TaxRateRef"]["value"] == created["TaxRateDetails"][0]["TaxRateId"]
    assert qbo.read("TaxRate", created["TaxRateDetails"][0]["TaxRateId"])["RateValue"] == 2.5
    assert fault(qbo.post("taxservice/taxcode", body))["code"] == "6240"


def test_tax_service_needs_a_known_agency(qbo: Qbo) -> None:
    body = {"TaxCode": "Nowhere", "TaxRateDetails": [{"TaxRateName": "N", "RateValue": 1, "TaxAgencyId": "77"}]}
    assert fault(qbo.post("taxservice/taxcode", body))["code"] == "2500"
    assert qbo.count("SELECT COUNT(*) FROM TaxRate") == 0
