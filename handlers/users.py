from handlers import serializers
from models.base import text_match
from models.identity import User


def list_users(user, limit, offset, q=None):
    query = text_match(User.select().where(User.org == user.org_id), q, User.name, User.email)
    return serializers.page_of(query, serializers.users, limit, offset, User.name, User.id)
