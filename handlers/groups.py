from typing import Any

from connexion import NoContent

from handlers import serializers
from handlers.common import Answer, located
from models.access import Principal, group_for, require_admin
from models.access import delete_group as delete_with_grants
from models.identity import Group, GroupMember, User


def list_groups(user: Principal, limit: int, offset: int, q: str | None = None) -> Answer:
    rows, total = Group.listed(user.org_id, limit, offset, q)
    return serializers.paged(serializers.group, rows, total, limit, offset)


def get_group(user: Principal, group_id: int) -> Answer:
    return _detail(group_for(user, group_id))


def create_group(user: Principal, body: dict[str, Any]) -> Answer:
    require_admin(user)
    row = Group(org=user.org_id).save_unique(name=body["name"], description=body.get("description", ""))
    return located(_detail(row), f"/groups/{row.id}")


def update_group(user: Principal, group_id: int, body: dict[str, Any]) -> Answer:
    row = group_for(user, group_id, change=True)
    return _detail(row.save_unique(**body))


def delete_group(user: Principal, group_id: int) -> Answer:
    delete_with_grants(group_for(user, group_id, change=True))
    return NoContent, 204


def add_group_member(user: Principal, group_id: int, user_id: int) -> Answer:
    group = group_for(user, group_id, change=True)
    GroupMember.get_or_create(group=group, user=User.in_org(user.org_id, user_id))
    return _detail(group)


def remove_group_member(user: Principal, group_id: int, user_id: int) -> Answer:
    group = group_for(user, group_id, change=True)
    member = User.in_org(user.org_id, user_id)
    GroupMember.delete().where((GroupMember.group == group) & (GroupMember.user == member)).execute()
    return NoContent, 204


def _detail(group: Group) -> serializers.GroupDetailBody:
    return serializers.group_detail(group, group.users())
