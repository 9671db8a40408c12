"""The card-query compiler: same answers as a plain-Python reference, on SQLite and PostgreSQL."""

from datetime import date, datetime, timedelta
from operator import itemgetter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.dataset_tables import append_rows, coerce_value, create_dataset, json_value, rows_model
from models.errors import InvalidQuery
from models.query import MAX_LIMIT, compile_query, run_query

COLUMNS = [
    {"name": "'a\"b", "type": "string"},
    {"name": "select", "type": "integer"},
    {"name": "drop table x;--", "type": "number"},
    {"name": "Ünïcode name", "type": "date"},
    {"name": "when at", "type": "datetime"},
    {"name": "flag", "type": "boolean"},
]
TYPES = {c["name"]: c["type"] for c in COLUMNS}
ORDERED = ("string", "integer", "number", "date", "datetime")
AGG_TYPES = {
    "count": tuple(TYPES.values()),
    "count_distinct": tuple(TYPES.values()),
    "sum": ("integer", "number"),
    "avg": ("integer", "number"),
    "min": ORDERED,
    "max": ORDERED,
}
OP_TYPES = {
    "eq": None,
    "ne": None,
    "in": None,
    "not_in": None,
    "is_null": None,
    "not_null": None,
    "gt": ORDERED,
    "gte": ORDERED,
    "lt": ORDERED,
    "lte": ORDERED,
    "between": ORDERED,
    "contains": ("string",),
    "starts_with": ("string",),
}
BUCKETS = ("day", "week", "month", "quarter", "year")
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# Small domains, so that groups, ties and filter hits are common. Numbers are quarters, so every
# sum is exact whatever order a backend adds in.
VALUES = {
    "string": st.one_of(
        st.sampled_from(["", "a", "A", "ab", "Ab", "x%y", "x_y", "b\\s", "O'Brien", 'say "hi"', "Ünï", "ünï", "日本"]),
        st.text(alphabet="aAbB%_\\'\" Üüé", max_size=3),
    ),
    "integer": st.one_of(st.integers(-20, 20), st.sampled_from([-(2**40), 2**40])),
    "number": st.integers(-400, 400).map(lambda k: k / 4),
    "date": st.dates(date(2019, 12, 1), date(2021, 2, 1)),
    "datetime": st.datetimes(datetime(2019, 12, 1), datetime(2021, 2, 1)),
    "boolean": st.booleans(),
}


def as_json(value):
    """How a client would send a typed value in a JSON body."""
    return value.isoformat() if isinstance(value, (date, datetime)) else value


@pytest.fixture
def dataset(project):
    return create_dataset(project, "tricky", COLUMNS)


def replace_rows(dataset, rows):
    rows_model(dataset).delete().execute()
    append_rows(dataset, [[as_json(v) for v in row] for row in rows])


# --- the reference --------------------------------------------------------------------------


def bucket(value, size):
    day = value.date() if isinstance(value, datetime) else value
    if size == "week":
        return day - timedelta(days=day.weekday())
    if size == "month":
        return day.replace(day=1)
    if size == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1) if size == "year" else day


def aggregate(agg, name, rows):
    values = [r[name] for r in rows if r[name] is not None] if name else rows
    if agg == "count":
        return len(values)
    if agg == "count_distinct":
        return len(set(values))
    if not values:
        return None
    if agg == "avg":
        return significant(float(sum(values)) / len(values))
    if agg == "sum" and isinstance(values[0], float):
        return significant(sum(values))
    return {"sum": sum, "min": min, "max": max}[agg](values)


def significant(value):
    return float(f"{value:.15g}")


def ascii_lower(text):
    return text.translate(ASCII_LOWER)


def matches(cell, op, value):
    if op in ("is_null", "not_null"):
        return (cell is None) == (op == "is_null")
    if cell is None:
        return False
    return {
        "eq": lambda: cell == value,
        "ne": lambda: cell != value,
        "gt": lambda: cell > value,
        "gte": lambda: cell >= value,
        "lt": lambda: cell < value,
        "lte": lambda: cell <= value,
        "in": lambda: cell in value,
        "not_in": lambda: cell not in value,
        "between": lambda: value[0] <= cell <= value[1],
        "contains": lambda: ascii_lower(value) in ascii_lower(cell),
        "starts_with": lambda: ascii_lower(cell).startswith(ascii_lower(value)),
    }[op]()


def typed_filter_value(f, params):
    """(kept?, typed value) as the compiler should see it."""
    value, column_type = f.get("value"), TYPES[f["column"]]
    if isinstance(value, dict):
        value = params.get(value["param"])
        if value in (None, []):
            return False, None
        if f["op"] in ("in", "not_in") and not isinstance(value, list):
            value = [value]
    if isinstance(value, list):
        return True, [coerce_value(column_type, v) for v in value]
    return True, coerce_value(column_type, value) if f["op"] not in ("contains", "starts_with") else value


def sort_in_place(items, keys):
    """Stable sorts from the last key to the first; NULLs last ascending, first descending."""
    for get, direction in reversed(keys):
        items.sort(key=lambda it: (get(it) is None, get(it) if get(it) is not None else 0), reverse=direction == "desc")


def metric_name(m):
    return m.get("label") or ("count" if "column" not in m else f"{m['agg']}_{m['column']}")


def reference(rows, spec, params):
    named = [dict(zip(TYPES, row), _rid=i) for i, row in enumerate(rows)]
    for f in spec.get("filters", []):
        kept, value = (True, None) if f["op"] in ("is_null", "not_null") else typed_filter_value(f, params)
        if kept:
            named = [r for r in named if matches(r[f["column"]], f["op"], value)]
    dims, metrics = spec.get("dimensions", []), spec.get("metrics", [])
    if dims or metrics:
        return grouped_reference(named, spec, dims, metrics)
    return raw_reference(named, spec)


def grouped_reference(named, spec, dims, metrics):
    groups = {}
    for r in named:
        key = tuple(
            r[d["column"]] if r[d["column"]] is None or "bucket" not in d else bucket(r[d["column"]], d["bucket"])
            for d in dims
        )
        groups.setdefault(key, []).append(r)
    if not dims:
        groups = {(): named}
    columns = [{"name": d["column"], "type": "date" if "bucket" in d else TYPES[d["column"]]} for d in dims]
    for m in metrics:
        t = "integer" if m["agg"].startswith("count") else "number" if m["agg"] == "avg" else TYPES[m["column"]]
        columns.append({"name": metric_name(m), "type": t})
    items = [list(key) + [aggregate(m["agg"], m.get("column"), rs) for m in metrics] for key, rs in groups.items()]
    names = [c["name"] for c in columns]
    keys = [(itemgetter(names.index(s["by"])), s.get("direction", "asc")) for s in spec.get("sort", [])]
    keys += [(itemgetter(i), "asc") for i in range(len(dims))]
    return page(items, keys, columns, spec)


def raw_reference(named, spec):
    names = spec.get("columns", list(TYPES))
    keys = [((lambda r, n=s["by"]: r[n]), s.get("direction", "asc")) for s in spec.get("sort", [])]
    keys.append(((lambda r: r["_rid"]), "asc"))
    columns = [{"name": n, "type": TYPES[n]} for n in names]
    sort_in_place(named, keys)
    return page([[r[n] for n in names] for r in named], [], columns, spec)


def page(items, keys, columns, spec):
    sort_in_place(items, keys)
    offset, limit = spec.get("offset", 0), spec.get("limit", 1000)
    rows = [[json_value(c["type"], v) for c, v in zip(columns, item)] for item in items[offset : offset + limit]]
    return {"columns": columns, "rows": rows}


# --- generated specs ------------------------------------------------------------------------


def filter_value(draw, column_type, op, seen):
    one = st.sampled_from(seen) if seen and draw(st.booleans()) else VALUES[column_type]
    if op in ("contains", "starts_with"):
        text = draw(one)
        start = draw(st.integers(0, len(text)))
        return text[start : start + draw(st.integers(0, 3))]
    if op in ("in", "not_in"):
        return draw(st.lists(one, max_size=3))
    if op == "between":
        return (
            sorted(draw(st.lists(one, min_size=2, max_size=2)))
            if draw(st.booleans())
            else draw(st.lists(one, min_size=2, max_size=2))
        )
    return draw(one)


def filters(draw, rows, params):
    out = []
    for i in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(list(TYPES)))
        ops = [op for op, types in OP_TYPES.items() if types is None or TYPES[name] in types]
        op = draw(st.sampled_from(ops))
        f = {"column": name, "op": op}
        if op not in ("is_null", "not_null"):
            seen = [r[list(TYPES).index(name)] for r in rows if r[list(TYPES).index(name)] is not None]
            value = filter_value(draw, TYPES[name], op, seen)
            if op != "between" and draw(st.integers(0, 3)) == 0:  # a parameter, given or not
                if draw(st.booleans()):
                    params[f"p{i}"] = value
                f["value"] = {"param": f"p{i}"}
            else:
                f["value"] = [as_json(v) for v in value] if isinstance(value, list) else as_json(value)
        out.append(f)
    return out


def grouped_spec(draw):
    dims = []
    for name in draw(st.lists(st.sampled_from(list(TYPES)), max_size=2, unique=True)):
        d = {"column": name}
        if TYPES[name] in ("date", "datetime") and draw(st.booleans()):
            d["bucket"] = draw(st.sampled_from(BUCKETS))
        dims.append(d)
    metrics, names = [], {d["column"] for d in dims}
    for i in range(draw(st.integers(0 if dims else 1, 3))):
        agg = draw(st.sampled_from(list(AGG_TYPES)))
        choices = [n for n in TYPES if TYPES[n] in AGG_TYPES[agg]]
        m = {"agg": agg}
        if agg != "count" or draw(st.booleans()):
            m["column"] = draw(st.sampled_from(choices))
        if metric_name(m) in names:
            m["label"] = f"m{i}"
        names.add(metric_name(m))
        metrics.append(m)
    spec = {"dimensions": dims, "metrics": metrics}
    outputs = [d["column"] for d in dims] + [metric_name(m) for m in metrics]
    spec["sort"] = [
        {"by": by, "direction": draw(st.sampled_from(["asc", "desc"]))}
        for by in draw(st.lists(st.sampled_from(outputs), max_size=2, unique=True))
    ]
    return spec


def raw_spec(draw):
    spec = {}
    if draw(st.booleans()):
        spec["columns"] = draw(st.lists(st.sampled_from(list(TYPES)), min_size=1, max_size=4, unique=True))
    spec["sort"] = [
        {"by": by, "direction": draw(st.sampled_from(["asc", "desc"]))}
        for by in draw(st.lists(st.sampled_from(list(TYPES)), max_size=2, unique=True))
    ]
    if draw(st.booleans()):
        spec["offset"] = draw(st.integers(0, 5))
    return spec


@st.composite
def cases(draw):
    rows = draw(st.lists(st.tuples(*[st.none() | VALUES[t] for t in TYPES.values()]), max_size=25))
    params = {}
    spec = grouped_spec(draw) if draw(st.booleans()) else raw_spec(draw)
    spec["filters"] = filters(draw, rows, params)
    if draw(st.booleans()):
        spec["limit"] = draw(st.integers(1, 30))
    return rows, spec, params


@settings(max_examples=max(200, settings.default.max_examples))  # about 2 s per backend
@given(case=cases())
def test_run_query_agrees_with_the_python_reference(dataset, case):
    rows, spec, params = case
    replace_rows(dataset, rows)
    assert run_query(dataset, spec, params) == reference(rows, spec, params)


# --- hand-picked cases ----------------------------------------------------------------------


def sample(dataset):
    replace_rows(
        dataset,
        [
            ["x%y", 1, 1.5, date(2021, 1, 3), datetime(2020, 3, 1, 23, 30), True],
            ["xay", 2, None, date(2020, 11, 15), datetime(2020, 12, 31, 23, 59, 59, 999999), False],
            [None, None, 2.5, None, None, None],
            ["Ünï", 3, -1.0, date(2020, 11, 16), datetime(2021, 1, 1), True],
        ],
    )


@pytest.mark.parametrize(
    "size, expected",
    [
        ("day", ["2020-11-15", "2020-11-16", "2021-01-03", None]),
        ("week", ["2020-11-09", "2020-11-16", "2020-12-28", None]),  # 2021-01-03 is a Sunday
        ("month", ["2020-11-01", "2021-01-01", None]),
        ("quarter", ["2020-10-01", "2021-01-01", None]),
        ("year", ["2020-01-01", "2021-01-01", None]),
    ],
)
def test_date_buckets_are_first_days(dataset, size, expected):
    sample(dataset)
    result = run_query(dataset, {"dimensions": [{"column": "Ünïcode name", "bucket": size}]})
    assert result["columns"] == [{"name": "Ünïcode name", "type": "date"}]
    assert [row[0] for row in result["rows"]] == expected


def test_datetime_buckets_use_utc(dataset):
    append_rows(dataset, [{"when at": "2020-03-01T23:30:00-02:00"}, {"when at": "2020-03-31T23:00:00Z"}])
    result = run_query(
        dataset,
        {"dimensions": [{"column": "when at", "bucket": "day"}], "metrics": [{"agg": "max", "column": "when at"}]},
    )
    assert result["rows"] == [["2020-03-02", "2020-03-02T01:30:00Z"], ["2020-03-31", "2020-03-31T23:00:00Z"]]


def test_tricky_column_names_never_reach_sql(dataset):
    sample(dataset)
    spec = {
        "dimensions": [{"column": "'a\"b"}],
        "metrics": [{"agg": "sum", "column": "drop table x;--"}],
        "filters": [{"column": "select", "op": "gte", "value": 1}],
        "sort": [{"by": "'a\"b", "direction": "desc"}],
    }
    compiled = compile_query(dataset, spec)
    for column in COLUMNS:
        assert column["name"] not in compiled.cache_key.replace("\\", "")
    assert run_query(dataset, spec)["rows"] == [["Ünï", -1.0], ["xay", None], ["x%y", 1.5]]


def test_values_are_bound_not_pasted(dataset):
    sample(dataset)
    hostile = "x'; DROP TABLE dataset; --"
    compiled = compile_query(dataset, {"filters": [{"column": "'a\"b", "op": "eq", "value": hostile}]})
    sql, params = compiled.query.sql()
    assert hostile not in sql and hostile in params
    assert run_query(dataset, {"filters": [{"column": "'a\"b", "op": "eq", "value": hostile}]})["rows"] == []


def test_like_wildcards_in_values_are_literal(dataset):
    sample(dataset)
    spec = {"columns": ["'a\"b"], "filters": [{"column": "'a\"b", "op": "contains", "value": "X%"}]}
    assert run_query(dataset, spec)["rows"] == [["x%y"]]
    spec["filters"][0] = {"column": "'a\"b", "op": "starts_with", "value": "x_"}
    assert run_query(dataset, spec)["rows"] == []


def test_a_backslash_in_a_text_match_is_literal(dataset):
    append_rows(dataset, [{"'a\"b": text} for text in ("a\\b", "a\\%b", "ab", "\\x", "a%b")])

    def found(op, value):
        spec = {
            "columns": ["'a\"b"],
            "filters": [{"column": "'a\"b", "op": op, "value": value}],
            "sort": [{"by": "'a\"b"}],
        }
        return [row[0] for row in run_query(dataset, spec)["rows"]]

    assert found("contains", "\\") == ["\\x", "a\\%b", "a\\b"]
    assert found("contains", "a\\") == ["a\\%b", "a\\b"]
    assert found("contains", "\\%") == ["a\\%b"]
    assert found("starts_with", "\\") == ["\\x"]
    assert found("starts_with", "A\\B") == ["a\\b"]


def test_a_wildcard_character_in_a_value_matches_itself(dataset):
    append_rows(dataset, [{"'a\"b": text} for text in ("a_b", "axb", "5%", "50")])

    def found(op, value):
        spec = {"columns": ["'a\"b"], "filters": [{"column": "'a\"b", "op": op, "value": value}]}
        return [row[0] for row in run_query(dataset, spec)["rows"]]

    assert found("contains", "_") == ["a_b"]
    assert found("starts_with", "A_") == ["a_b"]
    assert found("contains", "%") == ["5%"]
    assert found("starts_with", "5%") == ["5%"]


def test_text_matching_ignores_ascii_case_only(dataset):
    append_rows(dataset, [{"'a\"b": text} for text in ("XaY", "Ünï", "ünï")])

    def found(op, value):
        spec = {"columns": ["'a\"b"], "filters": [{"column": "'a\"b", "op": op, "value": value}]}
        return [row[0] for row in run_query(dataset, spec)["rows"]]

    assert found("contains", "ay") == ["XaY"]
    assert found("starts_with", "xA") == ["XaY"]
    assert found("starts_with", "ÜN") == ["Ünï"]  # both backends lower ASCII letters only
    assert found("eq", "xay") == []


def test_nulls_sort_last_ascending_and_first_descending(dataset):
    sample(dataset)
    up = run_query(dataset, {"columns": ["select"], "sort": [{"by": "select", "direction": "asc"}]})
    down = run_query(dataset, {"columns": ["select"], "sort": [{"by": "select", "direction": "desc"}]})
    assert [r[0] for r in up["rows"]] == [1, 2, 3, None]
    assert [r[0] for r in down["rows"]] == [None, 3, 2, 1]


def test_aggregates_and_output_types(dataset):
    sample(dataset)
    spec = {
        "metrics": [
            {"agg": "count"},
            {"agg": "count", "column": "select"},
            {"agg": "avg", "column": "select"},
            {"agg": "sum", "column": "select", "label": "total"},
            {"agg": "min", "column": "'a\"b"},
            {"agg": "count_distinct", "column": "flag"},
            {"agg": "max", "column": "Ünïcode name"},
        ]
    }
    result = run_query(dataset, spec)
    assert result["columns"] == [
        {"name": "count", "type": "integer"},
        {"name": "count_select", "type": "integer"},
        {"name": "avg_select", "type": "number"},
        {"name": "total", "type": "integer"},
        {"name": "min_'a\"b", "type": "string"},
        {"name": "count_distinct_flag", "type": "integer"},
        {"name": "max_Ünïcode name", "type": "date"},
    ]
    assert result["rows"] == [[4, 3, 2.0, 6, "x%y", 2, "2021-01-03"]]


def test_float_sums_and_averages_keep_15_significant_digits(dataset):
    append_rows(dataset, [{"select": n, "drop table x;--": x} for n, x in ((1, 0.1), (1, 0.2), (2, None))])
    spec = {
        "metrics": [
            {"agg": "sum", "column": "drop table x;--"},
            {"agg": "avg", "column": "select"},
            {"agg": "avg", "column": "drop table x;--"},
            {"agg": "sum", "column": "select"},
        ]
    }
    assert run_query(dataset, spec)["rows"] == [[0.3, 1.33333333333333, 0.15, 4]]


def test_empty_table(dataset):
    assert run_query(dataset, {"metrics": [{"agg": "count"}, {"agg": "sum", "column": "select"}]})["rows"] == [
        [0, None]
    ]
    assert run_query(dataset, {"dimensions": [{"column": "flag"}], "metrics": [{"agg": "count"}]})["rows"] == []


def test_a_param_without_value_drops_its_filter(dataset):
    sample(dataset)
    spec = {"metrics": [{"agg": "count"}], "filters": [{"column": "select", "op": "in", "value": {"param": "ids"}}]}
    assert run_query(dataset, spec)["rows"] == [[4]]
    assert run_query(dataset, spec, {"ids": None})["rows"] == [[4]]
    assert run_query(dataset, spec, {"ids": []})["rows"] == [[4]]
    assert run_query(dataset, spec, {"ids": 2})["rows"] == [[1]]
    assert run_query(dataset, spec, {"ids": [1, 3]})["rows"] == [[2]]


def test_limit_is_capped_and_defaults(dataset):
    assert compile_query(dataset, {}).query._limit == 1000
    assert compile_query(dataset, {"limit": 10**6}).query._limit == MAX_LIMIT


def test_cache_key_follows_sql_params_and_version(dataset):
    spec = {"metrics": [{"agg": "count"}], "filters": [{"column": "select", "op": "eq", "value": {"param": "n"}}]}
    key = compile_query(dataset, spec, {"n": 1}).cache_key
    assert compile_query(dataset, spec, {"n": 1}).cache_key == key
    assert compile_query(dataset, spec, {"n": 2}).cache_key != key
    append_rows(dataset, [[None] * len(COLUMNS)])
    assert compile_query(dataset, spec, {"n": 1}).cache_key != key


@pytest.mark.parametrize(
    "spec, path",
    [
        ({"dimensions": [{"column": "nope"}]}, "/dimensions/0/column"),
        ({"dimensions": [{"column": "select", "bucket": "month"}]}, "/dimensions/0/bucket"),
        ({"dimensions": [{"column": "Ünïcode name", "bucket": "hour"}]}, "/dimensions/0/bucket"),
        ({"metrics": [{"agg": "sum", "column": "'a\"b"}]}, "/metrics/0/column"),
        ({"metrics": [{"agg": "min", "column": "flag"}]}, "/metrics/0/column"),
        ({"metrics": [{"agg": "avg"}]}, "/metrics/0/column"),
        ({"metrics": [{"agg": "median", "column": "select"}]}, "/metrics/0/agg"),
        ({"metrics": [{"agg": "count"}, {"agg": "count"}]}, "/metrics/1"),
        ({"dimensions": [{"column": "when at"}, {"column": "when at", "bucket": "day"}]}, "/dimensions/1"),
        ({"columns": ["flag", "flag"]}, "/columns/1"),
        ({"columns": ["select"], "metrics": [{"agg": "count"}]}, "/columns"),
        ({"columns": ["nope"]}, "/columns/0"),
        ({"filters": [{"column": "select", "op": "contains", "value": "1"}]}, "/filters/0/column"),
        ({"filters": [{"column": "flag", "op": "gt", "value": True}]}, "/filters/0/column"),
        ({"filters": [{"column": "select", "op": "eq", "value": "one"}]}, "/filters/0/value"),
        ({"filters": [{"column": "select", "op": "eq", "value": None}]}, "/filters/0/value"),
        ({"filters": [{"column": "select", "op": "eq"}]}, "/filters/0/value"),
        ({"filters": [{"column": "select", "op": "like", "value": 1}]}, "/filters/0/op"),
        ({"filters": [{"column": "Ünïcode name", "op": "between", "value": ["2020-01-01"]}]}, "/filters/0/value"),
        ({"filters": [{"column": "Ünïcode name", "op": "in", "value": ["2020-02-30"]}]}, "/filters/0/value/0"),
        ({"filters": [{"column": "select", "op": "eq", "value": {"param": 1}}]}, "/filters/0/value"),
        ({"sort": [{"by": "nope"}]}, "/sort/0/by"),
        ({"sort": [{"by": "select", "direction": "up"}]}, "/sort/0/direction"),
        ({"metrics": [{"agg": "count"}], "sort": [{"by": "select"}]}, "/sort/0/by"),
        ({"limit": 0}, "/limit"),
        ({"offset": -1}, "/offset"),
    ],
)
def test_invalid_queries_name_the_place(dataset, spec, path):
    with pytest.raises(InvalidQuery) as error:
        compile_query(dataset, spec)
    assert error.value.code == "invalid_query"
    assert path in [e["path"] for e in error.value.errors]


def test_a_bad_param_value_is_an_invalid_query(dataset):
    spec = {"filters": [{"column": "Ünïcode name", "op": "gte", "value": {"param": "since"}}]}
    with pytest.raises(InvalidQuery):
        compile_query(dataset, spec, {"since": "yesterday"})
    assert compile_query(dataset, spec, {"since": date(2020, 1, 1)}).query is not None


@pytest.mark.parametrize(
    "spec, path, message",
    [
        ({"filters": {"column": "select"}}, "/filters", "expected a list"),
        ({"filters": ["select"]}, "/filters/0", "expected an object"),
        ({"metrics": [{"agg": "count", "label": ""}]}, "/metrics/0/label", "expected a non-empty string"),
        ({"columns": []}, "/columns", "expected a non-empty list of column names"),
        (
            {"columns": ["select"], "metrics": [{"agg": "count"}]},
            "/columns",
            "columns (raw rows) cannot be combined with dimensions or metrics",
        ),
        (
            {"filters": [{"column": "select", "op": "eq", "value": {"param": 1}}]},
            "/filters/0/value",
            'expected a literal, a list or {"param": "<name>"}',
        ),
        ({"filters": [{"column": "'a\"b", "op": "contains", "value": 1}]}, "/filters/0/value", "expected a string"),
        ({"sort": [{"by": "select", "direction": "up"}]}, "/sort/0/direction", "expected asc or desc"),
        (
            {"filters": [{"column": "select", "op": "eq", "value": None}]},
            "/filters/0/value",
            "null is not a value here (use is_null / not_null) for the integer column 'select'",
        ),
        ({"filters": [{"column": "select", "op": "in", "value": 1}]}, "/filters/0/value", "expected a list"),
        (
            {"filters": [{"column": "select", "op": "between", "value": [1]}]},
            "/filters/0/value",
            "expected a list of 2 values",
        ),
        (
            {"filters": [{"column": "select", "op": "like", "value": 1}]},
            "/filters/0/op",
            "expected one of eq, ne, gt, gte, lt, lte, in, not_in, contains, starts_with, between, is_null, not_null",
        ),
        ({"filters": [{"column": "select", "op": "gte"}]}, "/filters/0/value", "gte needs a value"),
        (
            {"metrics": [{"agg": "median", "column": "select"}]},
            "/metrics/0/agg",
            "expected one of count, count_distinct, sum, avg, min, max",
        ),
        (
            {"metrics": [{"agg": "min", "column": "flag"}]},
            "/metrics/0/column",
            "min does not apply to the boolean column 'flag'",
        ),
        ({"dimensions": [{"column": "nope"}]}, "/dimensions/0/column", "unknown column 'nope'"),
        ({"limit": 0}, "/limit", "expected an integer >= 1"),
    ],
)
def test_invalid_queries_say_what_is_wrong(dataset, spec, path, message):
    """The message a card editor shows beside the field, and the first one in the detail."""
    with pytest.raises(InvalidQuery) as error:
        compile_query(dataset, spec)
    assert error.value.errors == [{"path": path, "message": message}]
    assert error.value.detail == f"The query is invalid ({message})."


def test_a_query_must_be_an_object(dataset):
    with pytest.raises(InvalidQuery) as error:
        compile_query(dataset, ["select"])
    assert error.value.errors == [{"path": "", "message": "expected an object"}]


def test_integer_sums_are_exact(dataset):
    """Only float sums and averages are cut to 15 significant digits; integers add up exactly."""
    big = 10**17
    append_rows(dataset, [{"select": big + 1}, {"select": big + 2}, {"select": None}])
    spec = {"metrics": [{"agg": "sum", "column": "select"}, {"agg": "max", "column": "select"}]}
    ((total, highest),) = run_query(dataset, spec)["rows"]
    assert (total, highest) == (2 * big + 3, big + 2)
    assert type(total) is int and type(highest) is int


def test_counts_are_integers_whatever_the_column(dataset):
    sample(dataset)
    spec = {"metrics": [{"agg": "count", "column": "'a\"b"}, {"agg": "count_distinct", "column": "Ünïcode name"}]}
    result = run_query(dataset, spec)
    assert [c["type"] for c in result["columns"]] == ["integer", "integer"]
    assert result["rows"] == [[3, 3]]


@pytest.mark.parametrize(
    "spec, errors",
    [
        (
            {"dimensions": [{"column": "Ünïcode name", "bucket": "decade"}]},
            [("/dimensions/0/bucket", "expected one of day, week, month, quarter, year")],
        ),
        (
            {"dimensions": [{"column": "select", "bucket": "month"}]},
            [("/dimensions/0/bucket", "a bucket needs a date or datetime column, 'select' is integer")],
        ),
        # every fault of every dimension is named, not only the first
        (
            {"dimensions": [{"column": "nope"}, {"column": "select", "bucket": "year"}, "flag"]},
            [
                ("/dimensions/2", "expected an object"),
                ("/dimensions/0/column", "unknown column 'nope'"),
                ("/dimensions/1/bucket", "a bucket needs a date or datetime column, 'select' is integer"),
            ],
        ),
        (
            {"dimensions": [{"column": "select"}], "metrics": [{"agg": "sum", "column": "select"}, "count"]},
            [("/metrics/1", "expected an object")],
        ),
        # a name shown twice is named where the second one is
        (
            {"dimensions": [{"column": "select"}, {"column": "flag"}], "metrics": [{"agg": "count", "label": "flag"}]},
            [("/metrics/0", "another output column is already named 'flag' (a metric can take a label)")],
        ),
        (
            {"dimensions": [{"column": "flag"}, {"column": "flag"}]},
            [("/dimensions/1", "another output column is already named 'flag' (a metric can take a label)")],
        ),
        (
            {"metrics": [{"agg": "sum", "column": "select"}, {"agg": "sum", "column": "select"}]},
            [("/metrics/1", "another output column is already named 'sum_select' (a metric can take a label)")],
        ),
    ],
)
def test_every_fault_of_a_query_is_named_where_it_is(dataset, spec, errors):
    with pytest.raises(InvalidQuery) as error:
        compile_query(dataset, spec)
    assert [(e["path"], e["message"]) for e in error.value.errors] == errors


def test_an_average_over_no_values_is_null_and_other_aggregates_keep_their_types(dataset):
    sample(dataset)
    spec = {
        "filters": [{"column": "select", "op": "gt", "value": 100}],
        "metrics": [{"agg": "avg", "column": "select"}, {"agg": "count"}, {"agg": "max", "column": "select"}],
    }
    result = run_query(dataset, spec)
    assert result["rows"] == [[None, 0, None]]
    assert [c["type"] for c in result["columns"]] == ["number", "integer", "integer"]
    spec["filters"] = []
    assert run_query(dataset, spec)["rows"] == [[2.0, 4, 3]]
    spec["filters"] = [{"column": "select", "op": "in", "value": [1, 2]}]  # not a whole number
    assert run_query(dataset, spec)["rows"] == [[1.5, 2, 2]]


@pytest.mark.parametrize(
    "spec, path, message",
    [
        ({"sort": [{"by": "nope"}]}, "/sort/0/by", "unknown output column 'nope'"),
        (
            {"filters": [{"column": "select", "op": "contains", "value": "1"}]},
            "/filters/0/column",
            "contains does not apply to the integer column 'select'",
        ),
        ({"dimensions": [{"column": ["select"]}]}, "/dimensions/0/column", "unknown column ['select']"),
        ({"limit": True}, "/limit", "expected an integer >= 1"),
        ({"sort": ["select"]}, "/sort/0", "expected an object"),
    ],
)
def test_more_faults_say_what_is_wrong(dataset, spec, path, message):
    with pytest.raises(InvalidQuery) as error:
        compile_query(dataset, spec)
    assert error.value.errors == [{"path": path, "message": message}]


def test_a_whole_second_datetime_matches_its_stored_value(dataset):
    sample(dataset)
    spec = {
        "filters": [{"column": "when at", "op": "eq", "value": "2021-01-01T00:00:00"}],
        "metrics": [{"agg": "count"}],
    }
    assert run_query(dataset, spec)["rows"] == [[1]]
    spec["filters"][0] = {"column": "Ünïcode name", "op": "eq", "value": "2020-11-16"}
    assert run_query(dataset, spec)["rows"] == [[1]]


def test_not_in_an_empty_list_keeps_every_value_but_null(dataset):
    sample(dataset)
    spec = {"filters": [{"column": "select", "op": "not_in", "value": []}], "metrics": [{"agg": "count"}]}
    assert run_query(dataset, spec)["rows"] == [[3]]


def test_a_date_parameter_makes_a_cache_key(dataset):
    spec = {"filters": [{"column": "Ünïcode name", "op": "gte", "value": {"param": "since"}}]}
    keys = {compile_query(dataset, spec, {"since": day}).cache_key for day in (date(2020, 1, 1), date(2020, 1, 2))}
    assert len(keys) == 2
