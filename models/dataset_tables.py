"""Physical storage of datasets: one real SQL table per dataset, typed, built with Peewee.

Column names are user text and never reach SQL: each column is stored under a key (`c0`, `c1`,
…) that `normalize_columns` assigns. Values are coerced here, once, into the representation the
backend stores, so that comparisons, grouping and sorting behave alike on SQLite and PostgreSQL:
- SQLite keeps dates as `YYYY-MM-DD` text and datetimes as fixed-width
  `YYYY-MM-DD HH:MM:SS.ffffff` text (UTC), so text order is time order;
- PostgreSQL keeps `date`, `timestamp` (UTC, no time zone) and text with the "C" collation, so
  strings compare by code point exactly as SQLite's BINARY collation does.
"""

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any

import peewee

from models.base import utcnow
from models.datasets import COLUMN_TYPES, Dataset
from models.db import database, is_sqlite, write_transaction
from models.errors import InvalidColumns, InvalidRequest, InvalidRows
from models.identity import Project

MAX_NAME_LENGTH = 255
MAX_ERRORS = 20
IMPORT_BATCH_ROWS = 10_000
INFER_SAMPLE_ROWS = 1000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
ROW_ID = "_rid"

# A cell (a CSV field, or a string in JSON rows) holds at most this many characters; set from
# MAX_CELL_CHARS by configure(). The csv module's own field limit is raised far above it, so that
# this module, not the csv module, refuses a long cell and names its row and column.
MAX_CELL_CHARS = 131_072
CSV_FIELD_LIMIT = 16 * 1024 * 1024

_KEY_RE = re.compile(r"^c[0-9]+$")
_INT_RE = re.compile(r"^[+-]?[0-9]+$")
_NUMBER_RE = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATETIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}.*)?$")

Column = dict[str, Any]  # {name, type, key}
Progress = Callable[[int], object]


def configure(max_cell_chars: int) -> None:
    """Set the longest cell accepted (called once by create_app and the command line)."""
    global MAX_CELL_CHARS
    MAX_CELL_CHARS = max_cell_chars
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT, 2 * max_cell_chars))


csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))


def pointer(*parts: str | int) -> str:
    """A JSON Pointer (RFC 6901) to a place in a request body; column names may hold '/' or '~'."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


# --- columns --------------------------------------------------------------------------------


def normalize_columns(columns: Any) -> list[Column]:
    """Validate `[{name, type}]` and return `[{name, type, key}]` with safe keys c0, c1, …."""
    errors: list[dict[str, str]] = []
    if not isinstance(columns, list) or not columns:
        raise InvalidColumns(
            "A dataset needs at least one column.",
            errors=[{"path": "/columns", "message": "expected a non-empty list"}],
        )
    seen: set[str] = set()
    for index, column in enumerate(columns):
        errors.extend(_column_errors(index, column, seen))
    if errors:
        raise InvalidColumns("The columns are invalid.", errors=errors)
    return [{"name": c["name"], "type": c["type"], "key": f"c{i}"} for i, c in enumerate(columns)]


def _column_errors(index: int, column: Any, seen: set[str]) -> list[dict[str, str]]:
    if not isinstance(column, dict):
        return [{"path": pointer("columns", index), "message": "expected an object {name, type}"}]
    errors = []
    name = column.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH:
        errors.append(
            {
                "path": pointer("columns", index, "name"),
                "message": f"expected a name of 1 to {MAX_NAME_LENGTH} characters",
            }
        )
    elif "\x00" in name:
        errors.append({"path": pointer("columns", index, "name"), "message": "NUL is not allowed"})
    elif name in seen:
        errors.append({"path": pointer("columns", index, "name"), "message": f"duplicate column name {name!r}"})
    else:
        seen.add(name)
    if column.get("type") not in COLUMN_TYPES:
        errors.append(
            {"path": pointer("columns", index, "type"), "message": f"expected one of {', '.join(COLUMN_TYPES)}"}
        )
    return errors


# --- values ---------------------------------------------------------------------------------


def _coerce_string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


def _coerce_integer(value: Any) -> int:
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected an integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("integer out of the 64-bit range")
    return value


def _coerce_number(value: Any) -> float:
    if isinstance(value, str) and _NUMBER_RE.match(value.strip()):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError("expected a number")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError("number out of range") from None
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    return value + 0.0  # folds -0.0 into 0.0, so grouping never shows two zeros


def _coerce_boolean(value: Any) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _coerce_date(value: Any) -> date:
    if isinstance(value, str) and _DATE_RE.match(value.strip()):
        value = date.fromisoformat(value.strip())
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError("expected a date YYYY-MM-DD")
    return value


def _coerce_datetime(value: Any) -> datetime:
    if isinstance(value, str) and _DATETIME_RE.match(value.strip()):
        value = datetime.fromisoformat(value.strip())
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise ValueError("expected an ISO 8601 datetime")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


_COERCERS: dict[str, Callable[[Any], Any]] = {
    "string": _coerce_string,
    "integer": _coerce_integer,
    "number": _coerce_number,
    "boolean": _coerce_boolean,
    "date": _coerce_date,
    "datetime": _coerce_datetime,
}


def coerce_value(column_type: str, value: Any) -> Any:
    """The Python value of `value` for a column of `column_type`; ValueError says why it does not fit.

    Accepts JSON values, the text of a CSV field and already-typed Python values (dates, datetimes).
    """
    if value is None:
        return None
    try:
        return _COERCERS[column_type](value)
    except (ValueError, OverflowError) as exc:
        raise ValueError(str(exc) or "invalid value") from None


def storage_value(column_type: str, value: Any, sqlite: bool) -> Any:
    """The value bound to SQL for an already coerced Python value (see the module docstring)."""
    if value is None or not sqlite:
        return value
    if column_type == "date":
        return value.isoformat()
    if column_type == "datetime":
        return value.isoformat(" ", timespec="microseconds")
    return value


def json_value(column_type: str, value: Any) -> Any:
    """A JSON-ready value from what either backend returns (Decimal, text dates, 0/1 booleans)."""
    if value is None:
        return None
    if column_type == "integer":
        return int(value)
    if column_type == "number":
        return float(value)
    if column_type == "boolean":
        return bool(value)
    if column_type == "date":
        return value if isinstance(value, str) else value.isoformat()
    if column_type == "datetime":
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.isoformat() + "Z"
    return value


# --- physical table -------------------------------------------------------------------------


class _Stored:
    """Fields bind values exactly as `storage_value` made them; reads are converted by `json_value`."""

    def db_value(self, value: Any) -> Any:
        return value

    def python_value(self, value: Any) -> Any:
        return value


_FIELDS: dict[str, type[peewee.Field]] = {
    column_type: type(f"Stored{base.__name__}", (_Stored, base), {})
    for column_type, base in (
        ("string", peewee.TextField),
        ("integer", peewee.BigIntegerField),
        ("number", peewee.DoubleField),
        ("boolean", peewee.BooleanField),
        ("date", peewee.DateField),
        ("datetime", peewee.DateTimeField),
    )
}


def _field(column: Column) -> peewee.Field:
    if not _KEY_RE.match(column["key"]):
        raise ValueError(f"unsafe column key {column['key']!r}")
    # PostgreSQL's default collation follows the server locale; "C" compares code points, as
    # SQLite's BINARY does, and keeps lower() to ASCII on both.
    collation = '"C"' if column["type"] == "string" and not is_sqlite() else None
    return _FIELDS[column["type"]](null=True, column_name=column["key"], collation=collation)


def rows_model(dataset: Dataset) -> Any:
    """A Peewee model over the dataset's table: field `rid` (column `_rid`) plus one field per key.

    Built per call rather than cached, because the columns belong to the dataset row.
    """
    attrs: dict[str, Any] = {column["key"]: _field(column) for column in dataset.columns}
    attrs["rid"] = peewee.BigAutoField(column_name=ROW_ID)
    attrs["Meta"] = type("Meta", (), {"database": database, "table_name": dataset.table_name})
    return type(f"DatasetRows{dataset.id}", (peewee.Model,), attrs)


def create_table(dataset: Dataset) -> None:
    rows_model(dataset).create_table(safe=False)


def drop_table(dataset: Dataset) -> None:
    rows_model(dataset).drop_table(safe=True)


def create_dataset(project: Project | int, name: str, columns: Any, description: str = "") -> Dataset:
    """A new Dataset row with its (empty) table; `columns` is `[{name, type}]`."""
    normalized = normalize_columns(columns)
    with write_transaction():
        dataset = Dataset.create(project=project, name=name, description=description, columns=normalized)
        create_table(dataset)
    return dataset


# --- appending rows -------------------------------------------------------------------------


def _insert_statement(model: Any, fields: list[peewee.Field]) -> str:
    """The one-row INSERT, rendered once by Peewee; every row then reuses it (executemany).

    Rendering a multi-row INSERT costs Peewee and the driver more per value than the database
    spends storing it; one statement reused for a batch imports 1.7x (PostgreSQL) to 3x (SQLite) faster
    and never meets SQLite's bound-variable limit. `.returning()` drops PostgreSQL's RETURNING.
    """
    sql, _ = model.insert(dict.fromkeys(fields)).returning().sql()
    return sql


class _RowChecker:
    """Coerces rows (arrays in column order or objects keyed by name) and collects their errors.

    A bad cell's pointer is the body's own: `/rows/<i>/<position>` in an array,
    `/rows/<i>/<column>` in an object. CSV rows (`named_cells`) arrive as arrays in the dataset's
    column order, not the file's; their cells are named by column, as the header names them.
    """

    def __init__(self, columns: list[Column], sqlite: bool, named_cells: bool = False) -> None:
        self.columns = columns
        self.names = {column["name"]: i for i, column in enumerate(columns)}
        self.sqlite = sqlite
        self.named_cells = named_cells
        self.errors: list[dict[str, str]] = []

    def full(self) -> bool:
        return len(self.errors) >= MAX_ERRORS

    def __call__(self, index: int, row: Any) -> tuple[Any, ...] | None:
        """The row as a tuple of storage values, or None when it is bad (the error is recorded)."""
        if self.full():
            return None
        values = self._values(index, row)
        if values is None:
            return None
        by_position = isinstance(row, (list, tuple)) and not self.named_cells
        out = []
        for position, (column, value) in enumerate(zip(self.columns, values)):
            try:
                if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                    raise ValueError(f"longer than {MAX_CELL_CHARS:,} characters ({len(value):,})")
                out.append(storage_value(column["type"], coerce_value(column["type"], value), self.sqlite))
            except ValueError as exc:
                cell = position if by_position else column["name"]
                self.errors.append({"path": pointer("rows", index, cell), "message": str(exc)})
                if self.full():
                    break
        return tuple(out) if len(out) == len(self.columns) and not self.errors else None

    def _values(self, index: int, row: Any) -> Sequence[Any] | None:
        if isinstance(row, (list, tuple)):
            if len(row) == len(self.columns):
                return row
            message = f"expected {len(self.columns)} values, got {len(row)}"
        elif isinstance(row, dict):
            unknown = [key for key in row if key not in self.names]
            if not unknown:
                return [row.get(column["name"]) for column in self.columns]
            self._unknown(index, unknown)
            return None
        else:
            message = "expected an array or an object"
        self.errors.append({"path": pointer("rows", index), "message": message})
        return None

    def _unknown(self, index: int, keys: list[str]) -> None:
        for key in keys[: MAX_ERRORS - len(self.errors)]:
            self.errors.append({"path": pointer("rows", index, key), "message": "unknown column"})
        return None


def _store_rows(
    dataset: Dataset, rows: Iterable[Any], batch_rows: int, progress: Progress | None, named_cells: bool
) -> int:
    """Check and insert `rows` batch by batch; returns the count, or raises InvalidRows at the end.

    Once a row is bad nothing more is inserted (the transaction will roll back), but checking
    goes on so that one answer names up to MAX_ERRORS problems.
    """
    model = rows_model(dataset)
    statement = _insert_statement(model, [getattr(model, column["key"]) for column in dataset.columns])
    checker = _RowChecker(dataset.columns, is_sqlite(), named_cells)
    numbered = iter(enumerate(rows))
    done = 0
    while not checker.full():
        batch = [checker(index, row) for index, row in islice(numbered, batch_rows)]
        if not batch:
            break
        if not checker.errors:
            database.cursor().executemany(statement, batch)
        done += len(batch)
        if progress and not checker.errors:
            progress(done)
    if checker.errors:
        raise InvalidRows(f"{len(checker.errors)} problem(s) in the rows; nothing was stored.", errors=checker.errors)
    return done


def _bump(dataset: Dataset, added: int) -> None:
    """Count the rows and move the version on, in SQL so that concurrent appends both count."""
    (
        Dataset.update(row_count=Dataset.row_count + added, version=Dataset.version + 1, updated_at=utcnow())
        .where(Dataset.id == dataset.id)
        .execute()
    )
    fresh = Dataset.get_by_id(dataset.id)
    dataset.row_count, dataset.version, dataset.updated_at = fresh.row_count, fresh.version, fresh.updated_at


def append_rows(
    dataset: Dataset,
    rows: Iterable[Any],
    progress: Progress | None = None,
    batch_rows: int = IMPORT_BATCH_ROWS,
    *,
    named_cells: bool = False,
) -> int:
    """Append `rows` (any iterable) in one transaction; returns how many were added.

    A bad row raises InvalidRows naming `/rows/<index>` or the bad cell (`/rows/<index>/<position>`
    in an array row, `/rows/<index>/<column name>` in an object row, or in any row with
    `named_cells`, as CSV rows are), and nothing is stored. Missing keys of an object row are
    NULL; unknown keys are an error.
    """
    with write_transaction():
        added = _store_rows(dataset, rows, batch_rows, progress, named_cells)
        _bump(dataset, added)
    return added


# --- CSV ------------------------------------------------------------------------------------


def _header_order(header: list[str], columns: list[Column]) -> list[int]:
    """For each dataset column, its position in the CSV header; InvalidRows at /header if they differ."""
    header = [name.removeprefix("\ufeff") if i == 0 else name for i, name in enumerate(header)]
    names = [column["name"] for column in columns]
    if len(header) != len(set(header)) or set(header) != set(names):
        missing = [n for n in names if n not in header]
        extra = [n for n in header if n not in names]
        message = "the header must name each column of the dataset exactly once"
        if missing or extra:
            message += f" (missing: {missing}, unknown: {extra})"
        raise InvalidRows(
            "The CSV header does not match the dataset.", errors=[{"path": "/header", "message": message}]
        )
    return [header.index(name) for name in names]


def iter_csv_rows(text_stream: Iterable[str], columns: list[Column]) -> Iterator[list[str | None]]:
    """Stream a CSV whose header names `columns` (in any order) as rows in column order.

    An empty field is NULL. Open files with newline="" so quoted newlines survive.
    """
    reader = csv.reader(text_stream, strict=True)
    header = _next_record(reader, "/header")
    if header is None:
        raise InvalidRows("The CSV is empty.", errors=[{"path": "/header", "message": "no header line"}])
    order = _header_order(header, columns)
    index = 0
    while (record := _next_record(reader, pointer("rows", index))) is not None:
        if not record:
            continue  # blank line
        if len(record) != len(order):
            raise InvalidRows(
                "A CSV line has the wrong number of fields.",
                errors=[
                    {
                        "path": pointer("rows", index),
                        "message": f"expected {len(order)} fields, got {len(record)} (line {reader.line_num})",
                    }
                ],
            )
        yield [record[j] or None for j in order]
        index += 1


def _next_record(reader: Any, path: str) -> list[str] | None:
    """The reader's next record or None at the end; a malformed line, or bytes that are not
    UTF-8 in a file, become InvalidRows at `path` (where the next record would be)."""
    try:
        return next(reader, None)
    except csv.Error as exc:
        raise InvalidRows(
            "A CSV line is malformed.", errors=[{"path": path, "message": f"{exc} (line {reader.line_num + 1})"}]
        ) from None
    except UnicodeDecodeError as exc:
        raise InvalidRows(
            "The CSV is not valid UTF-8.",
            errors=[
                {
                    "path": path,
                    "message": f"{exc.reason}: byte 0x{exc.object[exc.start]:02x} after line {reader.line_num}",
                }
            ],
        ) from None


def csv_body_rows(data: bytes | str | None, columns: list[Column]) -> Iterator[list[str | None]]:
    """Rows of a CSV request body (UTF-8, optional BOM); undecodable bytes are a 400."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidRequest(
                "The CSV body is not valid UTF-8.", errors=[{"path": "", "message": str(exc)}]
            ) from None
    return iter_csv_rows(io.StringIO(data or "", newline=""), columns)


def _infer_type(values: Iterable[str | None]) -> str:
    present = [v for v in values if v not in (None, "")]
    if not present:
        return "string"
    for column_type in ("boolean", "integer", "number", "date", "datetime"):
        try:
            for value in present:
                coerce_value(column_type, value)
        except ValueError:
            continue
        return column_type
    return "string"


def infer_columns(header: list[str], sample_rows: Iterable[list[str]]) -> list[dict[str, str]]:
    """`[{name, type}]` for a CSV header, each type the narrowest that fits every sampled value."""
    sample = list(sample_rows)
    header = [name.removeprefix("\ufeff") if i == 0 else name for i, name in enumerate(header)]
    return [
        {"name": name, "type": _infer_type(row[i] if i < len(row) else None for row in sample)}
        for i, name in enumerate(header)
    ]


def _sample_columns(path: str, sample_rows: int) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(stream, strict=True)
        header = _next_record(reader, "/header")
        if header is None:
            raise InvalidRows("The CSV is empty.", errors=[{"path": "/header", "message": "no header line"}])
        sample: list[list[str]] = []
        while len(sample) < sample_rows and (record := _next_record(reader, pointer("rows", len(sample)))) is not None:
            sample.append(record)
        return infer_columns(header, sample)


def import_csv(
    project: Project | int,
    name: str,
    path: str,
    columns: list[dict[str, str]] | None = None,
    progress: Progress | None = None,
    description: str = "",
    batch_rows: int = IMPORT_BATCH_ROWS,
) -> Dataset:
    """Create a dataset from a CSV file, streaming it; returns the Dataset.

    `columns` (`[{name, type}]`) defaults to types inferred from the first rows. The file is read
    in batches of `batch_rows`, `progress(rows_done)` is called after each, and everything
    (dataset row, table, rows) is one transaction: a bad row leaves nothing behind.
    """
    columns = columns or _sample_columns(path, INFER_SAMPLE_ROWS)
    with write_transaction():
        dataset = create_dataset(project, name, columns, description)
        with open(path, newline="", encoding="utf-8-sig") as stream:
            append_rows(dataset, iter_csv_rows(stream, dataset.columns), progress, batch_rows, named_cells=True)
    return dataset


# --- reading --------------------------------------------------------------------------------


def preview_rows(dataset: Dataset, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Rows in insertion order as `{column name: JSON value}`."""
    model = rows_model(dataset)
    fields = [getattr(model, column["key"]) for column in dataset.columns]
    query = model.select(*fields).order_by(model.rid).limit(limit).offset(offset).tuples()
    return [
        {column["name"]: json_value(column["type"], value) for column, value in zip(dataset.columns, row)}
        for row in query
    ]
