"""Load benchmark of `mlresearcher serve`: a real load generator (wrk) over loopback.

Trains a boosted-tree run (LightGBM only; 5-fold, so every member is five boosters) on a
dev dataset, starts `mlresearcher serve` on it, and measures:

* single-row latency: wrk with 8 connections for 30 s, each request one row (rotating over
  200 real rows), POST /predict; p50/p90/p99, requests per second, errors;
* a 10,000-row batch: 20 sequential POST /predict of the same 10,000 rows (records JSON),
  wall time per request as the client sees it (upload, validation, predict, response);
* in-process, the same model: every fold model through its own ``predict_proba`` on a
  prepared frame (the regular path), ``Predictor.predict_proba`` on a DataFrame (the
  Python API: compiled fold models) and the server's path from JSON columns, one row and
  the batch.

With ``--autogluon PYTHON`` (the peers' interpreter from ``make bench-setup``), AutoGluon is
fitted on the same data with the same model shape (five bagged LightGBM boosters, see
``autogluon_predict.py``) and its own ``predict_proba`` is timed in-process, one row and
the batch, beside ours.

    python benchmarks/serve/load.py [--dataset credit_scoring] [--duration 30] [--workers 1]
        [--autogluon benchmarks/automl/.venv-peers/bin/python]

Needs `wrk` on PATH (Debian: apt-get install -y wrk). Prints a table and one JSON line;
`--out FILE` appends the JSON line to FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
DATASETS = Path(os.environ.get("MLRESEARCHER_DATASETS", ROOT.parent.parent / "shared" / "datasets"))
if not (DATASETS / "manifest.json").exists():
    DATASETS = Path("/work/shared/datasets")
CLI = [sys.executable, "-m", "mlresearcher.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(text)
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def _wrk_lua(bodies: list[str]) -> str:
    items = ",\n".join(f"[==[{b}]==]" for b in bodies)
    return f"""
local bodies = {{
{items}
}}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "/predict", nil, bodies[i])
end
"""


def parse_wrk(out: str) -> dict:
    res: dict = {}
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", out, re.M))
    res["p50_ms"], res["p90_ms"], res["p99_ms"] = (_ms(lat[k]) for k in ("50", "90", "99"))
    res["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    res["requests_per_s"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    res["socket_errors"] = sum(map(int, sock.groups())) if sock else 0
    res["errors"] = res["non_2xx"] + res["socket_errors"]
    return res


def asgi_cpu_ms(run_dir: Path, one_bodies: list[bytes], batch_body: bytes, rows: int) -> dict:
    """CPU time (all threads of this process) per request through the whole ASGI app, no
    network: what one request costs the server, independent of how busy the machine is."""
    import asyncio

    from mlresearcher.serve.app import ServeSettings, create_app

    app = create_app(ServeSettings(run_dir=str(run_dir), max_rows=max(rows, 50_000)))

    async def call(body: bytes) -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/predict", "raw_path": b"/predict",
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8000),
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        }  # fmt: skip
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        status = []

        async def receive() -> dict:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(m: dict) -> None:
            if m["type"] == "http.response.start":
                status.append(m["status"])

        await app(scope, receive, send)
        return status[0]

    async def run(bodies: list[bytes]) -> float:
        t = time.process_time()
        for b in bodies:
            assert await call(b) == 200
        return 1e3 * (time.process_time() - t) / len(bodies)

    asyncio.run(run(one_bodies[:50]))  # warm-up
    return {
        "one_row_cpu_ms": asyncio.run(run(one_bodies * 3)),
        "batch_cpu_ms": asyncio.run(run([batch_body] * 5)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="credit_scoring")
    ap.add_argument(
        "--max-trials", type=int, default=1, help="1: the LightGBM family default, 5 fold boosters"
    )
    ap.add_argument("--run", help="serve this finished run directory instead of training one")
    ap.add_argument("--duration", type=int, default=30, help="wrk seconds")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--batch-rows", type=int, default=10_000)
    ap.add_argument("--batch-repeats", type=int, default=20)
    ap.add_argument("--out", help="append the JSON result line to this file")
    ap.add_argument(
        "--autogluon",
        metavar="PYTHON",
        help="the peers' interpreter: time AutoGluon's predict_proba on the same model shape",
    )
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        ap.error("wrk is not installed (Debian: apt-get install -y wrk)")
    if args.autogluon and shutil.which(args.autogluon) is None:
        ap.error(
            f"--autogluon {args.autogluon!r} is not an interpreter that can run; "
            "run `make bench-setup` and pass benchmarks/automl/.venv-peers/bin/python"
        )
    import httpx

    entry = {e["name"]: e for e in json.loads((DATASETS / "manifest.json").read_text())}[
        args.dataset
    ]
    df = pd.read_parquet(DATASETS / entry["file"])
    target = entry["target"]
    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    t0 = time.monotonic()
    if args.run:
        run_dir = Path(args.run)
    else:
        data = work / "train.parquet"
        df.to_parquet(data)
        r = subprocess.run(
            [*CLI, "run", str(data), "--target", target, "--families", "lightgbm",
             "--max-trials", str(args.max_trials), "--out", str(work / "runs"), "--json"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        run_dir = Path(json.loads(r.stdout)["run_dir"])
    train_s = time.monotonic() - t0

    from mlresearcher.predictor import Predictor
    from mlresearcher.serve.fastpath import FastPredictor

    predictor = Predictor.load(run_dir)
    n_boosters = sum(len(m.models) for m in predictor.members)
    X = df.drop(columns=[target])
    records = json.loads(X.to_json(orient="records"))

    # in-process: regular path vs fast path, one row
    fast = FastPredictor(predictor)
    one_frames = [X.iloc[[i]] for i in range(200)]
    one_cols = [{c: [records[i][c]] for c in X.columns} for i in range(200)]
    reg, api, fp = [], [], []
    for i in range(400):
        if i < 60:  # the regular path is slow; 60 rows give a stable median
            t = time.perf_counter()
            predictor.predict_scores(one_frames[i % 200], compiled=False)
            reg.append(time.perf_counter() - t)
        t = time.perf_counter()
        predictor.predict_proba(one_frames[i % 200])
        api.append(time.perf_counter() - t)
        t = time.perf_counter()
        fast.predict_scores(one_cols[i % 200], 1)
        fp.append(time.perf_counter() - t)
    idx = np.random.default_rng(0).integers(0, len(records), args.batch_rows)
    batch_frame = X.iloc[idx].reset_index(drop=True)
    batch_cols = {c: [records[i][c] for i in idx] for c in X.columns}
    reg_b, api_b, fp_b = [], [], []
    for _ in range(5):
        t = time.perf_counter()
        predictor.predict_scores(batch_frame, compiled=False)
        reg_b.append(time.perf_counter() - t)
        t = time.perf_counter()
        predictor.predict_proba(batch_frame)
        api_b.append(time.perf_counter() - t)
        t = time.perf_counter()
        fast.predict_scores(batch_cols, args.batch_rows)
        fp_b.append(time.perf_counter() - t)
    inproc = {
        "regular_path_one_row_ms": 1e3 * statistics.median(reg),
        "api_one_row_ms": 1e3 * statistics.median(api),
        "fast_path_one_row_ms": 1e3 * statistics.median(fp),
        "regular_path_batch_ms": 1e3 * statistics.median(reg_b),
        "api_batch_ms": 1e3 * statistics.median(api_b),
        "fast_path_batch_ms": 1e3 * statistics.median(fp_b),
    }

    autogluon = None
    if args.autogluon:
        data = work / "autogluon.parquet"
        df.to_parquet(data)
        r = subprocess.run(
            [args.autogluon, str(Path(__file__).with_name("autogluon_predict.py")), str(data),
             target, "--batch-rows", str(args.batch_rows)],
            capture_output=True, text=True,
        )  # fmt: skip
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
        autogluon = json.loads(lines[-1]) if lines else {"error": r.stderr[-2000:]}

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*CLI, "serve", str(run_dir), "--port", str(port), "--workers", str(args.workers),
         "--max-rows", str(max(args.batch_rows, 50_000))],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("server did not become ready")
            time.sleep(0.2)
        bodies = [json.dumps({"records": [rec]}) for rec in records[:200]]
        lua = work / "post.lua"
        lua.write_text(_wrk_lua(bodies))
        with httpx.Client(timeout=60) as c:  # warm-up
            for b in bodies[:50]:
                c.post(url + "/predict", content=b, headers={"Content-Type": "application/json"})
        load_before = os.getloadavg()
        w = subprocess.run(
            ["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.duration}s",
             "--latency", "-s", str(lua), url],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        single = parse_wrk(w.stdout)
        batch_body = json.dumps({"records": [records[i] for i in idx]}).encode()
        times, statuses = [], []
        with httpx.Client(timeout=120) as c:
            for _ in range(args.batch_repeats + 2):
                t = time.perf_counter()
                resp = c.post(
                    url + "/predict",
                    content=batch_body,
                    headers={"Content-Type": "application/json"},
                )
                times.append(time.perf_counter() - t)
                statuses.append(resp.status_code)
        times = times[2:]  # first two are warm-up
        batch = {
            "rows": args.batch_rows,
            "body_mb": round(len(batch_body) / 2**20, 2),
            "median_ms": 1e3 * statistics.median(times),
            "p90_ms": 1e3 * float(np.percentile(times, 90)),
            "min_ms": 1e3 * min(times),
            "errors": sum(s != 200 for s in statuses),
        }
        load_after = os.getloadavg()
        cpu = asgi_cpu_ms(run_dir, [b.encode() for b in bodies], batch_body, args.batch_rows)
    finally:
        server.terminate()
        server.wait(timeout=30)
    result = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "dataset": args.dataset,
        "rows_trained": len(df),
        "model": predictor.describe(),
        "boosters": n_boosters,
        "train_s": round(train_s, 1),
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "single_row": single,
        "batch": batch,
        "in_process": inproc,
        "server_cpu_per_request": cpu,
        "autogluon": autogluon,
        "run_dir": str(run_dir),
        "cpus": os.cpu_count(),
        "loadavg_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "python": platform.python_version(),
    }
    line = json.dumps(result)
    print(f"model: {result['model']} ({n_boosters} boosters)")
    print(f"conditions: {os.cpu_count()} CPUs, 1-min load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after; {args.workers} worker(s); wrk -t2 -c{args.connections} "
          f"-d{args.duration}s")  # fmt: skip
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| single-row p50 | {single['p50_ms']:.2f} ms | <= 5 ms |")
    print(f"| single-row p90 | {single['p90_ms']:.2f} ms | |")
    print(f"| single-row p99 | {single['p99_ms']:.2f} ms | <= 20 ms |")
    print(
        f"| requests/s | {single['requests_per_s']:.0f} ({single['requests']} in {args.duration} s) | |"
    )
    print(f"| errors (non-2xx + socket) | {single['errors']} | 0 |")
    print(
        f"| {args.batch_rows:,}-row batch, median | {batch['median_ms']:.0f} ms ({batch['body_mb']} MB body) | <= 200 ms |"
    )
    print(
        f"| {args.batch_rows:,}-row batch, p90 / min | {batch['p90_ms']:.0f} / {batch['min_ms']:.0f} ms | |"
    )
    print(f"| batch errors | {batch['errors']} | 0 |")
    rows = f"{args.batch_rows:,} rows"
    for label, key in [
        ("every fold model's own predict_proba", "regular_path"),
        ("Predictor.predict_proba (DataFrame)", "api"),
        ("server path (JSON columns)", "fast_path"),
    ]:
        print(f"| in-process one row: {label} | {inproc[key + '_one_row_ms']:.2f} ms | |")
        print(f"| in-process {rows}: {label} | {inproc[key + '_batch_ms']:.0f} ms | |")
    if autogluon and "error" not in autogluon:
        ag = f"AutoGluon {autogluon['autogluon']} predict_proba ({len(autogluon['models'])} models)"
        print(f"| in-process one row: {ag} | {autogluon['one_row_ms']:.2f} ms | |")
        print(f"| in-process {rows}: {ag} | {autogluon['batch_ms']:.0f} ms | |")
    elif autogluon:
        print(f"| AutoGluon | failed: {autogluon['error'].splitlines()[-1:]} | |")
    print(f"| server CPU per one-row request (all threads) | {cpu['one_row_cpu_ms']:.2f} ms | |")
    print(f"| server CPU per {args.batch_rows:,}-row request | {cpu['batch_cpu_ms']:.0f} ms | |")
    print(line)
    if args.out:
        with open(args.out, "a") as f:
            f.write(line + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
