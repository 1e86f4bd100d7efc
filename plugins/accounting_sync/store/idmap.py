"""The id map: which Invoiced record is which QuickBooks record, and where it came from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, or_, select

from accounting_sync.common.values import chunked
from accounting_sync.store.schema import IN_CHUNK, IdMap, Repository, WrittenTaxCode

ORIGIN_INVOICED = "invoiced"
ORIGIN_QUICKBOOKS = "quickbooks"
APPLIED_TYPES = {
    "Payment": ("payment", "bad_debt_payment", "refund_payment"),
    "CreditMemo": ("credit_note", "bad_debt_credit_memo"),
}
"""Id-map types whose QuickBooks record is a Payment or a CreditMemo: what the sync may
have applied to an invoice (a payment, a write-off, a credit note, a refund)."""
INVOICE_TYPES = ("invoice", "fee", "refund_invoice")
"""Id-map types whose QuickBooks record is an Invoice: an Invoiced invoice, and the fee
and refund invoices qbo_sync writes for a payment's convenience fee or a credit note's
refund. qbo_import must know them all, or it would import an open one as a new invoice."""
CURRENCY_TYPE = "customer_currency"
"""Id map rows recording the currency of the QBO customer behind each customer key (its
``qbo_id`` is the currency code): written by qbo_sync when it creates or links one and by
qbo_import when it imports one, read by qbo_sync to route documents by currency."""


@dataclass(frozen=True)
class MappedRecord:
    invoiced_id: str
    qbo_id: str
    sync_token: str | None
    content_hash: str | None
    origin: str


@dataclass(frozen=True)
class WrittenCodes:
    """A document written to a VAT/GST company, and the code each Invoiced rate went on."""

    object_type: str
    invoiced_id: str
    document_number: str | None
    codes: frozenset[tuple[str, str]]  # (Invoiced rate id, QBO tax code name)


class IdMapRepository(Repository):
    def get_mapping(self, company: str, object_type: str, invoiced_id: str) -> MappedRecord | None:
        return self.get_mappings(company, object_type, [invoiced_id]).get(str(invoiced_id))

    def get_mappings(
        self, company: str, object_type: str, invoiced_ids: Iterable[str] | None = None
    ) -> dict[str, MappedRecord]:
        """Mappings of one object type, all of them or only for the given ids."""
        query = select(IdMap).where(IdMap.company_key == company, IdMap.object_type == object_type)
        ids = None if invoiced_ids is None else [str(i) for i in invoiced_ids]
        result: dict[str, MappedRecord] = {}
        with self.session() as session:
            for chunk in chunked(ids, IN_CHUNK) if ids is not None else [None]:
                chunk_query = query if chunk is None else query.where(IdMap.invoiced_id.in_(chunk))
                for row in session.scalars(chunk_query):
                    result[row.invoiced_id] = _mapped(row)
        return result

    def known_qbo_ids(self, company: str, qbo_ids: Iterable[str], object_types: Iterable[str]) -> set[str]:
        """Which of these QBO ids the id map holds for these object types (QBO numbers each
        entity on its own, so ids are only comparable within one entity's types)."""
        ids, types = [str(i) for i in qbo_ids], list(object_types)
        found: set[str] = set()
        with self.session() as session:
            for chunk in chunked(ids, IN_CHUNK):
                query = select(IdMap.qbo_id).where(
                    IdMap.company_key == company, IdMap.qbo_id.in_(chunk), IdMap.object_type.in_(types)
                )
                found.update(session.scalars(query))
        return found

    def find_by_qbo_id(self, company: str, object_type: str, qbo_ids: Iterable[str]) -> dict[str, MappedRecord]:
        """Mappings keyed by QBO id (the first one when several Invoiced records merge)."""
        ids = [str(i) for i in qbo_ids]
        result: dict[str, MappedRecord] = {}
        with self.session() as session:
            for chunk in chunked(ids, IN_CHUNK):
                rows = session.scalars(
                    select(IdMap)
                    .where(IdMap.company_key == company, IdMap.object_type == object_type)
                    .where(IdMap.qbo_id.in_(chunk))
                    .order_by(IdMap.id)
                )
                for row in rows:
                    result.setdefault(row.qbo_id, _mapped(row))
        return result

    def put_mappings(self, company: str, object_type: str, records: Iterable[MappedRecord]) -> None:
        """Insert or update mappings in one transaction."""
        records = list(records)
        if not records:
            return
        with self.session() as session:
            existing = {
                row.invoiced_id: row
                for chunk in chunked([r.invoiced_id for r in records], IN_CHUNK)
                for row in session.scalars(
                    select(IdMap).where(
                        IdMap.company_key == company,
                        IdMap.object_type == object_type,
                        IdMap.invoiced_id.in_(chunk),
                    )
                )
            }
            for record in records:
                row = existing.get(record.invoiced_id)
                if row is None:
                    session.add(
                        IdMap(
                            company_key=company,
                            object_type=object_type,
                            invoiced_id=record.invoiced_id,
                            qbo_id=record.qbo_id,
                            sync_token=record.sync_token,
                            content_hash=record.content_hash,
                            origin=record.origin,
                        )
                    )
                else:
                    row.qbo_id = record.qbo_id
                    row.sync_token = record.sync_token
                    row.content_hash = record.content_hash
                    row.origin = record.origin

    def count_mappings(self, company: str, object_type: str) -> int:
        with self.session() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(IdMap)
                    .where(IdMap.company_key == company, IdMap.object_type == object_type)
                )
                or 0
            )


    def put_written_codes(self, company: str, documents: Iterable[WrittenCodes]) -> None:
        """Record the codes documents were written with, replacing what they had before."""
        latest = {(doc.object_type, doc.invoiced_id): doc for doc in documents}
        if not latest:
            return
        with self.session() as session:
            for object_type in {key[0] for key in latest}:
                for chunk in chunked([key[1] for key in latest if key[0] == object_type], IN_CHUNK):
                    session.execute(delete(WrittenTaxCode).where(
                        WrittenTaxCode.company_key == company, WrittenTaxCode.object_type == object_type,
                        WrittenTaxCode.invoiced_id.in_(chunk)))
            session.add_all(
                WrittenTaxCode(company_key=company, object_type=doc.object_type, invoiced_id=doc.invoiced_id,
                               document_number=doc.document_number, rate_id=rate_id, code_name=code)
                for doc in latest.values() for rate_id, code in sorted(doc.codes))

    def written_with(self, company: str, rate_ids: Iterable[str]) -> list[WrittenTaxCode]:
        """The documents in QuickBooks (not voided there) whose lines carry these Invoiced rates."""
        live = or_(IdMap.content_hash.is_(None), IdMap.content_hash != "voided")
        query = (
            select(WrittenTaxCode)
            .join(IdMap, and_(IdMap.company_key == WrittenTaxCode.company_key,
                              IdMap.object_type == WrittenTaxCode.object_type,
                              IdMap.invoiced_id == WrittenTaxCode.invoiced_id))
            .where(WrittenTaxCode.company_key == company, WrittenTaxCode.rate_id.in_(list(rate_ids)), live)
            .order_by(WrittenTaxCode.object_type, WrittenTaxCode.invoiced_id)
        )
        with self.session() as session:
            return list(session.scalars(query))


def _mapped(row: IdMap) -> MappedRecord:
    return MappedRecord(row.invoiced_id, row.qbo_id, row.sync_token, row.content_hash, row.origin)
