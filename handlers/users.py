from handlers import serializers
from models.identity import User


def list_users(user, limit, offset, q=None):
    rows, total = User.listed(user.org_id, limit, offset, q)
    return serializers.paged(serializers.user, rows, total, limit, offset)
