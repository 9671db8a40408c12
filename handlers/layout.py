from handlers import serializers
from handlers.common import dashboard_to_change, etag
from models.layout import apply_moves


def update_layout(user, dashboard_id, body, if_match=None):
    dashboard = dashboard_to_change(user, dashboard_id, if_match)
    cards = apply_moves(dashboard, body)
    return serializers.layout(dashboard, cards), 200, {"ETag": etag(dashboard.version)}
