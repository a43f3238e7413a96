"""Everything that changes consent, projects and coding. Leaders grant; researchers code."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import User
from tongzhou.chat.models import Message
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.queries import access_group, access_leadership
from tongzhou.insight import codebook, consent, queries
from tongzhou.insight.models import (
    Agreed,
    Code,
    Coding,
    ConsentText,
    Project,
    ResearchConsent,
    Researcher,
    Suggestions,
    Unit,
)
from tongzhou.safety.audit import audit
from tongzhou.safety.models import AuditEntry
from tongzhou.text import clean

MAX_SAMPLE = 2000
MAX_YEARS = 3


def do_decide_consent(
    user: User, gid: int, *, messages: bool, health: bool, quotes: bool
) -> ResearchConsent:
    """A member's yes or no. Health details and quotes go with messages: without them there
    is nothing to attach a health profile or a quote to."""
    access_group(user, gid)
    if not messages and (health or quotes):
        raise UserError(
            "consent_needs_messages",
            _("Health details and quotes can only be shared together with your messages."),
        )
    return ResearchConsent.objects.create(
        group_id=gid,
        user=user,
        version=consent.current_text(gid).version,
        messages=messages,
        health=health,
        quotes=quotes,
    )


def do_set_consent_text(leader: User, gid: int, text: object) -> ConsentText:
    access_leadership(leader, gid)
    words = clean(str(text or "")).strip()
    if len(words) < 40:
        raise UserError(
            "consent_text_short",
            _("Please write the consent text in full (at least 40 characters)."),
        )
    if len(words) > 5000:
        raise UserError("consent_text_long", _("The consent text can be at most 5,000 characters."))
    with transaction.atomic():
        latest = consent.current_text(gid).version
        return ConsentText.objects.create(
            group_id=gid, version=latest + 1, text=words, created_by=leader
        )


def _check_project(title: object, purpose: object, ends_on: object) -> tuple[str, str, dt.date]:
    name = clean(str(title or "")).strip()
    why = clean(str(purpose or "")).strip()
    if not name or len(name) > 120:
        raise UserError(
            "project_title", _("Please give the project a title (up to 120 characters).")
        )
    if len(why) < 20 or len(why) > 2000:
        raise UserError(
            "project_purpose",
            _("Please state the project's purpose in 20 to 2,000 characters: members read it."),
        )
    try:
        end = ends_on if isinstance(ends_on, dt.date) else dt.date.fromisoformat(str(ends_on))
    except ValueError:
        raise UserError("project_end", _("Please give the end date as a date.")) from None
    today = timezone.localdate()
    if end < today or end > today.replace(year=today.year + MAX_YEARS):
        raise UserError(
            "project_end",
            _("The end date must be between today and %(years)s years from now.")
            % {"years": MAX_YEARS},
        )
    return name, why, end


def do_create_project(
    leader: User, gid: int, *, title: object, purpose: object, ends_on: object
) -> Project:
    access_leadership(leader, gid)
    name, why, end = _check_project(title, purpose, ends_on)
    with transaction.atomic():
        project = Project.objects.create(
            group_id=gid, title=name, purpose=why, ends_on=end, created_by=leader
        )
        Code.objects.bulk_create(
            Code(project=project, key=key, family=codebook.family_of(key), position=i)
            for i, key in enumerate(codebook.DEFAULT)
        )
        audit(gid, leader, AuditEntry.Action.RESEARCH, reason=name)
    return project


def do_edit_project(
    leader: User, project: Project, *, title: object, purpose: object, ends_on: object
) -> Project:
    access_leadership(leader, project.group_id)
    project.title, project.purpose, project.ends_on = _check_project(title, purpose, ends_on)
    project.save(update_fields=["title", "purpose", "ends_on"])
    return project


def do_close_project(leader: User, project: Project) -> None:
    access_leadership(leader, project.group_id)
    if project.closed_at is None:
        project.closed_at = timezone.now()
        project.save(update_fields=["closed_at"])
        audit(project.group_id, leader, AuditEntry.Action.CLOSE, reason=project.title)


def do_grant(leader: User, project: Project, username: object) -> Researcher:
    access_leadership(leader, project.group_id)
    if project.closed_at is not None:
        raise UserError("project_closed", _("This project is closed."))
    user = User.objects.filter(
        username__iexact=str(username or "").strip().lstrip("@"), is_active=True
    ).first()
    if user is None or user.banned_at is not None or user.username.startswith("imported-"):
        raise UserError(
            "researcher_unknown",
            _("There is no account with that user name. The researcher signs up first."),
        )
    grant, created = Researcher.objects.get_or_create(
        project=project, user=user, defaults={"granted_by": leader}
    )
    if not created and grant.revoked_at is not None:
        grant.revoked_at = None
        grant.granted_by, grant.granted_at = leader, timezone.now()
        grant.save(update_fields=["revoked_at", "granted_by", "granted_at"])
    audit(
        project.group_id, leader, AuditEntry.Action.GRANT, member_id=user.pk, reason=project.title
    )
    return grant


def do_revoke(leader: User, project: Project, researcher_id: object) -> None:
    access_leadership(leader, project.group_id)
    grant = Researcher.objects.filter(
        project=project, pk=parse_id(researcher_id, "researcher_not_found")
    ).first()
    if grant is None:
        raise UserError("researcher_not_found", _("There is no such researcher here."), 404)
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        audit(
            project.group_id,
            leader,
            AuditEntry.Action.REVOKE,
            member_id=grant.user_id,
            reason=project.title,
        )


def do_add_code(researcher: User, project: Project, label: object, description: object) -> Code:
    name = clean(str(label or "")).strip()
    if not name or len(name) > 80:
        raise UserError("code_label", _("Please name the code (up to 80 characters)."))
    if Code.objects.filter(project=project, label__iexact=name).exists():
        raise UserError("code_exists", _("The codebook already has a code with that name."))
    slug = re.sub(r"[^\w]+", "-", name.lower()).strip("-")[:24] or "code"
    with transaction.atomic():
        n = Code.objects.filter(project=project).count()
        return Code.objects.create(
            project=project,
            key=f"open.{n + 1}.{slug}",
            family="open",
            label=name,
            description=clean(str(description or "")).strip()[:1000],
            position=n,
            created_by=researcher,
        )


def _day(value: object, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UserError(
            "bad_date", _("Please give %(field)s as a date.") % {"field": field}
        ) from None


def do_sample(
    researcher: User,
    project: Project,
    *,
    size: object,
    since: object = None,
    until: object = None,
    history: bool = True,
    questions_only: bool = False,
    contains: object = "",
) -> int:
    """Adds a random sample of messages matching the filter to the coding set, after the
    units already there. Returns how many were added."""
    try:
        n = int(str(size))
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_SAMPLE:
        raise UserError(
            "sample_size", _("Please choose between 1 and %(n)s messages.") % {"n": MAX_SAMPLE}
        )
    start, end = _day(since, _("the first day")), _day(until, _("the last day"))
    words = clean(str(contains or "")).strip()[:100]
    q = queries.eligible_messages(project)
    found = Message.objects.filter(q).exclude(
        pk__in=Unit.objects.filter(project=project).values("message_id")
    )
    zone = timezone.get_current_timezone()
    if start:
        found = found.filter(created_at__gte=dt.datetime.combine(start, dt.time(), zone))
    if end:
        found = found.filter(
            created_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)
        )
    if not history:
        found = found.exclude(status=Message.Status.HISTORY)
    if questions_only:
        found = found.filter(kind=Message.Kind.QUESTION)
    if words:
        found = found.filter(text__icontains=words)
    ids = sorted(found.values_list("pk", flat=True))
    chosen = random.Random(f"{project.pk}:{len(ids)}:{n}").sample(
        ids, min(n, len(ids))
    )  # a sample, not a secret
    chosen.sort()  # coders read in the order things were said
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        top = Unit.objects.filter(project=project).count()
        Unit.objects.bulk_create(
            Unit(project=project, message_id=mid, position=top + i + 1)
            for i, mid in enumerate(chosen)
        )
        project.selection = {
            "size": n,
            "since": start.isoformat() if start else "",
            "until": end.isoformat() if end else "",
            "history": history,
            "questions_only": questions_only,
            "contains": words,
        }
        project.save(update_fields=["selection"])
    return len(chosen)


def _unit(project: Project, unit_id: object) -> Unit:
    unit = queries.studied_units(project).filter(pk=parse_id(unit_id, "unit_not_found")).first()
    if unit is None:
        raise UserError("unit_not_found", _("That message is not in this project any more."), 404)
    return unit


def _codes(project: Project, keys: Iterable[str]) -> list[Code]:
    wanted = set(keys)
    codes = list(Code.objects.filter(project=project, key__in=wanted))
    if len(codes) != len(wanted):
        raise UserError("unknown_code", _("One of those codes is not in this project's codebook."))
    return codes


def do_code(coder: User, project: Project, unit_id: object, keys: Iterable[str]) -> Coding:
    """Saves a coder's codes for a unit, replacing their earlier ones (others' stay apart)."""
    unit = _unit(project, unit_id)
    codes = _codes(project, keys)
    with transaction.atomic():
        coding, _created = Coding.objects.get_or_create(unit=unit, coder=coder)
        coding.codes.set(codes)
        coding.coded_at = timezone.now()
        coding.save(update_fields=["coded_at"])
    return coding


def do_agree(user: User, project: Project, unit_id: object, keys: Iterable[str]) -> Agreed:
    unit = _unit(project, unit_id)
    codes = _codes(project, keys)
    with transaction.atomic():
        agreed, _created = Agreed.objects.update_or_create(
            unit=unit, defaults={"by": user, "at": timezone.now()}
        )
        agreed.codes.set(codes)
    return agreed


def do_train(user: User, project: Project) -> Suggestions:
    """Trains the suggestion model on the coded units the researcher may see now."""
    from tongzhou.insight import coded, suggest  # scikit-learn loads only when asked

    units = list(queries.studied_units(project))
    texts = {r.unit: r.text for r in queries.rows(project, units)}
    labels = coded.consensus(project, [u.pk for u in units])
    keys = list(Code.objects.filter(project=project).values_list("key", flat=True))
    trained = suggest.train(texts, labels, keys).as_dict()
    result, _created = Suggestions.objects.update_or_create(
        project=project,
        defaults={
            "trained_at": timezone.now(),
            "scores": trained["scores"],
            "suggested": {str(k): v for k, v in trained["suggested"].items()},
            "units": trained["units"],
        },
    )
    return result
