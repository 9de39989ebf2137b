"""The store's schema history as Alembic revisions (``versions/``), and bringing a
database to head when a :class:`~mlresearcher.store.db.Store` opens it.

``0001`` the first release's ``runs`` and ``trials``; ``0002`` ``trial_queue`` and
``run_payloads``; ``0003`` ``runs.owner`` and ``runs.heartbeat_at``. A new revision goes in
``versions/`` with ``down_revision`` set to the last one, :data:`HEAD` moves to it, and
:data:`mlresearcher.store.db.metadata` describes its result (a test compares the two).

The revision is kept in its own table, :data:`VERSION_TABLE`, not Alembic's default
``alembic_version``, so a store can share a database with an application (or an Optuna
storage) that has Alembic revisions of its own. Stores written before migrations have no
version table; their tables tell which release wrote them, and they are stamped at that
revision before the upgrade. Stores are only ever upgraded: one stamped at a revision this
code does not know was written by a newer mlresearcher and is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import NullPool, column, create_engine, event, inspect, select, table, text
from sqlalchemy.engine import Connection, Engine

from mlresearcher.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0003"
VERSION_TABLE = "mlresearcher_version"
_FOLDER = Path(__file__).resolve().parent
# any fixed 64-bit number: the key of the PostgreSQL advisory lock migrations take
_PG_LOCK_KEY = 0x6D6C_7273_6368_0001
# Alembic runs revisions through a module-level context: one migration at a time per process
_IN_PROCESS = threading.Lock()


def upgrade(engine: Engine, url: str) -> None:
    """Bring the store behind ``engine`` to :data:`HEAD`.

    A store at head costs one query (Alembic is not even imported: 0.1 s of every command's
    start). Otherwise the revision is read again and the revisions run under a lock that
    serialises processes opening the same store at once, so only the first one migrates
    and the others find the store at head. A store at a revision this code does not know
    is refused with a :class:`ConfigError`."""
    with engine.connect() as c:
        if current_revision(c) == HEAD:
            return
    from alembic import command
    from alembic.script import ScriptDirectory

    with _IN_PROCESS, _locked(engine) as c:
        cfg = alembic_config(c)
        current = current_revision(c)
        if current is not None:
            known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
            if current not in known:
                raise ConfigError(
                    f"the store {url!r} was written by a newer mlresearcher (revision"
                    f" {current}); upgrade mlresearcher"
                )
        elif (written := _unversioned_revision(c)) is not None:
            command.stamp(cfg, written)
        command.upgrade(cfg, "head")


def alembic_config(connection: Connection) -> Config:
    """An Alembic configuration whose revisions run on ``connection``."""
    from alembic.config import Config

    cfg = Config()
    # the option goes through ConfigParser interpolation: a '%' in the path must be doubled
    cfg.set_main_option("script_location", str(_FOLDER).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(connection: Connection) -> str | None:
    """The revision the store is stamped at; ``None`` when it has no version table (a new
    store, or one written before migrations)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    version = table(VERSION_TABLE, column("version_num"))
    return connection.execute(select(version.c.version_num)).scalar()


def _unversioned_revision(connection: Connection) -> str | None:
    """The revision of a store written before migrations, by ``create_all``: ``0001`` for
    ``runs`` and ``trials``, ``0002`` once the trial queue's tables are there too; ``None``
    for a database without the run tables (a new store)."""
    tables = set(inspect(connection).get_table_names())
    if not {"runs", "trials"} <= tables:
        return None
    return "0002" if {"trial_queue", "run_payloads"} <= tables else "0001"


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A transaction no other process migrating the same store runs beside.

    SQLite: a separate connection whose transaction starts with ``BEGIN IMMEDIATE``, which
    takes the database's write lock at once (the others wait on their busy timeout);
    Python's sqlite3 would otherwise begin no transaction before DDL. PostgreSQL: a
    transaction-scoped advisory lock (DDL is transactional there). Other databases run
    the revisions in a plain transaction."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        locking = create_engine(engine.url, poolclass=NullPool, connect_args={"timeout": 30})
        event.listen(locking, "connect", _no_implicit_begin)
        event.listen(locking, "begin", lambda c: c.exec_driver_sql("BEGIN IMMEDIATE"))
        try:
            with locking.begin() as c:
                yield c
        finally:
            locking.dispose()
        return
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        yield c


def _no_implicit_begin(dbapi_conn: Any, _: Any) -> None:
    dbapi_conn.isolation_level = None  # the "begin" listener emits BEGIN IMMEDIATE itself


__all__ = ["HEAD", "VERSION_TABLE", "alembic_config", "current_revision", "upgrade"]
