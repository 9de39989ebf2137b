"""A server at its default limits under big requests: the event loop stays free, and a
body over the row limit is refused without building its rows."""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .conftest import Server

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def server(credit_run):
    s = Server(credit_run)  # --max-rows 50000, --max-body-mb 64
    try:
        s.wait_ready()
        yield s
    finally:
        s.stop()


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory in bytes (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024


def test_a_64_mib_body_of_tiny_rows_is_refused_without_building_them(server):
    """First in this module: the server's peak memory so far is its start-up's."""
    body = b'{"records": [' + b",".join([b'{"Age":1}'] * (63 * 2**20 // 10)) + b"]}"
    before = _peak_rss(server.proc.pid)
    r = httpx.post(server.url + "/predict", content=body, headers=JSON, timeout=300)
    assert r.status_code == 413
    detail = r.json()["detail"]
    assert "\n" not in detail and "more than the limit of 50,000" in detail
    # the body itself (held twice while it is read) and a scan block, not millions of
    # rows: validating them first took gigabytes
    assert _peak_rss(server.proc.pid) - before < 4 * len(body), _peak_rss(server.proc.pid)
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200


def test_health_answers_while_a_50000_row_batch_is_predicted(server, credit_split):
    _, fresh, entry = credit_split
    rows = json.loads(fresh.drop(columns=[entry["target"]]).to_json(orient="records"))
    body = json.dumps({"records": (rows * (50_000 // len(rows) + 1))[:50_000]}).encode()
    sent = threading.Event()

    def chunks():
        for i in range(0, len(body), 1 << 16):
            yield body[i : i + (1 << 16)]
        sent.set()  # the whole body is on the wire: the server parses and predicts next

    with ThreadPoolExecutor(1) as pool:
        big = pool.submit(
            httpx.post, server.url + "/predict", content=chunks(), headers=JSON, timeout=600
        )
        assert sent.wait(120)
        start = time.monotonic()
        waits = []  # /health round trips that ended while the batch was still pending
        while not big.done():
            asked = time.monotonic()
            assert httpx.get(server.url + "/health", timeout=600).json() == {"status": "ok"}
            if not big.done():
                waits.append(time.monotonic() - asked)
            time.sleep(0.02)
        response = big.result()
        took = time.monotonic() - start
    assert response.status_code == 200, response.text
    assert response.json()["n_rows"] == 50_000
    # answered during the batch, not queued behind it (on the event loop, the first
    # /health after the upload waited for the whole prediction)
    assert waits, f"no /health answered during the {took:.2f} s batch"
    assert max(waits) < took / 2, (waits, took)
