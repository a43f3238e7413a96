"""Milestones: a member tells the group good news (finished treatment, "毕业"; a clear scan;
N years since diagnosis) and the group sees a celebration card and reacts; or sad news,
which the group mourns quietly (a candle or folded hands, no counts, no chat post unless the
author asks). The author may be reminded of the day each year; a leader or moderator can
hide a card. Every change is a do_* function here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tongzhou.accounts.models import User
from tongzhou.community import reminders
from tongzhou.community.models import Milestone, MilestoneReaction, Reminder
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.models import Membership
from tongzhou.groups.queries import access_group, access_moderation
from tongzhou.text import clean

CELEBRATE = ("🎉", "👏", "💐", "💪")
MOURN = ("🕯️", "🙏")
EMOJI: dict[str, str] = {  # the big emoji on each kind's card
    Milestone.Kind.GRADUATION.value: "🎓",
    Milestone.Kind.CLEAR_SCAN.value: "🌈",
    Milestone.Kind.YEARS.value: "🎂",
    Milestone.Kind.OTHER.value: "🎉",
    Milestone.Kind.SAD.value: "🕯️",
}
REMIND_HOUR = 9  # the yearly reminder, in the author's timezone
MAX_YEARS = 80


def emoji_of(m: Milestone) -> str:
    return EMOJI.get(str(m.kind), "🎉")


def is_sad(m: Milestone) -> bool:
    return m.kind == Milestone.Kind.SAD


def reactions_allowed(m: Milestone) -> tuple[str, ...]:
    return MOURN if is_sad(m) else CELEBRATE


def milestone_not_found() -> UserError:
    return UserError("milestone_not_found", _("There is no such news in this group."), 404)


def visible(membership: Membership) -> Q:
    """Hidden cards stay in sight of the moderators and their author only."""
    if membership.can_moderate:
        return Q()
    return Q(hidden_at__isnull=True) | Q(user_id=membership.user_id)


def milestone_in(membership: Membership, milestone_id: object) -> Milestone:
    m = (
        Milestone.objects.filter(visible(membership), group_id=membership.group_id)
        .filter(pk=parse_id(milestone_id, "milestone_not_found"))
        .select_related("user")
        .first()
    )
    if m is None:
        raise milestone_not_found()
    return m


def milestones_of(membership: Membership, limit: int = 100) -> list[Milestone]:
    return list(
        Milestone.objects.filter(visible(membership), group_id=membership.group_id)
        .select_related("user")
        .order_by("-day", "-created_at")[:limit]
    )


def headline(m: Milestone) -> str:
    """The card's line, e.g. "Finished treatment (毕业)" or "5 years since diagnosis"."""
    if m.kind == Milestone.Kind.YEARS and m.years:
        return ngettext("%(n)d year since diagnosis", "%(n)d years since diagnosis", m.years) % {
            "n": m.years
        }
    return str(m.get_kind_display())


def reaction_counts(milestones: list[Milestone], user_id: int) -> dict[int, dict[str, Any]]:
    """For each card: {"counts": {emoji: n}, "mine": emoji or ""}."""
    ids = [m.pk for m in milestones]
    found: dict[int, dict[str, Any]] = {i: {"counts": {}, "mine": "", "total": 0} for i in ids}
    for mid, emoji, n in (
        MilestoneReaction.objects.filter(milestone_id__in=ids)
        .values_list("milestone_id", "emoji")
        .annotate(n=Count("pk"))
    ):
        found[mid]["counts"][emoji] = n
        found[mid]["total"] += n
    for mid, emoji in MilestoneReaction.objects.filter(
        milestone_id__in=ids, user_id=user_id
    ).values_list("milestone_id", "emoji"):
        found[mid]["mine"] = emoji
    return found


def milestone_dict(m: Milestone, reactions: dict[str, Any], *, viewer: int) -> dict[str, Any]:
    sad = is_sad(m)
    return {
        "id": m.pk,
        "group": m.group_id,
        "author": {"id": m.user_id, "display_name": m.user.display_name},
        "kind": m.kind,
        "headline": headline(m),
        "emoji": emoji_of(m),
        "text": m.text,
        "years": m.years,
        "day": m.day.isoformat(),
        "remind_yearly": m.remind_yearly if m.user_id == viewer else None,
        "created_at": m.created_at.isoformat(),
        "hidden": m.hidden_at is not None,
        "reactions_allowed": list(reactions_allowed(m)),
        # Sad news shows who lit a candle, never a tally to compete on.
        "reactions": {} if sad else reactions["counts"],
        "reacted": reactions["total"] if sad else None,
        "my_reaction": reactions["mine"] or None,
    }


def card_url(m: Milestone) -> str:
    return reverse("community:milestone", kwargs={"gid": m.group_id, "msid": m.pk})


# --- changing ------------------------------------------------------------------------------


def _check_kind(value: object) -> str:
    if value not in Milestone.Kind.values:
        raise UserError("invalid_kind", _("Choose what kind of news this is."))
    return str(value)


def _check_day(value: object, user: User) -> dt.date:
    if isinstance(value, dt.date):
        day = value
    elif value in (None, ""):
        return reminders.local_day(user)
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise UserError("invalid_date", _("Enter a date, e.g. 2026-05-20.")) from None
    if day > reminders.local_day(user):
        raise UserError("date_in_future", _("Choose a day that has already come."))
    if day.year < 1900:
        raise UserError("invalid_date", _("Enter a date, e.g. 2026-05-20."))
    return day


def _check_years(kind: str, value: object) -> int | None:
    if kind != Milestone.Kind.YEARS:
        return None
    try:
        years = int(str(value).strip()) if value not in (None, "") else 0
    except ValueError:
        years = 0
    if isinstance(value, bool) or not 1 <= years <= MAX_YEARS:
        raise UserError("invalid_years", _("How many years? A number from 1 to 80."))
    return years


def chat_text(m: Milestone) -> str:
    """The short chat message that points to the card, in the author's language."""
    words = m.text if len(m.text) <= 80 else m.text[:79] + "…"
    values = {"name": m.user.display_name, "what": headline(m)}
    lead = (
        _("Sad news from %(name)s: %(what)s")
        if is_sad(m)
        else _("Good news from %(name)s: %(what)s")
    )
    lines = [f"{emoji_of(m)} {lead % values}"]
    if words:
        lines.append(words)
    lines.append(settings.SITE_URL + card_url(m))  # a full address: the chat links only those
    return "\n".join(lines)


def do_announce(
    user: User,
    group_id: int,
    *,
    kind: object,
    text: object = "",
    day: object = None,
    years: object = None,
    remind_yearly: object = False,
    post_to_chat: object = None,
) -> Milestone:
    """A member shares news with the group. Good news is also posted in the chat as a short
    message linking to the card unless the author says no; sad news only if they ask."""
    membership = access_group(user, group_id)
    kind = _check_kind(kind)
    words = clean(text) if isinstance(text, str) else ""
    if len(words) > 2000:
        raise UserError("text_too_long", _("At most %(max)d characters, please.") % {"max": 2000})
    if not isinstance(remind_yearly, bool):
        raise UserError("invalid_input", _("Choose yes or no."))
    if post_to_chat is None:
        post_to_chat = kind != Milestone.Kind.SAD
    if not isinstance(post_to_chat, bool):
        raise UserError("invalid_input", _("Choose yes or no."))
    with transaction.atomic():
        m = Milestone.objects.create(
            group_id=membership.group_id,
            user=user,
            kind=kind,
            text=words,
            years=_check_years(kind, years),
            day=_check_day(day, user),
            remind_yearly=remind_yearly,
        )
    if post_to_chat:
        from tongzhou.chat.actions import do_send_message

        do_send_message(user, group_id, client_id=f"milestone-{m.pk}", text=chat_text(m))
    return m


def do_react(user: User, group_id: int, milestone_id: object, emoji: object) -> Milestone:
    """One reaction each, changeable; an empty emoji takes it back. Sad news takes only a
    candle or folded hands."""
    membership = access_group(user, group_id)
    m = milestone_in(membership, milestone_id)
    if emoji in (None, ""):
        MilestoneReaction.objects.filter(milestone=m, user=user).delete()
        return m
    if emoji not in reactions_allowed(m):
        raise UserError(
            "invalid_reaction",
            _("Choose one of: %(list)s") % {"list": " ".join(reactions_allowed(m))},
        )
    MilestoneReaction.objects.update_or_create(
        milestone=m, user=user, defaults={"emoji": str(emoji)}
    )
    return m


def do_hide(user: User, group_id: int, milestone_id: object, on: object = True) -> Milestone:
    """A leader or moderator hides a card from the group (or shows it again)."""
    if not isinstance(on, bool):
        raise UserError("invalid_input", _("Choose yes or no."))
    membership = access_moderation(user, group_id)
    m = milestone_in(membership, milestone_id)
    if (m.hidden_at is not None) != on:
        from tongzhou.safety.audit import audit

        with transaction.atomic():
            m.hidden_at = timezone.now() if on else None
            m.save(update_fields=["hidden_at"])
            if on:  # in the leader's audit log, as a hidden message of its author
                audit(m.group_id, user, "hide", member_id=m.user_id, reason=f"milestone {m.pk}")
    return m


def do_set_yearly(user: User, group_id: int, milestone_id: object, on: object) -> Milestone:
    """The author switches the yearly reminder on or off."""
    if not isinstance(on, bool):
        raise UserError("invalid_input", _("Choose yes or no."))
    m = milestone_in(access_group(user, group_id), milestone_id)
    if m.user_id != user.pk:
        raise UserError("not_allowed", _("Only the person who shared this can change it."), 403)
    if m.remind_yearly != on:
        m.remind_yearly = on
        m.save(update_fields=["remind_yearly"])
    return m


def do_delete(user: User, group_id: int, milestone_id: object) -> None:
    """The author takes their news back (its chat message stays theirs to delete)."""
    m = milestone_in(access_group(user, group_id), milestone_id)
    if m.user_id != user.pk:
        raise UserError("not_allowed", _("Only the person who shared this can delete it."), 403)
    m.delete()


# --- the yearly reminder -----------------------------------------------------------------


def anniversary_on(m: Milestone, year: int) -> dt.date:
    """The day in `year`; 29 February falls on the 28th in other years."""
    try:
        return m.day.replace(year=year)
    except ValueError:
        return dt.date(year, 2, 28)


def anniversary_title(r: Reminder) -> str | None:
    """The reminder's words in the reader's language (None: the card is gone)."""
    try:
        _kind, mid, year = r.key.split(":")
        m = Milestone.objects.get(pk=int(mid))
    except (ValueError, Milestone.DoesNotExist):
        return None
    n = int(year) - m.day.year
    if is_sad(m):
        return ngettext(
            "🕯️ %(n)d year ago today: %(what)s",
            "🕯️ %(n)d years ago today: %(what)s",
            n,
        ) % {"n": n, "what": m.text[:60] or headline(m)}
    return ngettext(
        "🎉 %(n)d year ago today: %(what)s",
        "🎉 %(n)d years ago today: %(what)s",
        n,
    ) % {"n": n, "what": headline(m)}


def due_reminders(now: dt.datetime) -> list[Reminder]:
    """Reminders of this feature that are due at `now` (reminders.sources); each made with
    reminders.create_once, so a second call makes none: the author's anniversary, on the
    day at 09:00 in their timezone, key anniversary:<id>:<year>; skipped when more than
    reminders.LATE_LIMIT late, or when the author has left the group."""
    near = [(now + dt.timedelta(days=d)).date() for d in (-1, 0, 1)]
    on_those_days = Q()
    for d in near:
        on_those_days |= Q(day__month=d.month, day__day=d.day)
        if d.month == 2 and d.day == 28:
            on_those_days |= Q(day__month=2, day__day=29)
    made: list[Reminder] = []
    candidates = (
        Milestone.objects.filter(on_those_days, remind_yearly=True, hidden_at__isnull=True)
        .filter(
            user__memberships__group_id=F("group_id"),
            user__memberships__status=Membership.Status.ACTIVE,
        )
        .select_related("user__profile")
        .distinct()
    )
    for m in candidates:
        zone = reminders.zone_of(m.user)
        year = now.astimezone(zone).year
        for y in (year - 1, year):
            if y <= m.day.year:
                continue
            day = anniversary_on(m, y)
            due = dt.datetime.combine(day, dt.time(REMIND_HOUR), tzinfo=zone).astimezone(dt.UTC)
            if not due <= now <= due + reminders.LATE_LIMIT:
                continue
            r = reminders.create_once(
                m.user_id,
                f"anniversary:{m.pk}:{y}",
                group_id=m.group_id,
                title=f"{emoji_of(m)} {headline(m)} ({m.day.isoformat()})",
                url=card_url(m),
                due_at=due,
            )
            if r is not None:
                made.append(r)
    return made
