"""The store: schema creation is repeatable and records its version."""

from models import schema


def test_upgrade_is_idempotent_and_records_version(store):
    assert schema.upgrade() == []
    with store.connection_context():
        assert schema.current_version() == schema.LATEST
