from handlers import serializers
from models.card_types import palette


def list_card_types(user, limit, offset):
    return serializers.window(serializers.card_type, palette(), limit, offset)
