"""Link preview cards end to end: a member sends a link, the worker fetches a real page from a
local server, and the card (with a picture of our own) reaches those who see the message."""

from __future__ import annotations

import asyncio
import html
import io
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.test import Client
from django_tasks_db.models import DBTaskResult
from PIL import Image

from tongzhou import storage
from tongzhou.chat.models import LinkPreview, Message
from tongzhou.realtime import group_channel
from tongzhou.tasks import run_pending

from .conftest import World, build_world
from .media_samples import jpeg_with_gps

# The worker opens and closes its own database connections, which a test wrapped in one
# transaction cannot survive: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Site:
    """A real HTTP server on 127.0.0.1 with the routes a test gives it."""

    httpd: ThreadingHTTPServer
    hits: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"


def respond(body: bytes, content_type: str = "text/html; charset=utf-8") -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def redirect(location: str) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def page(title: str, description: str, image: str = "", site_name: str = "") -> bytes:
    """A page whose Open Graph tags say what a card shows (values escaped as a site would)."""
    tags = [("og:title", title), ("og:description", description)]
    tags += [("og:image", image)] if image else []
    tags += [("og:site_name", site_name)] if site_name else []
    metas = "".join(
        f'<meta property="{name}" content="{html.escape(value)}">' for name, value in tags
    )
    return (
        f"<!doctype html><html><head><title>fallback</title>{metas}</head><body>x</body>".encode()
    )


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Route]], Site]]:
    sites: list[Site] = []

    def start(routes: dict[str, Route]) -> Site:
        hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                hits.append(self.path)
                route = routes.get(self.path) or respond(b"<title>nope</title>")
                try:
                    route(self)
                except OSError:  # the fetcher hung up early, as it may
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        site = Site(ThreadingHTTPServer(("127.0.0.1", 0), Handler), hits)
        threading.Thread(target=site.httpd.serve_forever, args=(0.05,), daemon=True).start()
        sites.append(site)
        return site

    yield start
    for site in sites:
        site.httpd.shutdown()
        site.httpd.server_close()


ARTICLE = page(
    "鼻咽癌放疗期间的口腔护理",
    "护士长总结的十条经验：漱口、饮水与复查。",
    image="/card.jpg",
    site_name="健康科普",
)


@pytest.fixture
def site(serve: Callable[[dict[str, Route]], Site], settings: Any) -> Site:
    """The linked site, allow-listed as the one private host previews may fetch."""
    s = serve(
        {
            "/article": respond(ARTICLE),
            "/card.jpg": respond(jpeg_with_gps("home of the author"), "image/jpeg"),
            "/other": respond(page("化疗饮食指南", "少食多餐", image="/other.jpg")),
            "/other.jpg": respond(jpeg_with_gps(size=(480, 640)), "image/jpeg"),
        }
    )
    settings.LINK_PREVIEW_ALLOW_HOST = s.host
    return s


@pytest.fixture
def world(transactional_db: Any) -> World:  # the conftest one, committed for real
    return build_world()


def send(world: World, text: str, role: str = "member", cid: str = "c1") -> dict[str, Any]:
    r = world.client(role).post(
        f"/api/v1/groups/{world.group.pk}/messages",
        {"client_id": cid, "text": text},
        content_type="application/json",
    )
    assert r.status_code == 201, r.json()
    return dict(r.json())


def seen(world: World, mid: int, role: str = "leader") -> dict[str, Any]:
    r = world.client(role).get(f"/api/v1/groups/{world.group.pk}/messages")
    assert r.status_code == 200, r.json()
    return next(m for m in r.json()["messages"] if m["id"] == mid)


def card(world: World, mid: int, role: str = "leader") -> dict[str, Any] | None:
    found: dict[str, Any] | None = seen(world, mid, role)["link_preview"]
    return found


def preview_tasks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path__endswith="fetch_preview"))


def test_send_returns_before_any_fetch_and_the_worker_makes_the_card(
    world: World, site: Site
) -> None:
    message = send(world, f"这篇讲得很清楚 {site.url('/article')} 大家看看")

    # The send answered without contacting the site: the card is only queued.
    assert message["link_preview"] is None
    assert site.hits == []
    assert LinkPreview.objects.get(message_id=message["id"]).status == "pending"
    [queued] = preview_tasks()
    assert queued.status == "READY" and queued.args_kwargs["args"] == [message["id"]]

    run_pending()

    assert site.hits == ["/article", "/card.jpg"]
    expected = {
        "url": site.url("/article"),
        "title": "鼻咽癌放疗期间的口腔护理",
        "description": "护士长总结的十条经验：漱口、饮水与复查。",
        "site_name": "健康科普",
        "image_url": f"/media/link/{message['id']}",
    }
    for role in ("member", "moderator", "leader"):
        assert card(world, message["id"], role) == expected
    assert [t.status for t in preview_tasks()] == ["SUCCESSFUL"]


def test_the_picture_is_ours_without_exif_and_only_for_members(world: World, site: Site) -> None:
    message = send(world, site.url("/article"))
    run_pending()
    image_url = card(world, message["id"])["image_url"]  # type: ignore[index]

    r = world.client("member").get(image_url)

    assert r.status_code == 200
    assert r["Content-Type"] == "image/jpeg"
    assert r["X-Content-Type-Options"] == "nosniff"
    picture = Image.open(io.BytesIO(r.content))
    assert picture.format == "JPEG"
    assert (picture.width, picture.height) == (360, 480)  # turned as EXIF said, then shrunk
    assert not picture.getexif()
    assert b"Phone X" not in r.content and b"home of the author" not in r.content
    for role in ("moderator", "leader"):
        assert world.client(role).get(image_url).status_code == 200
    for role in ("removed", "outsider", "applicant", "rejected", "anonymous"):
        assert world.client(role).get(image_url).status_code == 404, role
    assert Client().get("/media/link/999999").status_code == 404
    assert site.hits.count("/card.jpg") == 1  # members' phones never reach the site


def test_open_pages_are_told_when_the_card_is_ready(world: World, site: Site) -> None:
    message = send(world, site.url("/article"))

    async def watch() -> list[dict[str, Any]]:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add(group_channel(world.group.pk), channel)
        await sync_to_async(run_pending)()
        return [await asyncio.wait_for(layer.receive(channel), 2)]

    [event] = async_to_sync(watch)()

    assert event["type"] == "message.updated"
    assert event["message"]["id"] == message["id"]
    assert event["message"]["link_preview"]["title"] == "鼻咽癌放疗期间的口腔护理"


def test_a_private_address_is_refused_without_the_allow_setting(
    world: World, site: Site, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("", "tongzhou", "django_tasks", "django_tasks_db"):
        caplog.set_level(logging.DEBUG, logger=name)
    settings.LINK_PREVIEW_ALLOW_HOST = ""
    message = send(world, f"我的报告 {site.url('/article?patient=zhangsan')}")

    run_pending()

    assert site.hits == []
    preview = LinkPreview.objects.get(message_id=message["id"])
    assert (preview.status, preview.title, preview.image) == ("failed", "", "")
    assert card(world, message["id"]) is None
    assert world.client("member").get(f"/media/link/{message['id']}").status_code == 404
    # The log says which message and why, never the address a member wrote.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"no preview for message {message['id']}: private_address" in logged
    assert "zhangsan" not in logged and "/article" not in logged


def test_a_picture_on_a_private_address_leaves_a_card_without_one(
    world: World, serve: Callable[[dict[str, Route]], Site], settings: Any
) -> None:
    internal = serve({"/secret.jpg": respond(jpeg_with_gps(), "image/jpeg")})
    site = serve({"/a": respond(page("标题", "描述", image=internal.url("/secret.jpg")))})
    settings.LINK_PREVIEW_ALLOW_HOST = site.host
    message = send(world, site.url("/a"))

    run_pending()

    got = card(world, message["id"])
    assert got is not None and (got["title"], got["image_url"]) == ("标题", None)
    assert internal.hits == []
    assert world.client("member").get(f"/media/link/{message['id']}").status_code == 404


def test_a_redirect_to_a_private_address_fails(
    world: World, serve: Callable[[dict[str, Route]], Site], settings: Any
) -> None:
    internal = serve({"/admin": respond(page("内部管理", "secret"))})
    site = serve(
        {
            "/away": redirect(internal.url("/admin")),
            "/metadata": redirect("http://169.254.169.254/latest/meta-data/"),
        }
    )
    settings.LINK_PREVIEW_ALLOW_HOST = site.host  # the first hop only
    sent = [send(world, site.url("/away"), cid="c1"), send(world, site.url("/metadata"), cid="c2")]

    run_pending()

    assert sorted(site.hits) == ["/away", "/metadata"]
    assert internal.hits == []
    for m in sent:
        assert LinkPreview.objects.get(message_id=m["id"]).status == "failed"
        assert card(world, m["id"]) is None


def test_markup_in_a_page_comes_back_as_plain_text(
    world: World, serve: Callable[[dict[str, Route]], Site], settings: Any
) -> None:
    title = '<script>alert("t")</script><img src=x onerror=alert(1)>'
    description = '"><svg onload=alert(2)> & <b>bold</b>'
    site_name = "<iframe src=javascript:alert(3)>"
    hostile = serve({"/x": respond(page(title, description, site_name=site_name))})
    settings.LINK_PREVIEW_ALLOW_HOST = hostile.host
    message = send(world, hostile.url("/x"))

    run_pending()

    got = card(world, message["id"])
    assert got is not None
    # Stored and answered as the text it is; the page shows it with textContent.
    assert (got["title"], got["description"], got["site_name"]) == (title, description, site_name)
    assert got["image_url"] is None
    r = world.client("member").get(f"/api/v1/groups/{world.group.pk}/messages")
    assert r["Content-Type"] == "application/json; charset=utf-8"
    # The message's own HTML is built from its words only; the card adds nothing to it.
    assert "script" not in seen(world, message["id"])["html"]


def test_editing_to_another_link_replaces_the_card_and_its_picture(
    world: World, site: Site
) -> None:
    message = send(world, f"看这个 {site.url('/article')}")
    run_pending()
    old = LinkPreview.objects.get(message_id=message["id"])
    assert old.image and storage._path(old.image).exists()

    r = world.client("member").patch(
        f"/api/v1/groups/{world.group.pk}/messages/{message['id']}",
        {"text": f"发错了，是这个 {site.url('/other')}"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.json()

    assert r.json()["link_preview"] is None  # the old card is gone at once
    assert not storage._path(old.image).exists()
    assert LinkPreview.objects.get(message_id=message["id"]).status == "pending"
    run_pending()
    new = card(world, message["id"])
    assert new is not None
    assert (new["url"], new["title"], new["description"]) == (
        site.url("/other"),
        "化疗饮食指南",
        "少食多餐",
    )
    picture = Image.open(io.BytesIO(world.client("member").get(new["image_url"]).content))
    assert picture.size == (480, 360)  # the new page's picture, not the old one
    assert site.hits == ["/article", "/card.jpg", "/other", "/other.jpg"]

    # An edit that keeps the link keeps the card; nothing is fetched again.
    r = world.client("member").patch(
        f"/api/v1/groups/{world.group.pk}/messages/{message['id']}",
        {"text": f"是这个 {site.url('/other')} （改了错字）"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["link_preview"] == new
    run_pending()
    assert len(site.hits) == 4


def test_deleting_the_message_deletes_the_card_and_the_stored_picture(
    world: World, site: Site
) -> None:
    message = send(world, site.url("/article"))
    run_pending()
    name = LinkPreview.objects.get(message_id=message["id"]).image
    assert storage._path(name).exists()
    image_url = f"/media/link/{message['id']}"
    assert world.client("leader").get(image_url).status_code == 200

    r = world.client("member").delete(f"/api/v1/groups/{world.group.pk}/messages/{message['id']}")
    assert r.status_code == 200, r.json()

    assert r.json()["link_preview"] is None
    assert not LinkPreview.objects.filter(message_id=message["id"]).exists()
    assert not storage._path(name).exists()
    assert world.client("leader").get(image_url).status_code == 404
    assert Message.objects.get(pk=message["id"]).deleted_by == "sender"


def test_a_message_deleted_before_the_worker_runs_leaves_nothing(world: World, site: Site) -> None:
    message = send(world, site.url("/article"))
    world.client("member").delete(f"/api/v1/groups/{world.group.pk}/messages/{message['id']}")

    run_pending()

    assert site.hits == []  # nothing left to fetch for
    assert not LinkPreview.objects.filter(message_id=message["id"]).exists()
    assert [t.return_value for t in preview_tasks()] == ["gone"]


def test_a_link_to_this_site_gets_no_card(world: World, settings: Any) -> None:
    # A milestone's chat message links its card; our pages are for members, so a card fetched
    # without a session would show the sign-in page.
    settings.SITE_URL = "https://tz.example.org"
    message = send(world, "🎓 毕业了！ https://TZ.example.org/groups/1/milestones/3/")
    assert not LinkPreview.objects.filter(message_id=message["id"]).exists()
    assert preview_tasks() == []
