"""The PyPI clients `python-quickbooks` and Intuit's own `intuit-oauth` work against the
sandbox unchanged: OAuth (authorize, exchange, refresh with rotation, revoke), CRUD, query,
batch, void and fault parsing. A failure here is a sandbox bug unless a source says QBO
answers the same way.

Only the URLs are redirected: intuitlib accepts a discovery-document URL as its
`environment`, and a QuickBooks instance's `api_url_v3` is a plain attribute.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from qbo_support import REDIRECT, Qbo, browser_consent, income_account
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import (
    AuthorizationException,
    ObjectNotFoundException,
    QuickbooksException,
    UnsupportedException,
)
from quickbooks.objects.base import EmailAddress, LinkedTxn, Ref
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine


def _customer(client: QuickBooks, name: str) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    customer.CompanyName = name
    customer.PrimaryEmailAddr = EmailAddress()
    customer.PrimaryEmailAddr.Address = "billing@example.com"
    return customer.save(qb=client)


def _item(qbo: Qbo, client: QuickBooks, name: str) -> Item:
    item = Item()
    item.Name = name
    item.Type = "Service"
    item.UnitPrice = 150
    item.IncomeAccountRef = Ref()
    item.IncomeAccountRef.value = income_account(qbo)
    return item.save(qb=client)


def _invoice(customer: Customer, item: Item, amount: float) -> Invoice:
    line = SalesItemLine()
    line.Amount = amount
    line.Description = "Consulting hours"
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    line.SalesItemLineDetail.Qty = 1
    line.SalesItemLineDetail.UnitPrice = amount
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = [line]
    return invoice


def _payment(customer: Customer, invoice: Invoice, amount: float) -> Payment:
    link = LinkedTxn()
    link.TxnId = invoice.Id
    link.TxnType = "Invoice"
    line = PaymentLine()
    line.Amount = amount
    line.LinkedTxn = [link]
    payment = Payment()
    payment.TotalAmt = amount
    payment.CustomerRef = customer.to_ref()
    payment.Line = [line]
    return payment


def test_create_read_query_and_sparse_update(qbo: Qbo, client: QuickBooks) -> None:
    customer = _customer(client, "PyQB Customer")
    assert customer.Id and customer.SyncToken == "0"
    assert Customer.get(customer.Id, qb=client).PrimaryEmailAddr.Address == "billing@example.com"
    assert [found.Id for found in Customer.filter(DisplayName="PyQB Customer", qb=client)] == [customer.Id]
    assert Customer.count(qb=client) == 1
    customer.sparse = True
    customer.Notes = "updated through python-quickbooks"
    updated = customer.save(qb=client)
    assert updated.SyncToken == "1" and updated.Notes == "updated through python-quickbooks"

    item = _item(qbo, client, "PyQB Service")
    assert [found.Name for found in Item.all(qb=client)] == ["PyQB Service"]
    invoice = _invoice(customer, item, 150).save(qb=client)
    assert invoice.TotalAmt == 150 and invoice.Balance == 150
    payment = _payment(customer, invoice, 50).save(qb=client)
    assert payment.UnappliedAmt == 0
    reread = Invoice.get(invoice.Id, qb=client)
    assert reread.Balance == 100
    assert [link.TxnId for link in reread.LinkedTxn] == [payment.Id]
    assert Invoice.where("Balance > '0'", order_by="DocNumber", qb=client)[0].Id == invoice.Id


def test_batch_create_customers_items_invoices_and_payments(qbo: Qbo, client: QuickBooks) -> None:
    customers = batch_create([Customer.from_json({"DisplayName": f"Batch Customer {n}"}) for n in range(3)],
                             qb=client)
    assert len(customers.successes) == 3 and not customers.faults
    items = batch_create([Item.from_json({"Name": f"Batch Item {n}", "Type": "Service",
                                          "IncomeAccountRef": {"value": income_account(qbo)}}) for n in range(2)],
                         qb=client)
    assert len(items.successes) == 2 and not items.faults
    invoices = batch_create([_invoice(customer, items.successes[0], 120) for customer in customers.successes],
                            qb=client)
    assert len(invoices.successes) == 3 and not invoices.faults
    payments = batch_create([_payment(customers.successes[n], invoices.successes[n], 20) for n in range(3)],
                            qb=client)
    assert len(payments.successes) == 3 and not payments.faults
    assert sorted(invoice.Balance for invoice in Invoice.all(qb=client)) == [100, 100, 100]
    duplicates = batch_create([Customer.from_json({"DisplayName": "Batch Customer 0"})], qb=client)
    assert duplicates.faults[0].Error[0].code == "6240"


def test_auth_client_refresh_rotates_through_the_sandbox(client: QuickBooks) -> None:
    auth = client.auth_client
    old_refresh = auth.refresh_token
    auth.refresh()
    assert auth.refresh_token != old_refresh
    assert auth.access_token


def _auth_client(qbo: Qbo) -> AuthClient:
    config = qbo.state.config
    return AuthClient(config.client_id, config.client_secret, REDIRECT,
                      environment=f"{qbo.base_url}/.well-known/openid_configuration")


def test_intuit_oauth_revoke_ends_the_grant(qbo: Qbo, client: QuickBooks) -> None:
    auth = client.auth_client
    assert auth.revoke(token=auth.refresh_token)
    with pytest.raises(AuthClientError) as refused:
        auth.refresh()
    assert refused.value.status_code == 400 and b"invalid_grant" in refused.value.content
    with pytest.raises(AuthorizationException):
        Customer.all(qb=client)


def test_intuit_oauth_reusing_a_code_fails_and_revokes_the_first_tokens(qbo: Qbo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    auth = _auth_client(qbo)
    callback = browser_consent(auth.get_authorization_url([Scopes.ACCOUNTING]))
    auth.get_bearer_token(callback["code"], realm_id=callback["realmId"])
    first_refresh = auth.refresh_token
    assert auth.x_refresh_token_expires_in and auth.expires_in == 3600
    with pytest.raises(AuthClientError):
        _auth_client(qbo).get_bearer_token(callback["code"], realm_id=callback["realmId"])
    with pytest.raises(AuthClientError):
        auth.refresh(refresh_token=first_refresh)


def test_void_query_and_overpayment_through_python_quickbooks(qbo: Qbo, client: QuickBooks) -> None:
    customer = _customer(client, "PyQB Voids")
    item = _item(qbo, client, "PyQB Void Service")
    invoice = _invoice(customer, item, 100).save(qb=client)
    payment = _payment(customer, invoice, 130).save(qb=client)
    assert payment.UnappliedAmt == 30, "QBO keeps the excess of an overpayment as credit"
    assert Invoice.get(invoice.Id, qb=client).Balance == 0
    Payment.get(payment.Id, qb=client).void(qb=client)
    assert Payment.get(payment.Id, qb=client).TotalAmt == 0
    assert Invoice.get(invoice.Id, qb=client).Balance == 100
    Invoice.get(invoice.Id, qb=client).void(qb=client)
    voided = Invoice.get(invoice.Id, qb=client)
    assert voided.TotalAmt == 0 and voided.PrivateNote.startswith("Voided")
    assert [row.Id for row in Invoice.query("SELECT * FROM Invoice WHERE TotalAmt = '0'", qb=client)] == [invoice.Id]


def test_faults_reach_python_quickbooks_as_its_exceptions(qbo: Qbo, client: QuickBooks) -> None:
    _customer(client, "PyQB Taken")
    with pytest.raises(QuickbooksException) as duplicate:
        _customer(client, "PyQB Taken")
    assert duplicate.value.error_code == 6240 and "already exists" in duplicate.value.detail
    with pytest.raises(ObjectNotFoundException):
        Customer.get("999", qb=client)
    with pytest.raises(UnsupportedException):
        client.download_pdf("Invoice", "1")


def test_change_data_capture_reads_changes_and_tombstones(qbo: Qbo, client: QuickBooks) -> None:
    """python-quickbooks' `change_data_capture` parses the sandbox's answer as Intuit's."""
    since = qbo.state.clock.now() - timedelta(minutes=1)
    customer = _customer(client, "PyQB CDC")
    kept = _invoice(customer, _item(qbo, client, "PyQB CDC Item"), 100).save(qb=client)
    doomed = _invoice(customer, Item.get(kept.Line[0].SalesItemLineDetail.ItemRef.value, qb=client), 50)
    doomed = doomed.save(qb=client)
    doomed.delete(qb=client)

    changes = change_data_capture([Invoice, Customer], since, qb=client)

    assert [found.Id for found in changes.Customer] == [customer.Id]
    live, tombstone = changes.Invoice
    assert (live.Id, live.TotalAmt) == (kept.Id, 100)
    assert (tombstone.Id, tombstone.status) == (doomed.Id, "Deleted")
    qbo.control("clock", {"advance_seconds": 60})
    assert not hasattr(change_data_capture([Invoice], qbo.state.clock.now(), qb=client), "Invoice")
