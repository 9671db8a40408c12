"""Benchmark of the dataset core: CSV import speed, and compiled card queries against hand-written SQL.

    python bench/bench_datasets.py --database sqlite|postgresql [--rows 1000000] [--runs 5]

It writes a CSV into a temporary folder, imports it with `import_csv`, then times two card
queries — (a) sum by month, (b) a filtered count — through `run_query` (compile, run, convert to
JSON values) and the same SQL written by hand, run on the same connection. Each figure is the
best of --runs, the two alternating after one warm-up round. The dataset table has no index
besides its row id: both queries scan the whole table, and an index on a five-value category
does not beat a scan.
PostgreSQL runs in a private schema that is dropped at the end (TEST_POSTGRES_URL, or
--postgres-url, names the server).
"""

import argparse
import csv
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import db, schema  # noqa: E402
from models.dataset_tables import import_csv  # noqa: E402
from models.identity import Org, Project  # noqa: E402
from models.query import run_query  # noqa: E402

CATEGORIES = ("books", "games", "music", "toys", "tools")

SUM_BY_MONTH = {"dimensions": [{"column": "date", "bucket": "month"}], "metrics": [{"agg": "sum", "column": "amount"}]}
FILTERED_COUNT = {
    "metrics": [{"agg": "count"}],
    "filters": [{"column": "category", "op": "eq", "value": "toys"}, {"column": "amount", "op": "gt", "value": 500}],
}

# The baseline a person would write by hand, per backend; {t} is the dataset's table.
HAND_SQL = {
    "sqlite": {
        "sum by month": (
            "SELECT strftime('%Y-%m-01', c0) AS month, SUM(c2) FROM {t} GROUP BY month ORDER BY month",
            (),
        ),
        "filtered count": ("SELECT COUNT(*) FROM {t} WHERE c1 = ? AND c2 > ?", ("toys", 500.0)),
    },
    "postgresql": {
        # c0::timestamp: date_trunc on a bare date goes through timestamptz, ~20% slower.
        "sum by month": (
            "SELECT to_char(date_trunc('month', c0::timestamp), 'YYYY-MM-DD') AS month, SUM(c2) "
            "FROM {t} GROUP BY 1 ORDER BY 1",
            (),
        ),
        "filtered count": ("SELECT COUNT(*) FROM {t} WHERE c1 = %s AND c2 > %s", ("toys", 500.0)),
    },
}


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["date", "category", "amount", "units", "paid"])
        for i in range(rows):
            day = i % 1461  # four years of days
            writer.writerow(
                [
                    f"{2021 + day // 365:04d}-{day % 365 // 31 % 12 + 1:02d}-{day % 28 + 1:02d}",
                    CATEGORIES[(i * 7) % len(CATEGORIES)],
                    f"{(i * 37) % 100000 / 100:.2f}",
                    i % 50,
                    "true" if i % 3 else "false",
                ]
            )


def best_of(runs, *actions):
    """Best time of each action; the actions alternate, so neither gets a warmer cache."""
    times = [[] for _ in actions]
    for round_ in range(runs + 1):
        for action, spent in zip(actions, times):
            start = time.perf_counter()
            action()
            if round_:  # round 0 warms caches and plans
                spent.append(time.perf_counter() - start)
    return [min(spent) for spent in times]


def open_store(backend, folder, postgres_url):
    """(database, cleanup) for a fresh store of `backend`."""
    if backend == "sqlite":
        return db.bind(f"sqlite:///{folder / 'bench.db'}"), lambda: None
    name = f"bench_{os.getpid()}_{secrets.token_hex(4)}"
    admin = db.open_database(postgres_url)
    admin.execute_sql(f'CREATE SCHEMA "{name}"')
    sep = "&" if "?" in postgres_url else "?"
    database = db.bind(f"{postgres_url}{sep}options={quote(f'-c search_path={name}')}")

    def cleanup():
        database.close_all()
        admin.execute_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.close()

    return database, cleanup


def bench_import(project, path, rows):
    marks = []
    start = time.perf_counter()
    dataset = import_csv(project, "bench", path, progress=marks.append, batch_rows=10_000)
    elapsed = time.perf_counter() - start
    print(
        f"import  {rows:,} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s "
        f"({len(marks)} progress calls, columns {[(c['name'], c['type']) for c in dataset.columns]})"
    )
    return dataset


def bench_queries(database, backend, dataset, runs):
    for (label, spec), (sql, params) in zip(
        (("sum by month", SUM_BY_MONTH), ("filtered count", FILTERED_COUNT)),
        HAND_SQL[backend].values(),
    ):
        sql = sql.format(t=f'"{dataset.table_name}"')
        compiled, direct = best_of(
            runs,
            lambda spec=spec: run_query(dataset, spec),
            lambda sql=sql, params=params: database.execute_sql(sql, params).fetchall(),
        )
        result = run_query(dataset, spec)["rows"]
        print(
            f"{label:15s} run_query {compiled * 1000:8.1f} ms   hand SQL {direct * 1000:8.1f} ms   "
            f"ratio {compiled / direct:.3f}x   ({len(result)} rows, first {result[0]})"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = folder / "bench.csv"
        start = time.perf_counter()
        write_csv(path, args.rows)
        print(
            f"csv     {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB written in "
            f"{time.perf_counter() - start:.1f} s"
        )
        database, cleanup = open_store(args.database, folder, args.postgres_url)
        try:
            with database.connection_context():
                schema.upgrade()
                project = Project.create(org=Org.create(name="bench"), name="default")
                dataset = bench_import(project, path, args.rows)
                if args.database == "postgresql":
                    database.execute_sql(f'VACUUM ANALYZE "{dataset.table_name}"')
                bench_queries(database, args.database, dataset, args.runs)
        finally:
            cleanup()


if __name__ == "__main__":
    main()
