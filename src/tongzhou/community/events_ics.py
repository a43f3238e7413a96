"""An event as an iCalendar file (RFC 5545), for "Add to my calendar".

The UID stays the same for the life of the event, so importing it again after a change (or a
cancellation, STATUS:CANCELLED) updates the copy in the member's calendar instead of adding a
second one. Times are in UTC: each calendar shows them in its owner's zone."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from tongzhou.community.models import Event


def uid_of(event: Event) -> str:
    return f"tongzhou-event-{event.pk}@tongzhou"


def ics_for(event: Event, page_url: str) -> bytes:
    """The calendar file of one event; `page_url` is the event page's full address."""
    cal = Calendar()
    cal.add("prodid", "-//Tongzhou//Events//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if event.cancelled_at else "PUBLISH")
    item = CalendarEvent()
    item.add("uid", uid_of(event))
    item.add("dtstamp", timezone.now().astimezone(dt.UTC))
    item.add("dtstart", event.starts_at.astimezone(dt.UTC))
    item.add("dtend", event.ends_at.astimezone(dt.UTC))
    item.add("summary", event.title)
    description = "\n\n".join(p for p in (event.description, event.speaker, page_url) if p)
    item.add("description", description)
    item.add("url", page_url)
    if event.place:
        item.add("location", event.place)
    item.add("status", "CANCELLED" if event.cancelled_at else "CONFIRMED")
    # Calendars keep the copy with the highest SEQUENCE: minutes since the event was made only
    # grow, so the latest download (a new time, a cancellation) replaces the earlier one.
    item.add("sequence", max(0, int((timezone.now() - event.created_at).total_seconds() // 60)))
    cal.add_component(item)
    return bytes(cal.to_ical())
