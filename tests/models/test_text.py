"""Text features: TF-IDF learned on the training rows, documents analysed once per run."""

from __future__ import annotations

import pickle
import threading
from collections import Counter

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from mlresearcher.models import text
from mlresearcher.models.text import TextFeatures, text_corpus
from tests.conftest import load_dataset


@pytest.fixture(scope="module")
def reviews() -> list[str]:
    df, _ = load_dataset("food_review_sentiment", n=1500, seed=3)
    docs = df["review"].tolist()
    docs[5] = None  # a missing document becomes ""
    docs[7] = docs[8]  # a repeated one
    return docs


def _analyser(ngram_max: int):
    """scikit-learn's word analyser, the reference for our counts."""
    return CountVectorizer(ngram_range=(1, ngram_max), strip_accents="unicode").build_analyzer()


@pytest.mark.parametrize("ngram_max", [1, 2, 3])
def test_counts_are_those_of_scikit_learns_analyser(reviews, ngram_max):
    docs = [d or "" for d in reviews[:400]]
    docs += ["", "a", "one", "two words", "x yy zz", "Ünïcödé café CAFÉ", "aa bb aa bb aa"]
    counts, terms = text.count_terms(docs, ngram_max)
    assert len(set(terms)) == len(terms) == counts.shape[1]
    analyse = _analyser(ngram_max)
    for i, doc in enumerate(docs):
        row = counts.getrow(i)
        got = {terms[j]: int(v) for j, v in zip(row.indices, row.data, strict=True)}
        assert got == dict(Counter(analyse(doc))), doc[:60]


def _same(a, b) -> None:
    a, b = a.tocsr(), b.tocsr()
    assert a.shape == b.shape
    assert (a != b).nnz == 0


def test_unigrams_match_scikit_learn(reviews):
    """Without a max_features cut, the features are scikit-learn's TF-IDF."""
    train, valid = reviews[:1200], reviews[1200:]
    ref = TfidfVectorizer(min_df=2, sublinear_tf=True, strip_accents="unicode")
    expected = ref.fit_transform([d or "" for d in train])
    expected_valid = ref.transform(valid)
    ours = TextFeatures(svd_components=None, max_features=None)
    got, got_valid = ours.fit_transform(train), ours.transform(valid)
    assert list(ours.vocabulary_) == list(ref.get_feature_names_out())
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got_valid.toarray(), expected_valid.toarray(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("ngram_max", [1, 2])
def test_the_corpus_gives_the_fresh_numbers_whatever_order_it_saw(reviews, ngram_max):
    train, valid = reviews[300:], reviews[:300]
    fresh = TextFeatures(svd_components=None, ngram_max=ngram_max, max_features=3000)
    expected, expected_valid = fresh.fit_transform(train), fresh.transform(valid)
    with text_corpus():
        # the corpus first sees the validation rows and a reversed order of the others
        TextFeatures(svd_components=None, ngram_max=ngram_max).fit(valid + train[::-1])
        cached = TextFeatures(svd_components=None, ngram_max=ngram_max, max_features=3000)
        got, got_valid = cached.fit_transform(train), cached.transform(valid)
    assert list(cached.vocabulary_) == list(fresh.vocabulary_)
    np.testing.assert_array_equal(cached.idf_, fresh.idf_)
    _same(got, expected)
    _same(got_valid, expected_valid)


def test_kept_terms_depend_on_the_training_rows_alone(reviews):
    """Only training-row counts pick the terms (ties broken by the term), so the order of
    the rows and what the corpus holds beyond them change nothing."""
    train, valid = reviews[:1000], reviews[1000:]
    a = TextFeatures(svd_components=None, ngram_max=2, max_features=500).fit(train)
    b = TextFeatures(svd_components=None, ngram_max=2, max_features=500).fit(train[::-1])
    assert list(a.vocabulary_) == list(b.vocabulary_)
    seen_in_train = set()
    for doc in train:
        seen_in_train.update(_analyser(2)(doc or ""))
    with text_corpus():
        TextFeatures(svd_components=None, ngram_max=2).fit(valid)  # the corpus holds them
        c = TextFeatures(svd_components=None, ngram_max=2, max_features=500).fit(train)
    assert list(c.vocabulary_) == list(a.vocabulary_)
    assert set(c.vocabulary_) <= seen_in_train


def test_svd_features_are_equal_with_and_without_the_corpus(reviews):
    train, valid = reviews[:1000], reviews[1000:]
    fresh = TextFeatures(random_state=1)
    expected, expected_valid = fresh.fit_transform(train), fresh.transform(valid)
    with text_corpus():
        cached = TextFeatures(random_state=1)
        got, got_valid = cached.fit_transform(train), cached.transform(valid)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_valid, expected_valid)
    assert got.shape[1] == 32 + 3


def test_each_distinct_document_is_analysed_once(reviews, monkeypatch):
    analysed: list[str] = []
    count_terms = text.count_terms

    def counting(docs, ngram_max):
        analysed.extend(docs)
        return count_terms(docs, ngram_max)

    monkeypatch.setattr(text, "count_terms", counting)
    with text_corpus():
        for k in range(5):  # the folds of a trial: each fits 4/5 and transforms 1/5
            valid = reviews[k::5]
            train = [d for i, d in enumerate(reviews) if i % 5 != k]
            TextFeatures(svd_components=None, ngram_max=2).fit(train).transform(valid)
    distinct = {d if isinstance(d, str) else "" for d in reviews}
    assert len(analysed) == len(distinct) == len(set(analysed))
    assert text._corpora is None  # the counts are dropped on exit


def test_side_by_side_fits_equal_sequential_ones(reviews):
    folds = [reviews[k::4] for k in range(4)]
    expected = [TextFeatures(svd_components=None, ngram_max=2).fit_transform(f) for f in folds]
    got: list = [None] * 4
    with text_corpus():

        def fit(k: int) -> None:
            got[k] = TextFeatures(svd_components=None, ngram_max=2).fit_transform(folds[k])

        threads = [threading.Thread(target=fit, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for a, b in zip(got, expected, strict=True):
        _same(a, b)


def test_a_full_corpus_falls_back_to_counting_afresh(reviews, monkeypatch):
    monkeypatch.setattr(text, "CORPUS_MAX_COUNTS", 1000)
    expected = TextFeatures(svd_components=None).fit(reviews[:800]).transform(reviews[800:])
    with text_corpus():
        got = TextFeatures(svd_components=None).fit(reviews[:800]).transform(reviews[800:])
    _same(got, expected)


def test_pickled_features_transform_the_same(reviews):
    with text_corpus():
        fitted = TextFeatures(svd_components=None, ngram_max=2).fit(reviews[:1000])
        expected = fitted.transform(reviews[1000:])
        state = pickle.dumps(fitted)
    assert "_index" not in pickle.loads(state).__dict__
    loaded = pickle.loads(state)
    _same(loaded.transform(reviews[1000:]), expected)
    names = loaded.get_feature_names_out(["review"])
    assert len(names) == expected.shape[1] and names[0].startswith("review__")


def test_a_model_saved_with_a_vectorizer_still_transforms(reviews):
    """Models saved before the vocabulary was learned here hold a fitted vectorizer."""
    vec = TfidfVectorizer(min_df=2, sublinear_tf=True).fit([d or "" for d in reviews[:1000]])
    old = TextFeatures(svd_components=None)
    old.vectorizer_, old.svd_ = vec, None
    _same(old.transform(reviews[1000:]), vec.transform([d or "" for d in reviews[1000:]]))
    assert list(old.get_feature_names_out(["r"]))[:3] == [
        f"r__{t}" for t in vec.get_feature_names_out()[:3]
    ]


def test_documents_without_terms_yield_no_columns():
    feats = TextFeatures(svd_components=None)
    out = feats.fit_transform(["a", None, "!"])
    assert out.shape == (3, 0)
    assert feats.transform(["some words here"]).shape == (1, 0)


def test_a_run_counts_each_document_once_per_ngram_size(monkeypatch):
    """Folds, trials and the refit of a run all read one count of each document."""
    from mlresearcher import AutoModel

    df, entry = load_dataset("food_review_sentiment", n=400, seed=1)
    analysed: dict[int, list[str]] = {}
    count_terms = text.count_terms

    def counting(docs, ngram_max):
        analysed.setdefault(ngram_max, []).extend(docs)
        return count_terms(docs, ngram_max)

    monkeypatch.setattr(text, "count_terms", counting)
    model = AutoModel(max_trials=3, families=["linear", "lightgbm"], folds=3, repeats=1)
    model.fit(df.drop(columns=[entry["target"]]), df[entry["target"]])
    distinct = {d if isinstance(d, str) else "" for d in df["review"]}
    assert set(analysed) == {1, 2}  # SVD text for LightGBM, 1-2-grams for linear
    for docs in analysed.values():
        assert len(docs) == len(set(docs)) == len(distinct)
    assert text._corpora is None
    before = len(analysed[2])
    model.predict_proba(df.drop(columns=[entry["target"]]).head(20))
    linear = sum(len(m.predicting) for m in model.predictor_.members if m.family == "linear")
    assert linear >= 1
    assert len(analysed[2]) == before + 20 * linear  # predictions count afresh, outside a run
