"""Totals, tax, discounts and the balance links between invoices, credit memos and payments."""

from __future__ import annotations

from qbo_support import Qbo, customer, fault, income_account, invoice, invoice_body, item, payment, sales_line


def _tax_code(qbo: Qbo, rate: float) -> str:
    body = {"TaxCode": f"Rate {rate}", "TaxRateDetails": [
        {"TaxRateName": f"Rate {rate}", "RateValue": rate, "TaxAgencyId": "1", "TaxApplicableOn": "Sales"}]}
    return str(qbo.post("taxservice/taxcode", body).json()["TaxCodeId"])


def test_invoice_totals_subtotal_line_and_balance(qbo: Qbo) -> None:
    consulting = item(qbo)["Id"]
    body = invoice_body(customer(qbo)["Id"], consulting, 100)
    body["Line"].append(sales_line(consulting, 50.5, qty=2))
    created = qbo.create("Invoice", body)
    subtotal = [line for line in created["Line"] if line["DetailType"] == "SubTotalLineDetail"]
    assert subtotal == [{"Amount": 150.5, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}]
    assert created["TotalAmt"] == 150.5 and created["Balance"] == 150.5
    assert [line["Id"] for line in created["Line"] if "Id" in line] == ["1", "2"]
    assert created["TxnTaxDetail"] == {"TotalTax": 0}


def test_percent_discount_lowers_total(qbo: Qbo) -> None:
    body = invoice_body(customer(qbo)["Id"], item(qbo)["Id"], 200)
    body["Line"].append({"DetailType": "DiscountLineDetail", "Amount": 0,
                         "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 12.5}})
    created = qbo.create("Invoice", body)
    assert created["TotalAmt"] == 175.0
    assert created["Line"][-1]["Amount"] == 25.0
    assert [line["DetailType"] for line in created["Line"]] == [
        "SalesItemLineDetail", "SubTotalLineDetail", "DiscountLineDetail"]


def test_discount_without_amount_or_percent_is_6090(qbo: Qbo) -> None:
    body = invoice_body(customer(qbo)["Id"], item(qbo)["Id"], 200)
    body["Line"].append({"DetailType": "DiscountLineDetail", "DiscountLineDetail": {"PercentBased": True}})
    assert fault(qbo.post("invoice", body))["code"] == "6090"


def test_sales_tax_on_taxable_lines_rounds_half_up(qbo: Qbo) -> None:
    code = _tax_code(qbo, 8.25)
    taxable = item(qbo, "Widget", Taxable=True)["Id"]
    plain = item(qbo, "Labor")["Id"]
    body = {"CustomerRef": {"value": customer(qbo)["Id"]}, "TxnTaxDetail": {"TxnTaxCodeRef": {"value": code}},
            "Line": [sales_line(taxable, 10.0), sales_line(plain, 100.0)]}
    created = qbo.create("Invoice", body)
    assert created["TxnTaxDetail"]["TotalTax"] == 0.83
    assert created["TxnTaxDetail"]["TaxLine"][0]["TaxLineDetail"]["NetAmountTaxable"] == 10.0
    assert created["TotalAmt"] == 110.83
    assert created["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}


def test_tax_after_discount_uses_discounted_base(qbo: Qbo) -> None:
    code = _tax_code(qbo, 10)
    taxable = item(qbo, "Widget", Taxable=True)["Id"]
    discount = {"DetailType": "DiscountLineDetail", "Amount": 0,
                "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10}}
    body = {"CustomerRef": {"value": customer(qbo)["Id"]}, "TxnTaxDetail": {"TxnTaxCodeRef": {"value": code}},
            "Line": [sales_line(taxable, 200.0), discount]}
    before = qbo.create("Invoice", body)
    assert before["TxnTaxDetail"]["TotalTax"] == 20.0 and before["TotalAmt"] == 200.0
    after = qbo.create("Invoice", {**body, "ApplyTaxAfterDiscount": True})
    assert after["TxnTaxDetail"]["TotalTax"] == 18.0 and after["TotalAmt"] == 198.0


def test_line_tax_code_must_be_tax_or_non(qbo: Qbo) -> None:
    body = invoice_body(customer(qbo)["Id"], item(qbo)["Id"])
    body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "GST"}
    assert fault(qbo.post("invoice", body))["code"] == "6100"


def test_payment_lowers_balance_and_links_both_ways(qbo: Qbo) -> None:
    acme = customer(qbo)["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 300)
    paid = payment(qbo, acme, 120, [("Invoice", inv["Id"], 100)])
    assert paid["UnappliedAmt"] == 20 and paid["TotalAmt"] == 120
    after = qbo.read("Invoice", inv["Id"])
    assert after["Balance"] == 200
    assert after["LinkedTxn"] == [{"TxnId": paid["Id"], "TxnType": "Payment"}]
    assert after["SyncToken"] == "1"
    assert qbo.read("Customer", acme)["Balance"] == 180


def test_payment_defaults_to_undeposited_funds(qbo: Qbo) -> None:
    paid = payment(qbo, customer(qbo)["Id"], 10, [])
    assert paid["DepositToAccountRef"]["name"] == "Undeposited Funds"
    assert paid["UnappliedAmt"] == 10


def test_payment_update_rebalances(qbo: Qbo) -> None:
    acme = customer(qbo)["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 300)
    paid = payment(qbo, acme, 100, [("Invoice", inv["Id"], 100)])
    update = {"Id": paid["Id"], "SyncToken": paid["SyncToken"], "CustomerRef": {"value": acme}, "TotalAmt": 250,
              "Line": [{"Amount": 250, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]}
    assert qbo.create("Payment", update)["TotalAmt"] == 250
    assert qbo.read("Invoice", inv["Id"])["Balance"] == 50


def test_applied_more_than_payment_amount_is_6000(qbo: Qbo) -> None:
    acme = customer(qbo)["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 300)
    response = qbo.post("payment", {"CustomerRef": {"value": acme}, "TotalAmt": 50,
                                    "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]})
    assert fault(response)["code"] == "6000"


def test_payment_for_another_customers_invoice_is_rejected(qbo: Qbo) -> None:
    consulting = item(qbo)["Id"]
    inv = invoice(qbo, customer(qbo, "Owner")["Id"], consulting)
    other = customer(qbo, "Other")["Id"]
    assert fault(qbo.post("payment", {"CustomerRef": {"value": other}, "TotalAmt": 10,
                                      "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]}))["code"] == "6000"


def test_bad_debt_write_off_with_credit_memo_and_zero_payment(qbo: Qbo) -> None:
    acme = customer(qbo)["Id"]
    bad_debts = qbo.create("Account", {"Name": "Bad Debts", "AccountSubType": "BadDebts"})
    write_off = item(qbo, "Bad Debts", IncomeAccountRef={"value": bad_debts["Id"]})["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 300)
    memo = qbo.create("CreditMemo", invoice_body(acme, write_off, 300))
    assert memo["RemainingCredit"] == 300 and memo["TotalAmt"] == 300
    zero = payment(qbo, acme, 0, [("Invoice", inv["Id"], 300), ("CreditMemo", memo["Id"], 300)])
    assert zero["TotalAmt"] == 0 and zero["UnappliedAmt"] == 0
    assert qbo.read("Invoice", inv["Id"])["Balance"] == 0
    assert qbo.read("CreditMemo", memo["Id"])["RemainingCredit"] == 0
    assert qbo.read("Customer", acme)["Balance"] == 0
    assert qbo.post("payment", {"Id": zero["Id"], "SyncToken": "0"}, operation="delete").status_code == 200
    assert qbo.read("Invoice", inv["Id"])["Balance"] == 300
    assert qbo.read("CreditMemo", memo["Id"])["RemainingCredit"] == 300


def test_credit_beyond_remaining_credit_is_rejected(qbo: Qbo) -> None:
    acme = customer(qbo)["Id"]
    consulting = item(qbo)["Id"]
    inv = invoice(qbo, acme, consulting, 300)
    memo = qbo.create("CreditMemo", invoice_body(acme, consulting, 100))
    response = qbo.post("payment", {"CustomerRef": {"value": acme}, "TotalAmt": 0, "Line": [
        {"Amount": 200, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]},
        {"Amount": 200, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]}]})
    assert fault(response)["code"] == "6000"


def test_invoice_update_keeps_applied_payments(qbo: Qbo) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    inv = invoice(qbo, acme, consulting, 300)
    payment(qbo, acme, 100, [("Invoice", inv["Id"], 100)])
    current = qbo.read("Invoice", inv["Id"])
    raised = {**invoice_body(acme, consulting, 400), "Id": inv["Id"], "SyncToken": current["SyncToken"]}
    updated = qbo.create("Invoice", raised)
    assert updated["TotalAmt"] == 400 and updated["Balance"] == 300 and len(updated["LinkedTxn"]) == 1
    lowered = {**invoice_body(acme, consulting, 50), "Id": inv["Id"], "SyncToken": updated["SyncToken"]}
    assert fault(qbo.post("invoice", lowered))["code"] == "6000"


def test_invoice_with_payments_cannot_be_deleted(qbo: Qbo) -> None:
    """Intuit's Invoice reference: linked transactions must be unlinked first."""
    acme = customer(qbo)["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 300)
    payment(qbo, acme, 100, [("Invoice", inv["Id"], 100)])
    token = qbo.read("Invoice", inv["Id"])["SyncToken"]
    assert fault(qbo.post("invoice", {"Id": inv["Id"], "SyncToken": token}, operation="delete"))["code"] == "6000"


def test_line_without_item_is_documentation_only(qbo: Qbo) -> None:
    body = invoice_body(customer(qbo)["Id"], item(qbo)["Id"], 100)
    body["Line"].append({"DetailType": "SalesItemLineDetail", "Amount": 999, "Description": "note",
                         "SalesItemLineDetail": {}})
    created = qbo.create("Invoice", body)
    assert created["TotalAmt"] == 100
    assert created["Line"][1]["DetailType"] == "DescriptionOnly"


def test_seeded_company_has_partly_and_fully_paid_invoices(seeded: Qbo) -> None:
    invoices = seeded.query("SELECT * FROM Invoice MAXRESULTS 100")["Invoice"]
    partly = [row for row in invoices if 0 < row["Balance"] < row["TotalAmt"]]
    paid = [row for row in invoices if row["Balance"] == 0]
    assert len(partly) >= 3 and len(paid) == 2
    assert all(row["LinkedTxn"] for row in partly + paid)
    assert any(line["DetailType"] == "DiscountLineDetail" for row in invoices for line in row["Line"])
    assert any(row["TxnTaxDetail"].get("TotalTax", 0) > 0 for row in invoices)


def _account_id(qbo: Qbo, name: str) -> str:
    return str(qbo.query(f"SELECT * FROM Account WHERE Name = '{name}'")["Account"][0]["Id"])


def test_refund_receipt_pays_out_of_an_account_and_leaves_receivables_alone(qbo: Qbo) -> None:
    acme = customer(qbo)["Id"]
    consulting = item(qbo)["Id"]
    inv = invoice(qbo, acme, consulting, 300)
    payment(qbo, acme, 300, [("Invoice", inv["Id"], 300)])
    body = {"CustomerRef": {"value": acme}, "DepositToAccountRef": {"value": _account_id(qbo, "Undeposited Funds")},
            "Line": [sales_line(consulting, 40.25)], "PrivateNote": "refund"}
    refund = qbo.create("RefundReceipt", body)
    assert refund["TotalAmt"] == 40.25 and refund["Balance"] == 0
    assert refund["DepositToAccountRef"]["name"] == "Undeposited Funds"
    assert qbo.read("Invoice", inv["Id"])["Balance"] == 0
    assert qbo.read("Customer", acme)["Balance"] == 0
    rows = qbo.query(f"SELECT * FROM RefundReceipt WHERE CustomerRef = '{acme}'")["RefundReceipt"]
    assert [row["Id"] for row in rows] == [refund["Id"]]


def test_refund_receipt_needs_an_account_to_pay_from(qbo: Qbo) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    body = {"CustomerRef": {"value": acme}, "Line": [sales_line(consulting, 10)]}
    assert fault(qbo.post("refundreceipt", body))["code"] == "2020"
    income = {"value": income_account(qbo)}
    assert fault(qbo.post("refundreceipt", {**body, "DepositToAccountRef": income}))["code"] == "6000"


def test_credit_memo_cannot_be_voided_and_is_deleted_only_once_unapplied(qbo: Qbo) -> None:
    """Credit memos have no void (fault 500); one applied by a payment cannot be deleted
    until that payment is voided, which gives its credit back."""
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    inv = invoice(qbo, acme, consulting, 300)
    memo = qbo.create("CreditMemo", invoice_body(acme, consulting, 100))
    zero = payment(qbo, acme, 0, [("Invoice", inv["Id"], 100), ("CreditMemo", memo["Id"], 100)])
    assert qbo.read("CreditMemo", memo["Id"])["Balance"] == 0
    current = qbo.read("CreditMemo", memo["Id"])
    ref = {"Id": memo["Id"], "SyncToken": current["SyncToken"]}
    assert fault(qbo.post("creditmemo", ref, operation="void"))["code"] == "500"
    assert fault(qbo.post("creditmemo", ref, operation="delete"))["code"] == "6000"
    assert qbo.post("payment", {"Id": zero["Id"], "SyncToken": zero["SyncToken"]}, operation="void").status_code == 200
    current = qbo.read("CreditMemo", memo["Id"])
    assert current["RemainingCredit"] == 100 and current["LinkedTxn"] == []
    assert qbo.read("Invoice", inv["Id"])["Balance"] == 300
    assert qbo.post("creditmemo", {"Id": memo["Id"], "SyncToken": current["SyncToken"]},
                    operation="delete").status_code == 200
    assert qbo.read("Customer", acme)["Balance"] == 300
