"""Agreement statistics for research projects, checked against the packages researchers trust
(krippendorff, statsmodels, scikit-learn) and against figures worked out by hand."""

import json
import math
import warnings

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa

from tongzhou.insight.stats import (
    Disagreement,
    agreement,
    as_dict,
    cohen_kappa,
    disagreements,
    krippendorff_alpha,
    saturation,
)

NAN = float("nan")


def reference_alpha(matrix: list[list[float]]) -> float:
    """The krippendorff package's nominal alpha; nan where it calls the data undefined."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return float(
                krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
            )
        except ValueError:  # "more than one value in the domain", "at least one unit ..."
            return NAN


def reference_kappa(a: list[int], b: list[int], labels: list[int]) -> float:
    """statsmodels' kappa from the contingency table of the two raters."""
    table = np.zeros((len(labels), len(labels)))
    for x, y in zip(a, b, strict=True):
        table[labels.index(x), labels.index(y)] += 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(cohens_kappa(table, return_results=False))


def assert_same(ours: float | None, reference: float) -> None:
    if math.isnan(reference):
        assert ours is None
    else:
        assert ours == pytest.approx(reference, abs=1e-9)


def as_labels(matrix: list[list[float]]) -> list[list[str | None]]:
    """The same data as our callers pass it: text labels, None for missing."""
    return [[None if math.isnan(v) else f"code-{v:.0f}" for v in row] for row in matrix]


def test_krippendorff_worked_example() -> None:
    # Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", section C:
    # 4 coders, 12 units, values 1-5, missing values; published nominal alpha = 0.743.
    matrix = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
    ours = krippendorff_alpha(as_labels(matrix))
    assert ours == pytest.approx(reference_alpha(matrix), abs=1e-9)
    assert round(ours, 3) == 0.743
    assert ours == pytest.approx(0.7434210526, abs=1e-9)


@pytest.mark.parametrize("seed", range(40))
def test_alpha_matches_krippendorff_on_random_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    coders, categories = int(rng.integers(2, 6)), int(rng.integers(2, 7))
    units, missing = int(rng.integers(5, 60)), rng.uniform(0, 0.4)
    # Coders copy each unit's "true" value with a chance that varies by data set, so alpha
    # spreads from below zero to near one.
    truth = rng.integers(0, categories, size=units)
    guesses = rng.integers(0, categories, size=(coders, units))
    values = np.where(rng.random((coders, units)) < rng.uniform(0, 1), truth, guesses)
    values = values.astype(float)
    values[rng.random((coders, units)) < missing] = NAN
    matrix = values.tolist()
    assert_same(krippendorff_alpha(as_labels(matrix)), reference_alpha(matrix))


def test_alpha_on_sparse_binary_codes() -> None:
    # Most codes are rarely applied: the case the per-code alpha meets most.
    rng = np.random.default_rng(7)
    values = (rng.random((3, 300)) < 0.04).astype(float)
    values[rng.random((3, 300)) < 0.2] = NAN
    matrix = values.tolist()
    reference = reference_alpha(matrix)
    assert not math.isnan(reference)
    assert krippendorff_alpha(as_labels(matrix)) == pytest.approx(reference, abs=1e-9)


def test_alpha_perfect_agreement_is_one() -> None:
    matrix = [[1, 2, 3, 1, NAN], [1, 2, 3, 1, 2], [NAN, 2, 3, 1, 2]]
    assert reference_alpha(matrix) == pytest.approx(1.0)
    assert krippendorff_alpha(as_labels(matrix)) == pytest.approx(1.0, abs=1e-9)


def test_alpha_systematic_disagreement_is_negative() -> None:
    matrix = [[0, 1, 0, 1, 0, 1, 0, 1], [1, 0, 1, 0, 1, 0, 1, 1]]
    ours = krippendorff_alpha(as_labels(matrix))
    assert ours is not None and ours < 0
    assert ours == pytest.approx(reference_alpha(matrix), abs=1e-9)


@pytest.mark.parametrize(
    "matrix",
    [
        [[1, 1, 1], [1, 1, 1]],  # a single value: no expected disagreement
        [[1, 2, NAN], [NAN, NAN, 1]],  # no unit has two values
        [[1, 1, 2], [1, 1, NAN]],  # the 2 is unpairable, so one value among pairable ones
    ],
)
def test_alpha_undefined_is_none(matrix: list[list[float]]) -> None:
    assert math.isnan(reference_alpha(matrix))
    assert krippendorff_alpha(as_labels(matrix)) is None


def test_alpha_of_no_data_is_none_and_ragged_rows_are_refused() -> None:
    assert krippendorff_alpha([]) is None
    assert krippendorff_alpha([[], []]) is None
    with pytest.raises(ValueError):
        krippendorff_alpha([["a", "b"], ["a"]])


@pytest.mark.parametrize("seed", range(25))
def test_kappa_matches_statsmodels_and_sklearn_on_random_data(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    categories, items = int(rng.integers(2, 6)), int(rng.integers(5, 80))
    a = rng.integers(0, categories, size=items).tolist()
    # Rater b agrees often, so kappa is spread over its range rather than near zero.
    b = [x if rng.random() < 0.6 else int(rng.integers(0, categories)) for x in a]
    labels = sorted(set(a) | set(b))
    ours = cohen_kappa([f"c{x}" for x in a], [f"c{x}" for x in b])
    assert_same(ours, reference_kappa(a, b, labels))
    assert_same(ours, cohen_kappa_score(a, b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([0, 0, 1, 1, 2], [0, 1, 1, 1, 1]),  # category 2 used only by the first rater
        ([0, 1, 1, 0, 1, 1], [0, 1, 3, 0, 3, 1]),  # category 3 used only by the second
        ([1, 1, 1], [1, 1, 2]),  # one rater constant: kappa 0, still defined
        ([0, 1, 0, 1], [1, 0, 1, 0]),  # always opposite: kappa -1
    ],
)
def test_kappa_with_one_sided_categories(a: list[int], b: list[int]) -> None:
    ours = cohen_kappa(a, b)
    assert ours is not None
    assert ours == pytest.approx(reference_kappa(a, b, sorted(set(a) | set(b))), abs=1e-9)
    assert ours == pytest.approx(cohen_kappa_score(a, b), abs=1e-9)


def test_kappa_undefined_is_none() -> None:
    # Both raters always give the same one label: expected agreement is 1.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(cohen_kappa_score([1, 1, 1], [1, 1, 1]))
    assert math.isnan(reference_kappa([1, 1, 1], [1, 1, 1], [0, 1]))
    assert cohen_kappa([1, 1, 1], [1, 1, 1]) is None
    # No items at all: sklearn refuses, we say undefined.
    with pytest.raises(ValueError):
        cohen_kappa_score([], [])
    assert cohen_kappa([], []) is None
    with pytest.raises(ValueError):
        cohen_kappa(["a"], ["a", "b"])


CODES = ["pain", "hope", "cost", "unused"]
# Coder 1 skipped unit 17, coder 2 skipped 14, coder 3 coded a few; unit 18 only coder 3 did.
# "obsolete" is no longer in the codebook and must be ignored.
RATINGS = {
    1: {
        10: frozenset({"pain"}),
        11: frozenset({"pain", "hope"}),
        12: frozenset(),
        13: frozenset({"cost"}),
        14: frozenset({"hope"}),
        15: frozenset({"pain"}),
        16: frozenset({"pain", "cost"}),
    },
    2: {
        10: frozenset({"pain"}),
        11: frozenset({"hope"}),
        12: frozenset(),
        13: frozenset({"cost", "hope"}),
        15: frozenset({"pain"}),
        16: frozenset({"cost"}),
        17: frozenset({"pain"}),
    },
    3: {
        11: frozenset({"pain", "hope"}),
        12: frozenset({"pain"}),
        14: frozenset({"hope"}),
        17: frozenset({"pain", "obsolete"}),
        18: frozenset({"cost"}),
    },
}
UNITS = list(range(10, 19))


def binary_matrix(code: str) -> list[list[float]]:
    """Rows coders, columns units: 1 applied, 0 not, nan where the coder did not code it."""
    return [
        [float(code in coded[u]) if u in coded else NAN for u in UNITS]
        for coded in RATINGS.values()
    ]


def test_agreement_per_code_and_overall_match_krippendorff() -> None:
    report = agreement(RATINGS, CODES)

    assert [c.code for c in report.codes] == CODES
    for result in report.codes:
        assert_same(result.alpha, reference_alpha(binary_matrix(result.code)))
    # pain, hope and cost are defined; a code nobody used has no alpha.
    assert all(c.alpha is not None for c in report.codes[:3])
    assert report.codes[3].alpha is None
    # Units 10-17 each have two or more coders; 18 has one.
    assert report.units == 8
    assert [c.units for c in report.codes] == [8, 8, 8, 8]
    assert [c.coders_applied for c in report.codes] == [3, 3, 3, 0]

    # Overall: every (unit, code) pair is one binary unit, side by side.
    pooled = np.hstack([binary_matrix(code) for code in CODES]).tolist()
    assert report.alpha == pytest.approx(reference_alpha(pooled), abs=1e-9)


def test_agreement_per_pair_matches_statsmodels_on_units_both_coded() -> None:
    report = agreement(RATINGS, CODES)
    pairs = {p.coders: p for p in report.pairs}
    assert list(pairs) == [(1, 2), (1, 3), (2, 3)]
    # Shared units: (1,2) 10,11,12,13,15,16; (1,3) 11,12,14; (2,3) 11,12,17.
    assert [p.units for p in report.pairs] == [6, 3, 3]

    for (first, second), pair in pairs.items():
        shared = sorted(RATINGS[first].keys() & RATINGS[second].keys())
        flat_a: list[int] = []
        flat_b: list[int] = []
        for code in CODES:
            a = [int(code in RATINGS[first][u]) for u in shared]
            b = [int(code in RATINGS[second][u]) for u in shared]
            assert_same(pair.kappa[code], reference_kappa(a, b, [0, 1]))
            flat_a += a
            flat_b += b
        assert_same(pair.pooled_kappa, reference_kappa(flat_a, flat_b, [0, 1]))
        assert pair.pooled_kappa == pytest.approx(cohen_kappa_score(flat_a, flat_b), abs=1e-9)

    # Neither 1 nor 3 applied cost on 11, 12, 14: kappa undefined, not nan.
    assert pairs[(1, 3)].kappa["cost"] is None
    assert pairs[(1, 2)].kappa["unused"] is None
    # Decisions differing: (1,2) pain@11, hope@13, pain@16 -> 21 of 24 agree;
    # (1,3) pain@12 -> 11 of 12; (2,3) pain@11, pain@12 -> 10 of 12 (obsolete ignored).
    assert pairs[(1, 2)].percent_agreement == pytest.approx(87.5, abs=1e-9)
    assert pairs[(1, 3)].percent_agreement == pytest.approx(1100 / 12, abs=1e-9)
    assert pairs[(2, 3)].percent_agreement == pytest.approx(1000 / 12, abs=1e-9)


def test_agreement_report_is_json_ready_rounded_and_pseudonymous() -> None:
    report = agreement(RATINGS, CODES)
    data = json.loads(json.dumps(as_dict(report, {1: "C1", 2: "C2", 3: "C3"})))
    assert data["units"] == 8
    assert data["alpha"] == round(report.alpha or 0, 4)
    assert data["codes"][3] == {"code": "unused", "alpha": None, "units": 8, "coders_applied": 0}
    assert data["pairs"][1]["coders"] == ["C1", "C3"]
    assert data["pairs"][1]["percent_agreement"] == 91.6667
    assert data["pairs"][1]["kappa"]["cost"] is None
    assert as_dict(report)["pairs"][1]["coders"] == [1, 3]


def test_agreement_with_too_little_data_gives_none() -> None:
    # One coder only: nothing to compare.
    alone = agreement({1: {10: frozenset({"pain"})}}, CODES)
    assert alone.alpha is None
    assert alone.units == 0
    assert alone.pairs == []
    # Two coders who coded different units.
    apart = agreement({1: {10: frozenset({"pain"})}, 2: {11: frozenset()}}, CODES)
    assert apart.alpha is None
    assert [c.alpha for c in apart.codes] == [None] * 4
    (pair,) = apart.pairs
    assert pair.units == 0
    assert pair.pooled_kappa is None
    assert pair.percent_agreement is None
    assert agreement({}, CODES).codes[0].alpha is None


def test_disagreements_lists_units_and_codes_in_dispute() -> None:
    # 10, 14, 15 agree; 17 differs only in "obsolete", outside the codebook; 18 has one coder.
    f = frozenset
    assert disagreements(RATINGS, CODES) == [
        Disagreement(11, {1: f({"pain", "hope"}), 2: f({"hope"}), 3: f({"pain", "hope"})}, f({"pain"})),
        Disagreement(12, {1: f(), 2: f(), 3: f({"pain"})}, f({"pain"})),
        Disagreement(13, {1: f({"cost"}), 2: f({"cost", "hope"})}, f({"hope"})),
        Disagreement(16, {1: f({"pain", "cost"}), 2: f({"cost"})}, f({"pain"})),
    ]  # fmt: skip
    assert disagreements({1: RATINGS[1]}, CODES) == []


def test_saturation_counts_new_codes_per_batch_of_coded_units() -> None:
    ratings = {
        1: {
            1: frozenset({"a"}),
            2: frozenset(),
            4: frozenset({"a", "b"}),
            5: frozenset({"c"}),
            7: frozenset({"b"}),
        },
        2: {2: frozenset({"d"}), 8: frozenset({"a"}), 9: frozenset({"z"})},
    }
    order = [1, 2, 3, 4, 5, 6, 7, 8]  # 3 and 6 uncoded; 9 is not in the project's order
    # Coded units in order: 1, 2, 4, 5, 7, 8.
    # batch 2: {1,2} -> a, d new; {4,5} -> b, c new; {7,8} -> nothing new.
    assert saturation(order, ratings, batch=2) == [
        {"batch": 1, "units": 2, "new_codes": 2, "new_code_keys": ["a", "d"], "total_codes": 2},
        {"batch": 2, "units": 2, "new_codes": 2, "new_code_keys": ["b", "c"], "total_codes": 4},
        {"batch": 3, "units": 2, "new_codes": 0, "new_code_keys": [], "total_codes": 4},
    ]
    # batch 4: {1,2,4,5} -> a, b, c, d; the short last batch {7,8} adds nothing.
    assert saturation(order, ratings, batch=4) == [
        {"batch": 1, "units": 4, "new_codes": 4, "new_code_keys": ["a", "b", "c", "d"], "total_codes": 4},
        {"batch": 2, "units": 2, "new_codes": 0, "new_code_keys": [], "total_codes": 4},
    ]  # fmt: skip
    assert saturation([3, 6], ratings) == []
    with pytest.raises(ValueError):
        saturation(order, ratings, batch=0)
