"""The real server on loopback: every endpoint, every error status, auth and the fuzzer."""

from __future__ import annotations

import json
import math

import httpx
import numpy as np
import pytest

from .conftest import Server

KEY = "test-key-7f3a"
AUTH = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def server(credit_run):
    s = Server(
        credit_run,
        "--api-key-env",
        "MLR_TEST_KEY",
        "--max-rows",
        "2000",
        "--max-body-mb",
        "1",
        env={"MLR_TEST_KEY": KEY},
    )
    try:
        s.wait_ready()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def rows(credit_split):
    _, fresh, entry = credit_split
    X = fresh.drop(columns=[entry["target"]]).head(300)
    return json.loads(X.to_json(orient="records")), X


def post(server, body, **kw):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {"Content-Type": "application/json", **AUTH, **kw.pop("headers", {})}
    return httpx.post(server.url + "/predict", content=data, headers=headers, timeout=30, **kw)


def test_predict_records_matches_the_run_model(server, rows, credit_run):
    from mlresearcher.predictor import Predictor

    records, X = rows
    r = post(server, {"records": records})
    assert r.status_code == 200, r.text
    out = r.json()
    expected = Predictor.load(credit_run).predict_proba(X)
    got = np.asarray(out["probabilities"])
    assert got.shape == expected.shape and np.allclose(got, expected, rtol=0, atol=1e-12)
    assert out["n_rows"] == len(records) and len(out["predictions"]) == len(records)
    assert set(out["predictions"]) <= set(out["classes"])
    assert out["ignored_columns"] == []


def test_predict_columns_equals_records(server, rows):
    records, X = rows
    cols = {c: [r[c] for r in records[:20]] for c in X.columns}
    a = post(server, {"columns": cols}).json()
    b = post(server, {"records": records[:20]}).json()
    assert a["probabilities"] == b["probabilities"] and a["predictions"] == b["predictions"]


def test_missing_columns_are_named(server, rows):
    records, X = rows
    rec = {k: v for k, v in records[0].items() if k not in ("Income", "Home")}
    r = post(server, {"records": [rec]})
    assert r.status_code == 422
    assert "'Income'" in r.json()["detail"] and "'Home'" in r.json()["detail"]
    cols = {c: [records[0][c]] for c in X.columns if c != "Age"}
    r = post(server, {"columns": cols})
    assert r.status_code == 422 and "'Age'" in r.json()["detail"]


def test_wrong_type_names_the_field(server, rows):
    records, _ = rows
    bad = dict(records[0], Age="forty")
    r = post(server, {"records": [records[1], bad]})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "'Age'" in detail and "row 1" in detail
    r = post(server, {"records": [dict(records[0], Home=12)]})
    assert r.status_code == 422 and "'Home'" in r.json()["detail"]


def test_nulls_unseen_categories_and_extra_columns(server, rows, credit_run):
    import pandas as pd

    from mlresearcher.predictor import Predictor

    records, _ = rows
    odd = dict(records[0], Home="a-level-never-seen", Income=None, Marital=None, extra_col=5)
    r = post(server, {"records": [odd, records[1]]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["ignored_columns"] == ["extra_col"]
    # handled as in training: the model's own predict on the same rows
    expected = Predictor.load(credit_run).predict_proba(pd.DataFrame([odd, records[1]]))
    assert np.allclose(out["probabilities"], expected, rtol=0, atol=1e-12)


def test_limits_give_413(server, rows):
    records, _ = rows
    too_many = {"records": records[:1] * 2001}
    r = post(server, too_many)
    assert r.status_code == 413 and "2,001 rows" in r.json()["detail"]
    big = b'{"records": [' + b" " * (1024 * 1024 + 10) + b"]}"
    r = post(server, big)
    assert r.status_code == 413


def test_malformed_json_is_400(server):
    for body in [b'{"records": [', b"not json", b"", b'{"records": [{"a": 1,}]}']:
        r = post(server, body)
        assert r.status_code == 400, (body, r.status_code, r.text)


def test_bad_shapes_are_422(server, rows):
    records, X = rows
    cols = {c: [records[0][c]] * (2 if c == "Age" else 1) for c in X.columns}
    assert post(server, {"columns": cols}).status_code == 422
    assert post(server, {"records": []}).status_code == 422
    assert post(server, {}).status_code == 422
    assert post(server, [1, 2]).status_code == 422
    both = {"records": records[:1], "columns": {c: [records[0][c]] for c in X.columns}}
    assert post(server, both).status_code == 422


def test_api_key_is_required(server, rows):
    records, _ = rows
    r = httpx.post(server.url + "/predict", json={"records": records[:1]}, timeout=10)
    assert r.status_code == 401
    r = httpx.post(
        server.url + "/predict",
        json={"records": records[:1]},
        headers={"X-API-Key": "wrong"},
        timeout=10,
    )
    assert r.status_code == 401
    r = httpx.post(
        server.url + "/predict",
        json={"records": records[:1]},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert r.status_code == 200
    for path in ("/metadata", "/metrics", "/drift", "/openapi.json"):
        assert httpx.get(server.url + path, timeout=10).status_code == 401, path
    # liveness and readiness stay open for probes
    assert httpx.get(server.url + "/health", timeout=10).json() == {"status": "ok"}
    assert httpx.get(server.url + "/ready", timeout=10).json()["ready"] is True


def test_metadata(server, credit_run):
    manifest = json.loads((credit_run / "manifest.json").read_text())
    m = httpx.get(server.url + "/metadata", headers=AUTH, timeout=10).json()
    assert m["run_id"] == manifest["run_id"] and m["task"] == "binary"
    assert m["target"] == "Status" and len(m["classes"]) == 2
    assert m["metric"]["name"] == "roc_auc"
    assert math.isclose(m["metric"]["cross_validated_score"], manifest["best_score"])
    names = {f["name"]: f for f in m["features"]}
    assert names["Age"]["json_type"] == "number" and names["Home"]["json_type"] == "string"
    assert m["versions"]["serving_with"] and m["versions"]["training_environment"]
    assert m["fast_path_share"] == 1  # boosters and the linear model both compiled


def test_openapi_names_every_feature_with_its_type(server):
    spec = httpx.get(server.url + "/openapi.json", headers=AUTH, timeout=10).json()
    row = spec["components"]["schemas"]["Row"]
    m = httpx.get(server.url + "/metadata", headers=AUTH, timeout=10).json()
    assert set(row["required"]) == {f["name"] for f in m["features"]}
    for f in m["features"]:
        types = {t.get("type") for t in row["properties"][f["name"]]["anyOf"]}
        assert types == {f["json_type"], "null"}, f


def test_metrics_count_requests_and_errors(server, rows):
    records, _ = rows
    post(server, {"records": records[:3]})
    post(server, b"{")
    text = httpx.get(server.url + "/metrics", headers=AUTH, timeout=10).text
    assert 'mlresearcher_requests_total{endpoint="/predict",status="200"}' in text
    assert 'mlresearcher_request_errors_total{endpoint="/predict",status="400"}' in text
    assert 'mlresearcher_request_duration_seconds_bucket{endpoint="/predict"' in text
    assert "mlresearcher_predicted_rows_total" in text


def test_drift_endpoint_reports_on_recent_rows(server, rows):
    records, _ = rows
    post(server, {"records": records})
    r = httpx.get(server.url + "/drift", headers=AUTH, timeout=30)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["n_current"] >= len(records) and rep["prediction"] is not None
    assert {f["column"] for f in rep["features"]} >= {"Age", "Home"}
    # the same rows as training, shifted: income tripled
    shifted = [dict(rec, Income=(rec["Income"] or 100) * 3 + 500) for rec in records]
    assert post(server, {"records": shifted * 5}).status_code == 200
    rep = httpx.get(server.url + "/drift", headers=AUTH, timeout=30).json()
    assert rep["drift"] is True and "Income" in rep["reasons"][0]


def test_schemathesis_finds_no_server_error(server):
    """Property-based fuzzing of every operation in the served OpenAPI schema: no 5xx."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(server.url + "/openapi.json", headers=AUTH)
    schema.config.base_url = server.url
    server_errors = []
    n_calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy())
        def call(case):
            nonlocal n_calls
            response = case.call(headers=AUTH)
            n_calls += 1
            if response.status_code >= 500:
                server_errors.append((case.method, case.path, case.body, response.text))

        call()
    assert n_calls >= 50
    assert server_errors == []
    assert server.proc.poll() is None  # still alive
