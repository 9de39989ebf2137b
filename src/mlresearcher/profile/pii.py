"""Columns that look like personal data: e-mail addresses, phone numbers, payment cards.

A column is flagged when at least half of a sample of its non-missing values matches a
pattern. Card numbers must also pass the Luhn checksum (13-19 digits), which random
digit strings pass only one time in ten; phone numbers need 9-15 digits and phone-style
punctuation or a leading ``+`` unless the column's name says phone.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from mlresearcher.findings import Finding

SAMPLE = 2000
MIN_MATCH = 0.5

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?[\d][\d\s().\-/]{6,22}\d")
_CARD = re.compile(r"\d[\d \-]{11,22}\d")
_PHONE_NAME = re.compile(r"phone|tel|mobile|cell|fax", re.I)

KINDS = {
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "card": "payment card numbers (Luhn-valid)",
}


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a digit string (payment cards, some national ids)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _is_card(text: str) -> bool:
    if not _CARD.fullmatch(text):
        return False
    digits = re.sub(r"\D", "", text)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _is_phone(text: str, name_says_phone: bool) -> bool:
    if not _PHONE.fullmatch(text):
        return False
    n_digits = sum(ch.isdigit() for ch in text)
    if not 9 <= n_digits <= 15:
        return False
    formatted = text.startswith("+") or bool(re.search(r"[\s().\-/]", text))
    return formatted or name_says_phone


def pii_kind(s: pd.Series, name: str, seed: int = 0) -> tuple[str | None, float]:
    """The kind of personal data ``s`` holds (``email``, ``phone``, ``card``) and the share
    of sampled values that match it; ``(None, best share)`` when none reaches half."""
    present = np.flatnonzero(s.notna().to_numpy())
    if present.size == 0:
        return None, 0.0
    if present.size > SAMPLE:  # sample positions first: cheap on a million rows
        present = np.sort(np.random.default_rng(seed).choice(present, SAMPLE, replace=False))
    values = s.iloc[present]
    if pd.api.types.is_float_dtype(values):
        if not np.all(np.mod(values.to_numpy(), 1) == 0):
            return None, 0.0
        values = values.astype("int64")
    elif not (
        pd.api.types.is_integer_dtype(values)
        or pd.api.types.is_string_dtype(values)
        or isinstance(values.dtype, pd.CategoricalDtype)
        or values.dtype == object
    ):
        return None, 0.0
    texts = [str(v).strip() for v in values]
    name_phone = bool(_PHONE_NAME.search(name))
    shares = {
        "email": np.mean([bool(_EMAIL.fullmatch(t)) for t in texts]),
        "card": np.mean([_is_card(t) for t in texts]),
        "phone": np.mean([_is_phone(t, name_phone) for t in texts]),
    }
    kind, share = max(shares.items(), key=lambda kv: kv[1])
    return (kind if share >= MIN_MATCH else None), float(share)


def pii_finding(column: str, kind: str, share: float) -> Finding:
    return Finding(
        "pii_like_column",
        "warning",
        f"column {column!r} looks like {KINDS[kind]} ({share:.0%} of sampled values match)",
        column=column,
        evidence={"kind": kind, "match_share": round(share, 4)},
        action="remove or pseudonymise personal data before modelling or sharing the run; "
        "it rarely generalises and may not be lawful to process",
    )
