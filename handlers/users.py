from handlers import serializers
from handlers.common import Answer
from models.access import Principal
from models.identity import User


def list_users(user: Principal, limit: int, offset: int, q: str | None = None) -> Answer:
    rows, total = User.listed(user.org_id, limit, offset, q)
    return serializers.paged(serializers.user, rows, total, limit, offset)
