"""The profile's findings on dev datasets, with and without planted problems."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import DATASETS, load_dataset
from sklearn.metrics import roc_auc_score

from mlresearcher.data.io import read_table
from mlresearcher.data.schema import infer_roles
from mlresearcher.profile import profile_table
from mlresearcher.profile._codes import fold_ids, oof_predict
from mlresearcher.profile.leakage import auc
from mlresearcher.profile.pii import luhn_valid
from mlresearcher.profile.table import compact, roles


def codes_of(prof, code):
    return [f for f in prof.findings if f.code == code]


def critical(prof):
    return [f for f in prof.findings if f.severity == "critical"]


def test_roles_equal_the_runs_roles_on_every_dev_dataset():
    # The profile's fast role pass must describe the columns exactly as a run treats them.
    for entry in json.loads((DATASETS / "manifest.json").read_text()):
        df = read_table(DATASETS / entry["file"])
        expected, _ = infer_roles(df)
        X, dtypes = compact(df)
        assert roles(X, dtypes) == expected, entry["name"]


def test_rank_auc_equals_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.3
    s = rng.integers(0, 7, 500).astype(float)  # many ties
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_out_of_fold_codes_never_see_their_own_row():
    # A unique random code per row would predict its own target perfectly in-fold; out of
    # fold it can only return the prior, so its score is chance.
    rng = np.random.default_rng(1)
    y = (rng.random(2000) < 0.4).astype(int)
    c = rng.permutation(2000) + 1
    pred = oof_predict(c, np.eye(2)[y], fold_ids(2000, 5, 0, y))
    assert 0.4 < auc(y == 1, pred[:, 1]) < 0.6


def test_planted_leak_is_critical_and_clean_data_has_no_critical_finding():
    df, e = load_dataset("credit_scoring", 1500)
    clean = profile_table(df, e["target"])
    assert critical(clean) == []
    rng = np.random.default_rng(0)
    leaky = df.copy()
    # recorded after the outcome: the status with a little noise
    leaky["collection_flag"] = (df["Status"] == "bad").astype(float) + rng.normal(0, 0.05, len(df))
    prof = profile_table(leaky, e["target"])
    single = codes_of(prof, "leakage_single_column")
    assert [f.column for f in single] == ["collection_flag"]
    assert single[0].evidence["score"] >= 0.99
    assert prof.column("collection_flag")["single_column_score"] >= 0.99
    # real features keep honest, far from perfect scores
    assert prof.column("Seniority")["single_column_score"] < 0.8


def test_near_copy_of_a_regression_target():
    df, e = load_dataset("diamond_price", 3000)
    df["price_eur"] = df["price"] * 0.92 + np.random.default_rng(0).normal(0, 1, len(df))
    prof = profile_table(df, e["target"])
    copies = codes_of(prof, "leakage_target_copy")
    assert [f.column for f in copies] == ["price_eur"]
    assert copies[0].evidence["pearson"] > 0.999
    # carat is strongly related to price but not a copy
    assert prof.column("carat")["single_column_score"] < 0.98
    assert (
        "carat" in codes_of(prof, "strongest_associations")[0].evidence["mutual_information_nats"]
    )


def test_informative_missingness_on_real_data_and_not_for_random_holes():
    df, e = load_dataset("credit_scoring")
    rng = np.random.default_rng(0)
    df["Amount_holes"] = df["Amount"].where(rng.random(len(df)) > 0.2)
    prof = profile_table(df, e["target"])
    flagged = {f.column for f in codes_of(prof, "informative_missingness")}
    assert "Income" in flagged  # missing income goes with bad credit in this data
    assert "Amount_holes" not in flagged
    ev = prof.column("Amount_holes")["missing_target_association"]
    assert ev["p_value"] > 1e-3


def test_duplicates_and_conflicting_labels_are_counted():
    df, e = load_dataset("penguins_species")
    df = df.dropna().reset_index(drop=True)
    dup = pd.concat([df, df.iloc[:30]], ignore_index=True)
    flip = df.iloc[30:40].copy()
    flip["species"] = np.where(flip["species"] == "Adelie", "Gentoo", "Adelie")
    dup = pd.concat([dup, flip], ignore_index=True)
    prof = profile_table(dup, e["target"])
    assert prof.duplicates["n_duplicate_rows"] == 30
    assert prof.duplicates["n_conflicting_rows"] == 20  # 10 originals + 10 flipped copies
    assert codes_of(prof, "duplicate_rows") and codes_of(prof, "conflicting_duplicates")


def _card(rng: np.random.Generator) -> str:
    body = "4" + "".join(str(d) for d in rng.integers(0, 10, 14))
    for check in range(10):
        if luhn_valid(body + str(check)):
            return f"{body[:4]} {body[4:8]} {body[8:12]} {body[12:]}{check}"
    raise AssertionError


def test_pii_like_columns_are_flagged_by_kind():
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    df, e = load_dataset("penguins_species")
    rng = np.random.default_rng(0)
    n = len(df)
    df["contact"] = [f"user{i}@example.org" for i in range(n)]
    df["tel"] = [f"+44 20 7{rng.integers(100, 999)} {rng.integers(1000, 9999)}" for _ in range(n)]
    df["card"] = [_card(rng) for _ in range(n)]
    # 16 random digits fail the Luhn check 9 times in 10: not card numbers
    df["ref"] = ["".join(str(d) for d in rng.integers(0, 10, 16)) for _ in range(n)]
    prof = profile_table(df, e["target"])
    kinds = {f.column: f.evidence["kind"] for f in codes_of(prof, "pii_like_column")}
    assert kinds == {"contact": "email", "tel": "phone", "card": "card"}


def test_class_imbalance_and_outliers():
    df, e = load_dataset("credit_scoring")
    bad = df[df["Status"] == "bad"].head(60)
    good = df[df["Status"] == "good"].head(1500).copy()
    good.loc[good.index[:45], "Expenses"] = 99999  # a sentinel value
    prof = profile_table(pd.concat([good, bad], ignore_index=True), e["target"])
    imb = codes_of(prof, "class_imbalance")
    assert imb and imb[0].evidence["minority_share"] == pytest.approx(60 / 1560, abs=1e-6)
    assert "Expenses" in {f.column for f in codes_of(prof, "outliers")}


def test_timestamps_after_the_prediction_time():
    df, e = load_dataset("recidivism_two_year")
    prof = profile_table(df, e["target"], time_column="compas_screening_date")
    future = {f.column for f in codes_of(prof, "leakage_future_timestamp")}
    # the jail release date of the current charge mostly falls after the screening
    assert "c_jail_out" in future
    assert "compas_screening_date" not in future


def test_train_test_shift_by_time_and_none_for_a_random_split():
    df, e = load_dataset("police_stop_search")
    df = df.sort_values("date").reset_index(drop=True)
    early, late = df.iloc[:6000], df.iloc[-6000:]
    prof = profile_table(early, e["target"], test=late)
    assert prof.shift["auc"] >= 0.8
    assert prof.shift["drivers"][0] == "date"
    assert codes_of(prof, "train_test_shift")[0].severity == "critical"
    shuffled = df.sample(12000, random_state=0).reset_index(drop=True)
    prof = profile_table(shuffled.iloc[:6000], e["target"], test=shuffled.iloc[6000:])
    assert prof.shift["auc"] < 0.6
    assert codes_of(prof, "no_train_test_shift")
    overlap = profile_table(early, e["target"], test=early.iloc[:100])
    assert overlap.shift["n_test_rows_in_train"] >= 100


def test_profile_dict_has_the_report_contract():
    df, e = load_dataset("gss_happiness", 3000)
    doc = profile_table(df, e["target"]).to_dict()
    for key in ("n_rows", "n_columns", "columns", "findings", "target", "shift"):
        assert key in doc
    assert doc["n_rows"] == 3000 and doc["n_columns"] == df.shape[1] - 1
    assert doc["target"]["class_counts"] and doc["shift"] is None
    assert {"code", "severity", "message", "column", "evidence", "action"} <= set(
        doc["findings"][0]
    )
    json.dumps(doc)  # JSON-ready
