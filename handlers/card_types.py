from handlers import serializers
from handlers.common import Answer
from models.access import Principal
from models.card_types import palette


def list_card_types(user: Principal, limit: int, offset: int) -> Answer:
    return serializers.window(serializers.card_type, palette(), limit, offset)
