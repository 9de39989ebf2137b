"""The fast prediction path gives exactly the run model's numbers, on any input it accepts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from mlresearcher.predictor import Predictor
from mlresearcher.serve.fastpath import FastPredictor
from mlresearcher.serve.request import RequestModel


def _columns(X: pd.DataFrame) -> dict[str, list]:
    records = json.loads(X.to_json(orient="records"))
    return {c: [r[c] for r in records] for c in X.columns}


def test_fast_path_equals_predictor_bit_for_bit(credit_run, credit_split):
    _, fresh, entry = credit_split
    X = fresh.drop(columns=[entry["target"]]).head(400).copy()
    # nulls, unseen levels and infinities in places
    X.loc[::7, "Home"] = "never-seen-level"
    X.loc[::5, "Income"] = np.nan
    X.loc[::11, "Job"] = None
    p = Predictor.load(credit_run)
    fast = FastPredictor(p)
    assert fast.compiled_fraction == 1  # boosters as look-up tables, linear as blocks
    cols = _columns(X)
    got = fast.predict_scores(cols, len(X))
    expected = p.predict_scores(pd.DataFrame(cols))
    assert np.array_equal(got, expected)
    # one row at a time, as a single-row request is served
    for i in range(0, 40, 3):
        one = {c: v[i : i + 1] for c, v in cols.items()}
        assert np.array_equal(fast.predict_scores(one, 1), p.predict_scores(pd.DataFrame(one)))


def test_request_values_reach_the_model_as_in_training(credit_run, credit_split):
    """Numeric strings and JSON nulls validate into what prepare_features gives."""
    _, fresh, entry = credit_split
    p = Predictor.load(credit_run)
    rm = RequestModel(p.schema, max_rows=10)
    X = fresh.drop(columns=[entry["target"]]).head(3)
    records = json.loads(X.to_json(orient="records"))
    records[0]["Age"] = str(records[0]["Age"])  # "37" -> 37.0
    records[1]["Seniority"] = None
    parsed = rm.parse(json.dumps({"records": records}).encode())
    fast = FastPredictor(p)
    got = fast.predict_scores(parsed.columns, parsed.n_rows)
    frame = pd.DataFrame(records)
    assert np.array_equal(got, p.predict_scores(frame))


def test_a_ready_server_keeps_its_model_out_of_the_garbage_collectors_walks(credit_run):
    """Full collections walk every tracked object; the loaded model must not be among them
    (a walk over it took about 90 ms, a request's whole latency budget several times)."""
    import gc

    from mlresearcher.serve.app import ServeSettings, create_app

    gc.unfreeze()
    try:
        create_app(ServeSettings(run_dir=str(credit_run)))
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_predictions_from_many_threads_equal_one_at_a_time(credit_run, credit_split):
    """The server predicts in several threads at once; each call must get its own rows'
    numbers (one row goes through LightGBM's single-row API and its output buffer)."""
    from concurrent.futures import ThreadPoolExecutor

    _, fresh, entry = credit_split
    cols = _columns(fresh.drop(columns=[entry["target"]]).head(300))
    calls = [({c: v[i : i + 1] for c, v in cols.items()}, 1) for i in range(240)]
    calls += [({c: v[i : i + 30] for c, v in cols.items()}, 30) for i in range(0, 240, 30)]
    fast = FastPredictor(Predictor.load(credit_run))
    expected = [fast.predict_scores(c, n) for c, n in calls]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(3):
            got = list(pool.map(lambda call: fast.predict_scores(*call), calls))
            assert all(np.array_equal(g, e) for g, e in zip(got, expected, strict=True))


def test_threads_predicting_at_once_leave_no_process_wide_state_behind(credit_run, credit_split):
    """Each prediction caps the native thread pools and silences warnings, restoring what
    it saw on entry; interleaved across threads that would leave a cap or an "ignore"
    filter on the whole process. After many concurrent calls both are as before."""
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    _, fresh, entry = credit_split
    cols = _columns(fresh.drop(columns=[entry["target"]]).head(300))
    calls = [({c: v[i : i + 30] for c, v in cols.items()}, 30) for i in range(0, 270, 3)]
    fast = FastPredictor(Predictor.load(credit_run))
    before_pools = sorted((p["internal_api"], p["num_threads"]) for p in threadpool_info())
    before_filters = list(warnings.filters)
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            list(pool.map(lambda call: fast.predict_scores(*call), calls))
    assert sorted((p["internal_api"], p["num_threads"]) for p in threadpool_info()) == before_pools
    assert list(warnings.filters) == before_filters
