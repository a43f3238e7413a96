"""Link preview cards: made in the background after the message is sent, never before.

The server fetches the page (tongzhou.chat.fetch refuses private addresses, re-checks every
redirect, caps size and time) and its picture, which is re-encoded and served from our own
/media path like any upload: members' phones never contact the linked site until they tap.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django_tasks import task

from tongzhou import storage
from tongzhou.chat.fetch import FetchRefused, fetch
from tongzhou.chat.media import process_image
from tongzhou.chat.models import LinkPreview, Message
from tongzhou.chat.opengraph import PagePreview, parse_preview
from tongzhou.chat.render import first_link
from tongzhou.errors import UserError
from tongzhou.groups.models import Group
from tongzhou.tasks import retried

log = logging.getLogger(__name__)

HTML = ("text/html", "application/xhtml+xml")
IMAGES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def _ours(url: str) -> bool:
    """A link to this site (a milestone card, an event): its pages are for members only, so a
    card would show the sign-in page."""
    return urlsplit(url).netloc.lower() == urlsplit(settings.SITE_URL).netloc.lower()


def start_preview(message: Message) -> None:
    """Inside the send (or edit) transaction: queue a card for the message's first link."""
    url = first_link(message.text) if settings.LINK_PREVIEWS else None
    if url is not None and _ours(url):
        url = None
    LinkPreview.objects.filter(message=message).exclude(url=url or "").delete()
    if url is None or len(url) > 2000 or LinkPreview.objects.filter(message=message).exists():
        return
    LinkPreview.objects.create(message=message, url=url)
    fetch_preview.enqueue(message.pk)


def _picture(card: PagePreview) -> tuple[str, str]:
    """The card's picture as a small re-encoded file of ours, or ("", "")."""
    if not card.image_url:
        return "", ""
    try:
        got = fetch(card.image_url, accept=IMAGES, max_bytes=settings.LINK_PREVIEW_MAX_IMAGE_BYTES)
        processed = process_image(got.body)
    except (FetchRefused, UserError):
        return "", ""
    data = processed.thumb or processed.data
    return storage.save(data), (processed.thumb_mime or processed.mime)


@task()
@retried
def fetch_preview(message_id: int) -> str:
    preview = LinkPreview.objects.filter(
        message_id=message_id, status=LinkPreview.Status.PENDING
    ).first()
    if preview is None:
        return "gone"  # deleted or edited meanwhile
    card: PagePreview | None = None
    image, image_mime = "", ""
    try:
        page = fetch(preview.url, accept=HTML, max_bytes=settings.LINK_PREVIEW_MAX_PAGE_BYTES)
        card = parse_preview(page.body, page.charset, page.url)
    except FetchRefused as e:
        log.info("no preview for message %s: %s", message_id, e.reason)
    if card is not None:
        image, image_mime = _picture(card)
    from tongzhou.chat.changes import publish_change

    group_id = Message.objects.filter(pk=message_id).values_list("group_id", flat=True).first()
    with transaction.atomic():
        # Under the group's lock, as sends do, so the change numbers stay in order.
        Group.objects.select_for_update().only("pk").filter(pk=group_id or 0).first()
        saved = LinkPreview.objects.filter(pk=preview.pk, status=LinkPreview.Status.PENDING)
        message = Message.objects.filter(pk=message_id, deleted_at__isnull=True).first()
        if message is None or not saved.exists():
            if image:
                storage.delete(image)
            return "gone"
        if card is None:
            saved.update(status=LinkPreview.Status.FAILED, fetched_at=timezone.now())
        else:
            saved.update(
                status=LinkPreview.Status.READY,
                title=card.title,
                description=card.description,
                site_name=card.site_name[:100],
                image=image,
                image_mime=image_mime,
                fetched_at=timezone.now(),
            )
            publish_change(message, [])  # open pages show the card at once
    return "ready" if card is not None else "failed"


@receiver(post_delete, sender=LinkPreview)
def _delete_image(sender: type[LinkPreview], instance: LinkPreview, **kwargs: object) -> None:
    name = instance.image
    if name:
        transaction.on_commit(lambda: storage.delete(name))
