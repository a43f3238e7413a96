"""What a link preview card shows, read from a page's Open Graph / Twitter / plain meta tags.

The head's meta tags and title are all we read, so the standard library's tolerant
html.parser is enough; no dependency needed. Parsing stops at <body> or after 512 KB.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

logger = logging.getLogger(__name__)

MAX_PARSE_BYTES = 512 * 1024
TITLE_CHARS = 200
DESCRIPTION_CHARS = 300
SITE_NAME_CHARS = 100
MAX_IMAGE_URL = 2048
META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_.:-]+)""", re.IGNORECASE)
# Bidirectional overrides could make a title read backwards; strip them with control chars.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class PagePreview:
    title: str
    description: str
    image_url: str  # absolute http(s) or ""
    site_name: str


class _Stop(Exception):
    """Raised from inside the parser when the head is over."""


class _HeadParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title: list[str] = []
        self._in_title = False
        self._title_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            raise _Stop
        if tag == "title" and not self._title_done:
            self._in_title = True
        elif tag == "meta":
            values = {k: v or "" for k, v in attrs}
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and "content" in values:
                self.meta.setdefault(key, values["content"])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self._title_done = True

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    # GB2312 and GBK pages routinely use characters only GB18030 (their superset) names.
    return "gb18030" if codec in ("gb2312", "gbk") else codec


def _decode(body: bytes, charset: str | None) -> str:
    if body.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        found = META_CHARSET.search(body[:2048])
        sniffed = found.group(1).decode("ascii", "replace") if found else None
        encoding = _codec(charset) or _codec(sniffed) or "utf-8"
    try:
        return body.decode(encoding, errors="replace")
    except LookupError:  # a name like "base64" is a codec but not a text encoding
        return body.decode("utf-8", errors="replace")


def _clean(text: str, limit: int) -> str:
    text = "".join(
        " " if unicodedata.category(c) == "Cc" else c for c in text if c not in BIDI_CONTROLS
    )
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _image(candidates: list[str], page_url: str) -> str:
    for candidate in candidates:
        candidate = candidate.strip()
        if not candidate or any(unicodedata.category(c) == "Cc" for c in candidate):
            continue
        try:
            url = urljoin(page_url, candidate)
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.hostname and len(url) <= MAX_IMAGE_URL:
            return url
    return ""


def parse_preview(body: bytes, charset: str | None, page_url: str) -> PagePreview | None:
    """The card for a fetched page, or None when it names neither title nor description."""
    parser = _HeadParser()
    try:
        parser.feed(_decode(body[:MAX_PARSE_BYTES], charset))
        parser.close()
    except _Stop:
        pass
    except Exception:  # hostile markup must cost us a card at most, never an error
        logger.debug("link preview: html parser gave up", exc_info=True)
    meta = parser.meta

    def first(*keys: str) -> str:
        return next((meta[k] for k in keys if meta.get(k, "").strip()), "")

    title = _clean(first("og:title", "twitter:title") or "".join(parser.title), TITLE_CHARS)
    description = _clean(
        first("og:description", "twitter:description", "description"), DESCRIPTION_CHARS
    )
    if not title and not description:
        return None
    image = _image(
        [meta[k] for k in ("og:image", "og:image:secure_url", "twitter:image") if k in meta],
        page_url,
    )
    try:
        host = urlsplit(page_url).hostname or ""
    except ValueError:
        host = ""
    site_name = _clean(first("og:site_name") or host, SITE_NAME_CHARS)
    return PagePreview(title, description, image, site_name)
