"""Opening a store brings its database to the current schema: a new store, one written by
an earlier release (before migrations), on SQLite and on PostgreSQL, and several processes
opening the same new store at once. A store written by a newer release is refused."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from mlresearcher.errors import ConfigError
from mlresearcher.store import migrations
from mlresearcher.store.db import Store, engine_url, metadata

FIXTURES = Path(__file__).parent / "fixtures"


def _v1() -> ModuleType:
    """``fixtures/make_store_v1.py``: the first release's rows and how it stored them."""
    spec = importlib.util.spec_from_file_location("make_store_v1", FIXTURES / "make_store_v1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _revision(url: str) -> str | None:
    engine = sa.create_engine(engine_url(url))
    try:
        with engine.connect() as c:
            return migrations.current_revision(c)
    finally:
        engine.dispose()


def _check_upgraded_v1(store: Store) -> None:
    """The first release's run and trials read back as written, and what later revisions
    added works beside them."""
    v1 = _v1()
    assert _revision(store.url) == migrations.HEAD
    run = store.get_run(v1.RUN["run_id"])
    assert {k: run[k] for k in v1.RUN} == v1.RUN
    assert run["owner"] is None and run["heartbeat_at"] is None
    assert [r["run_id"] for r in store.list_runs()] == [v1.RUN["run_id"]]
    assert store.trials(v1.RUN["run_id"]) == v1.TRIALS
    store.create_run("r2", target="y", task="binary", metric="roc_auc", config={"seed": 1})
    assert store.get_run("r2")["owner"] is not None  # 0003's columns
    store.record_trial("r2", {"number": 0, "family": "linear", "status": "complete"})
    store.put_payload("r2", b"data")  # 0002's tables
    store.enqueue("r2", 1, b"job")
    claim = store.claim("host:1", "r2")
    assert claim is not None and claim[1:] == ("r2", b"job")
    assert store.get_payload("r2") == b"data"
    assert [r["status"] for r in store.queue_rows("r2")] == ["claimed"]


def test_the_migrated_schema_is_the_one_the_code_describes(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    Store(url).close()
    engine = sa.create_engine(url)
    with engine.connect() as c:
        context = MigrationContext.configure(c, opts={"version_table": migrations.VERSION_TABLE})
        assert compare_metadata(context, metadata) == []
    engine.dispose()
    script = ScriptDirectory(str(Path(migrations.__file__).parent))
    assert script.get_current_head() == migrations.HEAD


def test_a_store_written_by_the_first_release_upgrades_keeping_its_runs(tmp_path):
    path = tmp_path / "mlresearcher.db"
    shutil.copy(FIXTURES / "store_v1.db", path)
    url = f"sqlite:///{path}"
    assert _revision(url) is None  # before migrations: no version table
    store = Store(url)
    _check_upgraded_v1(store)
    store.close()
    Store(url).close()  # and opens again at head


def test_a_store_written_with_the_trial_queue_but_no_run_owner_upgrades(tmp_path):
    """The release before 0003 created all four tables with ``create_all``."""
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as c:
        command.upgrade(migrations.alembic_config(c), "0002")
        c.execute(sa.text(f"DROP TABLE {migrations.VERSION_TABLE}"))
        c.execute(
            sa.text("INSERT INTO runs (run_id, status, created_at) VALUES ('r1', 'failed', 1)")
        )
        c.execute(
            sa.text(
                "INSERT INTO trial_queue (run_id, number, status, job, attempts)"
                " VALUES ('r1', 0, 'done', x'00', 1)"
            )
        )
    engine.dispose()
    store = Store(url)
    assert _revision(url) == migrations.HEAD
    assert store.get_run("r1")["status"] == "failed"
    assert store.queue_rows("r1") == [
        {"number": 0, "status": "done", "worker": None, "attempts": 1}
    ]
    store.create_run("r2")
    assert store.get_run("r2")["heartbeat_at"] is not None


def test_a_store_from_a_newer_mlresearcher_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    Store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = '0999'"))
    engine.dispose()
    with pytest.raises(ConfigError, match=r"newer mlresearcher \(revision 0999\); upgrade") as e:
        Store(url)
    assert "\n" not in str(e.value)


def test_another_applications_alembic_revisions_are_left_alone(tmp_path):
    """A store may share a database with an application migrated by Alembic: it keeps
    its revisions in ``alembic_version``, the store in a table of its own."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        c.execute(sa.text("INSERT INTO alembic_version VALUES ('3f2a1b')"))
    Store(url).create_run("r1")
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "3f2a1b"
    engine.dispose()
    assert _revision(url) == migrations.HEAD


# a process that opens the store at ``url`` the moment the file ``go`` appears
_OPENER = """
import sys, time
from pathlib import Path
import alembic.command, alembic.script  # loaded first: the openers meet in the migration
from mlresearcher.store.db import Store
url, name, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
Path(f"{go}.{name}").touch()
while not go.exists():
    time.sleep(0.001)
Store(url).create_run(name)
"""


def _open_at_once(url: str, tmp_path: Path, n: int = 4) -> None:
    """``n`` processes opening the new store at ``url`` together: each must open it, and
    the store ends at head with every process's run."""
    go = tmp_path / "go"
    names = [f"r{i}" for i in range(n)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPENER, url, name, str(go)], stderr=subprocess.PIPE
        )
        for name in names
    ]
    try:
        end = time.monotonic() + 120
        while not all(Path(f"{go}.{name}").exists() for name in names):
            assert time.monotonic() < end, "the openers did not start"
            time.sleep(0.01)
        go.touch()
        for p in procs:
            assert p.wait(timeout=120) == 0, p.stderr.read().decode()[-2000:]
    finally:
        for p in procs:
            p.kill()
            p.wait()
    store = Store(url)
    assert sorted(r["run_id"] for r in store.list_runs()) == names
    store.close()
    assert _revision(url) == migrations.HEAD


def test_several_processes_opening_a_new_store_at_once_all_open_it(tmp_path):
    _open_at_once(f"sqlite:///{tmp_path / 'runs.db'}", tmp_path)


def test_a_postgres_store_written_by_the_first_release_upgrades(pg_url):
    engine = sa.create_engine(engine_url(pg_url))
    with engine.begin() as c:
        _v1().build_v1(c)
    engine.dispose()
    assert _revision(pg_url) is None
    store = Store(pg_url)
    _check_upgraded_v1(store)
    store.close()
    engine = sa.create_engine(engine_url(pg_url))
    with engine.connect() as c:
        context = MigrationContext.configure(c, opts={"version_table": migrations.VERSION_TABLE})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_several_processes_opening_a_new_postgres_store_at_once_all_open_it(pg_url, tmp_path):
    _open_at_once(pg_url, tmp_path)
