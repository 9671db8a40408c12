from handlers import serializers
from handlers.common import Answer
from models.access import Principal
from models.identity import Group


def get_me(user: Principal) -> Answer:
    return serializers.me(user, Group.named(user.group_ids))
