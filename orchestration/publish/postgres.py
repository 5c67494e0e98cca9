"""Publishing on PostgreSQL: the marts schema is what analysts read, through their role.

The dbt build makes the marts in schema marts_build (dbt_project/macros/generate_schema_name.sql),
which analysts cannot enter. Once the build has passed its tests, publishing renames marts to
marts_previous and marts_build to marts, and grants the analysts' role the new schema, in one
transaction: analysts see last night's marts or tonight's, never half of each, and a failed
build publishes nothing, as on DuckDB, where the whole file is renamed into place. Before it
commits, it asks PostgreSQL's privilege functions what the analysts' role can read: every mart
and nothing else, or the transaction is rolled back and the run fails. marts_previous stays
until the next publish, for a quick way back (docs/deployment.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.ops.refusals import Refusal
from orchestration.warehouse_db import WarehouseConnection, quoted_identifier


MARTS, MARTS_BUILD, MARTS_PREVIOUS = "marts", "marts_build", "marts_previous"


class AnalystAccessWrong(Refusal):
    pass


class NothingToPublish(Refusal):
    pass


@dataclass(frozen=True)
class AnalystAccess:
    role: str
    readable_marts: list[str]
    unreadable_marts: list[str]
    readable_elsewhere: list[str]


def analyst_access(connection: WarehouseConnection, role: str) -> AnalystAccess:
    exists = connection.execute("SELECT count(*) FROM pg_roles WHERE rolname = ?", [role]).fetchone()[0]
    if not exists:
        raise AnalystAccessWrong(
            f"the analysts' role {role} does not exist in PostgreSQL: create it (deploy/postgres/roles.sql) or set CFA_ANALYST_ROLE."
        )
    readable = connection.execute(
        """
        SELECT n.nspname, c.relname,
               has_schema_privilege(?, n.oid, 'USAGE') AND has_table_privilege(?, c.oid, 'SELECT') AS readable
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY 1, 2
        """,
        [role, role],
    ).fetchall()
    return AnalystAccess(
        role=role,
        readable_marts=[name for schema, name, can in readable if schema == MARTS and can],
        unreadable_marts=[name for schema, name, can in readable if schema == MARTS and not can],
        readable_elsewhere=[f"{schema}.{name}" for schema, name, can in readable if schema != MARTS and can],
    )


def confirm_analyst_access(connection: WarehouseConnection, role: str) -> AnalystAccess:
    """The analysts' role reads every mart and nothing else, or a refusal that says what is wrong."""
    access = analyst_access(connection, role)
    # The build's next marts may be readable table by table, but not the schema: not yet theirs.
    problems = []
    if access.unreadable_marts:
        problems.append(f"cannot read {len(access.unreadable_marts)} mart(s): {', '.join(access.unreadable_marts[:10])}")
    if access.readable_elsewhere:
        problems.append(
            f"can read {len(access.readable_elsewhere)} table(s) outside marts: {', '.join(access.readable_elsewhere[:10])}"
        )
    if not access.readable_marts and not access.unreadable_marts:
        problems.append("has no marts to read: the dbt build made none")
    if problems:
        raise AnalystAccessWrong(
            f"the analysts' role {role} {'; and '.join(problems)}. The dbt build grants marts and takes back any other grant "
            "on the build's schemas; a grant on another owner's schema must be revoked by hand."
        )
    return access


def publish_marts(connection: WarehouseConnection, role: str) -> AnalystAccess:
    """Swap the build's marts in for the analysts' in one transaction; refuse, changing nothing,
    if the analysts' role would then read anything but every mart."""
    schemas = {name for (name,) in connection.execute("SELECT nspname FROM pg_namespace").fetchall()}
    if MARTS_BUILD not in schemas:
        raise NothingToPublish(f"nothing to publish: schema {MARTS_BUILD} does not exist (the dbt build made no marts)")
    analysts = quoted_identifier(role)
    with connection.transaction():
        connection.execute(f"DROP SCHEMA IF EXISTS {MARTS_PREVIOUS} CASCADE")
        if MARTS in schemas:
            connection.execute(f"ALTER SCHEMA {MARTS} RENAME TO {MARTS_PREVIOUS}")
            connection.execute(f"REVOKE ALL ON SCHEMA {MARTS_PREVIOUS} FROM PUBLIC, {analysts}")
        connection.execute(f"ALTER SCHEMA {MARTS_BUILD} RENAME TO {MARTS}")
        connection.execute(f"GRANT USAGE ON SCHEMA {MARTS} TO {analysts}")
        connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {MARTS} TO {analysts}")
        return confirm_analyst_access(connection, role)
