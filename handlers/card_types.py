from models.card_types import palette


def list_card_types(user):
    return {"items": palette()}
