from typing import Any

from connexion import NoContent

from handlers import serializers
from handlers.common import Answer, located
from models.access import Principal
from models.identity import ApiToken


def list_tokens(user: Principal, limit: int, offset: int) -> Answer:
    rows, total = ApiToken.listed(user.user_id, limit, offset)
    return serializers.paged(lambda row: serializers.token(row, user.token_id), rows, total, limit, offset)


def create_token(user: Principal, body: dict[str, Any] | None = None) -> Answer:
    row, token = ApiToken.issue(user.user_id, user.project_id, (body or {}).get("expires_in"))
    return located(serializers.new_token(row, token, user.token_id), f"/tokens/{row.id}")


def delete_token(user: Principal, token_id: int) -> Answer:
    ApiToken.of_user(user.user_id, token_id).delete_instance()
    return NoContent, 204
