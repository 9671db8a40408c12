"""Benchmark of render: a 12-card page over a 1,000,000-row dataset, against the direct-SQL floor.

    python bench/bench_render.py --database sqlite|postgresql [--rows 1000000] [--runs 5] [--warm 300]

The page has five kpis, four charts, two tables and a filter card. The floor is the same compiled
SQL of every card run directly, one query after another on one connection: its sum is what a
sequential render cannot beat, its maximum what a perfectly parallel one cannot. A cold render
goes through the whole app in-process (HTTP request, auth, access, parameters, compile, run,
JSON) with the result cache emptied first; warm renders are the same request with the cache full.
Times are the best of --runs for cold figures, and p50 over --warm requests for warm ones.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from bench_datasets import open_store, write_csv  # noqa: E402

from app import create_app  # noqa: E402
from config import Settings  # noqa: E402
from models import card_queries, db, render, schema  # noqa: E402
from models.content import Card, Dashboard, Page  # noqa: E402
from models.dataset_tables import import_csv  # noqa: E402
from models.identity import ApiToken, Org, Project, User  # noqa: E402
from models.query import compile_query  # noqa: E402

PARAMS = {"category": "toys"}


def cards(dataset_id):
    by_category = [{"column": "category", "op": "eq", "value": {"param": "category"}}]
    d = {"dataset_id": dataset_id}
    return [
        ("kpi", {**d, "metric": {"agg": "count"}}),
        ("kpi", {**d, "metric": {"agg": "sum", "column": "amount"}}),
        ("kpi", {**d, "metric": {"agg": "avg", "column": "amount"}, "filters": by_category}),
        ("kpi", {**d, "metric": {"agg": "count_distinct", "column": "units"}}),
        ("kpi", {**d, "metric": {"agg": "max", "column": "date"}, "filters": by_category}),
        (
            "chart",
            {
                **d,
                "chart_type": "line",
                "x": {"column": "date", "bucket": "month"},
                "metrics": [{"agg": "sum", "column": "amount"}],
            },
        ),
        ("chart", {**d, "chart_type": "bar", "x": {"column": "category"}, "metrics": [{"agg": "count"}]}),
        (
            "chart",
            {
                **d,
                "chart_type": "area",
                "x": {"column": "date", "bucket": "quarter"},
                "metrics": [{"agg": "avg", "column": "amount"}],
                "series_by": "paid",
            },
        ),
        (
            "chart",
            {
                **d,
                "chart_type": "bar",
                "x": {"column": "date", "bucket": "year"},
                "metrics": [{"agg": "sum", "column": "units"}],
                "filters": by_category,
            },
        ),
        (
            "table",
            {
                **d,
                "columns": ["date", "category", "amount"],
                "limit": 100,
                "sort": [{"by": "amount", "direction": "desc"}],
                "filters": by_category,
            },
        ),
        (
            "table",
            {
                **d,
                "group_by": [{"column": "category"}, {"column": "paid"}],
                "metrics": [{"agg": "sum", "column": "units"}, {"agg": "count"}],
            },
        ),
        ("filter", {"parameter": "category", **d, "column": "category"}),
    ]


def build(dataset):
    org = Org.create(name="bench")
    project = Project.get_or_create(org=org, name="default")[0]
    user = User.create(org=org, email="bench@example.com", role="admin")
    dataset.project = project
    dataset.save()
    dashboard = Dashboard.create_with_first_page(
        project=project,
        owner=user,
        name="Bench",
        parameters=[{"name": "category", "type": "string", "multiple": False, "required": False}],
    )
    page = Page.get(Page.dashboard == dashboard.id)
    for index, (card_type, config) in enumerate(cards(dataset.id)):
        Card.create(
            dashboard=dashboard,
            page=page,
            card_type=card_type,
            config=config,
            x=(index % 2) * 12,
            y=(index // 2) * 8,
            w=12,
            h=8,
        )
    return dashboard, ApiToken.issue(user, project)[1]


def floor(dataset, runs):
    """Best time of each distinct compiled query of the page, run directly."""
    queries = {}
    for card_type, config in cards(dataset.id):
        for ask in card_queries.queries(card_type, config).values():
            compiled = compile_query(dataset, ask.spec, PARAMS)
            queries[(compiled.cache_key, ask.count)] = (compiled, ask.count)
    times = []
    for compiled, count in queries.values():
        run = compiled.count if count else compiled.fetch
        spent = []
        for _ in range(runs + 1):
            start = time.perf_counter()
            run()
            spent.append(time.perf_counter() - start)
        times.append(min(spent[1:]))
    return times


async def measure(app, path, token, args):
    """Cold and warm render times through the whole app, in-process (no sockets)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:

        async def timed():
            start = time.perf_counter()
            response = await client.get(
                path, params={"param.category": PARAMS["category"]}, headers={"Authorization": f"Bearer {token}"}
            )
            spent = time.perf_counter() - start
            assert response.status_code == 200, response.text
            assert not [c for c in response.json()["cards"] if c["error"]], response.text
            return spent

        await timed()
        cold = []
        for _ in range(args.runs):
            render.renderer().cache.clear()
            cold.append(await timed())
        warm = [await timed() for _ in range(args.warm)]
    return cold, warm


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm", type=int, default=300)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        database, cleanup = open_store(args.database, folder, args.postgres_url)
        try:
            schema.upgrade()
            path = folder / "rows.csv"
            write_csv(path, args.rows)
            with database.connection_context():
                placeholder = Project.create(org=Org.create(name="import"), name="default")
                dataset = import_csv(placeholder, "bench", path)
                dashboard, token = build(dataset)
                direct = floor(dataset, args.runs)
            app = create_app(Settings(database_url=database_url(args, database)))
            cold, warm = asyncio.run(measure(app, f"/api/dashboards/{dashboard.id}/render", token, args))
            report(args, direct, min(cold), warm)
        finally:
            db.database.close() if not db.database.is_closed() else None
            cleanup()


def database_url(args, database):
    if args.database == "sqlite":
        return f"sqlite:///{database.database}"
    params = database.connect_params
    return f"{args.postgres_url}?options={params['options'].replace(' ', '%20').replace('=', '%3D')}"


def report(args, direct, cold, warm):
    total, longest = sum(direct), max(direct)
    p50 = statistics.median(warm)
    print(f"{args.database}: 12 cards, {len(direct)} distinct queries over {args.rows:,} rows")
    print(f"  direct SQL, one after another: sum {total * 1000:8.1f} ms   max {longest * 1000:8.1f} ms")
    print(
        f"  cold render (cache empty):         {cold * 1000:8.1f} ms   "
        f"= {cold / total:.2f}x the sum, {cold / longest:.2f}x the max"
    )
    print(
        f"  warm render (cached):   p50 {p50 * 1000:6.2f} ms   p95 "
        f"{statistics.quantiles(warm, n=20)[-1] * 1000:6.2f} ms   {len(warm) / sum(warm):,.0f} renders/s"
    )


if __name__ == "__main__":
    main()
