"""Real pictures and recordings made in the test, so nothing binary is checked in."""

from __future__ import annotations

import io
import math
import struct
import zlib
from fractions import Fraction

import av
from PIL import Image

GPS_LATITUDE = (31.0, 14.0, 2.0)  # somewhere in Shanghai


def jpeg_with_gps(description: str = "", size: tuple[int, int] = (1200, 900)) -> bytes:
    img = Image.new("RGB", size, (200, 120, 40))
    for x in range(0, size[0], 40):  # some detail, so it is a real photo-like file
        img.paste((20, 90, 160), (x, 0, x + 10, size[1]))
    exif = Image.Exif()
    exif[0x010E] = description or "report photo"  # ImageDescription
    exif[0x0110] = "Phone X"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° to show
    gps = {1: "N", 2: GPS_LATITUDE, 3: "E", 4: (121.0, 28.0, 0.0)}
    exif[0x8825] = gps  # GPSInfo
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png_with_alpha() -> bytes:
    img = Image.new("RGBA", (300, 200), (0, 128, 0, 0))
    img.paste((255, 0, 0, 255), (50, 50, 150, 150))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def animated_gif(frames: int = 3) -> bytes:
    images = [Image.new("RGB", (64, 64), (i * 60, 100, 200 - i * 50)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def webp(size: tuple[int, int] = (4000, 1000)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(out, "WEBP")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 30000) -> bytes:
    """A tiny file that claims (and would decompress to) side×side pixels."""
    row = b"\x00" + b"\x00" * side  # filter byte + one greyscale byte per pixel
    body = zlib.compress(row * 64, 9)  # only the start; Pillow refuses from the header
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


def recording(
    seconds: float, *, container: str = "webm", codec: str = "libopus", rate: int = 48000
) -> bytes:
    """A tone, encoded as MediaRecorder would send it."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"  # type: ignore[attr-defined]
        frame_size = stream.codec_context.frame_size or 960  # type: ignore[attr-defined]
        n = 0
        total = int(seconds * rate)
        while n < total:
            samples = [
                int(8000 * math.sin(2 * math.pi * 440 * (n + i) / rate)) for i in range(frame_size)
            ]
            frame = av.AudioFrame(format="s16", layout="mono", samples=frame_size)
            frame.planes[0].update(struct.pack(f"<{frame_size}h", *samples))
            frame.sample_rate = rate
            frame.pts = n
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):  # type: ignore[attr-defined]
                out.mux(packet)
            n += frame_size
        for packet in stream.encode(None):  # type: ignore[attr-defined]
            out.mux(packet)
    return buf.getvalue()


def video(seconds: float = 1.0) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=10)
        stream.width, stream.height = 64, 64  # type: ignore[attr-defined]
        stream.pix_fmt = "yuv420p"  # type: ignore[attr-defined]
        for i in range(int(seconds * 10)):
            frame = av.VideoFrame.from_image(Image.new("RGB", (64, 64), (i * 20, 0, 0)))
            for packet in stream.encode(frame):  # type: ignore[attr-defined]
                out.mux(packet)
        for packet in stream.encode(None):  # type: ignore[attr-defined]
            out.mux(packet)
    return buf.getvalue()
