"""Free text as features: TF-IDF n-grams learned on the training rows only.

Counting a document's n-grams (Python-bound tokenisation) is most of the cost of text
features, and a campaign fits the same documents over and over: every fold of every trial,
then the refit. A document's counts depend on that document alone, so inside
:func:`text_corpus` each distinct document is analysed once per process and its counts are
reused. What is *learned* (which terms are kept, their inverse document frequencies, the
SVD directions) still comes from the training rows of each fit alone, so no fold sees its
validation rows through the cache.

Outside that context (predictions, a served model) documents are counted afresh. Both ways
give the same numbers: terms are kept by their training-row counts, ties broken by the term
itself, never by the order in which documents were first seen. The result is what
scikit-learn's ``TfidfVectorizer(sublinear_tf=True, strip_accents="unicode")`` computes
(same analyser, ``min_df``, smoothed IDF, L2 norm), except which of the terms tied at the
``max_features`` cut-off are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

#: TF-IDF vocabulary bound (terms) for every text treatment
TEXT_MAX_FEATURES = 20_000
#: SVD components a text column becomes for the dense treatments
TEXT_SVD_COMPONENTS = 32
#: the cache stops taking documents beyond this many stored counts (about 12 bytes each)
CORPUS_MAX_COUNTS = 30_000_000

_TOKENS: list[Callable[[str], list[str]]] = []


def _tokens() -> Callable[[str], list[str]]:
    """A document's tokens as scikit-learn's word analyser makes them: lower case, accents
    stripped, runs of 2+ word characters."""
    if not _TOKENS:
        vec = CountVectorizer(strip_accents="unicode")
        preprocess, tokenize = vec.build_preprocessor(), vec.build_tokenizer()
        _TOKENS.append(lambda doc: tokenize(preprocess(doc)))
    return _TOKENS[0]


def documents(x: Any) -> list[str]:
    """One text column as a list of documents, ``""`` for missing."""
    arr = np.asarray(x, dtype=object)
    if arr.ndim == 2:
        arr = arr[:, 0]
    return [v if isinstance(v, str) else "" for v in arr]


def count_terms(docs: Sequence[str], ngram_max: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Term counts of ``docs``, those of scikit-learn's word analyser with ``ngram_range=(1,
    ngram_max)``: a canonical CSR matrix (documents x terms) and the term of each column
    (object array); n-grams are tokens joined by a space.

    Only tokenising is done per document in Python. The n-grams are runs of consecutive
    token codes, numbered by hashing integer pairs in pandas, and each distinct n-gram's
    text is joined once, not once per occurrence."""
    tokenize = _tokens()
    per_doc = [tokenize(doc) for doc in docs]
    lengths = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
    flat = np.asarray(list(chain.from_iterable(per_doc)), dtype=object)
    codes, uniques = pd.factorize(flat)
    codes = codes.astype(np.int64)
    doc_of = np.repeat(np.arange(len(docs)), lengths)
    term_codes, term_docs, terms = [codes], [doc_of], [np.asarray(uniques, dtype=object)]
    n_terms = len(uniques)
    gram = codes  # codes of the n-grams starting at each position (n = 1 here)
    for n in range(2, ngram_max + 1):
        start = np.flatnonzero(doc_of[: len(doc_of) - n + 1] == doc_of[n - 1 :])
        gram, kinds = pd.factorize(gram[start] * len(uniques) + codes[start + n - 1])
        gram = gram.astype(np.int64)
        first = np.empty(len(kinds), dtype=np.int64)
        first[gram[::-1]] = start[::-1]  # where each distinct n-gram first occurs
        words = [flat[first + k] for k in range(n)]
        terms.append(np.asarray([" ".join(w) for w in zip(*words, strict=True)], dtype=object))
        term_codes.append(gram + n_terms)
        term_docs.append(doc_of[start])
        n_terms += len(kinds)
        # the next size extends these n-grams, so index them by position again
        codes_at = np.full(len(codes), -1, dtype=np.int64)
        codes_at[start] = gram
        gram = codes_at
    counts = sparse.csr_matrix(
        (
            np.ones(sum(len(c) for c in term_codes), dtype=np.int32),
            (np.concatenate(term_docs), np.concatenate(term_codes)),
        ),
        shape=(len(docs), n_terms),
    )
    counts.sum_duplicates()
    return counts, np.concatenate(terms)


class _Corpus:
    """The term counts of every document seen so far, for one ``ngram_max``.

    Thread-safe: the folds of a trial fit side by side in threads."""

    def __init__(self, ngram_max: int) -> None:
        self.ngram_max = ngram_max
        self.rows: dict[str, int] = {}
        self.terms = np.empty(0, dtype=object)
        self.matrix = sparse.csr_matrix((0, 0), dtype=np.int32)
        self.full = False
        self._term_index: pd.Index | None = None
        self._lock = threading.Lock()

    def counts(self, docs: Sequence[str]) -> tuple[sparse.csr_matrix, np.ndarray] | None:
        """Counts of ``docs`` (columns: this corpus' terms) and the terms; ``None`` when
        some are not stored and the corpus is full."""
        with self._lock:
            missing = [d for d in dict.fromkeys(docs) if d not in self.rows]
            if missing and not self._add(missing):
                return None
            matrix, terms, rows = self.matrix, self.terms, self.rows
        idx = np.fromiter((rows[d] for d in docs), dtype=np.int64, count=len(docs))
        return matrix[idx], terms

    def term_index(self, n_terms: int) -> pd.Index:
        """The first ``n_terms`` terms as an index (term -> column), kept while it lasts."""
        with self._lock:
            index = self._term_index
            if index is None or len(index) != n_terms:
                index = self._term_index = pd.Index(self.terms[:n_terms], dtype=object)
            return index

    def _add(self, docs: list[str]) -> bool:
        if self.full:
            return False
        counts, terms = count_terms(docs, self.ngram_max)
        if self.matrix.nnz + counts.nnz > CORPUS_MAX_COUNTS:
            self.full = True
            return False
        # known terms keep their column; new ones are numbered after the last
        ids = (
            pd.Index(self.terms, dtype=object).get_indexer(terms)
            if len(self.terms)
            else np.full(len(terms), -1)
        )
        fresh = np.flatnonzero(ids < 0)
        ids[fresh] = len(self.terms) + np.arange(len(fresh))
        self.terms = np.concatenate([self.terms, terms[fresh]])
        n_terms = len(self.terms)
        # the rows' indices stay unsorted: every use re-indexes them (see _project)
        new = sparse.csr_matrix(
            (counts.data, ids[counts.indices], counts.indptr), shape=(len(docs), n_terms)
        )
        old = self.matrix
        old = sparse.csr_matrix((old.data, old.indices, old.indptr), shape=(old.shape[0], n_terms))
        first = old.shape[0]
        self.matrix = sparse.vstack([old, new], format="csr")
        self.rows.update((d, first + i) for i, d in enumerate(docs))
        return True


_corpora: dict[int, _Corpus] | None = None
_corpora_lock = threading.Lock()


@contextmanager
def text_corpus() -> Iterator[None]:
    """Within this block, each distinct document is analysed once (per n-gram size) by
    every :class:`TextFeatures` of this process; the counts are dropped on exit."""
    global _corpora
    with _corpora_lock:
        outer = _corpora is not None
        if not outer:
            _corpora = {}
    try:
        yield
    finally:
        if not outer:
            with _corpora_lock:
                _corpora = None


def _corpus(ngram_max: int) -> _Corpus | None:
    with _corpora_lock:
        if _corpora is None:
            return None
        if ngram_max not in _corpora:
            _corpora[ngram_max] = _Corpus(ngram_max)
        return _corpora[ngram_max]


def _counts(
    docs: Sequence[str], ngram_max: int
) -> tuple[sparse.csr_matrix, np.ndarray, _Corpus | None]:
    """Counts and terms of ``docs`` (from the corpus when one is active and holds them),
    and that corpus."""
    corpus = _corpus(ngram_max)
    out = corpus.counts(docs) if corpus is not None else None
    if out is None:
        return (*count_terms(docs, ngram_max), None)
    return (*out, corpus)


def _project(counts: sparse.csr_matrix, column: np.ndarray, n_columns: int) -> sparse.csr_matrix:
    """Counts re-indexed by ``column`` (source column -> output column, -1 to drop); the
    result is canonical (sorted indices), whatever the source's column order."""
    new = column[counts.indices]
    keep = new >= 0
    row = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))[keep]
    out = sparse.csr_matrix(
        (counts.data[keep], (row, new[keep])), shape=(counts.shape[0], n_columns)
    )
    out.sum_duplicates()
    return out


def _keep_terms(
    counts: sparse.csr_matrix, terms: np.ndarray, min_df: int, max_features: int | None
) -> np.ndarray:
    """Columns of ``counts`` to keep: in at least ``min_df`` documents, then the
    ``max_features`` most frequent (ties by the term), in alphabetical order of term."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    keep = np.flatnonzero(df >= min_df)
    if max_features is not None and len(keep) > max_features:
        tf = np.bincount(counts.indices, weights=counts.data, minlength=counts.shape[1])[keep]
        cut = np.sort(tf)[::-1][max_features - 1]
        above = keep[tf > cut]
        tied = keep[tf == cut]
        need = max_features - len(above)
        tied = tied[np.argsort(terms[tied], kind="stable")[:need]]
        keep = np.concatenate([above, tied])
    return keep[np.argsort(terms[keep], kind="stable")]


def _tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear term frequency (1 + log count) x IDF, rows scaled to unit L2 norm."""
    out = counts.astype(np.float64)
    np.log(out.data, out=out.data)
    out.data += 1.0
    out.data *= idf[out.indices]
    return normalize(out, norm="l2", copy=False)


class TextFeatures(TransformerMixin, BaseEstimator):
    """One free-text column -> TF-IDF (sparse) or TF-IDF + truncated SVD (dense).

    ``svd_components=None`` keeps the sparse TF-IDF matrix (for linear models). Otherwise
    the TF-IDF matrix is projected on at most ``svd_components`` SVD directions (seeded, so
    deterministic) and, when ``length_features`` is set, ``log1p`` of the character and
    word counts and a missing flag are appended, so that tree learners can split on text.
    A column whose training rows hold no usable terms yields only the length features (or
    nothing), rather than an error.

    Learned state: ``vocabulary_`` (the kept terms, alphabetical), ``idf_`` and ``svd_``.
    """

    def __init__(
        self,
        *,
        max_features: int = TEXT_MAX_FEATURES,
        ngram_max: int = 1,
        min_df: int = 2,
        svd_components: int | None = TEXT_SVD_COMPONENTS,
        length_features: bool = True,
        random_state: int = 0,
    ):
        self.max_features = max_features
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.svd_components = svd_components
        self.length_features = length_features
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> TextFeatures:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        docs = documents(X)
        counts, terms, _ = _counts(docs, self.ngram_max)
        # min_df=2 can leave no vocabulary on tiny data; then fall back to min_df=1
        keep = np.empty(0, dtype=np.int64)
        for min_df in dict.fromkeys((self.min_df, 1)):
            keep = _keep_terms(counts, terms, min_df, self.max_features)
            if len(keep):
                break
        self.vocabulary_ = terms[keep]
        self._index = None
        tfidf = None
        if len(keep):
            column = np.full(counts.shape[1], -1, dtype=np.int64)
            column[keep] = np.arange(len(keep))
            kept = _project(counts, column, len(keep))
            df = np.bincount(kept.indices, minlength=len(keep))
            self.idf_ = np.log((1.0 + len(docs)) / (1.0 + df)) + 1.0
            tfidf = _tfidf(kept, self.idf_)
        self.svd_ = None
        if self.svd_components is not None and tfidf is not None:
            k = min(self.svd_components, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
            if k >= 1:
                self.svd_ = TruncatedSVD(n_components=k, random_state=self.random_state)
                self.svd_.fit(tfidf)
        return self._finish(docs, tfidf)

    def transform(self, X: Any) -> Any:
        docs = documents(X)
        old = getattr(self, "vectorizer_", None)  # a model saved by an earlier version
        if old is not None:
            return self._finish(docs, old.transform(docs))
        if not len(self.vocabulary_):
            return self._finish(docs, None)
        counts, terms, corpus = _counts(docs, self.ngram_max)
        if corpus is not None:  # the corpus' terms are many: look up the vocabulary's
            ids = corpus.term_index(len(terms)).get_indexer(self.vocabulary_)
            column = np.full(len(terms), -1, dtype=np.int64)
            found = ids >= 0
            column[ids[found]] = np.flatnonzero(found)
        else:
            column = self._vocabulary_index().get_indexer(terms).astype(np.int64)
        kept = _project(counts, column, len(self.vocabulary_))
        return self._finish(docs, _tfidf(kept, self.idf_))

    def _vocabulary_index(self) -> pd.Index:
        if getattr(self, "_index", None) is None:
            self._index = pd.Index(self.vocabulary_, dtype=object)
        return self._index

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_index", None)  # rebuilt on first use
        return state

    def _finish(self, docs: list[str], tfidf: Any) -> Any:
        n = len(docs)
        if self.svd_components is None:  # sparse TF-IDF only
            if tfidf is None:
                return sparse.csr_matrix((n, 0))
            return tfidf.tocsr()
        parts = []
        if self.svd_ is not None:
            parts.append(self.svd_.transform(tfidf))
        if self.length_features:
            chars = np.array([len(d) for d in docs], dtype=float)
            words = np.array([len(d.split()) for d in docs], dtype=float)
            parts.append(
                np.column_stack([np.log1p(chars), np.log1p(words), (chars == 0).astype(float)])
            )
        return np.hstack(parts) if parts else np.zeros((n, 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        base = (
            str(input_features[0]) if input_features is not None and len(input_features) else "text"
        )
        if self.svd_components is None:
            old = getattr(self, "vectorizer_", None)
            terms = old.get_feature_names_out() if old is not None else self.vocabulary_
            return np.array([f"{base}__{t}" for t in terms], dtype=object)
        names = [
            f"{base}__svd{i}" for i in range(self.svd_.n_components if self.svd_ is not None else 0)
        ]
        if self.length_features:
            names += [f"{base}__log_chars", f"{base}__log_words", f"{base}__missing"]
        return np.array(names, dtype=object)


__all__ = [
    "CORPUS_MAX_COUNTS",
    "TEXT_MAX_FEATURES",
    "TEXT_SVD_COMPONENTS",
    "TextFeatures",
    "count_terms",
    "documents",
    "text_corpus",
]
