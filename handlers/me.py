from models.identity import Group


def get_me(user):
    groups = Group.select(Group.id, Group.name).where(Group.id.in_(list(user.group_ids))).order_by(Group.name)
    return {
        "user": {"id": user.user_id, "email": user.email, "name": user.name},
        "org": {"id": user.org_id, "name": user.org_name},
        "project": {"id": user.project_id, "name": user.project_name},
        "role": user.role,
        "permissions": sorted(user.permissions),
        "groups": [{"id": g.id, "name": g.name} for g in groups],
    }
