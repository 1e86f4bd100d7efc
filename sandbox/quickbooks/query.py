"""The QBO query language: `SELECT * | COUNT(*) FROM E [WHERE ..] [ORDER BY ..] [STARTPOSITION n] [MAXRESULTS n]`.

Parsing is a small hand-written lexer + recursive descent so errors can point at the
offending token the way Intuit's `QueryParserError: Encountered ...` does. Evaluation
compiles each condition to a predicate once and scans the entity table without copying it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.quickbooks import clock, errors
from sandbox.quickbooks.schema import ACTIVE_FILTERED, EntitySpec, spec_for_name
from sandbox.quickbooks.store import Obj, Realm

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      |(?P<string>'(?:\\.|[^'\\])*')
      |(?P<number>-?\d+(?:\.\d+)?)
      |(?P<op><=|>=|!=|<>|=|<|>)
      |(?P<punct>[(),*])
      |(?P<ident>[A-Za-z_][A-Za-z0-9_.]*)""",
    re.VERBOSE,
)
_KINDS = {"string": "<STRING>", "number": "<INTEGER>", "ident": "<ID>"}
_NESTED = {"metadata": "MetaData", "lastupdatedtime": "LastUpdatedTime", "createtime": "CreateTime"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    column: int

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.upper() in words


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    op: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class ParsedQuery:
    entity: str
    count: bool
    conditions: tuple[Condition, ...]
    order: tuple[tuple[tuple[str, ...], bool], ...]
    start: int | None
    max_results: int | None


def tokenize(text: str) -> list[Token]:
    """Tokens up to the end, or up to an unlexable character (reported only if the parser gets there)."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            tokens.append(Token("error", text[position], position + 1))
            return tokens
        kind = match.lastgroup or "ws"
        if kind != "ws":
            tokens.append(Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(Token("eof", "<EOF>", len(text) + 1))
    return tokens


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def fail(self) -> errors.Fault:
        token = self.current
        if token.kind == "error":
            return errors.query_parse_error(
                f'Lexical error at line 1, column {token.column}.  Encountered: "{token.text}"'
            )
        if token.kind == "eof":
            return errors.query_parse_error(f'Encountered "<EOF>" at line 1, column {token.column}.')
        kind = _KINDS.get(token.kind, f'"{token.text}"')
        return errors.query_parse_error(f'Encountered " {kind} "{token.text} "" at line 1, column {token.column}.')

    def expect_keyword(self, *words: str) -> Token:
        if not self.current.is_keyword(*words):
            raise self.fail()
        return self.advance()

    def expect(self, kind: str, text: str | None = None) -> Token:
        if self.current.kind != kind or (text is not None and self.current.text != text):
            raise self.fail()
        return self.advance()

    def parse(self) -> ParsedQuery:
        self.expect_keyword("SELECT")
        count = self.select_list()
        self.expect_keyword("FROM")
        entity = self.expect("ident").text
        conditions = self.where() if self.current.is_keyword("WHERE") else ()
        order = self.order_by() if self.current.is_keyword("ORDER", "ORDERBY") else ()
        start, max_results = self.paging()
        if self.current.kind != "eof":
            raise self.fail()
        return ParsedQuery(entity, count, conditions, order, start, max_results)

    def select_list(self) -> bool:
        """`*`, `COUNT(*)` or a field list; QBO ignores projections and returns whole objects."""
        if self.current.is_keyword("COUNT"):
            self.advance()
            self.expect("punct", "(")
            self.expect("punct", "*")
            self.expect("punct", ")")
            return True
        self.select_item()
        while self.current.text == ",":
            self.advance()
            self.select_item()
        return False

    def select_item(self) -> None:
        if self.current.text == "*" or (self.current.kind == "ident" and not self.current.is_keyword("FROM")):
            self.advance()
            return
        raise self.fail()

    def where(self) -> tuple[Condition, ...]:
        self.advance()
        conditions = [self.condition()]
        while self.current.is_keyword("AND"):
            self.advance()
            conditions.append(self.condition())
        return tuple(conditions)

    def condition(self) -> Condition:
        path = tuple(self.expect("ident").text.lower().split("."))
        if self.current.is_keyword("IN"):
            self.advance()
            self.expect("punct", "(")
            values = [self.value()]
            while self.current.text == ",":
                self.advance()
                values.append(self.value())
            self.expect("punct", ")")
            return Condition(path, "IN", tuple(values))
        if self.current.is_keyword("LIKE"):
            self.advance()
            return Condition(path, "LIKE", (_unquote(self.expect("string").text),))
        operator = self.expect("op").text
        return Condition(path, "!=" if operator == "<>" else operator, (self.value(),))

    def value(self) -> str:
        token = self.current
        if token.kind == "string":
            self.advance()
            return _unquote(token.text)
        if token.kind == "number" or token.is_keyword("TRUE", "FALSE"):
            self.advance()
            return token.text
        raise self.fail()

    def order_by(self) -> tuple[tuple[tuple[str, ...], bool], ...]:
        if self.advance().text.upper() == "ORDER":
            self.expect_keyword("BY")
        keys = [self.order_key()]
        while self.current.text == ",":
            self.advance()
            keys.append(self.order_key())
        return tuple(keys)

    def order_key(self) -> tuple[tuple[str, ...], bool]:
        path = tuple(self.expect("ident").text.lower().split("."))
        descending = False
        if self.current.is_keyword("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        return path, descending

    def paging(self) -> tuple[int | None, int | None]:
        found: dict[str, int] = {}
        while self.current.is_keyword("STARTPOSITION", "MAXRESULTS"):
            keyword = self.advance().text.upper()
            if keyword in found:
                raise self.fail()
            found[keyword] = int(Decimal(self.expect("number").text))
        return found.get("STARTPOSITION"), found.get("MAXRESULTS")


def _unquote(literal: str) -> str:
    """`'Adam\\'s'` -> `Adam's`: QBO escapes quotes (and backslashes) with a backslash."""
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def parse(text: str) -> ParsedQuery:
    return _Parser(text).parse()


class _Literal:
    """One query value with its number/bool/time readings computed once, not per row."""

    def __init__(self, text: str, tz: tzinfo) -> None:
        self.text = text
        self.folded = text.casefold()
        self.number = _as_decimal(text)
        self.boolean = {"true": True, "false": False}.get(self.folded)
        self.moment = clock.parse_timestamp(text, tz) if len(text) >= 10 and text[4:5] == "-" else None


def _as_decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _matches(stored: Any, op: str, literal: _Literal, tz: tzinfo) -> bool:
    """Compare one stored value with one literal in the type the stored value has."""
    compare = _COMPARE[op]
    if stored is None:
        return False
    if isinstance(stored, bool):
        return literal.boolean is not None and compare(stored, literal.boolean)
    if isinstance(stored, int | float):
        return literal.number is not None and compare(Decimal(str(stored)), literal.number)
    text = str(stored)
    if literal.moment is not None and len(text) > 10 and text[10:11] == "T":
        moment = clock.parse_timestamp(text, tz)
        return moment is not None and compare(moment, literal.moment)
    return compare(text.casefold(), literal.folded)


def _like(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(part) for part in pattern.split("%"))
    return re.compile(".*".join(parts), re.IGNORECASE | re.DOTALL)


class _Fields:
    """Resolves dotted, case-insensitive paths against one entity's field names."""

    def __init__(self, spec: EntitySpec) -> None:
        self.spec = spec
        self.canonical = {name.lower(): name for name in spec.known}

    def path(self, path: tuple[str, ...]) -> tuple[str, ...]:
        head = self.canonical.get(path[0])
        if head is None:
            raise errors.query_invalid(f"property '{'.'.join(path)}' is not queryable")
        return (head, *(_NESTED.get(part, part) for part in path[1:]))

    @staticmethod
    def resolve(row: Obj, path: tuple[str, ...]) -> Any:
        value: Any = row
        for part in path:
            if not isinstance(value, dict):
                return None
            found = value.get(part)
            if found is None:
                found = next((v for k, v in value.items() if k.lower() == part.lower()), None)
            value = found
        if isinstance(value, dict):
            return value.get("value")
        return value


def _predicate(fields: _Fields, condition: Condition, tz: tzinfo) -> Callable[[Obj], bool]:
    path = fields.path(condition.path)
    resolve = fields.resolve
    if condition.op == "LIKE":
        regex = _like(condition.values[0])
        return lambda row: isinstance(value := resolve(row, path), str) and regex.fullmatch(value) is not None
    literals = [_Literal(value, tz) for value in condition.values]
    op = "=" if condition.op == "IN" else condition.op
    return lambda row: any(_matches(resolve(row, path), op, literal, tz) for literal in literals)


def _sort_key(value: Any, numeric: bool) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (2, value)
    if numeric and str(value).isdigit():
        return (2, int(value))
    text = str(value)
    if len(text) > 10 and text[10:11] == "T" and (moment := clock.parse_timestamp(text, timezone.utc)) is not None:
        return (4, moment.timestamp())  # instants, not strings: offsets change with DST
    return (3, text.casefold())


def _order_key(fields: _Fields, path: tuple[str, ...]) -> Callable[[Obj], tuple[int, Any]]:
    """Ids and reference values sort as numbers, everything else in its own type."""
    numeric = path[-1] == "Id" or path[0].endswith("Ref")
    return lambda row: _sort_key(fields.resolve(row, path), numeric)


def _candidates(realm: Realm, spec: EntitySpec, conditions: Iterable[Condition]) -> list[Obj] | None:
    """`Id = x` / `Id IN (..)` read the index instead of scanning the table."""
    for condition in conditions:
        if condition.path == ("id",) and condition.op in ("=", "IN"):
            rows = (realm.get(spec.name, value) for value in dict.fromkeys(condition.values))
            return sorted((row for row in rows if row is not None), key=lambda row: _sort_key(row["Id"], True))
    return None


def _page_bounds(query: ParsedQuery, default: int, cap: int) -> tuple[int, int]:
    start = max(query.start or 1, 1)
    wanted = query.max_results if query.max_results is not None else default
    return start, min(max(wanted, 1), cap)


def execute(realm: Realm, text: str, tz: tzinfo, default_max: int, max_cap: int) -> dict[str, Any]:
    """Run one query; returns the `QueryResponse` object."""
    query = parse(text)
    spec = spec_for_name(query.entity)
    if spec is None:
        raise errors.query_invalid(f"Invalid context declaration : {query.entity}")
    fields = _Fields(spec)
    conditions = list(query.conditions)
    if spec.name in ACTIVE_FILTERED and not any(c.path[0] == "active" for c in conditions):
        conditions.append(Condition(("active",), "=", ("true",)))
    predicates = [_predicate(fields, condition, tz) for condition in conditions]
    order = [(fields.path(path), descending) for path, descending in query.order]
    with realm.lock:
        source = _candidates(realm, spec, conditions)
        rows = source if source is not None else realm.rows(spec.name)
        matches = [row for row in rows if all(predicate(row) for predicate in predicates)]
    if query.count:
        return {"totalCount": len(matches)}
    for path, descending in reversed(order):
        matches.sort(key=_order_key(fields, path), reverse=descending)
    start, limit = _page_bounds(query, default_max, max_cap)
    page = matches[start - 1 : start - 1 + limit]
    if not page:
        return {}
    return {spec.name: page, "startPosition": start, "maxResults": len(page)}
