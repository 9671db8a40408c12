from connexion import NoContent

from handlers import serializers
from handlers.common import located
from models.identity import ApiToken


def list_tokens(user, limit, offset):
    query = ApiToken.select().where(ApiToken.user == user.user_id)
    return serializers.page_of(query, serializers.tokens(user), limit, offset, ApiToken.id)


def create_token(user, body=None):
    row, token = ApiToken.issue(user.user_id, user.project_id, (body or {}).get("expires_in"))
    return located({**serializers.tokens(user, many=False).dump(row), "token": token}, f"/tokens/{row.id}")


def delete_token(user, token_id):
    ApiToken.of_user(user.user_id, token_id).delete_instance()
    return NoContent, 204
