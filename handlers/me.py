from handlers import serializers
from models.identity import Group


def get_me(user):
    return serializers.me(user, Group.named(user.group_ids))
