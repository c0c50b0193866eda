"""DATABASE_READ_URL is read like DATABASE_URL, and refused where it cannot be a replica."""

from __future__ import annotations

import pytest

from stamp_service.config import load_settings
from stamp_service.errors import ConfigurationError

PRIMARY = "postgresql://ocop@db-primary/ocop"


def test_unset_means_the_primary(tmp_path):
    assert load_settings({"DATABASE_URL": PRIMARY, "OCOP_VAR_DIR": str(tmp_path)}).database_read_url is None


def test_a_replica_url_uses_the_same_driver_as_the_primary(tmp_path):
    env = {"DATABASE_URL": PRIMARY, "DATABASE_READ_URL": "postgres://ocop@db-replica/ocop"}
    settings = load_settings({**env, "OCOP_VAR_DIR": str(tmp_path)})
    assert settings.database_read_url == "postgresql+psycopg://ocop@db-replica/ocop"
    assert settings.database_url == "postgresql+psycopg://ocop@db-primary/ocop"


@pytest.mark.parametrize(
    ("primary", "replica", "message"),
    [
        ("", "postgresql://ocop@db-replica/ocop", "needs a PostgreSQL DATABASE_URL"),
        (PRIMARY, "mysql://ocop@db-replica/ocop", "must be a postgresql:// URL"),
    ],
)
def test_a_read_url_that_cannot_be_a_replica_stops_the_start(tmp_path, primary, replica, message):
    env = {"DATABASE_URL": primary, "DATABASE_READ_URL": replica, "OCOP_VAR_DIR": str(tmp_path)}
    with pytest.raises(ConfigurationError, match=message):
        load_settings(env)
