"""List endpoints: parameters, filters, sorting, pagination and the Link header.

Mirrors the service's AbstractListModelsApiRoute: ``per_page`` clamped to 1..100, the
``X-Total-Count``/``Link`` headers, strict ``updated_after``/``updated_before``, and the
rule that default-sorted pages past offset 10,000 need the preceding page first.
"""

from __future__ import annotations

import bisect
import operator
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlencode

from sandbox.invoiced.errors import invalid
from sandbox.invoiced.money import to_decimal

DEFAULT_PER_PAGE = 100
METADATA_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]*$")
_BRACKETED = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")

Getter = Callable[[Any], Any]
QueryPairs = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class FieldSpec:
    """A filterable/sortable property: how to read it and how to parse filter values."""

    kind: str
    getter: Getter


@dataclass(frozen=True)
class Listing:
    """What one list endpoint supports."""

    fields: Mapping[str, FieldSpec]
    dated: bool = False
    due_date_column: bool = False
    integer_ids: bool = True


@dataclass
class ListQuery:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    filters: list[tuple[str, str]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    sort: list[tuple[str, bool]] = field(default_factory=list)
    updated_after: int = 0
    updated_before: int = 0
    start_date: int = 0
    end_date: int = 0
    date_column: str = "date"

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def attr(name: str) -> Getter:
    return lambda record: getattr(record, name)


def split_bracketed(key: str) -> tuple[str, list[str]]:
    """``filter[status]`` -> (``filter``, [``status``]); ``a[b][]`` -> (``a``, [``b``, ``""``])."""
    match = _BRACKETED.match(key)
    if not match:
        return key, []
    return match.group(1), re.findall(r"\[([^\[\]]*)\]", match.group(2))


def php_int(value: str) -> int:
    """PHP's ``(int)`` cast: leading digits count, anything else is 0."""
    match = re.match(r"\s*[+-]?\d+", value)
    return int(match.group(0)) if match else 0


def _clamp_per_page(raw: str | None, maximum: int) -> int:
    per_page = php_int(raw) if raw not in (None, "", "0") else DEFAULT_PER_PAGE
    return max(1, min(maximum, per_page))


def _parse_sort(raw: str, listing: Listing) -> list[tuple[str, bool]]:
    """Unknown sort fields are dropped silently, as the service does; ``id asc`` always ends
    the sort as its tiebreak (AbstractListQueryBuilder::setSort), so an ``id`` clause ends it
    here: ``id desc`` sorts descending, ``id asc`` alone is the default order."""
    sort: list[tuple[str, bool]] = []
    for clause in raw.split(","):
        parts = clause.split()
        if not parts or parts[0] not in listing.fields:
            continue
        descending = len(parts) > 1 and parts[1].lower() == "desc"
        if parts[0] == "id":
            if descending:
                sort.append(("id", True))
            break  # ids are unique: nothing after an id clause can reorder the rows
        sort.append((parts[0], descending))
    return sort


def parse_list_query(pairs: QueryPairs, listing: Listing, per_page_max: int) -> ListQuery:
    query = ListQuery()
    scalars: dict[str, str] = {}
    for key, value in pairs:
        root, path = split_bracketed(key)
        if root == "filter" and path:
            if len(path) > 1:
                raise invalid(f"Invalid value for `{path[0]}` filter parameter")
            query.filters.append((path[0], value))
        elif root == "metadata" and len(path) == 1 and METADATA_KEY_PATTERN.match(path[0]) and path[0]:
            query.metadata[path[0]] = value
        elif not path:
            scalars[key] = value
    query.per_page = _clamp_per_page(scalars.get("per_page"), per_page_max)
    query.page = max(1, php_int(scalars.get("page", "1")) or 1)
    query.sort = _parse_sort(scalars.get("sort", ""), listing)
    query.updated_after = max(0, php_int(scalars.get("updated_after", "0")))
    query.updated_before = max(0, php_int(scalars.get("updated_before", "0")))
    if listing.dated:
        query.start_date = max(0, php_int(scalars.get("start_date", "0")))
        query.end_date = max(0, php_int(scalars.get("end_date", "0")))
        if listing.due_date_column and scalars.get("date_column") == "due_date":
            query.date_column = "due_date"
    return query


def _parse_timestamp(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        parsed = date.fromisoformat(value[:10])
        return int(datetime(parsed.year, parsed.month, parsed.day, tzinfo=timezone.utc).timestamp())


def _filter_value(name: str, spec: FieldSpec, raw: str, case_insensitive: bool) -> Any:
    """Parse a filter value for the property type; blank means "is empty"."""
    if raw == "":
        return None
    try:
        if spec.kind == "boolean":
            return raw.lower() in ("1", "true", "yes")
        if spec.kind == "integer":
            return int(raw)
        if spec.kind == "timestamp":
            return _parse_timestamp(raw)
        if spec.kind == "money":
            return to_decimal(raw)
    except ValueError as exc:
        raise invalid(f"Invalid value for `{name}` filter parameter") from exc
    return raw.lower() if case_insensitive else raw


def _normalize(value: Any, case_insensitive: bool) -> Any:
    if isinstance(value, str) and case_insensitive:
        return value.lower()
    return value


def build_predicates(
    query: ListQuery, listing: Listing, case_insensitive: bool
) -> list[Callable[[Any], bool]]:
    predicates: list[Callable[[Any], bool]] = []
    for name, raw in query.filters:
        spec = listing.fields.get(name)
        if spec is None:
            raise invalid(f"Invalid filter parameter: {name}")
        wanted = _filter_value(name, spec, raw, case_insensitive)
        predicates.append(_equals(spec.getter, wanted, case_insensitive))
    for key, value in query.metadata.items():
        predicates.append(_metadata_equals(key, value))
    bounds = (
        ("updated_at", query.updated_after, operator.gt),
        ("updated_at", query.updated_before, operator.lt),
        (query.date_column, query.start_date, operator.ge),
        (query.date_column, query.end_date, operator.le),
    )
    for column, bound, compare in bounds:
        if bound:
            predicates.append(_bounded(column, bound, compare))
    return predicates


def _metadata_equals(key: str, value: str) -> Callable[[Any], bool]:
    """Records without the key never match; values compare as text."""
    return lambda record: key in record.metadata and str(record.metadata[key]) == value


def _bounded(column: str, bound: int, compare: Callable[[int, int], bool]) -> Callable[[Any], bool]:
    """``updated_after``/``before`` are strict, ``start_date``/``end_date`` inclusive."""
    return lambda record: compare(getattr(record, column) or 0, bound)


def _equals(getter: Getter, wanted: Any, case_insensitive: bool) -> Callable[[Any], bool]:
    if wanted is None:
        return lambda record: getter(record) in (None, "")
    return lambda record: _normalize(getter(record), case_insensitive) == wanted


def _sort_key(getter: Getter) -> Callable[[Any], tuple[bool, Any]]:
    """NULLs sort first ascending and last descending, as in MySQL."""

    def key(record: Any) -> tuple[bool, Any]:
        value = getter(record)
        return value is not None, value if value is not None else 0

    return key


def select(records: Iterable[Any], query: ListQuery, listing: Listing, case_insensitive: bool) -> list[Any]:
    """Filter then sort; the input is in default (``id asc``) order, and sorts are stable."""
    predicates = build_predicates(query, listing, case_insensitive)
    matches = [record for record in records if all(check(record) for check in predicates)]
    for name, descending in reversed(query.sort):
        matches.sort(key=_sort_key(listing.fields[name].getter), reverse=descending)
    return matches


class PaginationCursors:
    """Last id of each default-sorted page, kept 5 minutes like the service's ApiCache."""

    def __init__(self, ttl_seconds: int) -> None:
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._cursors: dict[tuple[str, int], tuple[Any, float]] = {}

    def get(self, signature: str, offset: int) -> Any:
        with self._lock:
            entry = self._cursors.get((signature, offset))
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, signature: str, offset: int, cursor: Any) -> None:
        with self._lock:
            self._cursors[(signature, offset)] = (cursor, time.monotonic() + self._ttl)

    def clear(self) -> None:
        with self._lock:
            self._cursors.clear()


@dataclass(frozen=True)
class Page:
    records: list[Any]
    total: int
    last_page: int


def paginate(
    matches: list[Any],
    query: ListQuery,
    listing: Listing,
    cursors: PaginationCursors,
    signature: str,
    cursor_required_offset: int | None,
) -> Page:
    """Slice one page; default-sorted pages continue after the previous page's last id."""
    total = len(matches)
    last_page = max(1, -(-total // query.per_page))
    start = query.offset
    uses_cursor = not query.sort and listing.integer_ids
    if uses_cursor and query.offset > 0:
        cursor = cursors.get(signature, query.offset)
        if cursor is None and cursor_required_offset is not None and query.offset >= cursor_required_offset:
            raise invalid("You must retrieve all preceding page numbers before retrieving this page.")
        if cursor is not None:
            start = bisect.bisect_right([record.id for record in matches], cursor)
    records = matches[start : start + query.per_page]
    if uses_cursor and records:
        cursors.put(signature, query.page * query.per_page, records[-1].id)
    return Page(records=records, total=total, last_page=last_page)


def query_signature(path: str, pairs: QueryPairs) -> str:
    """Identifies "the same list" across pages: everything but page and per_page."""
    kept = sorted((key, value) for key, value in pairs if key not in ("page", "per_page"))
    return f"{path}?{urlencode(kept)}"


def link_header(base_url: str, pairs: QueryPairs, page: int, per_page: int, last_page: int) -> str:
    """self, first, previous (page > 1), next (page < last), last; per_page only if not 100."""
    params: dict[str, str] = {}
    for key, value in pairs:
        if key != "per_page":
            params[key] = value
    if per_page != DEFAULT_PER_PAGE:
        params["per_page"] = str(per_page)

    def link(number: int) -> str:
        return f"<{base_url}?{urlencode({**params, 'page': str(number)})}>"

    rels = [("self", page), ("first", 1)]
    if page > 1:
        rels.append(("previous", page - 1))
    if page < last_page:
        rels.append(("next", page + 1))
    rels.append(("last", last_page))
    return ", ".join(f'{link(number)}; rel="{rel}"' for rel, number in rels)
