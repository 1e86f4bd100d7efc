"""List endpoints: pagination headers, filters, sorting, incremental reads, include/expand."""

from __future__ import annotations

import re
from typing import Any

from sandbox.invoiced.state import SandboxState
from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient


def links(response: Any) -> dict[str, str]:
    """rel -> URL from the Link header, checking the service's rel order."""
    parsed = re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["Link"])
    rels = [rel for _, rel in parsed]
    order = ["self", "first", "previous", "next", "last"]
    assert rels == [rel for rel in order if rel in rels]
    return {rel: url for url, rel in parsed}


def load_customers(inv: InvoicedClient, count: int) -> list[int]:
    ids: list[int] = inv.control("bulk", {"customers": [{"name": f"C{n:03d}"} for n in range(count)]})[
        "customers"
    ]
    return ids


def test_empty_list_has_self_first_last(inv: InvoicedClient) -> None:
    response = inv.get("/invoices")
    assert response.json() == []
    assert response.headers["X-Total-Count"] == "0"
    rels = links(response)
    assert set(rels) == {"self", "first", "last"}
    assert rels["last"].endswith("/invoices?page=1")


def test_pages_and_link_header(inv: InvoicedClient) -> None:
    ids = load_customers(inv, 25)
    first = inv.get("/customers", params={"per_page": 10})
    assert first.headers["X-Total-Count"] == "25"
    assert [c["id"] for c in first.json()] == ids[:10]
    rels = links(first)
    assert set(rels) == {"self", "first", "next", "last"}
    assert rels["next"] == f"{inv.base_url}/customers?per_page=10&page=2"
    assert rels["last"].endswith("page=3")
    middle = inv.get(rels["next"])
    assert [c["id"] for c in middle.json()] == ids[10:20]
    assert set(links(middle)) == {"self", "first", "previous", "next", "last"}
    last = inv.get(links(middle)["next"])
    assert [c["id"] for c in last.json()] == ids[20:]
    assert set(links(last)) == {"self", "first", "previous", "last"}


def test_link_echoes_other_params_and_drops_default_per_page(inv: InvoicedClient) -> None:
    load_customers(inv, 3)
    response = inv.get("/customers", params={"filter[type]": "company", "per_page": 100, "sort": "name desc"})
    assert (
        links(response)["self"] == f"{inv.base_url}/customers?filter%5Btype%5D=company&sort=name+desc&page=1"
    )


def test_per_page_is_clamped(inv: InvoicedClient) -> None:
    load_customers(inv, 105)
    assert len(inv.get("/customers", params={"per_page": 500}).json()) == 100
    assert len(inv.get("/customers", params={"per_page": -3}).json()) == 1
    assert len(inv.get("/customers", params={"per_page": 0}).json()) == 100
    assert len(inv.get("/customers").json()) == 100


def test_filters_exact_match_and_errors(inv: InvoicedClient, make_invoice: Any) -> None:
    open_invoice = make_invoice(100)
    draft = make_invoice(50, draft=True)
    assert [i["id"] for i in inv.get("/invoices", params={"filter[draft]": 1}).json()] == [draft["id"]]
    assert [i["id"] for i in inv.get("/invoices", params={"filter[draft]": 0}).json()] == [open_invoice["id"]]
    assert [i["id"] for i in inv.get("/invoices", params={"filter[status]": "draft"}).json()] == [draft["id"]]
    assert (
        inv.get("/invoices", params={"filter[customer]": open_invoice["customer"]}).headers["X-Total-Count"]
        == "2"
    )
    assert inv.get("/invoices", params={"filter[total]": "50"}).json()[0]["id"] == draft["id"]
    unknown = inv.get("/invoices", params={"filter[notes]": "x"})
    assert unknown.status_code == 400
    assert unknown.json() == {"type": "invalid_request", "message": "Invalid filter parameter: notes"}
    array = inv.get("/invoices", params={"filter[status][]": "paid"})
    assert array.json()["message"] == "Invalid value for `status` filter parameter"


def test_string_filters_ignore_case(inv: InvoicedClient, sandbox_state: SandboxState) -> None:
    inv.create("/customers", {"name": "Mixed Case"})
    assert len(inv.get("/customers", params={"filter[name]": "mixed case"}).json()) == 1
    sandbox_state.config.case_insensitive_filters = False
    assert inv.get("/customers", params={"filter[name]": "mixed case"}).json() == []


def test_updated_after_and_before_are_strict(inv: InvoicedClient) -> None:
    first = inv.create("/customers", {"name": "First"})
    inv.control("clock", {"advance_seconds": 10})
    second = inv.create("/customers", {"name": "Second"})
    stamp = first["updated_at"]
    after = inv.get("/customers", params={"updated_after": stamp}).json()
    assert [c["id"] for c in after] == [second["id"]]
    assert len(inv.get("/customers", params={"updated_after": stamp - 1}).json()) == 2
    before = inv.get("/customers", params={"updated_before": second["updated_at"]}).json()
    assert [c["id"] for c in before] == [first["id"]]


def test_updated_at_increases_within_one_second(inv: InvoicedClient, sandbox_state: SandboxState) -> None:
    sandbox_state.clock.set(1_700_000_000)
    customer = inv.create("/customers", {"name": "Busy"})
    stamps = [customer["updated_at"]]
    for n in range(3):
        stamps.append(inv.patch(f"/customers/{customer['id']}", json={"notes": str(n)}).json()["updated_at"])
    assert stamps == sorted(set(stamps))
    changed = inv.get("/customers", params={"updated_after": stamps[-2]}).json()
    assert [c["updated_at"] for c in changed] == [stamps[-1]]


def test_sort_with_unknown_fields_dropped_and_id_tiebreak(inv: InvoicedClient, make_invoice: Any) -> None:
    small, big, same = make_invoice(10), make_invoice(90), make_invoice(10)
    by_total = inv.get("/invoices", params={"sort": "total desc"}).json()
    assert [i["id"] for i in by_total] == [big["id"], small["id"], same["id"]]
    ascending = inv.get("/invoices", params={"sort": "bogus desc,total asc"}).json()
    assert [i["id"] for i in ascending] == [small["id"], same["id"], big["id"]]
    assert [i["id"] for i in inv.get("/invoices", params={"sort": "bogus desc"}).json()] == [
        small["id"],
        big["id"],
        same["id"],
    ]


def test_metadata_filter(inv: InvoicedClient, make_invoice: Any) -> None:
    tagged = make_invoice(metadata={"quickbooks_invoice_id": "145"})
    make_invoice(metadata={"quickbooks_invoice_id": "146"})
    make_invoice()
    found = inv.get("/invoices", params={"metadata[quickbooks_invoice_id]": "145"}).json()
    assert [i["id"] for i in found] == [tagged["id"]]
    ignored = inv.get("/invoices", params={"metadata[bad key!]": "145"})
    assert ignored.headers["X-Total-Count"] == "3"


def test_date_range_is_inclusive(inv: InvoicedClient, make_invoice: Any) -> None:
    make_invoice(date=1_000)
    middle = make_invoice(date=2_000)
    make_invoice(date=3_000)
    found = inv.get("/invoices", params={"start_date": 2_000, "end_date": 2_000}).json()
    assert [i["id"] for i in found] == [middle["id"]]


def test_include_exclude_expand(inv: InvoicedClient, make_invoice: Any, customer: dict[str, Any]) -> None:
    invoice = make_invoice()
    assert "amount_paid" not in invoice and "voided" not in invoice
    shown = inv.get(f"/invoices/{invoice['id']}", params={"include": "voided,amount_paid,date_paid"}).json()
    assert (shown["voided"], shown["amount_paid"], shown["date_paid"]) == (False, 0, None)
    slim = inv.get("/invoices", params={"exclude": "items,metadata"}).json()[0]
    assert "items" not in slim and "metadata" not in slim
    expanded = inv.get("/invoices", params={"expand": "customer"}).json()[0]
    assert expanded["customer"]["id"] == customer["id"]
    assert expanded["customer"]["name"] == "Acme Corp"


def test_deep_default_sorted_pages_need_preceding_page(
    inv: InvoicedClient, sandbox_state: SandboxState
) -> None:
    sandbox_state.config.cursor_required_offset = 4
    ids = load_customers(inv, 9)
    refused = inv.get("/customers", params={"per_page": 2, "page": 3})
    assert refused.status_code == 400
    assert (
        refused.json()["message"]
        == "You must retrieve all preceding page numbers before retrieving this page."
    )
    assert inv.get("/customers", params={"per_page": 2, "page": 3, "sort": "name asc"}).status_code == 200
    seen: list[int] = []
    url: str | None = f"{inv.base_url}/customers?per_page=2"
    while url:
        response = inv.get(url)
        assert response.status_code == 200
        seen += [c["id"] for c in response.json()]
        url = links(response).get("next")
    assert seen == ids


def test_sort_by_id_descending_and_id_tiebreaks(inv: InvoicedClient) -> None:
    """BE AbstractListQueryBuilder::setSort: `id` is a sort field like any other, and `id ASC`
    breaks ties of every other sort."""
    ids = inv.control("bulk", {"customers": [{"name": name} for name in ("B", "A", "A", "B")]})["customers"]
    assert [c["id"] for c in inv.get("/customers", params={"sort": "id desc"}).json()] == ids[::-1]
    assert [c["id"] for c in inv.get("/customers", params={"sort": "id asc"}).json()] == ids
    by_name = [c["id"] for c in inv.get("/customers", params={"sort": "name desc"}).json()]
    assert by_name == [ids[0], ids[3], ids[1], ids[2]]
    both = [c["id"] for c in inv.get("/customers", params={"sort": "name asc,id desc"}).json()]
    assert both == [ids[2], ids[1], ids[3], ids[0]]
    paged = [c["id"] for page in (1, 2) for c in inv.get(
        "/customers", params={"sort": "id desc", "per_page": 2, "page": page}
    ).json()]
    assert paged == ids[::-1]
