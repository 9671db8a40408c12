from connexion import NoContent

from handlers import serializers
from handlers.common import located
from models.access import delete_group as delete_with_grants, group_for, require_admin
from models.base import text_match
from models.identity import Group, GroupMember, User


def list_groups(user, limit, offset, q=None):
    query = text_match(Group.select().where(Group.org == user.org_id), q, Group.name)
    return serializers.page_of(query, serializers.groups, limit, offset, Group.name, Group.id)


def get_group(user, group_id):
    return serializers.group_detail(group_for(user, group_id))


def create_group(user, body):
    require_admin(user)
    row = Group(org=user.org_id).save_unique(name=body["name"], description=body.get("description", ""))
    return located(serializers.group_detail(row), f"/groups/{row.id}")


def update_group(user, group_id, body):
    row = group_for(user, group_id, change=True)
    return serializers.group_detail(row.save_unique(**body))


def delete_group(user, group_id):
    delete_with_grants(group_for(user, group_id, change=True))
    return NoContent, 204


def add_group_member(user, group_id, user_id):
    group = group_for(user, group_id, change=True)
    GroupMember.get_or_create(group=group, user=User.in_org(user.org_id, user_id))
    return serializers.group_detail(group)


def remove_group_member(user, group_id, user_id):
    group = group_for(user, group_id, change=True)
    member = User.in_org(user.org_id, user_id)
    GroupMember.delete().where((GroupMember.group == group) & (GroupMember.user == member)).execute()
    return NoContent, 204
