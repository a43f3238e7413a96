"""The members' attributes table in an export is generalised until every combination of
role, cancer type, stage, phase, region and year of diagnosis covers at least five members,
so a researcher cannot single anyone out; values only ever become coarser."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tongzhou.insight.kanon import KEYS, ancestors, generalise, min_class_size


def member(i: int, **values: Any) -> dict[str, Any]:
    base = {
        "role": "patient",
        "cancer_type": "肺癌",
        "stage": "",
        "phase": "treatment",
        "region": "CN",
        "diagnosis_year": None,
    }
    return {"pseudonym": f"P{i:03d}", **base, **values}


def test_stage_and_year_are_banded_until_five_share_each_combination() -> None:
    stages = ["IIIA", "III期", "stage 3b", "3期", "IIIB", "IV", "Ⅳ期", "4期", "IVA", "stage 4"]
    rows = [member(i, stage=stage, diagnosis_year=2020 + i % 5) for i, stage in enumerate(stages)]
    result = generalise(rows)
    assert result.released
    assert result.suppressed == 0
    assert result.levels == {
        "role": 0,
        "cancer_type": 0,
        "stage": 1,
        "phase": 0,
        "region": 0,
        "diagnosis_year": 1,
    }
    assert [r["stage"] for r in result.rows] == ["III"] * 5 + ["IV"] * 5
    assert {r["diagnosis_year"] for r in result.rows} == {"2020–2024"}
    assert [r["pseudonym"] for r in result.rows] == [f"P{i:03d}" for i in range(10)]
    assert result.rows[0]["cancer_type"] == "肺癌"


def test_stages_fall_back_to_early_and_late() -> None:
    stages = ["I", "IA", "1期", "II", "2a", "III", "三期", "IIIC", "IV", "晚期"]
    result = generalise([member(i, stage=s, diagnosis_year=2021) for i, s in enumerate(stages)])
    assert [r["stage"] for r in result.rows] == ["early (0–II)"] * 5 + ["late (III–IV)"] * 5
    assert result.levels["stage"] == 2


def test_traditional_and_simplified_cancer_types_are_one_value() -> None:
    rows = [
        member(i, cancer_type=t) for i, t in enumerate(["肺癌", "肺癌 ", "肺癌", "肺癌", "肺癌"])
    ]
    rows += [member(5 + i, cancer_type="Nasopharyngeal") for i in range(3)]
    rows += [member(8 + i, cancer_type=" nasopharyngeal ") for i in range(2)]
    result = generalise(rows)
    assert result.levels["cancer_type"] == 0
    assert [r["cancer_type"] for r in result.rows] == ["肺癌"] * 5 + ["nasopharyngeal"] * 5


def test_a_few_unusual_members_are_suppressed_rather_than_blur_everyone() -> None:
    rows = [member(i, diagnosis_year=2021) for i in range(50)]
    rows += [member(50 + i, cancer_type=f"罕见肉瘤{i}", diagnosis_year=1990 + i) for i in range(5)]
    result = generalise(rows)
    assert result.suppressed == 5
    assert all(v == 0 for v in result.levels.values())
    assert result.rows[0]["cancer_type"] == "肺癌"
    assert all(result.rows[50 + i][key] == "*" for i in range(5) for key in KEYS)
    assert result.rows[54]["pseudonym"] == "P054"


def test_fewer_than_five_members_cannot_be_released() -> None:
    result = generalise([member(i) for i in range(4)])
    assert not result.released
    assert result.rows == []


def test_ancestors_of_a_stage_and_a_year() -> None:
    assert ancestors("stage", "IIIA") == ["iiia", "III", "late (III–IV)", "*"]
    assert ancestors("stage", "2期") == ["2期", "II", "early (0–II)", "*"]
    assert ancestors("stage", "局限期") == ["局限期", "other", "other", "*"]
    assert ancestors("stage", None) == ["", "", "", "*"]
    assert ancestors("diagnosis_year", 2017) == ["2017", "2015–2019", "2010–2019", "*"]
    assert ancestors("region", "CN") == ["CN", "*"]


ROLES = ["patient", "patient", "patient", "patient", "caregiver", "survivor", ""]
CANCERS = [
    "肺癌",
    "肺癌",
    "肺癌",
    "Lung",
    "lung ",
    "乳腺癌",
    "鼻咽癌",
    "肝癌",
    "胰腺癌",
    "罕见肉瘤",
    "",
    None,
]
STAGES = [
    "IIIA",
    "3期",
    "III期",
    "stage 3b",
    "IV",
    "Ⅳ期",
    "I",
    "2a",
    "晚期",
    "局限期",
    "",
    None,
    "0期",
]
PHASES = ["treatment", "treatment", "follow_up", "diagnosis", "palliative", ""]
REGIONS = ["CN", "CN", "CN", "GB", "AU", "HK", ""]
YEARS = st.one_of(st.integers(1990, 2025), st.none(), st.sampled_from(["2021", "", "n/a"]))
row_values = st.fixed_dictionaries(
    {
        "role": st.sampled_from(ROLES),
        "cancer_type": st.sampled_from(CANCERS),
        "stage": st.sampled_from(STAGES),
        "phase": st.sampled_from(PHASES),
        "region": st.sampled_from(REGIONS),
        "diagnosis_year": YEARS,
    }
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(row_values, st.integers(1, 60)), max_size=10),
    st.lists(row_values, max_size=40),
    st.randoms(use_true_random=False),
)
def test_any_table_comes_out_k_anonymous(
    alike: list[tuple[dict[str, Any], int]], odd: list[dict[str, Any]], rnd: Any
) -> None:
    # Groups of members alike, plus odd ones out, in any order: the skew real tables have.
    values = [v for v, n in alike for _ in range(n)] + odd
    rnd.shuffle(values)
    rows = [{"pseudonym": f"P{i:03d}", "note": i, **v} for i, v in enumerate(values[:200])]
    result = generalise(rows)
    if len(rows) < 5:
        assert not result.released
        assert result.rows == []
        return
    assert result.released
    assert min_class_size(result.rows) >= 5
    assert result.suppressed <= 0.1 * len(rows)
    assert len(result.rows) == len(rows)
    for before, after in zip(rows, result.rows, strict=True):
        assert after["pseudonym"] == before["pseudonym"]
        assert after["note"] == before["note"]
        suppressed = all(after[key] == "*" for key in KEYS)
        for key in KEYS:
            ladder = ancestors(key, before[key])
            assert after[key] in ladder
            if not suppressed:
                assert after[key] == ladder[result.levels[key]]


def test_min_class_size() -> None:
    rows = [{"a": 1, "b": 2}, {"a": 1, "b": 2}, {"a": 1, "b": 3}]
    assert min_class_size(rows, ["a", "b"]) == 1
    assert min_class_size(rows, ["a"]) == 3
    assert min_class_size([], ["a"]) == 0
