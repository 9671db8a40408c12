"""The card-query compiler: a query spec becomes ONE parameterized SELECT over a dataset's table.

Spec vocabulary (shared with the card config schemas):
  dimensions [{column, bucket?}]   GROUP BY; bucket day|week|month|quarter|year on date/datetime
  metrics    [{agg, column?, label?}]   count count_distinct sum avg min max
  columns    [name]               raw mode: rows as stored (no dimensions, no metrics)
  filters    [{column, op, value?}]     value: literal | list | {"param": name}
  sort       [{by, direction}]    by an output name; ties fall back to dimensions / insertion order
  limit (default 1000, at most 10000), offset

Values only ever travel as bound parameters; column names only as the dataset's safe keys; the
few SQL literals (bucket formats, ESCAPE) are constants of this module. Results are the same on
SQLite and PostgreSQL: a NULL cell matches no comparison (only is_null); NULLs sort last
ascending and first descending; avg is SUM/COUNT in double precision on both; contains and
starts_with ignore ASCII case only (neither backend lowers other letters the same way); sums
and averages of number columns are given to 15 significant digits, because their last bits
depend on the order in which a backend adds (PostgreSQL may add in parallel workers).
"""

import json
from dataclasses import dataclass
from typing import Any

import peewee
from peewee import SQL, fn

from models.dataset_tables import coerce_value, json_value, pointer, rows_model, storage_value
from models.datasets import Dataset
from models.db import is_sqlite
from models.errors import InvalidQuery

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000
BUCKETS = ("day", "week", "month", "quarter", "year")
AGGS = ("count", "count_distinct", "sum", "avg", "min", "max")
OPS = (
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "between",
    "is_null",
    "not_null",
)

_ANY = ("string", "integer", "number", "boolean", "date", "datetime")
_ORDERED = ("string", "integer", "number", "date", "datetime")
_AGG_TYPES = {
    "count": _ANY,
    "count_distinct": _ANY,
    "sum": ("integer", "number"),
    "avg": ("integer", "number"),
    "min": _ORDERED,
    "max": _ORDERED,
}
_OP_TYPES = {
    "eq": _ANY,
    "ne": _ANY,
    "in": _ANY,
    "not_in": _ANY,
    "is_null": _ANY,
    "not_null": _ANY,
    "gt": _ORDERED,
    "gte": _ORDERED,
    "lt": _ORDERED,
    "lte": _ORDERED,
    "between": _ORDERED,
    "contains": ("string",),
    "starts_with": ("string",),
}
_COMPARISONS = {"eq": "__eq__", "ne": "__ne__", "gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


Spec = dict[str, Any]
Column = dict[str, Any]  # a dataset column: {name, type, key}


def _significant(value: Any) -> float | None:
    return None if value is None else float(f"{float(value):.15g}")


@dataclass(frozen=True)
class CompiledQuery:
    query: peewee.Select
    columns: list[dict[str, str]]  # [{name, type}] in select order
    cache_key: str
    rounded: tuple[bool, ...] = ()  # per column: is it a float sum or average (see the module docstring)?

    def fetch(self) -> list[list[Any]]:
        """Run the query; rows of JSON-ready values."""
        converters = [
            _significant if rounded else (lambda v, t=column["type"]: json_value(t, v))
            for column, rounded in zip(self.columns, self.rounded)
        ]
        return [[convert(v) for convert, v in zip(converters, row)] for row in self.query.tuples()]

    def count(self) -> int:
        """How many rows the query has without its limit (groups, for a grouped query)."""
        return self.query.clone().order_by().limit(None).offset(None).count()


@dataclass(frozen=True)
class _Output:
    name: str
    type: str
    expr: peewee.ColumnBase
    alias: str = ""
    rounded: bool = False
    path: str = ""  # the spec item it comes from, for errors


class _Context:
    """What compiling one spec needs: the table, columns by name, params, and the errors so far."""

    def __init__(self, dataset: Dataset, params: dict[str, Any] | None) -> None:
        self.model = rows_model(dataset)
        self.columns: dict[str, Column] = {column["name"]: column for column in dataset.columns}
        self.params = params or {}
        self.sqlite = is_sqlite()
        self.errors: list[dict[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})

    def column(self, name: Any, path: str, types: tuple[str, ...] = _ANY, what: str | None = None) -> Column | None:
        """The dataset column `name`, or None after recording why it cannot be used here; `what`
        (an aggregate or operator) names what `types` restricts."""
        column = self.columns.get(name) if isinstance(name, str) else None
        if column is None:
            self.error(path, f"unknown column {name!r}")
        elif column["type"] not in types:
            self.error(path, f"{what} does not apply to the {column['type']} column {name!r}")
            return None
        return column

    def field(self, column: Column) -> peewee.Field:
        return getattr(self.model, column["key"])


def _items(spec: Spec, key: str, ctx: _Context) -> list[tuple[int, dict[str, Any]]]:
    """(index, object) pairs of the list `spec[key]`; a wrong shape is recorded as an error."""
    items = spec.get(key) or []
    if not isinstance(items, list):
        ctx.error(pointer(key), "expected a list")
        return []
    good = []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            good.append((index, item))
        else:
            ctx.error(pointer(key, index), "expected an object")
    return good


# --- select list ----------------------------------------------------------------------------


def _bucket_sqlite(field: peewee.Field, bucket: str) -> peewee.ColumnBase:
    if bucket == "day":
        return fn.date(field)
    if bucket == "week":  # to the next Sunday (or stay), then back to its Monday
        return fn.date(field, SQL("'weekday 0'"), SQL("'-6 days'"))
    if bucket == "month":
        return fn.strftime(SQL("'%Y-%m-01'"), field)
    if bucket == "quarter":
        month = fn.strftime(SQL("'%m'"), field).cast("INTEGER")
        months_in = peewee.Expression(month - SQL("1"), "%", SQL("3"))
        return fn.date(field, SQL("'start of month'"), fn.printf(SQL("'-%d months'"), months_in))
    return fn.strftime(SQL("'%Y-01-01'"), field)


def _bucket_postgres(field: peewee.Field, bucket: str) -> peewee.ColumnBase:
    # Literals, not parameters: PostgreSQL matches GROUP BY expressions by their text.
    truncated = fn.date_trunc(SQL(f"'{bucket}'"), field.cast("timestamp"))
    return fn.to_char(truncated, SQL("'YYYY-MM-DD'"))


def _dimension_outputs(spec: Spec, ctx: _Context) -> list[_Output]:
    outputs = []
    for index, item in _items(spec, "dimensions", ctx):
        column = ctx.column(item.get("column"), pointer("dimensions", index, "column"))
        bucket = item.get("bucket")
        if column is None:
            continue
        if bucket is None:
            outputs.append(
                _Output(column["name"], column["type"], ctx.field(column), path=pointer("dimensions", index))
            )
        elif bucket not in BUCKETS:
            ctx.error(pointer("dimensions", index, "bucket"), f"expected one of {', '.join(BUCKETS)}")
        elif column["type"] not in ("date", "datetime"):
            ctx.error(
                pointer("dimensions", index, "bucket"),
                f"a bucket needs a date or datetime column, {column['name']!r} is {column['type']}",
            )
        else:
            expr = (_bucket_sqlite if ctx.sqlite else _bucket_postgres)(ctx.field(column), bucket)
            outputs.append(_Output(column["name"], "date", expr, path=pointer("dimensions", index)))
    return outputs


def _metric_expr(agg: str, field: peewee.Field | None, ctx: _Context) -> peewee.ColumnBase:
    if agg == "count":
        return fn.COUNT(field if field is not None else SQL("*"))
    if agg == "count_distinct":
        return fn.COUNT(fn.DISTINCT(field))
    if agg == "avg":
        # SUM/COUNT in double precision: PostgreSQL's avg() is numeric and may round differently.
        total = fn.SUM(field).cast("REAL" if ctx.sqlite else "DOUBLE PRECISION")
        return total / fn.NULLIF(fn.COUNT(field), SQL("0"))
    return getattr(fn, agg.upper())(field)


def _metric_type(agg: str, column: Column) -> str:
    if agg in ("count", "count_distinct"):
        return "integer"
    return "number" if agg == "avg" else column["type"]


def _metric_output(index: int, item: dict[str, Any], ctx: _Context) -> _Output | None:
    agg, name, label = item.get("agg"), item.get("column"), item.get("label")
    path = pointer("metrics", index)
    if agg not in AGGS:
        ctx.error(path + "/agg", f"expected one of {', '.join(AGGS)}")
        return None
    if label is not None and (not isinstance(label, str) or not label):
        ctx.error(path + "/label", "expected a non-empty string")
        return None
    if name is None and agg == "count":
        return _Output(label or "count", "integer", _metric_expr(agg, None, ctx), path=path)
    column = ctx.column(name, path + "/column", _AGG_TYPES[agg], what=agg)
    if column is None:
        return None
    expr = _metric_expr(agg, ctx.field(column), ctx)
    rounded = agg == "avg" or (agg == "sum" and column["type"] == "number")
    name = label or f"{agg}_{column['name']}"
    return _Output(name, _metric_type(agg, column), expr, rounded=rounded, path=path)


def _metric_outputs(spec: Spec, ctx: _Context) -> list[_Output]:
    outputs = [_metric_output(index, item, ctx) for index, item in _items(spec, "metrics", ctx)]
    return [output for output in outputs if output is not None]


def _raw_outputs(spec: Spec, ctx: _Context) -> list[_Output]:
    names = spec.get("columns")
    if names is None:
        names = list(ctx.columns)
    if not isinstance(names, list) or not names:
        ctx.error("/columns", "expected a non-empty list of column names")
        return []
    outputs = []
    for index, name in enumerate(names):
        column = ctx.column(name, pointer("columns", index))
        if column is not None:
            outputs.append(_Output(column["name"], column["type"], ctx.field(column), path=pointer("columns", index)))
    return outputs


def _outputs(spec: Spec, ctx: _Context) -> tuple[bool, int, list[_Output]]:
    """(raw mode?, dimension count, outputs aliased o0, o1, …) — aliases keep names out of SQL."""
    grouped = bool(spec.get("dimensions") or spec.get("metrics"))
    if grouped and spec.get("columns") is not None:
        ctx.error("/columns", "columns (raw rows) cannot be combined with dimensions or metrics")
    dimensions = _dimension_outputs(spec, ctx) if grouped else []
    outputs = dimensions + _metric_outputs(spec, ctx) if grouped else _raw_outputs(spec, ctx)
    seen = set()
    for output in outputs:
        if output.name in seen:
            ctx.error(
                output.path, f"another output column is already named {output.name!r} (a metric can take a label)"
            )
        seen.add(output.name)
    return (
        not grouped,
        len(dimensions),
        [_Output(o.name, o.type, o.expr, f"o{i}", o.rounded, o.path) for i, o in enumerate(outputs)],
    )


# --- filters --------------------------------------------------------------------------------


def _resolve(value: Any, ctx: _Context, path: str) -> tuple[bool, Any]:
    """(has a value?, value): a {"param": name} takes the param's value; no value drops the filter."""
    if isinstance(value, dict):
        name = value.get("param")
        if set(value) != {"param"} or not isinstance(name, str):
            ctx.error(path, 'expected a literal, a list or {"param": "<name>"}')
            return False, None
        value = ctx.params.get(name)
        return value not in (None, []), value
    return True, value


def _typed(column: Column, value: Any, ctx: _Context, path: str) -> Any:
    try:
        if value is None:
            raise ValueError("null is not a value here (use is_null / not_null)")
        return storage_value(column["type"], coerce_value(column["type"], value), ctx.sqlite)
    except ValueError as exc:
        ctx.error(path, f"{exc} for the {column['type']} column {column['name']!r}")
        return None


def _typed_list(
    column: Column, value: Any, ctx: _Context, path: str, size: int | None = None, from_param: bool = False
) -> list[Any] | None:
    if from_param and not isinstance(value, (list, tuple)):
        value = [value]
    if not isinstance(value, (list, tuple)) or (size is not None and len(value) != size):
        ctx.error(path, "expected a list" + (f" of {size} values" if size else ""))
        return None
    typed = [_typed(column, item, ctx, f"{path}/{i}") for i, item in enumerate(value)]
    return None if None in typed else typed


def _like(field: peewee.Field, text: Any, ctx: _Context, path: str, prefix: bool) -> peewee.NodeList | None:
    if not isinstance(text, str):
        ctx.error(path, "expected a string")
        return None
    escaped = text.translate(_ASCII_LOWER).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = escaped + "%" if prefix else "%" + escaped + "%"
    # lower() on both sides of LIKE: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    # Spelled as SQL("LIKE") because Peewee turns its LIKE operator into GLOB on SQLite.
    return peewee.NodeList((fn.lower(field), SQL("LIKE"), pattern, SQL("ESCAPE '\\'")), parens=True)


def _condition(op: str, column: Column, value: Any, ctx: _Context, path: str, from_param: bool) -> peewee.Node | None:
    field = ctx.field(column)
    if op in ("in", "not_in"):
        values = _typed_list(column, value, ctx, path, from_param=from_param)
        if values is None:
            return None
        if op == "in":
            return field.in_(values)
        # NOT IN () would keep NULL cells; a NULL cell matches no comparison, so say so.
        return field.not_in(values) if values else field.is_null(False)
    if op == "between":
        bounds = _typed_list(column, value, ctx, path, size=2)
        return None if bounds is None else field.between(*bounds)
    if op in ("contains", "starts_with"):
        return _like(field, value, ctx, path, prefix=op == "starts_with")
    typed = _typed(column, value, ctx, path)
    return None if typed is None else getattr(field, _COMPARISONS[op])(typed)


def _filter(index: int, item: dict[str, Any], ctx: _Context) -> peewee.Node | None:
    path = pointer("filters", index)
    op = item.get("op")
    if op not in OPS:
        ctx.error(path + "/op", f"expected one of {', '.join(OPS)}")
        return None
    column = ctx.column(item.get("column"), path + "/column", _OP_TYPES[op], what=op)
    if column is None:
        return None
    if op in ("is_null", "not_null"):
        return ctx.field(column).is_null(op == "is_null")
    if "value" not in item:
        ctx.error(path + "/value", f"{op} needs a value")
        return None
    present, value = _resolve(item["value"], ctx, path + "/value")
    if not present:
        return None
    return _condition(op, column, value, ctx, path + "/value", isinstance(item["value"], dict))


def _filters(spec: Spec, ctx: _Context) -> list[peewee.Node]:
    conditions = [_filter(index, item, ctx) for index, item in _items(spec, "filters", ctx)]
    return [condition for condition in conditions if condition is not None]


# --- order and paging -----------------------------------------------------------------------


def _ordering(node: peewee.ColumnBase, direction: str) -> peewee.Ordering:
    # Descending is the exact reverse of ascending, NULLs included.
    return node.asc(nulls="LAST") if direction == "asc" else node.desc(nulls="FIRST")


def _sort_key(
    index: int, item: dict[str, Any], raw: bool, outputs: list[_Output], ctx: _Context
) -> peewee.Ordering | None:
    path = pointer("sort", index)
    direction = item.get("direction", "asc")
    if direction not in ("asc", "desc"):
        ctx.error(path + "/direction", "expected asc or desc")
        return None
    by = item.get("by")
    output = next((o for o in outputs if o.name == by), None)
    if output is not None:
        return _ordering(peewee.Entity(output.alias), direction)
    if raw and isinstance(by, str) and by in ctx.columns:  # raw rows may sort by any column
        return _ordering(ctx.field(ctx.columns[by]), direction)
    ctx.error(path + "/by", f"unknown output column {by!r}")
    return None


def _order(spec: Spec, raw: bool, outputs: list[_Output], dimension_count: int, ctx: _Context) -> list[peewee.Ordering]:
    keys = [_sort_key(index, item, raw, outputs, ctx) for index, item in _items(spec, "sort", ctx)]
    # Tie-breakers make results deterministic: groups are unique by their dimensions, rows by _rid.
    if raw:
        keys.append(ctx.model.rid.asc())
    else:
        keys.extend(_ordering(peewee.Entity(o.alias), "asc") for o in outputs[:dimension_count])
    return [key for key in keys if key is not None]


def _count(spec: Spec, key: str, default: int, minimum: int, ctx: _Context) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        ctx.error(pointer(key), f"expected an integer >= {minimum}")
        return default
    return value


# --- public API -----------------------------------------------------------------------------


def _cache_key(dataset: Dataset, query: peewee.Select) -> str:
    sql, params = query.sql()
    return json.dumps([dataset.version, sql, params], default=str, ensure_ascii=False)


def compile_query(dataset: Dataset, spec: Any, params: dict[str, Any] | None = None) -> CompiledQuery:
    """Compile `spec` over `dataset` (see the module docstring); InvalidQuery names what is wrong.

    `params` maps parameter names to already typed values; a filter whose param has no value
    (absent, None or an empty list) is left out. The cache key holds the dataset version, the SQL
    text and its parameters, so it changes whenever the result could.
    """
    if not isinstance(spec, dict):
        raise InvalidQuery(errors=[{"path": "", "message": "expected an object"}])
    ctx = _Context(dataset, params)
    raw, dimension_count, outputs = _outputs(spec, ctx)
    conditions = _filters(spec, ctx)
    order = _order(spec, raw, outputs, dimension_count, ctx)
    limit = min(_count(spec, "limit", DEFAULT_LIMIT, 1, ctx), MAX_LIMIT)
    offset = _count(spec, "offset", 0, 0, ctx)
    if ctx.errors:
        raise InvalidQuery(f"The query is invalid ({ctx.errors[0]['message']}).", errors=ctx.errors)
    query = ctx.model.select(*[o.expr.alias(o.alias) for o in outputs])
    if conditions:
        query = query.where(*conditions)
    if dimension_count:
        query = query.group_by(*[o.expr for o in outputs[:dimension_count]])
    query = query.order_by(*order).limit(limit).offset(offset or None)
    columns = [{"name": o.name, "type": o.type} for o in outputs]
    return CompiledQuery(query, columns, _cache_key(dataset, query), tuple(o.rounded for o in outputs))


def run_query(dataset: Dataset, spec: Any, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run `spec`: `{"columns": [{name, type}], "rows": [[JSON values], …]}`."""
    compiled = compile_query(dataset, spec, params)
    return {"columns": compiled.columns, "rows": compiled.fetch()}
