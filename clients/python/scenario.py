"""A frontend team's first session with the generated Python client, against a live server.

Run with the generated package `dashboards_api_client` importable:
    python clients/python/scenario.py http://127.0.0.1:8000/api TOKEN
Prints one JSON line with what it built and what the render answered (tests/test_clients.py reads it).
"""

import json
import sys

from dashboards_api_client import AuthenticatedClient
from dashboards_api_client.api.cards import create_card
from dashboards_api_client.api.collections import create_collection
from dashboards_api_client.api.dashboards import create_dashboard
from dashboards_api_client.api.datasets import create_dataset
from dashboards_api_client.api.identity import get_me
from dashboards_api_client.api.render import render_dashboard, render_dashboard_with_body
from dashboards_api_client.models import (
    CollectionCreate, Column, ColumnType, DashboardCreate, DatasetCreate, KpiCardCreate, KpiCardCreateCardType,
    KpiConfig, Layout, ParameterDefinition, ParameterDefinitionType, RenderRequest, RenderRequestParameters,
    TextCardCreate, TextCardCreateCardType, TextConfig)


def values(**by_name):
    """Render parameter values: one value for a single-valued parameter, a list for a `multiple` one."""
    parameters = RenderRequestParameters()
    for name, value in by_name.items():
        parameters[name] = value
    return parameters


def main(base_url, token):
    with AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True) as client:
        me = get_me.sync(client=client)
        created = create_collection.sync_detailed(client=client, body=CollectionCreate(name="Sales"))
        collection = created.parsed
        dataset = create_dataset.sync(client=client, body=DatasetCreate(
            name="Orders",
            columns=[Column(name="region", type_=ColumnType.STRING), Column(name="amount", type_=ColumnType.NUMBER)],
            rows=[["EMEA", 120.5], ["APAC", 80.0], ["AMER", 40.0]]))
        dashboard = create_dashboard.sync(client=client, body=DashboardCreate(
            name="Revenue", collection_id=collection.id,
            parameters=[ParameterDefinition(name="region", type_=ParameterDefinitionType.STRING, multiple=True,
                                            default=["EMEA", "APAC"]),
                        ParameterDefinition(name="min_amount", type_=ParameterDefinitionType.NUMBER, default=0)]))
        # Each card type has its own body and config classes (the spec's oneOf on card_type).
        text = create_card.sync(dashboard_id=dashboard.id, client=client, body=TextCardCreate(
            card_type=TextCardCreateCardType.TEXT, config=TextConfig(markdown="## Revenue"),
            layout=Layout(x=0, y=0, w=12, h=2)))
        kpi = create_card.sync(dashboard_id=dashboard.id, client=client, body=KpiCardCreate(
            card_type=KpiCardCreateCardType.KPI, config=KpiConfig.from_dict(
                {"dataset_id": dataset.id, "metric": {"agg": "sum", "column": "amount"}, "label": "Revenue",
                 "filters": [{"column": "region", "op": "in", "value": {"param": "region"}},
                             {"column": "amount", "op": "gte", "value": {"param": "min_amount"}}]})))
        # The GET render's `param` is a deepObject, which openapi-python-client does not
        # serialize; it renders with the defaults here. Values go in the POST render's body.
        rendered = render_dashboard.sync(dashboard_id=dashboard.id, client=client)
        several = render_dashboard_with_body.sync_detailed(dashboard_id=dashboard.id, client=client, body=RenderRequest(
            parameters=values(region=["APAC", "AMER"])))
        single = render_dashboard_with_body.sync(dashboard_id=dashboard.id, client=client, body=RenderRequest(
            page=1, parameters=values(region="EMEA", min_amount=100)))
        unchanged = render_dashboard_with_body.sync_detailed(
            dashboard_id=dashboard.id, client=client, body=RenderRequest(parameters=values(region=["APAC", "AMER"])),
            if_none_match=several.headers["ETag"])
    print(json.dumps({
        "email": me.user.email,
        "collection": {"status": created.status_code, "id": collection.id, "location": created.headers.get("Location")},
        "dataset_rows": dataset.row_count,
        "dashboard": {"id": dashboard.id, "collection_id": dashboard.collection_id, "pages": len(dashboard.pages),
                      "defaults": {p.name: p.default for p in dashboard.parameters}},
        "cards": {"text": text.id, "kpi": kpi.id},
        "classes": {"text": type(text).__name__, "kpi": type(kpi).__name__, "kpi_config": type(kpi.config).__name__},
        "render": [card.to_dict() for card in rendered.cards],
        "render_classes": {card.card_id: [type(card).__name__, type(card.data).__name__] for card in rendered.cards},
        "render_with_body": {
            "several": {"parameters": several.parsed.dashboard.parameters.to_dict(),
                        "cards": [card.to_dict() for card in several.parsed.cards]},
            "single": {"parameters": single.dashboard.parameters.to_dict(),
                       "cards": [card.to_dict() for card in single.cards]},
            "unchanged_status": unchanged.status_code,
        },
    }))


if __name__ == "__main__":
    main(*sys.argv[1:3])
