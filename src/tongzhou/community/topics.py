"""#topics: tags in group messages become topic pages; members follow topics.

A tag is '#' and then letters, digits, underscores or Chinese characters (#放疗, #diet,
#鼻咽癌_饮食). It ends at a space or any punctuation, full-width too (，。！？、); it is 1 to
40 characters, not digits alone (#1 is a number), and never part of a web address
(https://x.org/#a). Tags are kept case-folded, without '#', in MessageTopic: one row per
message and tag, written in the same transaction as the send or the edit. Held and deleted
messages keep their rows, and the pages read only what members may see: a held message shows
once a moderator lets it through; a deleted one never again.

Followers are told of a new message in a topic with a Reminder (the community's one
"something for you" list), at most one per topic per member per FOLLOW_QUIET.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.community.models import MessageTopic, Reminder, TopicFollow
from tongzhou.errors import UserError
from tongzhou.groups.models import Membership
from tongzhou.groups.queries import access_group

MAX_TAG = 40
MAX_TAGS_PER_MESSAGE = 10
MAX_FOLLOWS = 100
FOLLOW_QUIET = dt.timedelta(hours=1)
PAGE = 30

# Before the '#': nothing, or a character that cannot belong to a word or a web address.
# Chinese straight before it is fine ("今天#放疗" is a tag), an ASCII letter or digit is not
# ("C#", "abc#x"), and neither are the characters of addresses and HTML entities.
_BEFORE = r"(?<![A-Za-z0-9_/:?&=.%+~#@\\-])"
_TAG = re.compile(_BEFORE + r"[#＃](\w+)")
# A web address: from its scheme (or www.) to the next space. Anything in it is no tag.
_ADDRESS = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)\S*", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    start: int  # of the '#'
    end: int
    tag: str  # as stored: case-folded, without '#'


def normalize(tag: str) -> str:
    return tag.casefold()


def find_tags(text: str) -> list[Found]:
    """Every tag in the text, in order (repeats included), with where it is."""
    if "#" not in text and "＃" not in text:
        return []
    addresses = [m.span() for m in _ADDRESS.finditer(text)]
    found: list[Found] = []
    for m in _TAG.finditer(text):
        word = m.group(1)
        if any(a <= m.start() < b for a, b in addresses):
            continue
        tag = normalize(word)
        if not 1 <= len(tag) <= MAX_TAG or tag.isdigit() or tag.replace("_", "") == "":
            continue
        found.append(Found(m.start(), m.end(), tag))
    return found


def extract_tags(text: str) -> list[str]:
    """The message's tags, case-folded, without '#', each once, in order of first use."""
    return list(dict.fromkeys(f.tag for f in find_tags(text)))[:MAX_TAGS_PER_MESSAGE]


def tag_from_path(value: str) -> str:
    """The tag named in a page or API path ('#' and case allowed), or the same 404 as a
    missing group when it cannot be a tag."""
    word = value.strip().lstrip("#＃")
    found = find_tags(f"#{word}")
    if len(found) != 1 or found[0].end != len(word) + 1:
        raise UserError("topic_not_found", _("There is no such topic."), 404)
    return found[0].tag


# --- writing: the index, and telling followers ------------------------------------------


def index_tags(message: Message, *, fresh: bool = False) -> list[str]:
    """Make the message's rows match its text (on send and on edit: an edit replaces the set).
    Call inside the send's or edit's transaction; `fresh`: just created, so no rows yet."""
    tags = extract_tags(message.text) if message.deleted_at is None else []
    if fresh and not tags:
        return tags
    have = (
        set()
        if fresh
        else set(MessageTopic.objects.filter(message=message).values_list("tag", flat=True))
    )
    if gone := have - set(tags):
        MessageTopic.objects.filter(message=message, tag__in=gone).delete()
    MessageTopic.objects.bulk_create(
        [
            MessageTopic(message=message, group_id=message.group_id, tag=t)
            for t in tags
            if t not in have
        ]
    )
    return tags


def tell_followers(message: Message, now: dt.datetime | None = None) -> list[Reminder]:
    """A message reached the group: its topics' followers (active members, not the sender)
    get a reminder, unless they had one for that topic within FOLLOW_QUIET."""
    tags = extract_tags(message.text) if message.deleted_at is None else []
    if not tags:
        return []
    now = now or timezone.now()
    members = Membership.objects.filter(
        group_id=message.group_id, status=Membership.Status.ACTIVE
    ).values("user_id")
    follows = TopicFollow.objects.filter(
        group_id=message.group_id, tag__in=tags, user_id__in=members
    )
    if message.sender_id is not None:
        follows = follows.exclude(user_id=message.sender_id)
    made: list[Reminder] = []
    for user_id, tag in follows.values_list("user_id", "tag"):
        prefix = _key_prefix(message.group_id, tag)
        recent = Reminder.objects.filter(
            user_id=user_id, key__startswith=prefix, created_at__gte=now - FOLLOW_QUIET
        )
        if recent.exists():
            continue
        r, created = Reminder.objects.get_or_create(
            user_id=user_id,
            key=f"{prefix}{message.pk}",
            defaults={
                "group_id": message.group_id,
                # The tag and the group's name read the same in every language.
                "title": f"#{tag} · {message.group.name}"[:200],
                "url": topic_url(message.group_id, tag),
                "due_at": now,
                "created_at": now,
            },
        )
        if created:
            made.append(r)
    if made:
        from django.db import transaction

        from tongzhou.community.reminders import push

        transaction.on_commit(lambda: push(made))
    return made


def _key_prefix(group_id: int, tag: str) -> str:
    return f"topic:{group_id}:{tag}:"


def topic_url(group_id: int, tag: str) -> str:
    return reverse("community:topic", kwargs={"gid": group_id, "tag": tag})


def do_follow(user: User, group_id: int, tag: str, on: bool = True) -> bool:
    """Follow (on) or stop following a topic of the group; returns whether now followed."""
    membership = access_group(user, group_id)
    tag = tag_from_path(tag)
    mine = TopicFollow.objects.filter(user=user, group_id=membership.group_id, tag=tag)
    if not on:
        mine.delete()
        return False
    if mine.exists():
        return True
    if TopicFollow.objects.filter(user=user).count() >= MAX_FOLLOWS:
        raise UserError(
            "too_many_follows",
            _("You follow %(n)d topics, the most there can be. Stop following one first.")
            % {"n": MAX_FOLLOWS},
            409,
        )
    TopicFollow.objects.get_or_create(user=user, group_id=membership.group_id, tag=tag)
    return True


# --- reading ---------------------------------------------------------------------------


def visible_rows(group_id: int) -> QuerySet[MessageTopic]:
    """The index rows members may see: visible, not deleted messages of the group."""
    return MessageTopic.objects.filter(
        group_id=group_id,
        message__group_id=group_id,
        message__status=Message.Status.VISIBLE,
        message__deleted_at__isnull=True,
    )


def topics_of(membership: Membership) -> list[dict[str, Any]]:
    """The group's topics with their message counts; the ones the member follows first, then
    the busiest. A followed topic with no messages (yet) is listed too."""
    counts = {
        row["tag"]: row["n"]
        for row in visible_rows(membership.group_id).values("tag").annotate(n=Count("id"))
    }
    followed = set(
        TopicFollow.objects.filter(
            user_id=membership.user_id, group_id=membership.group_id
        ).values_list("tag", flat=True)
    )
    rows = [
        {"tag": t, "count": counts.get(t, 0), "followed": t in followed}
        for t in set(counts) | followed
    ]
    rows.sort(key=lambda r: (not r["followed"], -r["count"], r["tag"]))
    return rows


def topic_messages(group_id: int, tag: str, before: int | None = None) -> list[Message]:
    """The topic's messages, newest first, PAGE at a time (`before`: a message id)."""
    rows = visible_rows(group_id).filter(tag=tag)
    if before is not None:
        rows = rows.filter(message_id__lt=before)
    ids = list(rows.order_by("-message_id").values_list("message_id", flat=True)[:PAGE])
    found = Message.objects.filter(pk__in=ids).select_related("sender")
    return sorted(found, key=lambda m: -m.pk)


def topic_entries(group_id: int, tag: str) -> list[Any]:
    """The group's knowledge entries that carry the tag, or the word in title or text."""
    from tongzhou.knowledge.models import Entry

    found = []
    entries = Entry.objects.filter(group_id=group_id).only("title", "body", "tags", "updated_at")
    for e in entries.order_by("-updated_at")[:2000]:
        if tag in {normalize(t) for t in e.tags} or tag in normalize(f"{e.title}\n{e.body}"):
            found.append(e)
            if len(found) == 20:
                break
    return found


def follows(user_id: int, group_id: int, tag: str) -> bool:
    return TopicFollow.objects.filter(user_id=user_id, group_id=group_id, tag=tag).exists()


def follower_count(group_id: int, tag: str) -> int:
    members = Membership.objects.filter(group_id=group_id, status=Membership.Status.ACTIVE)
    return TopicFollow.objects.filter(
        group_id=group_id, tag=tag, user_id__in=members.values("user_id")
    ).count()


def message_dict(m: Message) -> dict[str, Any]:
    """A message as a topic page lists it, with the link to it in the chat."""
    from tongzhou.chat.render import to_html
    from tongzhou.chat.serialize import mention_names, sender_name
    from tongzhou.notify.queries import permalink

    return {
        "id": m.pk,
        "sender": {"id": m.sender_id, "display_name": sender_name(m)},
        "text": m.text,
        "html": to_html(m.text, mention_names(m)),
        "created_at": m.created_at.isoformat(),
        "url": permalink(m.group_id, m.pk),
    }


def entry_dict(e: Any) -> dict[str, Any]:
    return {
        "id": e.pk,
        "title": e.title,
        "url": reverse("groups:entry", kwargs={"gid": e.group_id, "eid": e.pk}),
    }
