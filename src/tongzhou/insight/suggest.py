"""Suggested codes: a classifier trained on a project's coded units proposes codes for the
units nobody has coded yet, with each code's cross-validated F1 beside it. Nothing here
writes; a suggestion becomes a code only when a person applies it.

One binary logistic regression per code (one-vs-rest; class_weight="balanced", liblinear)
over TF-IDF features fitted on every unit's text, coded or not (no labels are involved):
jieba words plus character n-grams (char_wb, 1-3), each kept when it occurs in at least
MIN_DF texts. A code is suggested when its probability is above THRESHOLD; the precision,
recall and F1 reported are those of that same rule, from cross_val_predict over stratified,
shuffled folds, so the figures describe the suggestions shown.

Measured on tests/data/insight_codes.tsv (300 messages, 5 folds, 20 shuffles): words plus
characters give a mean F1 over the eleven default codes of 0.56 against 0.52 for characters
alone, and 0.70 against 0.65 over the four frequent codes, better on every shuffle. Keeping
only n-grams seen in 3 or more texts matters more than anything else tried (0.25 → 0.52 for
characters): without it the model learns each message's own n-grams and rarely says yes.
jieba runs on a tokenizer of its own, since questions/search.py adds words to the shared one
and the suggestions must not depend on what else the process imported.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jieba
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

MIN_EXAMPLES = 5  # positives and negatives a code needs before it gets a model
MIN_CODED = 20  # coded units below which no F1 means anything
MIN_DF = 3
THRESHOLD = 0.5
TOO_FEW = "too_few"

jieba.setLogLevel(logging.WARNING)
_tokenizer: Any = None  # jieba.Tokenizer, made on first use (0.6 s)
_tokenizer_lock = threading.Lock()


@dataclass(frozen=True)
class Score:
    positives: int
    f1: float | None = None
    precision: float | None = None
    recall: float | None = None
    reason: str | None = None  # TOO_FEW when the code has no model


@dataclass(frozen=True)
class Trained:
    scores: dict[str, Score]
    suggested: dict[int, list[tuple[str, float]]]  # uncoded unit -> (code, probability)
    units: int  # coded units learned from

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; unit ids become strings, as a JSON object's keys are."""
        return {
            "scores": {
                key: {
                    "f1": s.f1,
                    "precision": s.precision,
                    "recall": s.recall,
                    "positives": s.positives,
                    "reason": s.reason,
                }
                for key, s in self.scores.items()
            },
            "suggested": {
                str(unit): [[key, p] for key, p in pairs] for unit, pairs in self.suggested.items()
            },
            "units": self.units,
        }


def train(
    texts: Mapping[int, str],
    labels: Mapping[int, frozenset[str]],
    codes: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
) -> Trained:
    """`texts` holds every unit's (redacted) text; `labels` the codes of the coded units, an
    empty set meaning coded with none. Labels of units missing from `texts` (consent
    withdrawn since) are not used. Units with no suggestion are left out of `suggested`."""
    if folds < 2:
        raise ValueError("folds must be at least 2")
    codes = list(dict.fromkeys(codes))
    ids = sorted(texts)  # the input's order must not change the folds
    coded = [u for u in ids if u in labels]
    uncoded = [u for u in ids if u not in labels]
    y_all = {key: np.array([key in labels[u] for u in coded], dtype=int) for key in codes}
    trainable = {key for key in codes if _enough(y_all[key])}
    X = _features([texts[u] for u in ids]) if trainable else None
    if X is None:
        too_few = {key: Score(positives=int(y.sum()), reason=TOO_FEW) for key, y in y_all.items()}
        return Trained(scores=too_few, suggested={}, units=len(coded))
    row = {u: i for i, u in enumerate(ids)}
    X_coded, X_uncoded = X[[row[u] for u in coded]], X[[row[u] for u in uncoded]]
    scores: dict[str, Score] = {}
    suggested: dict[int, list[tuple[str, float]]] = {}
    for key in codes:
        y = y_all[key]
        positives = int(y.sum())
        if key not in trainable:
            scores[key] = Score(positives=positives, reason=TOO_FEW)
            continue
        splits = min(folds, positives, len(y) - positives)
        cv = StratifiedKFold(n_splits=splits, shuffle=True, random_state=seed)
        predicted = cross_val_predict(_model(seed), X_coded, y, cv=cv)
        scores[key] = Score(
            positives=positives,
            f1=float(f1_score(y, predicted, zero_division=0)),
            precision=float(precision_score(y, predicted, zero_division=0)),
            recall=float(recall_score(y, predicted, zero_division=0)),
        )
        if not uncoded:
            continue
        probability = _model(seed).fit(X_coded, y).predict_proba(X_uncoded)[:, 1]
        for unit, p in zip(uncoded, probability, strict=True):
            if p > THRESHOLD:  # as predict() decides in the cross-validation
                suggested.setdefault(unit, []).append((key, round(float(p), 3)))
    for pairs in suggested.values():
        pairs.sort(key=lambda pair: (-pair[1], pair[0]))
    return Trained(scores=scores, suggested=dict(sorted(suggested.items())), units=len(coded))


def _enough(y: np.ndarray) -> bool:
    positives = int(y.sum())
    return len(y) >= MIN_CODED and min(positives, len(y) - positives) >= MIN_EXAMPLES


def _model(seed: int) -> LogisticRegression:
    return LogisticRegression(class_weight="balanced", solver="liblinear", random_state=seed)


def features(texts: Sequence[str]) -> sparse.csr_matrix:
    """TF-IDF of jieba words and of character 1-3-grams, side by side; fitted on `texts`."""
    cut = _jieba().lcut
    words = TfidfVectorizer(
        tokenizer=lambda t: [w for w in cut(t) if not w.isspace()],
        token_pattern=None,
        min_df=MIN_DF,
    )
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=MIN_DF)
    return sparse.hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()


def _features(texts: Sequence[str]) -> sparse.csr_matrix | None:
    try:
        return features(texts)
    except ValueError:  # no word or n-gram in MIN_DF texts: nothing to learn from
        return None


def _jieba() -> Any:
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer = tokenizer
        return _tokenizer
