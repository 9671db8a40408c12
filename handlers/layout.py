from handlers import serializers
from handlers.common import Answer, dashboard_to_change, etag
from models.access import Principal
from models.layout import apply_moves


def update_layout(
    user: Principal, dashboard_id: int, body: list[dict[str, int]], if_match: str | None = None
) -> Answer:
    dashboard = dashboard_to_change(user, dashboard_id, if_match)
    cards = apply_moves(dashboard, body)
    return serializers.layout(dashboard, cards), 200, {"ETag": etag(dashboard.version)}
