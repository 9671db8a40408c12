"""Dataset storage: columns, appending and validating rows, CSV, inference, preview, import."""

import csv
import io

import pytest

from models import dataset_tables as tables
from models.datasets import Dataset
from models.db import database
from models.errors import InvalidRows, Unprocessable

COLUMNS = [
    {"name": "day", "type": "date"},
    {"name": "category", "type": "string"},
    {"name": "amount", "type": "number"},
    {"name": "units", "type": "integer"},
    {"name": "paid", "type": "boolean"},
    {"name": "at", "type": "datetime"},
]


@pytest.fixture
def dataset(project):
    return tables.create_dataset(project, "sales", COLUMNS)


def stored(dataset):
    return Dataset.get_by_id(dataset.id)


# --- columns --------------------------------------------------------------------------------


def test_columns_get_safe_keys():
    columns = tables.normalize_columns(
        [{"name": "drop table x;--", "type": "string"}, {"name": "'a\"b", "type": "date"}]
    )
    assert columns == [
        {"name": "drop table x;--", "type": "string", "key": "c0"},
        {"name": "'a\"b", "type": "date", "key": "c1"},
    ]


@pytest.mark.parametrize(
    "columns, path",
    [
        ([{"name": "a", "type": "string"}, {"name": "a", "type": "integer"}], "/columns/1/name"),
        ([{"name": "", "type": "string"}], "/columns/0/name"),
        ([{"name": "x" * 256, "type": "string"}], "/columns/0/name"),
        ([{"name": "a", "type": "money"}], "/columns/0/type"),
        (["a"], "/columns/0"),
        ([], "/columns"),
    ],
)
def test_bad_columns_are_unprocessable(columns, path):
    with pytest.raises(Unprocessable) as error:
        tables.normalize_columns(columns)
    assert error.value.code == "invalid_columns"
    assert [e["path"] for e in error.value.errors] == [path]


# --- appending ------------------------------------------------------------------------------


def test_arrays_and_objects_are_coerced_and_stored(dataset):
    added = tables.append_rows(
        dataset,
        [
            ["2024-01-31", "books", 12.5, 3, True, "2024-01-31T10:00:00+01:00"],
            {"category": "toys", "units": "7", "paid": "FALSE", "amount": 2},
            [None, None, None, None, None, None],
        ],
    )
    assert added == 3
    assert tables.preview_rows(dataset) == [
        {
            "day": "2024-01-31",
            "category": "books",
            "amount": 12.5,
            "units": 3,
            "paid": True,
            "at": "2024-01-31T09:00:00Z",
        },
        {"day": None, "category": "toys", "amount": 2.0, "units": 7, "paid": False, "at": None},
        dict.fromkeys([c["name"] for c in COLUMNS]),
    ]
    assert (stored(dataset).row_count, stored(dataset).version) == (3, 2)
    assert (dataset.row_count, dataset.version) == (3, 2)


@pytest.mark.parametrize(
    "name, value",
    [
        ("day", "2024-02-30"),
        ("day", "2024-1-5"),
        ("day", "2024-01-05T00:00:00"),
        ("units", 2**63),
        ("units", True),
        ("units", 1.5),
        ("units", "1e3"),
        ("amount", float("nan")),
        ("amount", "inf"),
        ("amount", "1_000"),
        ("amount", False),
        ("paid", 1),
        ("paid", "yes"),
        ("category", 5),
        ("category", "nul\x00"),
        ("at", "yesterday"),
    ],
)
def test_a_bad_value_names_row_and_column_and_stores_nothing(dataset, name, value):
    good = dict.fromkeys([c["name"] for c in COLUMNS])
    with pytest.raises(InvalidRows) as error:
        tables.append_rows(dataset, [good, good, {**good, name: value}])
    assert error.value.code == "invalid_rows"
    assert [e["path"] for e in error.value.errors] == [f"/rows/2/{name}"]
    assert tables.preview_rows(dataset) == []
    assert (stored(dataset).row_count, stored(dataset).version) == (0, 1)


def test_shapes_and_unknown_keys_are_errors(dataset):
    with pytest.raises(InvalidRows) as error:
        tables.append_rows(dataset, [[1, 2], {"nope/~": 1}, "row"])
    assert [e["path"] for e in error.value.errors] == ["/rows/0", "/rows/1/nope~1~0", "/rows/2"]


def test_errors_are_collected_up_to_a_limit_across_batches(dataset):
    rows = [{"units": "many"}] * 100
    with pytest.raises(InvalidRows) as error:
        tables.append_rows(dataset, rows, batch_rows=7)
    assert len(error.value.errors) == tables.MAX_ERRORS
    assert error.value.errors[0]["path"] == "/rows/0/units"


def test_a_bad_row_after_inserted_batches_rolls_everything_back(dataset):
    rows = [{"units": 1}] * 25 + [{"units": "x"}]
    with pytest.raises(InvalidRows):
        tables.append_rows(dataset, rows, batch_rows=10)
    assert tables.preview_rows(dataset) == []
    assert stored(dataset).version == 1


def test_append_nests_inside_an_outer_transaction(dataset):
    with pytest.raises(RuntimeError), database.atomic():
        tables.append_rows(dataset, [{"units": 1}])
        raise RuntimeError("the caller changes its mind")
    assert tables.preview_rows(dataset) == []
    assert stored(dataset).row_count == 0


def test_many_rows_in_one_call(dataset):
    rows = [["2024-01-01", f"c{i % 9}", i / 2, i, i % 2 == 0, None] for i in range(5000)]
    assert tables.append_rows(dataset, rows) == 5000
    assert stored(dataset).row_count == 5000


# --- preview --------------------------------------------------------------------------------


def test_preview_keeps_insertion_order_with_limit_and_offset(dataset):
    tables.append_rows(dataset, [{"units": i} for i in (5, 3, 9, 1)])
    tables.append_rows(dataset, [{"units": 0}])
    assert [r["units"] for r in tables.preview_rows(dataset, limit=3, offset=1)] == [3, 9, 1]
    assert [r["units"] for r in tables.preview_rows(dataset, limit=10, offset=3)] == [1, 0]


def test_drop_table_removes_the_rows(dataset):
    tables.drop_table(dataset)
    assert not database.table_exists(dataset.table_name)


# --- CSV ------------------------------------------------------------------------------------

CSV_TEXT = (
    "\ufeffunits,category,day,amount,paid,at\r\n"
    '1,"a, b",2024-01-02,1.5,true,2024-01-02T03:04:05Z\r\n'
    '2,"line one\nline two",,,,\r\n'
    '3,"she said ""hi""",2024-01-03,-2,false,\r\n'
    "\r\n"
    ',"",,,,\r\n'
)


def test_csv_rows_follow_the_dataset_column_order(dataset):
    rows = list(tables.iter_csv_rows(io.StringIO(CSV_TEXT, newline=""), dataset.columns))
    assert rows == [
        ["2024-01-02", "a, b", "1.5", "1", "true", "2024-01-02T03:04:05Z"],
        [None, "line one\nline two", None, "2", None, None],
        ["2024-01-03", 'she said "hi"', "-2", "3", "false", None],
        [None, None, None, None, None, None],
    ]
    tables.append_rows(dataset, rows)
    assert [r["category"] for r in tables.preview_rows(dataset)] == [
        "a, b",
        "line one\nline two",
        'she said "hi"',
        None,
    ]


@pytest.mark.parametrize(
    "header",
    ["units,category,day,amount,paid", "units,category,day,amount,paid,at,extra", "units,units,day,amount,paid,at", ""],
)
def test_a_wrong_header_is_invalid(dataset, header):
    with pytest.raises(InvalidRows) as error:
        list(tables.iter_csv_rows(io.StringIO(header + "\n"), dataset.columns))
    assert error.value.errors[0]["path"] == "/header"


def test_a_short_csv_line_is_invalid(dataset):
    text = "units,category,day,amount,paid,at\n1,a,,,,\n2,b\n"
    with pytest.raises(InvalidRows) as error:
        list(tables.iter_csv_rows(io.StringIO(text), dataset.columns))
    assert error.value.errors[0]["path"] == "/rows/1"


def test_a_bad_csv_value_names_row_and_column(dataset):
    text = "units,category,day,amount,paid,at\n1,a,,,,\nlots,b,,,,\n"
    with pytest.raises(InvalidRows) as error:
        tables.append_rows(dataset, tables.iter_csv_rows(io.StringIO(text), dataset.columns), named_cells=True)
    assert error.value.errors[0]["path"] == "/rows/1/units"


def test_a_bad_cell_of_an_array_row_is_named_by_its_position(dataset):
    """The pointer resolves in the body that was sent: `/rows/1/0` is the first cell of the
    second row (CSV rows, whose order is the file's, are named by column instead: above)."""
    names = [c["name"] for c in COLUMNS]
    good = [None] * len(names)
    bad = list(good)
    bad[names.index("units")] = "lots"
    with pytest.raises(InvalidRows) as error:
        tables.append_rows(dataset, [good, bad])
    assert [e["path"] for e in error.value.errors] == [f"/rows/1/{names.index('units')}"]


def test_infer_columns():
    header = ["\ufeffn", "x", "flag", "day", "at", "label", "empty"]
    sample = [
        ["1", "1.5", "true", "2024-01-01", "2024-01-01T10:00:00", "a", ""],
        ["-20", "3", "FALSE", "2024-12-31", "2024-01-01 10:00:00+02:00", "2024-01-01", ""],
        ["", "", "", "", "", "1", ""],
    ]
    assert tables.infer_columns(header, sample) == [
        {"name": "n", "type": "integer"},
        {"name": "x", "type": "number"},
        {"name": "flag", "type": "boolean"},
        {"name": "day", "type": "date"},
        {"name": "at", "type": "datetime"},
        {"name": "label", "type": "string"},
        {"name": "empty", "type": "string"},
    ]


# --- import ---------------------------------------------------------------------------------


def write_csv(path, count, bad_at=None):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["date", "category", "amount"])
        for i in range(count):
            amount = "oops" if i == bad_at else f"{i % 100}.25"
            writer.writerow([f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}", f"cat {i % 5}", amount])


def test_import_csv_streams_in_batches_with_progress(project, tmp_path):
    path = tmp_path / "sales.csv"
    write_csv(path, 25_000)
    seen = []
    dataset = tables.import_csv(project, "sales", path, progress=seen.append, batch_rows=10_000)
    assert seen == [10_000, 20_000, 25_000]
    assert [(c["name"], c["type"]) for c in dataset.columns] == [
        ("date", "date"),
        ("category", "string"),
        ("amount", "number"),
    ]
    assert stored(dataset).row_count == 25_000
    assert tables.preview_rows(dataset, limit=1, offset=24_999) == [
        {"date": "2024-04-24", "category": "cat 4", "amount": 99.25}
    ]


def test_a_failed_import_leaves_nothing_behind(project, tmp_path):
    path = tmp_path / "sales.csv"
    write_csv(path, 3_000, bad_at=2_500)
    columns = [
        {"name": "date", "type": "date"},
        {"name": "category", "type": "string"},
        {"name": "amount", "type": "number"},
    ]
    with pytest.raises(InvalidRows) as error:
        tables.import_csv(project, "sales", path, columns=columns, batch_rows=1_000)
    assert error.value.errors[0]["path"] == "/rows/2500/amount"
    assert Dataset.select().count() == 0
    assert not any(name.startswith("dataset_rows_") for name in database.get_tables())
