"""Is the database's schema the one this code expects? (``/readyz``, ``doctor``, the schedule.)

The answer compares the Alembic revision stamped in the database with the head revision of the
migrations shipped in the package. The heads are read once per process: they cannot change
while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection


@lru_cache(maxsize=1)
def code_heads() -> frozenset[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from petitions import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


@dataclass(frozen=True)
class SchemaState:
    database: frozenset[str]
    code: frozenset[str]

    @property
    def current(self) -> bool:
        return self.database == self.code

    def describe(self) -> str:
        if self.current:
            return "schema current (" + ", ".join(sorted(self.code)) + ")"
        found = ", ".join(sorted(self.database)) or "none"
        return (
            f"schema at {found}, the code needs "
            + ", ".join(sorted(self.code))
            + ": run `flask --app petitions db upgrade`"
        )


def schema_state(connection: Connection) -> SchemaState:
    from alembic.migration import MigrationContext

    found = MigrationContext.configure(connection).get_current_heads()
    return SchemaState(database=frozenset(found), code=code_heads())
