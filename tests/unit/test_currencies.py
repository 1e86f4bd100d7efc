"""One QBO customer per currency an Invoiced customer bills in (qbo_sync/currencies.py)."""

from __future__ import annotations

from accounting_sync.qbo_sync.currencies import customer_key, in_currency, split_key, twin


def test_documents_in_another_currency_go_to_a_customer_of_their_own() -> None:
    assert customer_key("42", "USD", "USD") == "42" and customer_key("42", None, "USD") == "42"
    assert customer_key("42", "EUR", "USD") == "42:EUR"
    assert split_key("42:EUR") == ("42", "EUR") and split_key("42") == ("42", None)


def test_the_twin_is_named_so_an_accountant_recognises_it() -> None:
    made = twin({"id": "42", "name": "Acme: Tools", "currency": "usd"}, "EUR", 100)
    assert made == {"id": "42:EUR", "name": "Acme- Tools (EUR)", "currency": "EUR"}
    assert len(twin({"id": "1", "name": "x" * 120}, "CAD", 100)["name"]) == 100


def test_the_exchange_rate_is_qbos_unless_the_mapping_sets_one() -> None:
    payload = {"CustomerRef": {"$customer": "42"}, "TotalAmt": 10}
    assert in_currency(payload, "42:EUR", "EUR", None) == {
        "CustomerRef": {"$customer": "42:EUR"}, "CurrencyRef": {"value": "EUR"}, "TotalAmt": 10}
    assert in_currency(payload, "42:EUR", "EUR", 1.1)["ExchangeRate"] == 1.1
