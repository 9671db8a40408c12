from connexion import NoContent

from handlers import serializers
from handlers.common import located
from models.access import delete_group as delete_with_grants, group_for, require_admin
from models.identity import Group, GroupMember, User


def list_groups(user, limit, offset, q=None):
    rows, total = Group.listed(user.org_id, limit, offset, q)
    return serializers.paged(serializers.group, rows, total, limit, offset)


def get_group(user, group_id):
    return _detail(group_for(user, group_id))


def create_group(user, body):
    require_admin(user)
    row = Group(org=user.org_id).save_unique(name=body["name"], description=body.get("description", ""))
    return located(_detail(row), f"/groups/{row.id}")


def update_group(user, group_id, body):
    row = group_for(user, group_id, change=True)
    return _detail(row.save_unique(**body))


def delete_group(user, group_id):
    delete_with_grants(group_for(user, group_id, change=True))
    return NoContent, 204


def add_group_member(user, group_id, user_id):
    group = group_for(user, group_id, change=True)
    GroupMember.get_or_create(group=group, user=User.in_org(user.org_id, user_id))
    return _detail(group)


def remove_group_member(user, group_id, user_id):
    group = group_for(user, group_id, change=True)
    member = User.in_org(user.org_id, user_id)
    GroupMember.delete().where((GroupMember.group == group) & (GroupMember.user == member)).execute()
    return NoContent, 204


def _detail(group):
    return serializers.group_detail(group, group.users())
