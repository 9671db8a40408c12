"""Demo data: an org with datasets and dashboards that use every card type, to build a frontend against."""

import datetime
import random

from models.cards import add_card
from models.content import Collection, Dashboard
from models.dataset_tables import append_rows, create_dataset
from models.datasets import Dataset
from models.identity import ApiToken, Org, Project, User
from models.pages import add_page

DEMO_ORG, DEMO_EMAIL = "demo", "demo@example.com"
REGIONS = ("EMEA", "APAC", "AMER", "LATAM")
PRODUCTS = ("Starter", "Team", "Business", "Enterprise")
PLANS = ("free", "team", "business")


def load_demo() -> tuple[User, Project, str]:
    """Create the demo org once; every call returns a fresh token for its admin."""
    user = User.get_or_none(User.email == DEMO_EMAIL)
    if user is None:
        org = Org.create(name=DEMO_ORG)
        project = Project.create(org=org, name="default")
        user = User.create(org=org, email=DEMO_EMAIL, name="Demo Admin", role="admin")
        _content(project, user)
    project = Project.get((Project.org == user.org_id) & (Project.name == "default"))
    _, token = ApiToken.issue(user, project)
    return user, project, token


def _content(project: Project, user: User) -> None:
    rng = random.Random(2026)
    customers = _customers(project, rng)
    orders = _orders(project, rng)
    sales = Collection.create(project=project, name="Sales", description="Revenue and pipeline")
    Collection.create(project=project, parent=sales, name="EMEA", description="Regional views")
    ops = Collection.create(project=project, name="Customers", description="Accounts and plans")
    _revenue(project, user, sales, orders)
    _customer_profile(project, user, ops, customers, orders)
    Dashboard.create_with_first_page(
        project=project,
        owner=user,
        collection=None,
        name="Scratchpad",
        description="An empty private dashboard",
        default_audience="private",
        parameters=[],
    )


def _customers(project: Project, rng: random.Random) -> Dataset:
    dataset = create_dataset(
        project,
        "Customers",
        [
            {"name": "customer_id", "type": "integer"},
            {"name": "name", "type": "string"},
            {"name": "email", "type": "string"},
            {"name": "plan", "type": "string"},
            {"name": "region", "type": "string"},
            {"name": "signed_up", "type": "date"},
        ],
        description="One row per customer account",
    )
    start = datetime.date(2024, 1, 1)
    append_rows(
        dataset,
        [
            [
                i,
                f"Customer {i}",
                f"customer{i}@example.com",
                rng.choice(PLANS),
                rng.choice(REGIONS),
                (start + datetime.timedelta(days=rng.randrange(700))).isoformat(),
            ]
            for i in range(1, 201)
        ],
    )
    return dataset


def _orders(project: Project, rng: random.Random) -> Dataset:
    dataset = create_dataset(
        project,
        "Orders",
        [
            {"name": "ordered_at", "type": "date"},
            {"name": "region", "type": "string"},
            {"name": "product", "type": "string"},
            {"name": "customer_id", "type": "integer"},
            {"name": "amount", "type": "number"},
            {"name": "units", "type": "integer"},
            {"name": "paid", "type": "boolean"},
        ],
        description="One row per order, two years of history",
    )
    start = datetime.date(2025, 1, 1)
    append_rows(
        dataset,
        [
            [
                (start + datetime.timedelta(days=rng.randrange(730))).isoformat(),
                rng.choice(REGIONS),
                rng.choice(PRODUCTS),
                rng.randrange(1, 201),
                round(rng.uniform(20, 2000), 2),
                rng.randrange(1, 25),
                rng.random() < 0.9,
            ]
            for _ in range(3000)
        ],
    )
    return dataset


def _revenue(project: Project, user: User, collection: Collection, orders: Dataset) -> None:
    dashboard = Dashboard.create_with_first_page(
        project=project,
        owner=user,
        collection=collection,
        name="Revenue overview",
        description="Monthly revenue by region",
        default_audience="public",
        parameters=[
            {
                "name": "region",
                "type": "string",
                "label": "Region",
                "multiple": True,
                "required": False,
                "default": None,
            },
            {
                "name": "since",
                "type": "date",
                "label": "Since",
                "multiple": False,
                "required": False,
                "default": "2025-01-01",
            },
        ],
    )
    d = {"dataset_id": orders.id}
    scope = [
        {"column": "region", "op": "in", "value": {"param": "region"}},
        {"column": "ordered_at", "op": "gte", "value": {"param": "since"}},
    ]
    add_card(dashboard, "filter", {"parameter": "region", **d, "column": "region"})
    add_card(dashboard, "filter", {"parameter": "since"})
    add_card(
        dashboard, "kpi", {**d, "metric": {"agg": "sum", "column": "amount"}, "label": "Revenue", "filters": scope}
    )
    add_card(dashboard, "kpi", {**d, "metric": {"agg": "count"}, "label": "Orders", "filters": scope})
    add_card(
        dashboard,
        "kpi",
        {**d, "metric": {"agg": "avg", "column": "amount"}, "label": "Average order", "filters": scope},
    )
    add_card(
        dashboard,
        "chart",
        {
            **d,
            "chart_type": "line",
            "x": {"column": "ordered_at", "bucket": "month"},
            "metrics": [{"agg": "sum", "column": "amount", "label": "revenue"}],
            "series_by": "region",
            "filters": scope,
        },
    )
    add_card(
        dashboard,
        "chart",
        {
            **d,
            "chart_type": "bar",
            "x": {"column": "product"},
            "metrics": [{"agg": "sum", "column": "units"}],
            "filters": scope,
        },
    )
    add_card(
        dashboard,
        "chart",
        {**d, "chart_type": "pie", "x": {"column": "region"}, "metrics": [{"agg": "count"}], "filters": scope},
    )
    add_page(dashboard, "Details")
    add_card(
        dashboard,
        "table",
        {
            **d,
            "columns": ["ordered_at", "region", "product", "amount"],
            "sort": [{"by": "amount", "direction": "desc"}],
            "limit": 50,
            "filters": scope,
        },
        page_number=2,
    )
    add_card(
        dashboard,
        "table",
        {
            **d,
            "group_by": [{"column": "region"}, {"column": "product"}],
            "metrics": [{"agg": "sum", "column": "amount"}, {"agg": "count"}],
        },
        page_number=2,
    )
    add_card(
        dashboard, "text", {"markdown": "## How to read this\nRevenue is the sum of order amounts."}, page_number=2
    )


def _customer_profile(
    project: Project, user: User, collection: Collection, customers: Dataset, orders: Dataset
) -> None:
    dashboard = Dashboard.create_with_first_page(
        project=project,
        owner=user,
        collection=collection,
        name="Customer profile",
        description="One customer at a time",
        default_audience="org",
        parameters=[
            {
                "name": "customer",
                "type": "integer",
                "label": "Customer",
                "multiple": False,
                "required": False,
                "default": 1,
            }
        ],
    )
    one = [{"column": "customer_id", "op": "eq", "value": {"param": "customer"}}]
    add_card(dashboard, "filter", {"parameter": "customer", "dataset_id": customers.id, "column": "customer_id"})
    add_card(
        dashboard,
        "detail",
        {"dataset_id": customers.id, "fields": ["name", "email", "plan", "region", "signed_up"], "filters": one},
    )
    add_card(
        dashboard,
        "kpi",
        {
            "dataset_id": orders.id,
            "metric": {"agg": "sum", "column": "amount"},
            "label": "Lifetime value",
            "filters": one,
        },
    )
    add_card(
        dashboard,
        "table",
        {
            "dataset_id": orders.id,
            "columns": ["ordered_at", "product", "amount", "paid"],
            "sort": [{"by": "ordered_at", "direction": "desc"}],
            "limit": 20,
            "filters": one,
        },
    )
    add_card(dashboard, "image", {"url": "https://example.com/logo.png", "alt": "Company logo"})
