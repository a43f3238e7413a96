"""Suggested codes (insight/suggest.py), measured on tests/data/insight_codes.tsv: 300 group
messages written for the repo (180 Chinese, 120 English) coded with the default codebook.

With seed 0 and 5 folds the frequent codes score F1 0.97 (question), 0.77 (informational),
0.65 (answer) and 0.51 (emotional); over seeds 0-9 emotional ranges 0.40-0.52, so the
floors below leave a little room and no more."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from tongzhou.insight import suggest
from tongzhou.insight.codebook import DEFAULT

DATA = Path(__file__).parent / "data" / "insight_codes.tsv"
_LINES = [line for line in DATA.open(encoding="utf-8") if not line.startswith("#")]
ROWS = list(csv.DictReader(_LINES, delimiter="\t", quoting=csv.QUOTE_NONE))
TEXTS = {i: r["text"] for i, r in enumerate(ROWS)}
LABELS = {i: frozenset(k for k in r["codes"].split(",") if k) for i, r in enumerate(ROWS)}
CODES = list(DEFAULT)
# Every fifth message is left uncoded, as in a project half-way through its coding.
HELD_OUT = {i for i in TEXTS if i % 5 == 0}
PARTLY = {i: codes for i, codes in LABELS.items() if i not in HELD_OUT}

FLOORS = {
    "qa.question": 0.90,
    "support.informational": 0.70,
    "qa.answer": 0.58,
    "support.emotional": 0.45,
}


@pytest.fixture(scope="module")
def trained() -> suggest.Trained:
    result = suggest.train(TEXTS, LABELS, CODES)
    for key, s in result.scores.items():
        print(
            f"{key:24} positives {s.positives:3} F1 {s.f1:.3f} P {s.precision:.3f} R {s.recall:.3f}"
        )
    return result


def test_the_labelled_set_is_in_both_languages_and_uses_every_default_code() -> None:
    chinese = [i for i, t in TEXTS.items() if re.search(r"[\u4e00-\u9fff]", t)]
    assert len(ROWS) >= 300
    assert 0.55 <= len(chinese) / len(ROWS) <= 0.65
    used = {k for codes in LABELS.values() for k in codes}
    assert used == set(DEFAULT)
    assert sum(1 for codes in LABELS.values() if not codes) >= 15
    assert sum(1 for codes in LABELS.values() if len(codes) > 1) >= 50
    assert len(set(TEXTS.values())) == len(TEXTS)


@pytest.mark.parametrize("key", list(FLOORS))
def test_frequent_codes_are_learned(trained: suggest.Trained, key: str) -> None:
    score = trained.scores[key]
    assert score.reason is None
    assert score.f1 is not None and score.f1 >= FLOORS[key]
    assert trained.units == len(ROWS)


def test_the_reported_scores_are_sklearns_on_the_same_folds(trained: suggest.Trained) -> None:
    """Recomputed here from cross_val_predict with the documented model and folds."""
    X = suggest.features([TEXTS[i] for i in sorted(TEXTS)])
    for key in CODES:
        y = np.array([key in LABELS[i] for i in sorted(TEXTS)], dtype=int)
        model = LogisticRegression(class_weight="balanced", solver="liblinear", random_state=0)
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        predicted = cross_val_predict(model, X, y, cv=folds)
        score = trained.scores[key]
        assert score.positives == int(y.sum())
        assert score.f1 == pytest.approx(f1_score(y, predicted), abs=1e-12)
        assert score.precision == pytest.approx(precision_score(y, predicted), abs=1e-12)
        assert score.recall == pytest.approx(recall_score(y, predicted), abs=1e-12)


def test_codes_with_too_few_examples_get_no_model_and_say_why() -> None:
    labels = dict(PARTLY)
    for i in sorted(PARTLY)[:3]:
        labels[i] = labels[i] | {"open.humour"}  # three positives
    for i in sorted(PARTLY)[3:]:
        labels[i] = labels[i] | {"open.everyday"}  # three negatives
    codes = [*CODES, "open.humour", "open.everyday", "open.unused"]
    result = suggest.train(TEXTS, labels, codes)
    for key, positives in [
        ("open.humour", 3),
        ("open.everyday", len(PARTLY) - 3),
        ("open.unused", 0),
    ]:
        score = result.scores[key]
        assert (score.f1, score.precision, score.recall) == (None, None, None)
        assert score.reason == suggest.TOO_FEW
        assert score.positives == positives
    assert result.scores["qa.question"].f1 is not None
    suggested = {k for pairs in result.suggested.values() for k, _p in pairs}
    assert suggested and suggested.isdisjoint({"open.humour", "open.everyday", "open.unused"})


def test_suggestions_are_for_uncoded_units_only_and_mostly_right() -> None:
    result = suggest.train(TEXTS, PARTLY, CODES)
    assert result.units == len(PARTLY)
    assert set(result.suggested) <= HELD_OUT
    modelled = {k for k, s in result.scores.items() if s.f1 is not None}
    for pairs in result.suggested.values():
        assert pairs and {k for k, _p in pairs} <= modelled
        assert all(suggest.THRESHOLD < p <= 1 for _k, p in pairs)
        assert [p for _k, p in pairs] == sorted((p for _k, p in pairs), reverse=True)
    # A held-out question is suggested as one, and what is suggested as one is one.
    asked = {i for i in HELD_OUT if "qa.question" in LABELS[i]}
    said = {i for i, pairs in result.suggested.items() if "qa.question" in dict(pairs)}
    assert len(asked & said) >= 0.8 * len(asked)
    assert len(asked & said) >= 0.8 * len(said)


def test_the_same_seed_gives_the_same_output_whatever_the_input_order() -> None:
    first = suggest.train(TEXTS, PARTLY, CODES, seed=3).as_dict()
    backwards = dict(reversed(list(TEXTS.items())))
    again = suggest.train(backwards, PARTLY, CODES, seed=3).as_dict()
    assert first == again
    assert json.loads(json.dumps(first)) == first
    assert set(first) == {"scores", "suggested", "units"}
    assert set(first["scores"]["qa.answer"]) == {"f1", "precision", "recall", "positives", "reason"}


@pytest.mark.parametrize("coded", [0, 2])
def test_a_project_with_almost_nothing_coded_gets_no_models(coded: int) -> None:
    labels = {i: LABELS[i] for i in sorted(TEXTS)[:coded]}
    labels[10_000] = frozenset({"qa.question"})  # a unit no longer readable: not counted
    result = suggest.train(TEXTS, labels, CODES)
    assert result.units == coded
    assert result.suggested == {}
    assert all(s.f1 is None and s.reason == suggest.TOO_FEW for s in result.scores.values())
    assert suggest.train({}, {}, CODES).as_dict()["units"] == 0
