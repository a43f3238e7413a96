"""Agreement between coders of a research project, and code saturation.

Coders code messages ("units") with a multi-label codebook. The lead passes ``Ratings``:
coder id -> unit id -> the set of code keys that coder applied. A unit present under a coder
means the coder finished it (an empty set is "none of the codes"); a unit absent is missing.
Code keys outside the ``codes`` passed in (say, removed from the codebook) are ignored.

- ``cohen_kappa(a, b)``: Cohen's kappa for two raters' nominal labels on the same items.
- ``krippendorff_alpha(data)``: nominal alpha; rows are coders, columns units, None missing.
- ``agreement(ratings, codes) -> Report``: alpha per code and pooled, kappa per coder pair.
  Each code is a binary decision (applied or not) per unit and coder. ``as_dict(report,
  coders)`` makes it JSON-ready with pseudonyms for coder ids.
- ``disagreements(ratings, codes) -> list[Disagreement]``: units coded by two or more
  coders who differ.
- ``saturation(units_in_order, ratings, batch) -> list[SaturationBatch]``: codes used for
  the first time per batch of coded units.

Undefined statistics are None, never nan: kappa when expected agreement is 1 (no items, or
both raters always give the same single label; sklearn and statsmodels give nan), alpha
when expected disagreement is 0 (fewer than two pairable values, or one value among them;
the ``krippendorff`` package gives nan or raises). Pure Python so the tests can check the
figures against those packages independently, and the servers need no scipy or pandas.
"""

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any, TypedDict

Ratings = Mapping[int, Mapping[int, frozenset[str]]]


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters; a[i] and b[i] label the same item."""
    if len(a) != len(b):
        raise ValueError("both raters must label the same items")
    n = len(a)
    agreed = sum(x == y for x, y in zip(a, b, strict=True))
    rows, cols = Counter(a), Counter(b)
    chance = sum(count * cols[label] for label, count in rows.items())  # n² × expected agreement
    # Whole numbers until the one division, so "expected agreement is 1" is an exact test.
    if chance == n * n:
        return None
    return (n * agreed - chance) / (n * n - chance)


def krippendorff_alpha(data: Sequence[Sequence[Hashable | None]]) -> float | None:
    """Nominal Krippendorff's alpha; data[coder][unit], None where the coder gave no value."""
    if len({len(row) for row in data}) > 1:
        raise ValueError("every coder's row must cover the same units")
    units = zip(*data, strict=True)
    return _nominal_alpha([value for value in unit if value is not None] for unit in units)


def _nominal_alpha(units: Iterable[Sequence[Hashable]]) -> float | None:
    """Alpha from each unit's values, via the coincidence matrix's diagonal and marginals
    (Krippendorff 2011, nominal data): only those are needed for the nominal metric."""
    totals: Counter[Hashable] = Counter()  # n_c: pairable values per category
    matches = 0.0  # sum of o_cc, the coincidence matrix's diagonal
    for values in units:
        m = len(values)
        if m < 2:  # a lone value has nothing to agree with
            continue
        counts: dict[Hashable, int] = {}  # a plain dict: a Counter per unit costs 2× here
        for value in values:
            counts[value] = counts.get(value, 0) + 1
        for value, k in counts.items():
            totals[value] += k
        matches += sum(k * (k - 1) for k in counts.values()) / (m - 1)
    n = sum(totals.values())
    by_chance = sum(k * (k - 1) for k in totals.values())
    expected = n * (n - 1) - by_chance  # whole number: zero exactly when undefined
    if expected == 0:
        return None
    return ((n - 1) * matches - by_chance) / expected


@dataclass(frozen=True)
class CodeAgreement:
    code: str
    alpha: float | None
    units: int  # units coded by two or more coders: the ones alpha can use
    coders_applied: int  # coders who applied the code at least once


@dataclass(frozen=True)
class PairAgreement:
    coders: tuple[int, int]
    units: int  # units both coded
    kappa: dict[str, float | None]  # per code, on the units both coded
    pooled_kappa: float | None  # over every (unit, code) decision of the pair
    percent_agreement: float | None  # share of those decisions that agree, 0–100


@dataclass(frozen=True)
class Report:
    codes: list[CodeAgreement]
    alpha: float | None  # every (unit, code) pair as one binary unit
    units: int  # units coded by two or more coders
    pairs: list[PairAgreement]


def as_dict(report: Report, coders: Mapping[int, str] | None = None) -> dict[str, Any]:
    """The report JSON-ready, figures rounded to 4 places; ``coders`` maps coder ids to the
    names to show (pseudonyms), so exports and pages need not carry user ids."""
    data = _rounded(asdict(report))
    if coders is not None:
        for pair in data["pairs"]:
            pair["coders"] = [coders[c] for c in pair["coders"]]
    return data


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def agreement(ratings: Ratings, codes: Sequence[str]) -> Report:
    """Alpha per code and pooled over (unit, code) pairs; kappa for each pair of coders."""
    units = sorted({unit for coded in ratings.values() for unit in coded})
    coders = sorted(ratings)
    paired = sum(_coded_by(ratings, unit) >= 2 for unit in units)

    def decisions(code: str) -> list[list[bool]]:
        return [
            [code in ratings[coder][unit] for coder in coders if unit in ratings[coder]]
            for unit in units
        ]

    table = {code: decisions(code) for code in codes}  # built once, for both alphas
    per_code = [
        CodeAgreement(
            code=code,
            alpha=_nominal_alpha(table[code]),
            units=paired,
            coders_applied=sum(
                any(code in applied for applied in ratings[c].values()) for c in coders
            ),
        )
        for code in codes
    ]
    pooled = _nominal_alpha(row for code in codes for row in table[code])

    pairs = []
    for first, second in combinations(coders, 2):
        shared = sorted(ratings[first].keys() & ratings[second].keys())
        a = [[code in ratings[first][unit] for unit in shared] for code in codes]
        b = [[code in ratings[second][unit] for unit in shared] for code in codes]
        flat_a = [x for row in a for x in row]
        flat_b = [x for row in b for x in row]
        agreed = sum(x == y for x, y in zip(flat_a, flat_b, strict=True))
        pairs.append(
            PairAgreement(
                coders=(first, second),
                units=len(shared),
                kappa={code: cohen_kappa(a[i], b[i]) for i, code in enumerate(codes)},
                pooled_kappa=cohen_kappa(flat_a, flat_b),
                percent_agreement=100 * agreed / len(flat_a) if flat_a else None,
            )
        )
    return Report(
        codes=per_code,
        alpha=pooled,
        units=paired,
        pairs=pairs,
    )


def _coded_by(ratings: Ratings, unit: int) -> int:
    return sum(unit in coded for coded in ratings.values())


@dataclass(frozen=True)
class Disagreement:
    unit: int
    codes: dict[int, frozenset[str]]  # coder id -> codes applied
    disputed: frozenset[str]  # codes some but not all of those coders applied


def disagreements(ratings: Ratings, codes: Sequence[str]) -> list[Disagreement]:
    """Units coded by two or more coders who differ on at least one code, by unit id."""
    known = frozenset(codes)
    found = []
    for unit in sorted({unit for coded in ratings.values() for unit in coded}):
        applied = {c: ratings[c][unit] & known for c in sorted(ratings) if unit in ratings[c]}
        if len(applied) < 2:
            continue
        sets = list(applied.values())
        disputed = frozenset.union(*sets) - frozenset.intersection(*sets)
        if disputed:
            found.append(Disagreement(unit=unit, codes=applied, disputed=disputed))
    return found


class SaturationBatch(TypedDict):
    batch: int  # from 1
    units: int  # coded units in the batch; the last batch may be short
    new_codes: int  # codes no coder had used in an earlier batch
    new_code_keys: list[str]
    total_codes: int  # distinct codes used so far


def saturation(
    units_in_order: Sequence[int], ratings: Ratings, batch: int = 20
) -> list[SaturationBatch]:
    """New codes per batch of coded units, walking the units in project order.

    Units no coder has coded yet are skipped, so every batch holds ``batch`` coded units and
    the curve does not flatten merely because coding has not reached the end. Units coded but
    missing from ``units_in_order`` are not counted. Every code key a coder used counts.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    coded = [unit for unit in dict.fromkeys(units_in_order) if _coded_by(ratings, unit)]
    seen: set[str] = set()
    curve: list[SaturationBatch] = []
    for start in range(0, len(coded), batch):
        chunk = coded[start : start + batch]
        used = {
            code for unit in chunk for by in ratings.values() for code in by.get(unit, frozenset())
        }
        new = sorted(used - seen)
        seen |= used
        curve.append(
            {
                "batch": start // batch + 1,
                "units": len(chunk),
                "new_codes": len(new),
                "new_code_keys": new,
                "total_codes": len(seen),
            }
        )
    return curve
