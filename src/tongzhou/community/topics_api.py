"""#topics over the API: the group's topics, one topic's messages and entries, following."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from tongzhou.accounts.models import User
from tongzhou.community import topics
from tongzhou.groups.queries import access_group

router = Router(tags=["topics"])


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # the API's auth guarantees it


class FollowIn(Schema):
    on: bool = True  # false: stop following


@router.get("/groups/{gid}/topics", operation_id="list_topics")
def list_topics(request: HttpRequest, gid: int) -> dict[str, Any]:
    """The group's #topics with how many messages carry each; the ones you follow first."""
    membership = access_group(_user(request), gid)
    return {"topics": topics.topics_of(membership)}


@router.get("/groups/{gid}/topics/{tag}", operation_id="get_topic")
def get_topic(
    request: HttpRequest, gid: int, tag: str, before: int | None = None
) -> dict[str, Any]:
    """A topic's messages, newest first, 30 at a time (`before`: the last id you have), and
    the group's knowledge entries that carry the tag or the word."""
    membership = access_group(_user(request), gid)
    found = topics.tag_from_path(tag)
    rows = topics.topic_messages(membership.group_id, found, before)
    return {
        "tag": found,
        "followed": topics.follows(membership.user_id, membership.group_id, found),
        "followers": topics.follower_count(membership.group_id, found),
        "messages": [topics.message_dict(m) for m in rows],
        "next_before": rows[-1].pk if len(rows) == topics.PAGE else None,
        "entries": [topics.entry_dict(e) for e in topics.topic_entries(membership.group_id, found)]
        if before is None
        else [],
    }


@router.post("/groups/{gid}/topics/{tag}/follow", operation_id="follow_topic")
def follow_topic(request: HttpRequest, gid: int, tag: str, payload: FollowIn) -> dict[str, Any]:
    """Follow a topic (you are told of new messages in it, at most once an hour), or stop."""
    on = topics.do_follow(_user(request), gid, tag, payload.on)
    return {"tag": topics.tag_from_path(tag), "followed": on}
