from connexion import NoContent

from handlers import serializers
from handlers.common import located
from models.identity import ApiToken


def list_tokens(user, limit, offset):
    rows, total = ApiToken.listed(user.user_id, limit, offset)
    return serializers.paged(lambda row: serializers.token(row, user.token_id), rows, total, limit, offset)


def create_token(user, body=None):
    row, token = ApiToken.issue(user.user_id, user.project_id, (body or {}).get("expires_in"))
    return located(serializers.new_token(row, token, user.token_id), f"/tokens/{row.id}")


def delete_token(user, token_id):
    ApiToken.of_user(user.user_id, token_id).delete_instance()
    return NoContent, 204
