from handlers import serializers
from models.identity import User


def list_users(user, limit, offset, q=None):
    query = User.matching(User.select().where(User.org == user.org_id), q)
    rows = query.order_by(User.name, User.id).limit(limit).offset(offset)
    return serializers.paged(serializers.users.dump(rows), query.count(), limit, offset)
