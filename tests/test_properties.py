"""Hypothesis property tests for every parser of outside input we have so far.

(Search queries and imports arrive with issues 6 and 11; their parsers get properties here
when they do.)
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongzhou.accounts.actions import do_update_profile
from tongzhou.accounts.models import Profile
from tongzhou.accounts.sessions import device_label
from tongzhou.chat.actions import do_send_message
from tongzhou.chat.media import process_image, process_voice
from tongzhou.chat.models import Message
from tongzhou.errors import MAX_ID, UserError, parse_id
from tongzhou.text import clean

from . import media_samples as samples
from .conftest import World

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.binary(),
    st.lists(st.integers(), max_size=3),
)


@SETTINGS
@given(anything)
def test_parse_id_accepts_exactly_positive_64_bit_ids(value: Any) -> None:
    try:
        got = parse_id(value)
    except UserError as e:
        assert e.status == 404 and e.code == "not_found"
        return
    assert isinstance(got, int) and 0 < got <= MAX_ID
    assert not isinstance(value, bool)
    assert got == int(value) if isinstance(value, (int, str)) else False


@SETTINGS
@given(st.text(max_size=400))
def test_device_label_is_short_plain_and_never_fails(ua: str) -> None:
    label = device_label(ua)
    assert len(label) <= 60
    assert "\n" not in label or "\n" in ua


@SETTINGS
@given(st.text(min_size=1, max_size=4000).filter(lambda t: t.strip()))
def test_any_text_is_stored_and_read_back_exactly(world: World, text: str) -> None:
    """Whatever a member types (any script, emoji, control or markup characters) comes back
    byte for byte, or is refused with a readable reason; the server never fails on it."""
    member = world.users["member"]
    try:
        sent, _created = do_send_message(
            member,  # type: ignore[arg-type]
            world.group.pk,
            client_id=f"h{Message.objects.count()}",
            text=text,
        )
    except UserError as e:
        assert e.status in (400, 422) and e.message  # 422: looks like personal data, asked first
        return
    assert Message.objects.get(pk=sent["id"]).text == sent["text"]
    assert sent["text"] == clean(text)  # control characters (NUL above all) are dropped


profile_keys = st.sampled_from(
    [
        "display_name",
        "role",
        "cancer_type",
        "stage",
        "hospital",
        "diagnosis_year",
        "phase",
        "stage_visibility",
        "nonsense",
        "health_consent",
    ]
)


@SETTINGS
@given(st.dictionaries(profile_keys, anything, max_size=5))
def test_profile_updates_either_apply_wholly_or_change_nothing(
    world: World, data: dict[str, Any]
) -> None:
    member = world.users["member"]
    before = list(Profile.objects.filter(user=member).values())
    try:
        do_update_profile(member, data)  # type: ignore[arg-type]
    except UserError as e:
        assert 400 <= e.status < 500 and str(e.message)
        assert list(Profile.objects.filter(user=member).values()) == before
    except (TypeError, ValueError, AttributeError) as e:  # would be a 500 on the API
        pytest.fail(f"unhandled {type(e).__name__} for {data!r}")


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(["after", "before", "limit"]),
        st.one_of(st.text(max_size=30), st.integers().map(str)),
        max_size=3,
    )
)
def test_message_paging_parameters_never_fail(world: World, params: dict[str, str]) -> None:
    c = Client()
    c.force_login(world.users["member"])  # type: ignore[arg-type]
    r = c.get(f"/api/v1/groups/{world.group.pk}/messages", params)
    assert r.status_code in (200, 400, 422), (params, r.content[:200])
    if r.status_code == 200:
        ids = [m["id"] for m in r.json()["messages"]]
        assert ids == sorted(ids)
    else:
        assert r.json()["error"]["message"]


VALID_JPEG = samples.jpeg_with_gps(size=(120, 90))
VALID_GIF = samples.animated_gif()
VALID_VOICE = samples.recording(1.0)
VALID_SAFARI_VOICE = samples.recording(1.0, container="mp4", codec="aac", rate=44100)


def damaged(original: bytes) -> Any:
    """A real file with some bytes overwritten, cut short, or padded: what a bad network or a
    malicious client sends."""
    return st.tuples(
        st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)), max_size=20),
        st.integers(1, len(original)),
        st.binary(max_size=64),
    ).map(lambda t: _apply(original, *t))


def _apply(original: bytes, edits: list[tuple[int, int]], cut: int, tail: bytes) -> bytes:
    data = bytearray(original)
    for at, value in edits:
        data[at] = value
    return bytes(data[:cut]) + tail


@SETTINGS
@given(st.one_of(st.binary(max_size=2000), damaged(VALID_JPEG), damaged(VALID_GIF)))
def test_a_picture_is_either_re_encoded_cleanly_or_refused_with_a_reason(data: bytes) -> None:
    try:
        out = process_image(data)
    except UserError as e:
        assert e.code in {"not_an_image", "image_too_many_pixels", "file_too_large"}
        return
    assert out.mime in ("image/jpeg", "image/png", "image/gif")
    assert b"Exif" not in out.data
    assert out.width and out.height and out.width <= 2560 and out.height <= 2560


@SETTINGS
@given(st.one_of(st.binary(max_size=2000), damaged(VALID_VOICE), damaged(VALID_SAFARI_VOICE)))
def test_a_recording_is_either_accepted_with_a_duration_or_refused_with_a_reason(
    data: bytes,
) -> None:
    try:
        out = process_voice(data)
    except UserError as e:
        assert e.code in {
            "not_a_recording",
            "recording_too_long",
            "recording_too_short",
            "file_too_large",
        }
        return
    assert out.mime in ("audio/webm", "audio/mp4")
    assert out.duration_ms is not None and 300 <= out.duration_ms <= 61_000
