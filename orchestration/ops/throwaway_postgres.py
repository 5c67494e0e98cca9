"""A throwaway PostgreSQL server, for the test suite and `make bench`: Debian's `postgresql`
package's binaries, a cluster in a temporary folder, a free port on the loopback address, gone
when it stops. Nothing here is how a council runs PostgreSQL (docs/deployment.md is).

PostgreSQL refuses to run as root, and the tests and CI run as root: then the cluster belongs
to an unprivileged user (`postgres`, which Debian's package creates, else `nobody`) and every
server command runs as that user through `runuser`, with no terminal and no standard input.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
# The roles docs/deployment.md asks a DBA to create, in SQL the fixture runs as that DBA.
ROLES_SQL = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "roles.sql"


class PostgresUnavailable(RuntimeError):
    pass


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian puts each major version apart)."""
    if not DEBIAN_BINARIES.is_dir():
        found = shutil.which("pg_ctl")
        return Path(found).resolve().parent if found else None
    versions = sorted(
        (folder for folder in DEBIAN_BINARIES.iterdir() if (folder / "bin" / "pg_ctl").exists()),
        key=lambda folder: int(folder.name) if folder.name.isdigit() else 0,
    )
    return versions[-1] / "bin" if versions else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class ThrowawayServer:
    host: str
    port: int
    data_dir: Path

    def environment(self, user: str, database: str, password: str | None = None) -> dict[str, str]:
        """libpq's connection variables, which psycopg, dbt's profile and dagster-postgres read."""
        settings = {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": user, "PGDATABASE": database}
        settings["PGPASSWORD"] = password or ""
        return settings

    def psql(self, sql: str, database: str = "postgres", user: str = SUPERUSER, variables: dict[str, str] | None = None) -> str:
        """Run SQL (psql's meta-commands too) as `user`, the superuser by default, stopping at the
        first error; `variables` are psql's -v settings."""
        settings = [argument for name, value in (variables or {}).items() for argument in ("-v", f"{name}={value}")]
        completed = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", *settings, "-h", self.host, "-p", str(self.port), "-U", user,
             "-d", database, "-At"],
            input=sql, text=True, capture_output=True, env={**os.environ, "PGPASSWORD": ""},
        )
        if completed.returncode != 0:
            raise RuntimeError(f"psql failed: {completed.stderr.strip()}")
        return completed.stdout


def _as_server_user(command: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextlib.contextmanager
def throwaway_server(binaries: Path | None = None) -> Iterator[ThrowawayServer]:
    """Start a PostgreSQL server in a new temporary folder; stop it and delete the folder after.
    Local connections are trusted: it listens on 127.0.0.1 only and lives for one test session."""
    binaries = binaries or server_binaries()
    if binaries is None:
        raise PostgresUnavailable("no PostgreSQL server binaries (Debian's postgresql package) are installed")
    owner = None
    if os.geteuid() == 0:
        owner = next((name for name in (SUPERUSER, "nobody") if _user_exists(name)), None)
        if owner is None:
            raise PostgresUnavailable("running as root, with no unprivileged user to run PostgreSQL as")
    folder = Path(tempfile.mkdtemp(prefix="cfa-postgres-"))
    data_dir = folder / "data"
    log = folder / "server.log"
    if owner:
        record = pwd.getpwnam(owner)
        os.chown(folder, record.pw_uid, record.pw_gid)
    port = _free_port()
    run = dict(check=True, stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=folder)
    try:
        subprocess.run(
            _as_server_user(
                [str(binaries / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                 "--locale=C.UTF-8", "--no-sync"],
                owner,
            ),
            **run,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data_dir), "-l", str(log), "-o", options, "-w", "-t", "60", "start"], owner),
            **run,
        )
    except subprocess.CalledProcessError as failure:
        detail = (failure.stderr or "") + (log.read_text() if log.exists() else "")
        shutil.rmtree(folder, ignore_errors=True)
        raise PostgresUnavailable(f"the throwaway PostgreSQL server did not start: {detail.strip()}") from None
    try:
        yield ThrowawayServer(host="127.0.0.1", port=port, data_dir=data_dir)
    finally:
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w", "stop"], owner),
            stdin=subprocess.DEVNULL, capture_output=True, cwd=folder,
        )
        shutil.rmtree(folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
