"""Install sizes: the core install and the CPU-only full install, each in a new virtualenv.

Each profile gets a fresh ``python -m venv``, a regular (non-editable) install of this
checkout as a user would make it, and ``du`` of the whole environment (pip itself
included, as in any venv). The core environment then runs a short campaign on the bundled
example, to show that what it holds is enough to use the tool.

    python benchmarks/install_size.py                  # every profile, about 15 minutes
    python benchmarks/install_size.py --profile core

Profiles:
  core       pip install .                     (LightGBM, scikit-learn's families, reports)
  full       pip install torch==2.13.0, then pip install ".[full]"   (every CPU extra)
  autogluon  pip install torch==2.13.0, then AutoGluon as benchmarks/automl installs it
             (autogluon.tabular with LightGBM, CatBoost, XGBoost and Ray)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILES = {
    "core": [["."]],
    # torch's CPU wheel first: from PyPI a bare torch requirement takes the CUDA build
    "full": [["torch==2.13.0"], [".[full]"]],
    "autogluon": [["torch==2.13.0"], ["autogluon.tabular[lightgbm,catboost,xgboost,ray]"]],
}


def _du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def _largest(site: Path, n: int = 8) -> list[tuple[str, int]]:
    sizes = [
        (p.name, _du(p)) for p in site.iterdir() if p.is_dir() and not p.name.endswith("-info")
    ]
    return sorted(sizes, key=lambda s: -s[1])[:n]


def measure(profile: str) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"mlr-size-{profile}-") as tmp:
        venv = Path(tmp) / f"venv-{profile}"
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        for args in PROFILES[profile]:
            r = subprocess.run([*pip, *args], cwd=ROOT, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"pip install {' '.join(args)} failed:\n{r.stderr[-3000:]}")
        seconds = time.monotonic() - t0
        site = next((venv / "lib").glob("python3*/site-packages"))
        result = {
            "profile": profile,
            "bytes": _du(venv),
            "install_seconds": round(seconds, 1),
            "largest": _largest(site),
        }
        if profile == "core":
            result["campaign"] = _campaign(venv, Path(tmp))
        return result


def _campaign(venv: Path, tmp: Path) -> dict:
    """A 20-second campaign with the core environment's families."""
    cmd = [
        str(venv / "bin" / "mlresearcher"),
        "run",
        str(ROOT / "examples" / "penguins.csv"),
        "--target",
        "species",
        "--time-limit",
        "20",
        "--out",
        str(tmp / "runs"),
        "--json",
        "--quiet",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {"ok": False, "error": r.stderr.strip().splitlines()[-1:]}
    s = json.loads(r.stdout)
    return {
        "ok": True,
        "best_model": s["best_model"],
        "metric": s["metric"],
        "best_score": s["best_score"],
        "n_trials": s["n_trials"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--profile", choices=sorted(PROFILES), action="append")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "install_size.json")
    args = ap.parse_args()
    results = [measure(p) for p in args.profile or list(PROFILES)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    ag = next((r["bytes"] for r in results if r["profile"] == "autogluon"), None)
    print("| install | size | of AutoGluon's | largest packages |")
    print("|---|---|---|---|")
    for r in results:
        top = ", ".join(f"{n} {b / 1e6:.0f} MB" for n, b in r["largest"][:6])
        share = f"{r['bytes'] / ag:.0%}" if ag else "-"
        print(f"| {r['profile']} | {r['bytes'] / 1e9:.2f} GB | {share} | {top} |")
    for r in results:
        if "campaign" in r:
            print(f"{r['profile']} campaign: {json.dumps(r['campaign'])}")


if __name__ == "__main__":
    main()
