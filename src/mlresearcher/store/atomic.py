"""Atomic, durable file writes: a file is either its old self or wholly the new one.

Every file the tool writes goes to a temporary name unique to the writer (so two writers
of the same file never collide on the temporary), is flushed and fsynced, then renamed
over the target (atomic on POSIX and Windows), and the folder is fsynced so the rename
survives a power cut. A write that fails (a full disk: ``ENOSPC``, a crash in the
serialiser) removes its temporary and leaves the previous file untouched.

    with atomic_path(run_dir / "oof.parquet") as tmp:
        frame.to_parquet(tmp)
    write_text(run_dir / "config.json", text)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # a platform where folders cannot be opened (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block
    ends without an exception, removed otherwise."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def is_temporary(name: str) -> bool:
    """Whether a file name is one of :func:`atomic_path`'s temporaries (or an older ``.tmp``)."""
    return name.endswith(".tmp")


__all__ = ["atomic_path", "is_temporary", "write_bytes", "write_text"]
