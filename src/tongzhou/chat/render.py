"""A message's words as safe HTML: a light Markdown subset, links and @mentions.

markdown-it parses (raw HTML off, so `<b>` stays text); nh3 then cleans the result against
a short allow-list, so even a parser bug cannot let markup through. The stored text is never
changed: quotes, notifications, search and edits keep using it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

RULES = ["emphasis", "list", "blockquote", "link", "linkify", "newline", "escape", "autolink"]
TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "a", "span"}
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "span": {"data-user", "data-tag"}}
CLASSES = {"span": {"mention", "topic"}}
SCHEMES = {"http", "https", "mailto"}

# A pasted address ends where Chinese text or full-width punctuation begins:
# "看这个https://example.com/a很好" links only the address.
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_FULLWIDTH_PUNCT = re.compile(r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]")
# Written without "http://", an address after Chinese text is matched with that text as part
# of its host ("看这个example.com" would link a different, made-up domain): the Chinese run
# directly before a Latin letter or digit is text. "例子.com" (a Chinese domain) stays whole.
_LEADING_CJK = re.compile(_CJK.pattern + "+(?=[A-Za-z0-9])")


def _markdown() -> MarkdownIt:
    md = MarkdownIt("zero", {"linkify": True, "breaks": True, "html": False})
    md.enable(RULES)
    md.validateLink = _absolute_link  # type: ignore[method-assign]
    md.linkify.set({"fuzzy_email": False})  # type: ignore[union-attr]  # linkify-it-py is ours
    md.core.ruler.push("tongzhou_links_and_mentions", _links_and_mentions)
    md.add_render_rule("mention", _render_mention)
    md.add_render_rule("topic", _render_topic)
    return md


# Chinese straight after one of these is part of the address ("/wiki/鼻咽癌", "?q=放疗").
_PATH_DELIMITERS = "/=?&#+-_%"


def _cut(text: str) -> int | None:
    """Where an auto-linked address should stop, or None to keep it whole."""
    host_start = text.find("://") + 3 if "://" in text else 0
    cuts = [m.start() for m in _FULLWIDTH_PUNCT.finditer(text) if m.start() > host_start][:1]
    for m in _CJK.finditer(text):
        p = m.start()
        if p <= host_start or _FULLWIDTH_PUNCT.match(text, p):
            continue
        before = text[p - 1]
        if before not in _PATH_DELIMITERS and not _CJK.match(before):
            cuts.append(p)  # Chinese after a letter or digit: the sentence goes on
            break
    return min(cuts) if cuts else None


def _absolute_link(url: str) -> bool:
    """Markdown links go to web or mail addresses only: no relative or script URLs."""
    return url.strip().lower().startswith(("http://", "https://", "mailto:"))


def _trim_autolinks(md: MarkdownIt, children: list[Token]) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(children):
        tok = children[i]
        if (
            tok.type == "link_open"
            and tok.markup == "linkify"
            and i + 2 < len(children)
            and children[i + 1].type == "text"
        ):
            label = children[i + 1]
            schemeless = "://" not in label.content and not label.content.startswith("mailto:")
            lead = _LEADING_CJK.match(label.content) if schemeless else None
            content = label.content[lead.end() :] if lead else label.content
            cut = _cut(content)
            if lead or cut is not None:
                kept, rest = (content, "") if cut is None else (content[:cut], content[cut:])
                url = kept if "://" in kept or kept.startswith("mailto:") else f"http://{kept}"
                tok.attrSet("href", md.normalizeLink(url))
                label.content = kept
                out += [_text(lead.group())] if lead else []
                out += [tok, label, children[i + 2]]
                out += [_text(rest)] if rest else []
                i += 3
                continue
        out.append(tok)
        i += 1
    return out


def _split_mentions(
    children: list[Token], pattern: re.Pattern[str], ids: dict[str, int]
) -> list[Token]:
    out: list[Token] = []
    in_link = 0
    for tok in children:
        in_link += tok.type == "link_open"
        in_link -= tok.type == "link_close"
        if tok.type != "text" or in_link:
            out.append(tok)
            continue
        pos = 0
        for m in pattern.finditer(tok.content):
            if m.start() > pos:
                out.append(_text(tok.content[pos : m.start()]))
            mention = Token("mention", "span", 0)
            mention.content = m.group(1)
            mention.meta = {"user": ids[m.group(1)]}
            out.append(mention)
            pos = m.end()
        out.append(_text(tok.content[pos:]) if pos else tok)
    return out


def _split_topics(children: list[Token]) -> list[Token]:
    """#tags become topic tokens (the chat's script makes them links to the topic page)."""
    from tongzhou.community.topics import find_tags

    out: list[Token] = []
    in_link = 0
    for tok in children:
        in_link += tok.type == "link_open"
        in_link -= tok.type == "link_close"
        found = find_tags(tok.content) if tok.type == "text" and not in_link else []
        if not found:
            out.append(tok)
            continue
        pos = 0
        for f in found:
            if f.start > pos:
                out.append(_text(tok.content[pos : f.start]))
            topic = Token("topic", "span", 0)
            topic.content = tok.content[f.start : f.end]
            topic.meta = {"tag": f.tag}
            out.append(topic)
            pos = f.end
        if pos < len(tok.content):
            out.append(_text(tok.content[pos:]))
    return out


def _text(content: str) -> Token:
    tok = Token("text", "", 0)
    tok.content = content
    return tok


def _links_and_mentions(state: Any) -> None:
    mentions: dict[str, int] = state.env.get("mentions") or {}
    pattern = None
    if mentions:  # longest first, so "@Wang Li" wins over "@Wang"
        names = sorted(mentions, key=len, reverse=True)
        pattern = re.compile("@(" + "|".join(re.escape(n) for n in names) + ")")
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children = _trim_autolinks(state.md, block.children)
        if pattern is not None:
            children = _split_mentions(children, pattern, mentions)
        block.children = _split_topics(children)


def _render_mention(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tok = tokens[idx]
    name = self.rules["text"](tokens, idx, options, env)  # escaped like any text
    return f'<span class="mention" data-user="{int(tok.meta["user"])}">@{name}</span>'


def _render_topic(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    words = self.rules["text"](tokens, idx, options, env)  # escaped like any text
    tag = html.escape(str(tokens[idx].meta["tag"]), quote=True)
    return f'<span class="topic" data-tag="{tag}">{words}</span>'


_md = _markdown()


def to_html(text: str, mentions: dict[str, int] | None = None) -> str:
    """`mentions` maps a display name as written after "@" to the member's id."""
    if not text:
        return ""
    html = _md.render(text, {"mentions": mentions or {}})
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        allowed_classes=CLASSES,
        url_schemes=SCHEMES,
        link_rel="nofollow noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    ).strip()


def first_link(text: str) -> str | None:
    """The first web address in the text: the one a preview card is made for."""
    tokens = _md.parse(text, {"mentions": {}})
    for block in tokens:
        for tok in block.children or []:
            href = tok.attrGet("href") if tok.type == "link_open" else None
            if isinstance(href, str) and href.startswith(("http://", "https://")):
                return href
    return None


def plain_text(text: str, limit: int | None = None) -> str:
    """What the message says without its Markdown, on one line: for quotes, notifications
    and e-mail, where "**看牙**" should read "看牙"."""
    words = html.unescape(nh3.clean(_md.render(text, {"mentions": {}}), tags=set()))
    words = " ".join(words.split())
    return words[:limit] if limit is not None else words
