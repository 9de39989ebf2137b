"""The run store: every run and every trial, in a relational database.

SQLite (a file in the runs folder) by default; any SQLAlchemy URL otherwise
(``postgresql://...``). Each trial is written and committed the moment it finishes, so a
crash never loses finished work. Two tables:

``runs``   one row per run: id, status, task, metric, target, data hash, config, timing,
           and the process running it with its last heartbeat: a run whose process died
           reads as ``interrupted`` (:mod:`mlresearcher.store.liveness`)
``trials`` one row per trial: family, params, status, per-fold scores, timings, error

Two more serve campaigns shared by worker processes (``--cluster store``):

``trial_queue``  trials waiting for, claimed by, or finished by a worker (pickled job and
                 result). A worker claims a row atomically: ``SELECT ... FOR UPDATE SKIP
                 LOCKED`` on PostgreSQL, a conditional ``UPDATE ... WHERE status='queued'``
                 elsewhere, so no trial is claimed twice. A claimed row whose worker stops
                 beating its heartbeat is put back in the queue, so no trial is lost; after
                 its third lost worker it is marked failed, so none is retried forever.
``run_payloads`` the run's prepared data, pickled once for every worker to load.

:data:`metadata` describes the schema at the newest revision; opening a store brings its
database there first (:mod:`mlresearcher.store.migrations`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DatabaseError

from mlresearcher.errors import ConfigError, RunNotFoundError
from mlresearcher.store import migrations
from mlresearcher.store.liveness import is_abandoned, process_owner

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),  # running | finished | failed | interrupted
    Column("created_at", Float, nullable=False),  # unix seconds
    Column("finished_at", Float),
    Column("target", String(256)),
    Column("task", String(16)),
    Column("metric", String(32)),
    Column("n_rows", Integer),
    Column("n_features", Integer),
    Column("data_hash", String(64)),
    Column("data_source", Text),
    Column("run_dir", Text),
    Column("config", Text),  # JSON
    Column("best_score", Float),
    Column("best_model", String(128)),
    Column("n_trials", Integer),
    Column("summary", Text),  # JSON
    Column("owner", String(128)),  # host:pid of the process running the run
    Column("heartbeat_at", Float),  # unix seconds: that process's last sign of life
)

trials = Table(
    "trials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("family", String(64), nullable=False),
    Column("origin", String(16)),  # default | portfolio | search
    Column("params", Text),  # JSON
    Column("status", String(16), nullable=False),  # complete | pruned | failed | skipped
    Column("score", Float),
    Column("score_std", Float),
    Column("fold_scores", Text),  # JSON list
    Column("n_folds_done", Integer),
    Column("fit_time", Float),  # seconds, summed over folds
    Column("predict_time", Float),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("error", Text),
    UniqueConstraint("run_id", "number", name="uq_trial_number"),
)

trial_queue = Table(
    "trial_queue",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # queued | claimed | done | failed | cancelled
    Column("job", LargeBinary, nullable=False),  # pickled TrialJob
    Column("result", LargeBinary),  # pickled TrialResult
    Column("worker", String(128)),  # host:pid of the claimant
    Column("attempts", Integer, nullable=False, default=0),
    Column("queued_at", Float),
    Column("claimed_at", Float),
    Column("heartbeat_at", Float),
    Column("finished_at", Float),
    UniqueConstraint("run_id", "number", name="uq_queue_number"),
)

run_payloads = Table(
    "run_payloads",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),  # pickled TrialData
)

_TRIAL_JSON = ("params", "fold_scores")


def engine_url(url: str) -> str:
    """``url`` with an installed PostgreSQL driver named: a bare ``postgresql://`` means
    psycopg (v3) to SQLAlchemy 2.1+, but the ``postgres`` extra installs psycopg2."""
    import importlib.util

    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None:
        if importlib.util.find_spec("psycopg2") is not None:
            return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url


def default_store_url(runs_dir: str | Path) -> str:
    """The SQLite database shared by the runs under ``runs_dir``."""
    return f"sqlite:///{Path(runs_dir).resolve() / 'mlresearcher.db'}"


class Store:
    """Access to the runs and trials tables behind one SQLAlchemy URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            kwargs: dict[str, Any] = {"future": True}
            if url.startswith("sqlite"):
                kwargs["connect_args"] = {"timeout": 30}
                if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
                    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(engine_url(url), **kwargs)
        except (ArgumentError, ImportError, ValueError) as e:
            raise ConfigError(
                f"invalid store URL {url!r}: {e}; use an SQLAlchemy URL such as sqlite:///runs.db"
            ) from e
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            migrations.upgrade(self.engine, url)
        except DatabaseError as e:  # unreachable server, locked or not a database file
            raise ConfigError(
                f"cannot open the store {url!r}: {str(e.orig).strip().splitlines()[0]}"
            ) from e

    # runs ---------------------------------------------------------------------------------
    def create_run(self, run_id: str, **fields: Any) -> None:
        """A new running run, owned by this process (see :meth:`beat_run`)."""
        now = time.time()
        row = {
            "run_id": run_id,
            "status": "running",
            "created_at": now,
            "owner": process_owner(),
            "heartbeat_at": now,
            **fields,
        }
        if isinstance(row.get("config"), dict):
            row["config"] = json.dumps(row["config"], default=str)
        with self.engine.begin() as c:
            c.execute(insert(runs).values(**row))

    def update_run(self, run_id: str, **fields: Any) -> None:
        if isinstance(fields.get("summary"), dict):
            fields["summary"] = json.dumps(fields["summary"], default=str)
        with self.engine.begin() as c:
            c.execute(update(runs).where(runs.c.run_id == run_id).values(**fields))

    def finish_run(self, run_id: str, status: str = "finished", **fields: Any) -> None:
        self.update_run(run_id, status=status, finished_at=time.time(), **fields)

    def resume_run(self, run_id: str) -> None:
        """Run ``run_id`` again, owned by this process."""
        self.update_run(
            run_id,
            status="running",
            finished_at=None,
            owner=process_owner(),
            heartbeat_at=time.time(),
        )

    def beat_run(self, run_id: str, owner: str) -> bool:
        """Refresh the heartbeat of ``owner``'s running run; ``False`` when the run is no
        longer its (finished, or resumed by another process). A run a reader marked
        interrupted while its process was alive (asleep, say, past the stale limit) is
        running again: only ``finish_run`` sets ``finished_at``, so such a mark is told
        from the run's own end."""
        with self.engine.begin() as c:
            n = c.execute(
                update(runs)
                .where(
                    runs.c.run_id == run_id,
                    runs.c.owner == owner,
                    or_(
                        runs.c.status == "running",
                        (runs.c.status == "interrupted") & runs.c.finished_at.is_(None),
                    ),
                )
                .values(status="running", heartbeat_at=time.time())
            ).rowcount
        return n == 1

    def list_runs(self) -> list[dict[str, Any]]:
        """Every run, newest first; a running run whose process is gone as interrupted."""
        with self.engine.connect() as c:
            rows = c.execute(select(runs).order_by(runs.c.created_at.desc())).mappings().all()
        return [self._settled(r) for r in rows]

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self.engine.connect() as c:
            row = c.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
            if row is None:
                like = (
                    c.execute(select(runs.c.run_id).where(runs.c.run_id.like(f"{run_id}%")))
                    .scalars()
                    .all()
                )
                if len(like) == 1:
                    row = c.execute(select(runs).where(runs.c.run_id == like[0])).mappings().first()
        if row is None:
            raise RunNotFoundError(
                f"no run {run_id!r} in {self.url}; list runs with `mlresearcher runs list`"
            )
        return self._settled(row)

    def _settled(self, row: Any) -> dict[str, Any]:
        """``row`` as a dict; a running run whose process is gone
        (:func:`~mlresearcher.store.liveness.is_abandoned`) is marked interrupted, unless
        the run beat or changed since it was read: the update matches the heartbeat seen,
        so a live run is never overwritten."""
        d = _run_dict(row)
        if d["status"] != "running" or not is_abandoned(d, time.time()):
            return d
        with self.engine.begin() as c:
            n = c.execute(
                update(runs)
                .where(
                    runs.c.run_id == d["run_id"],
                    runs.c.status == "running",
                    runs.c.heartbeat_at.is_not_distinct_from(d["heartbeat_at"]),
                )
                .values(status="interrupted")
            ).rowcount
        if n == 1:
            d["status"] = "interrupted"
        return d

    # trials -------------------------------------------------------------------------------
    def record_trial(self, run_id: str, trial: dict[str, Any]) -> None:
        """Insert one finished trial and commit at once."""
        row = {k: v for k, v in trial.items() if k in trials.c}
        for k in _TRIAL_JSON:
            if k in row and not isinstance(row[k], str):
                row[k] = json.dumps(row[k], default=str)
        with self.engine.begin() as c:
            c.execute(insert(trials).values(run_id=run_id, **row))

    def trials(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = (
                c.execute(select(trials).where(trials.c.run_id == run_id).order_by(trials.c.number))
                .mappings()
                .all()
            )
        out = []
        for r in rows:
            d = dict(r)
            for k in _TRIAL_JSON:
                if d.get(k):
                    d[k] = json.loads(d[k])
            d.pop("id", None)
            out.append(d)
        return out

    # the shared trial queue ----------------------------------------------------------------
    def put_payload(self, run_id: str, data: bytes) -> None:
        with self.engine.begin() as c:
            c.execute(delete(run_payloads).where(run_payloads.c.run_id == run_id))
            c.execute(insert(run_payloads).values(run_id=run_id, data=data))

    def get_payload(self, run_id: str) -> bytes | None:
        with self.engine.connect() as c:
            return c.execute(
                select(run_payloads.c.data).where(run_payloads.c.run_id == run_id)
            ).scalar()

    def enqueue(self, run_id: str, number: int, job: bytes) -> None:
        with self.engine.begin() as c:
            c.execute(
                insert(trial_queue).values(
                    run_id=run_id,
                    number=number,
                    status="queued",
                    job=job,
                    attempts=0,
                    queued_at=time.time(),
                )
            )

    def claim(self, worker: str, run_id: str | None = None) -> tuple[int, str, bytes] | None:
        """Claim the oldest queued trial (of ``run_id``, or of any running run) for
        ``worker``; ``(row id, run id, pickled job)`` or ``None`` when the queue is empty.
        Two workers never get the same row."""
        q = select(trial_queue.c.id, trial_queue.c.run_id, trial_queue.c.job).where(
            trial_queue.c.status == "queued"
        )
        if run_id is not None:
            q = q.where(trial_queue.c.run_id == run_id)
        q = q.order_by(trial_queue.c.id).limit(1)
        if self.engine.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        now = time.time()
        with self.engine.begin() as c:
            row = c.execute(q).first()
            if row is None:
                return None
            claimed = c.execute(
                update(trial_queue)
                .where(trial_queue.c.id == row.id, trial_queue.c.status == "queued")
                .values(
                    status="claimed",
                    worker=worker,
                    claimed_at=now,
                    heartbeat_at=now,
                    attempts=trial_queue.c.attempts + 1,
                )
            ).rowcount
        return (row.id, row.run_id, row.job) if claimed == 1 else None

    def heartbeat(self, row_id: int, worker: str) -> bool:
        """Refresh a claim; ``False`` when the row is no longer this worker's."""
        with self.engine.begin() as c:
            n = c.execute(
                update(trial_queue)
                .where(
                    trial_queue.c.id == row_id,
                    trial_queue.c.worker == worker,
                    trial_queue.c.status == "claimed",
                )
                .values(heartbeat_at=time.time())
            ).rowcount
        return n == 1

    def complete(self, row_id: int, worker: str, result: bytes) -> bool:
        """Store a claimed trial's result; ``False`` if the claim was lost meanwhile."""
        with self.engine.begin() as c:
            n = c.execute(
                update(trial_queue)
                .where(
                    trial_queue.c.id == row_id,
                    trial_queue.c.worker == worker,
                    trial_queue.c.status == "claimed",
                )
                .values(status="done", result=result, finished_at=time.time())
            ).rowcount
        return n == 1

    def finished_jobs(self, run_id: str, numbers: list[int]) -> list[tuple[int, bytes]]:
        """``(number, pickled result)`` of the given trials that workers have finished."""
        if not numbers:
            return []
        with self.engine.connect() as c:
            rows = c.execute(
                select(trial_queue.c.number, trial_queue.c.result).where(
                    trial_queue.c.run_id == run_id,
                    trial_queue.c.status == "done",
                    trial_queue.c.number.in_(numbers),
                )
            ).all()
        return [(r.number, r.result) for r in rows]

    def requeue_stale(self, run_id: str, older_than: float, max_attempts: int = 3) -> list[int]:
        """Put back claimed trials whose worker has not beaten for ``older_than`` seconds.

        A trial whose worker has stopped on each of ``max_attempts`` claims (one that kills
        its worker every time: a crash in native code, the kernel's OOM killer) is not
        queued again but marked ``failed``; their numbers are returned, so the campaign
        records them as failed instead of waiting for them forever."""
        stale = (
            trial_queue.c.run_id == run_id,
            trial_queue.c.status == "claimed",
            trial_queue.c.heartbeat_at < time.time() - older_than,
        )
        with self.engine.begin() as c:
            given_up = (
                c.execute(
                    select(trial_queue.c.number).where(
                        *stale, trial_queue.c.attempts >= max_attempts
                    )
                )
                .scalars()
                .all()
            )
            if given_up:
                c.execute(
                    update(trial_queue)
                    .where(*stale, trial_queue.c.number.in_(given_up))
                    .values(status="failed", worker=None, finished_at=time.time())
                )
            c.execute(
                update(trial_queue)
                .where(*stale, trial_queue.c.attempts < max_attempts)
                .values(status="queued", worker=None)
            )
        return sorted(given_up)

    def cancel_jobs(self, run_id: str, numbers: list[int]) -> None:
        with self.engine.begin() as c:
            c.execute(
                update(trial_queue)
                .where(
                    trial_queue.c.run_id == run_id,
                    trial_queue.c.number.in_(numbers),
                    trial_queue.c.status.in_(("queued", "claimed")),
                )
                .values(status="cancelled")
            )

    def queue_rows(self, run_id: str) -> list[dict[str, Any]]:
        """The queue of a run without payloads (number, status, worker, attempts)."""
        cols = [
            trial_queue.c.number,
            trial_queue.c.status,
            trial_queue.c.worker,
            trial_queue.c.attempts,
        ]
        with self.engine.connect() as c:
            rows = c.execute(
                select(*cols).where(trial_queue.c.run_id == run_id).order_by(trial_queue.c.number)
            ).mappings()
            return [dict(r) for r in rows]

    def release_queue(self, run_id: str) -> None:
        """Free a finished run's payload and pickles; the queue rows stay as a record of
        who ran what (results live on in ``trials``)."""
        with self.engine.begin() as c:
            c.execute(
                update(trial_queue)
                .where(trial_queue.c.run_id == run_id)
                .values(job=b"", result=None)
            )
            c.execute(delete(run_payloads).where(run_payloads.c.run_id == run_id))

    def close(self) -> None:
        self.engine.dispose()


def _run_dict(row: Any) -> dict[str, Any]:
    d = dict(row)
    for k in ("config", "summary"):
        if d.get(k):
            d[k] = json.loads(d[k])
    return d


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


__all__ = ["Store", "default_store_url", "run_payloads", "runs", "trial_queue", "trials"]
