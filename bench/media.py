"""Media benchmark: picture processing, voice validation, and a picture's delivery vs text.

    python bench/media.py [--pictures 30] [--voices 30] [--members 150] [--messages 20]

1. Picture processing: `chat.media.process_image` (decode, EXIF rotate, resize to 2,560 px,
   JPEG re-encode, 480 px thumbnail) on phone-sized photos made here (12 MP and 3 MP JPEGs
   with EXIF and GPS), in this process; p50/p99 per image.
2. Voice validation: `chat.media.process_voice` (demux, decode every packet, remux) on
   WebM/Opus recordings of 5, 30 and 60 s; p50/p99 per recording.
3. Delivery at N members: a real server (`tongzhou serve`, SQLite, as bench/delivery.py),
   N members on WebSockets; the sender sends M plain text messages, then M messages with a
   3 MP photo (upload + send). Latency is from the start of the sender's first request to
   each member's receipt of the message.

The figures replace the section between the `media` markers in --out.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import delivery  # noqa: E402  (bench/delivery.py: server, clients, phases, report helpers)

START_MARK = "<!-- media:start -->"
END_MARK = "<!-- media:end -->"


def photo(width: int, height: int, seed: int) -> bytes:
    """A photo-like JPEG: smooth light with sensor noise, EXIF with GPS, as phones write."""
    from PIL import Image, ImageFilter

    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 24 + seed % 7).convert("RGB")
    img = Image.blend(base, noise, 0.35).filter(ImageFilter.GaussianBlur(1))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, float(seed)), 3: "E", 4: (121.0, 28.0, 0.0)}
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def timed(fn: Any, items: list[bytes]) -> list[float]:
    times = []
    for data in items:
        t0 = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - t0)
    return sorted(times)


def processing(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongzhou.settings")
    os.environ.setdefault("TONGZHOU_DATA_DIR", tempfile.mkdtemp(prefix="tz-media-"))
    import django

    django.setup()
    from tests.media_samples import recording

    from tongzhou.chat.media import process_image, process_voice

    result: dict[str, Any] = {"pictures": [], "voices": []}
    for label, (w, h) in (("12 MP (4032×3024)", (4032, 3024)), ("3 MP (2048×1536)", (2048, 1536))):
        items = [photo(w, h, i) for i in range(args.pictures)]
        process_image(items[0])  # warm-up: codec tables, imports
        times = timed(process_image, items)
        result["pictures"].append(
            {
                "label": label,
                "n": len(items),
                "mean_mb": statistics.mean(len(d) for d in items) / 1e6,
                "p50_ms": delivery.pct(times, 0.5) * 1000,
                "p99_ms": delivery.pct(times, 0.99) * 1000,
            }
        )
    for seconds in (5, 30, 60):
        items = [recording(seconds) for _ in range(args.voices)]
        process_voice(items[0])
        times = timed(process_voice, items)
        result["voices"].append(
            {
                "label": f"{seconds} s WebM/Opus",
                "n": len(items),
                "mean_kb": statistics.mean(len(d) for d in items) / 1e3,
                "p50_ms": delivery.pct(times, 0.5) * 1000,
                "p99_ms": delivery.pct(times, 0.99) * 1000,
            }
        )
    return result


class PictureSender(delivery.Sender):
    """Uploads a photo, then sends it with the message (as the chat page does)."""

    def __init__(self, base: str, gid: int, token: str, picture: bytes) -> None:
        super().__init__(base, gid, token)
        self.upload_url = self.url.replace("/messages", "/attachments")
        self.picture = picture

    async def post(self, phase: delivery.Phase, seq: int) -> None:
        t0 = time.perf_counter()
        phase.send_times[seq] = t0
        r = await self.client.post(
            self.upload_url,
            data={"kind": "image"},
            files={"file": ("photo.jpg", self.picture, "image/jpeg")},
        )
        if r.status_code != 201:
            phase.post_errors.append(f"{seq}: upload HTTP {r.status_code} {r.text[:200]}")
            return
        body = {
            "client_id": f"{self.run_id}-{phase.tag}-{seq}",
            "text": f"bench {phase.tag} {seq}",
            "attachment": r.json()["id"],
        }
        r = await self.client.post(self.url, json=body)
        phase.post_latencies.append(time.perf_counter() - t0)
        if r.status_code == 201:
            phase.post_ok.add(seq)
        else:
            phase.post_errors.append(f"{seq}: HTTP {r.status_code} {r.text[:200]}")


async def race(args: argparse.Namespace) -> dict[str, Any]:
    work, env, setup = delivery.prepare(args.members, "tz-media-delivery")
    port = delivery.free_port()
    base = f"http://127.0.0.1:{port}"
    with (work / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [*delivery.tongzhou_cmd(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    members = delivery.Members()
    picture = photo(2048, 1536, 1)
    text_sender = delivery.Sender(base, setup["group"], setup["sender"])
    picture_sender = PictureSender(base, setup["group"], setup["sender"], picture)
    sampler = delivery.RssSampler(server.pid)
    try:
        delivery.wait_ready(base, server)
        sampler.start()
        ws_url = f"ws://127.0.0.1:{port}/ws/groups/{setup['group']}/"
        await members.connect_all(ws_url, setup["receivers"], 50, "deflate")
        n = len(members.sockets)
        phases = {}
        for tag, label, sender in (
            ("w", "warm-up", picture_sender),
            ("t", "plain text", text_sender),
            ("p", "with a 3 MP photo", picture_sender),
        ):
            phase = delivery.Phase(tag, label, n)
            members.phases[tag] = phase
            count = 3 if tag == "w" else args.messages
            await delivery.run_phase(phase, sender, sampler, 60, rate=None, count=count)
            phases[tag] = phase.results()
        return {
            "members": n,
            "picture_mb": len(picture) / 1e6,
            "text": phases["t"],
            "picture": phases["p"],
        }
    finally:
        await members.close_all()
        await text_sender.aclose()
        await picture_sender.aclose()
        sampler.stop_event.set()
        server.terminate()
        server.wait(20)


def render(
    proc: dict[str, Any], deliv: dict[str, Any], args: argparse.Namespace, secs: float
) -> str:
    m = delivery.machine()
    f = delivery.fmt
    lines = [
        START_MARK,
        "## Pictures and voice messages (`bench/media.py`)",
        "",
        f"Measured {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} with "
        f"`{' '.join(['python bench/media.py', *sys.argv[1:]])}` (whole run {secs:.0f} s). "
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory']} memory, {m['os']}, "
        f"Python {m['python']}.",
        "",
        "**Processing per file** (in one process, one file at a time, after one warm-up file; "
        "pictures are photo-like JPEGs with EXIF and GPS made by the benchmark, recordings are "
        "Opus tones in WebM; p50/p99 by nearest rank):",
        "",
        "| input | files | mean size | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for p in proc["pictures"]:
        lines.append(
            f"| picture {p['label']} | {p['n']} | {p['mean_mb']:.1f} MB "
            f"| {f(p['p50_ms'])} | {f(p['p99_ms'])} |"
        )
    for v in proc["voices"]:
        lines.append(
            f"| voice {v['label']} | {v['n']} | {v['mean_kb']:.0f} kB "
            f"| {f(v['p50_ms'])} | {f(v['p99_ms'])} |"
        )
    t, p = deliv["text"], deliv["picture"]
    lines += [
        "",
        f"**Delivery at {deliv['members']} members** (a real server as in the delivery "
        "benchmark; the sender sends "
        f"{args.messages} messages back to back in each mode, each waiting for its answer; a "
        f"picture message is an upload of a {deliv['picture_mb']:.1f} MB 3 MP photo and then "
        "the send; latency runs from the start of the sender's first request to each "
        "member's receipt):",
        "",
        "| mode | messages | deliveries | p50 ms | p99 ms | sender's requests p50 ms | missing |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in (t, p):
        lines.append(
            f"| {row['mode']} | {row['messages']} | {row['delivered']:,} | {f(row['p50_ms'])} "
            f"| {f(row['p99_ms'])} | {f(row['post_p50_ms'])} | {row['missing']} |"
        )
    ratio = p["p50_ms"] / t["p50_ms"] if t["p50_ms"] else float("nan")
    lines += [
        "",
        f"A picture message reached members in {f(ratio)}× the time of a text message (p50), "
        "the difference being the upload request (which includes the processing measured "
        "above); once sent, a picture message is the same size on the socket as a text one "
        "(the members' phones fetch the thumbnail separately).",
        END_MARK,
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pictures", type=int, default=30)
    parser.add_argument("--voices", type=int, default=30)
    parser.add_argument("--members", type=int, default=150)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--out", default="docs/performance.md", help="'-' to skip writing")
    args = parser.parse_args()
    t0 = time.perf_counter()
    proc = processing(args)
    print(json.dumps(proc, indent=1))
    deliv = asyncio.run(race(args))
    print(json.dumps({k: deliv[k] for k in ("members", "picture_mb")}, indent=1))
    for key in ("text", "picture"):
        r = deliv[key]
        print(key, f"p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms missing {r['missing']}")
    if args.out != "-":
        delivery.replace_section(
            Path(args.out),
            render(proc, deliv, args, time.perf_counter() - t0),
            START_MARK,
            END_MARK,
        )
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
