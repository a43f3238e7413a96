"""Rendering benchmark: what the Markdown subset costs per message and per history page.

    python bench/render.py [--rounds 2000]

Every message is rendered when it is read (`chat.render.to_html`: markdown-it-py, then nh3),
so each history page pays for it. Measured in this process on realistic group messages (the
demo's conversations, plain and formatted, with links and @mentions), side by side with the
peer it replaced — escaping the text only (`html.escape`) — and reported as a ratio.

The figures replace the section between the `render` markers in --out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import delivery  # noqa: E402  (machine facts and the section writer)

START_MARK = "<!-- render:start -->"
END_MARK = "<!-- render:end -->"


def corpus() -> tuple[list[str], dict[str, int]]:
    from tongzhou.demo import CERVICAL_CHAT, NPC_CHAT

    texts = [row[3] for row in NPC_CHAT + CERVICAL_CHAT]
    texts += [
        "看这个https://zh.wikipedia.org/wiki/鼻咽癌，很有用 @陈大哥 Brother Chen",
        "**复查清单**\n- 血常规\n- 鼻咽镜\n- 核磁共振\n> 记得空腹",
    ]
    return texts, {"陈大哥 Brother Chen": 3, "新来的阿芳 Fang": 5}


def per_message(fn: object, texts: list[str], rounds: int) -> list[float]:
    """Microseconds per message, one sample per round over the whole corpus."""
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        for text in texts:
            fn(text)  # type: ignore[operator]
        samples.append((time.perf_counter() - t) / len(texts) * 1e6)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--out", default="docs/performance.md", help="'-' to skip writing")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongzhou.settings")
    os.environ.setdefault("TONGZHOU_DATA_DIR", "/tmp/tongzhou-bench-render")
    import django

    django.setup()
    from tongzhou.chat.render import to_html

    texts, mentions = corpus()
    for text in texts:  # warm up
        to_html(text, mentions)
    md = per_message(lambda t: to_html(t, mentions), texts, args.rounds)
    esc = per_message(html.escape, texts, args.rounds)

    def q(xs: list[float], p: float) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(p * len(xs)))]

    m = delivery.machine()
    p50, esc50 = statistics.median(md), statistics.median(esc)
    lines = [
        START_MARK,
        "## Rendering messages (`bench/render.py`)",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with `python bench/render.py "
        f"--rounds {args.rounds}`. Machine: {m['cpus']} CPUs ({m['cpu_model']}), "
        f"{m['memory']} memory, Python {sys.version.split()[0]}.",
        "",
        f"{len(texts)} messages from the demo's conversations (Chinese and English, some with "
        "Markdown, links and @mentions), rendered over and over in one process; each sample is "
        "the mean per message over the corpus, p50/p99 over the samples.",
        "",
        "| render | p50 µs/message | p99 µs/message | a 50-message page | a 200-message page |",
        "|---|---|---|---|---|",
        f"| `to_html` (markdown-it-py + nh3) | {p50:.0f} | {q(md, 0.99):.0f} | "
        f"{p50 * 50 / 1000:.1f} ms | {p50 * 200 / 1000:.1f} ms |",
        f"| `html.escape` only (the peer it replaced) | {esc50:.1f} | {q(esc, 0.99):.1f} | "
        f"{esc50 * 50 / 1000:.2f} ms | {esc50 * 200 / 1000:.2f} ms |",
        "",
        f"Formatting costs about {p50 / esc50:.0f}× plain escaping per message; for a history "
        f"page of 50 that is {p50 * 50 / 1000:.0f} ms of server time, and one render per "
        "send for the live event (each member receives the same rendered message).",
        END_MARK,
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.out != "-":
        delivery.replace_section(Path(args.out), section, START_MARK, END_MARK)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
