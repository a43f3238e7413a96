"""The project's codings read into the shapes the statistics and the model take."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from tongzhou.insight.models import Agreed, Code, Coding, Project

Ratings = dict[int, dict[int, frozenset[str]]]  # coder id -> unit id -> code keys


def ratings(project: Project, unit_ids: Sequence[int]) -> Ratings:
    """Each coder's finished codings of the given units (the ones a researcher may see)."""
    keys = dict(Code.objects.filter(project=project).values_list("pk", "key"))
    per: dict[int, dict[int, set[str]]] = defaultdict(dict)
    codings = Coding.objects.filter(unit_id__in=list(unit_ids), unit__project=project)
    for coder, unit in codings.values_list("coder_id", "unit_id"):
        per[coder][unit] = set()
    through = Coding.codes.through.objects.filter(coding__in=codings).values_list(
        "coding__coder_id", "coding__unit_id", "code_id"
    )
    for coder, unit, code in through:
        per[coder][unit].add(keys[code])
    return {c: {u: frozenset(s) for u, s in units.items()} for c, units in per.items()}


def coder_labels(ratings: Ratings) -> dict[int, str]:
    """C1, C2… by account order: how coders appear on pages and in exports."""
    return {c: f"C{i + 1}" for i, c in enumerate(sorted(ratings))}


def agreed(project: Project, unit_ids: Sequence[int]) -> dict[int, frozenset[str]]:
    keys = dict(Code.objects.filter(project=project).values_list("pk", "key"))
    out: dict[int, set[str]] = {
        u: set()
        for u in Agreed.objects.filter(unit_id__in=list(unit_ids)).values_list("unit_id", flat=True)
    }
    for unit, code in Agreed.codes.through.objects.filter(
        agreed__unit_id__in=list(unit_ids)
    ).values_list("agreed__unit_id", "code_id"):
        out[unit].add(keys[code])
    return {u: frozenset(s) for u, s in out.items()}


def consensus(project: Project, unit_ids: Sequence[int]) -> dict[int, frozenset[str]]:
    """What a unit is taken to say for training and export: the reconciled codes where the
    coders settled them, otherwise the codes at least half of its coders applied."""
    settled = agreed(project, unit_ids)
    votes: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    coders: dict[int, int] = defaultdict(int)
    for units in ratings(project, unit_ids).values():
        for unit, keys in units.items():
            coders[unit] += 1
            for key in keys:
                votes[unit][key] += 1
    out = {
        unit: frozenset(k for k, v in votes[unit].items() if 2 * v >= n)
        for unit, n in coders.items()
    }
    out.update(settled)
    return out
