"""Pictures and voice recordings checked by their content, never by name or declared type.

Pictures are decoded and re-encoded with Pillow, so nothing of the original file survives
but its pixels (and colour profile): EXIF with GPS, comments and trailing bytes are gone.
Voice recordings are demuxed and fully decoded with PyAV (FFmpeg's libraries), then the
audio packets are copied into a fresh container, which drops the original metadata and
gives browsers a duration to show.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

import av
from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, ImageSequence

from tongzhou.errors import UserError

log = logging.getLogger(__name__)

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MAX_FRAMES = 300  # an animated picture; more is a bomb in time rather than in pixels
# Containers MediaRecorder writes: WebM/Opus (Chromium, Firefox), MP4/AAC (Safari), Ogg/Opus.
VOICE_CONTAINERS = {
    "matroska,webm": ("webm", "audio/webm", "webm"),
    "mov,mp4,m4a,3gp,3g2,mj2": ("mp4", "audio/mp4", "m4a"),
    "ogg": ("ogg", "audio/ogg", "ogg"),
}
VOICE_CODECS = {"opus", "aac", "vorbis"}


@dataclass
class Processed:
    kind: str  # "image" or "voice"
    data: bytes
    mime: str
    extension: str
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    thumb: bytes | None = None
    thumb_mime: str | None = None
    has_qr: bool = False  # a QR code could be read in the picture (a salesman's sign)


def _not_image() -> UserError:
    return UserError(
        "not_an_image",
        _("This file is not a picture we can show. Please send a JPEG, PNG, WebP or GIF photo."),
    )


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise UserError(
            "file_too_large",
            _("This file is %(size)s MB; the most is %(max)s MB.")
            % {"size": f"{size / 1e6:.1f}", "max": f"{limit / 1e6:.0f}"},
            413,
        )


def _encode(img: Image.Image, *, icc: bytes | None, quality: int) -> tuple[bytes, str, str]:
    """Opaque pictures become JPEG, ones with transparency PNG: both open everywhere."""
    out = io.BytesIO()
    extra = {"icc_profile": icc} if icc else {}
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        img.convert("RGBA").save(out, "PNG", optimize=True, **extra)
        return out.getvalue(), "image/png", "png"
    img.convert("RGB").save(out, "JPEG", quality=quality, optimize=True, progressive=True, **extra)
    return out.getvalue(), "image/jpeg", "jpg"


def _animated_gif(img: Image.Image, longest: int) -> bytes:
    frames = []
    durations = []
    for frame in ImageSequence.Iterator(img):
        f = frame.convert("RGBA")
        f.thumbnail((longest, longest))
        frames.append(f)
        durations.append(frame.info.get("duration", 100))
    out = io.BytesIO()
    frames[0].save(
        out,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=img.info.get("loop", 0),
        disposal=2,
    )
    return out.getvalue()


def _has_qr(img: Image.Image) -> bool:
    """Whether a QR code can be read in the picture (zxing-cpp), at a size phones send."""
    import zxingcpp

    probe = img.convert("L")
    probe.thumbnail((1280, 1280))
    try:
        return any(r.format == zxingcpp.BarcodeFormat.QRCode for r in zxingcpp.read_barcodes(probe))
    except Exception:  # a reader failure must never lose the picture
        log.warning("QR check failed", exc_info=True)
        return False


def process_image(data: bytes) -> Processed:
    check_size(len(data), settings.IMAGE_MAX_BYTES)
    longest = settings.IMAGE_MAX_SIDE
    Image.MAX_IMAGE_PIXELS = settings.IMAGE_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a broken EXIF tag is not worth a log line
            # Pillow warns at MAX_IMAGE_PIXELS and raises at twice that; refuse at the warning.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
            frames = getattr(img, "n_frames", 1)
            if (
                frames > MAX_FRAMES
                or img.width * img.height * frames > settings.IMAGE_MAX_PIXELS * 4
            ):
                raise Image.DecompressionBombError("too many frames")
            img.load()  # decode every pixel now: a truncated or corrupt file fails here
            icc = img.info.get("icc_profile")
            animated = img.format == "GIF" and frames > 1
            if animated:
                body, mime, ext = _animated_gif(img, longest), "image/gif", "gif"
                img.seek(0)
                still = img.convert("RGBA")
            else:
                still = ImageOps.exif_transpose(img)  # phones store "rotate" in EXIF
                still.thumbnail((longest, longest), Image.Resampling.LANCZOS)
                body, mime, ext = _encode(still, icc=icc, quality=85)
            thumb_img = still.copy()
            thumb_img.thumbnail(
                (settings.THUMB_SIDE, settings.THUMB_SIDE), Image.Resampling.LANCZOS
            )
            thumb, thumb_mime, _ext = _encode(thumb_img, icc=icc, quality=80)
            has_qr = _has_qr(still)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise UserError(
            "image_too_many_pixels",
            _("This picture is too large to open (%(max)s million pixels at most).")
            % {"max": settings.IMAGE_MAX_PIXELS // 1_000_000},
        ) from e
    except Exception as e:
        # Pillow's decoders raise many kinds of error on damaged input (IndexError,
        # struct.error, ...; found by fuzzing): all of them mean "not a picture we can use".
        log.info("picture refused: %s", type(e).__name__)
        raise _not_image() from e
    return Processed(
        kind="image",
        data=body,
        mime=mime,
        extension=ext,
        width=still.width,
        height=still.height,
        thumb=thumb,
        thumb_mime=thumb_mime,
        has_qr=has_qr,
    )


def _not_voice() -> UserError:
    return UserError(
        "not_a_recording",
        _("This recording could not be read. Please record it again."),
    )


def process_voice(data: bytes) -> Processed:
    check_size(len(data), settings.VOICE_MAX_BYTES)
    out = io.BytesIO()
    end = 0.0
    try:
        with av.open(io.BytesIO(data), "r") as source:
            found = VOICE_CONTAINERS.get(source.format.name)
            if found is None or len(source.streams) != 1 or not source.streams.audio:
                raise _not_voice()
            muxer, mime, ext = found
            audio = source.streams.audio[0]
            if audio.codec_context is None or audio.codec_context.name not in VOICE_CODECS:
                raise _not_voice()
            with av.open(out, "w", format=muxer) as target:
                copy = target.add_stream_from_template(audio)
                for packet in source.demux(audio):
                    if packet.dts is None:  # the flush packet at the end
                        continue
                    for frame in packet.decode():  # decoding proves the audio is intact
                        start = float((frame.pts or 0) * (frame.time_base or 0))
                        end = max(end, start + frame.samples / frame.sample_rate)
                    if end > settings.VOICE_MAX_SECONDS + 1:
                        break
                    packet.stream = copy
                    target.mux(packet)
    except UserError:
        raise
    except Exception as e:  # as with pictures: any decoder error means a damaged recording
        log.info("recording refused: %s", type(e).__name__)
        raise _not_voice() from e
    if end > settings.VOICE_MAX_SECONDS + 1:  # a second of grace for a slow stop button
        raise UserError(
            "recording_too_long",
            _("A voice message can be at most %(max)d seconds long.")
            % {"max": settings.VOICE_MAX_SECONDS},
        )
    if end < 0.3:
        raise UserError("recording_too_short", _("This recording is too short to hear."))
    return Processed(
        kind="voice",
        data=out.getvalue(),
        mime=mime,
        extension=ext,
        duration_ms=round(end * 1000),
    )
