"""Print the safety detectors' precision and recall on tests/data, per language.

The same loops as tests/test_safety_detect.py; the figures go in docs/safety.md.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
Row = dict[str, str]


def main() -> None:
    os.environ.setdefault("TONGZHOU_DATA_DIR", tempfile.mkdtemp())
    os.environ["DJANGO_SETTINGS_MODULE"] = "tongzhou.settings"
    import django

    django.setup()
    from tongzhou.safety.claims import SEEDS, matching
    from tongzhou.safety.crisis import is_crisis
    from tongzhou.safety.spam import Sender, is_spam, spam_signals

    claims = [(s["seed"], s["patterns"]) for s in SEEDS]
    sets: list[tuple[str, str, Callable[[Row], bool], Callable[[Row], bool]]] = [
        (
            "spam",
            "spam.tsv",
            lambda r: r["label"] == "spam",
            lambda r: is_spam(spam_signals(r["text"], Sender(new_member=r["new"] == "1"))),
        ),
        ("crisis", "crisis.tsv", lambda r: r["label"] == "crisis", lambda r: is_crisis(r["text"])),
        (
            "claims",
            "misinformation.tsv",
            lambda r: r["label"] != "ok",
            lambda r: bool(matching(r["text"], claims)),
        ),
    ]
    for name, file, truth, guess in sets:
        with (DATA / file).open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        for lang in ("zh", "en", "all"):
            part = [r for r in rows if lang in ("all", r["lang"])]
            tp = sum(truth(r) and guess(r) for r in part)
            fp = sum(guess(r) and not truth(r) for r in part)
            fn = sum(truth(r) and not guess(r) for r in part)
            print(
                f"{name:7} {lang:3} n={len(part):3} positives={tp + fn:3} "
                f"P={tp / max(tp + fp, 1):.3f} R={tp / max(tp + fn, 1):.3f}"
            )


if __name__ == "__main__":
    main()
