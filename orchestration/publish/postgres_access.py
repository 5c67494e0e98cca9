"""Publishing on PostgreSQL: there is no file to rename into place. The marts schema is what
analysts read, through their role, and the dbt build grants it (dbt_project/macros/
analyst_grants.sql). What publishing does there is confirm, from the database's own privilege
functions, that the analysts' role reads every mart and nothing else, and refuse otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.ops.refusals import Refusal
from orchestration.warehouse_db import WarehouseConnection


class AnalystAccessWrong(Refusal):
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
        readable_marts=[name for schema, name, can in readable if schema == "marts" and can],
        unreadable_marts=[name for schema, name, can in readable if schema == "marts" and not can],
        readable_elsewhere=[f"{schema}.{name}" for schema, name, can in readable if schema != "marts" and can],
    )


def confirm_analyst_access(connection: WarehouseConnection, role: str) -> AnalystAccess:
    """The analysts' role reads every mart and nothing else, or a refusal that says what is wrong."""
    access = analyst_access(connection, role)
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
