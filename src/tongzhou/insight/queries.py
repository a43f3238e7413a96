"""Reading research projects with the permission check in the same step, and the project's
messages as a researcher may see them: consenting members only, pseudonymised, redacted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from tongzhou.accounts.models import Profile, User
from tongzhou.accounts.twofactor import has_two_factor
from tongzhou.chat.models import Message
from tongzhou.errors import UserError, parse_id
from tongzhou.groups.models import Membership
from tongzhou.groups.queries import access_leadership, not_found
from tongzhou.imports.models import ImportedPerson
from tongzhou.insight import consent
from tongzhou.insight.models import Participant, Project, Researcher, Unit
from tongzhou.insight.redact import redact

STUDIED = (Message.Status.VISIBLE, Message.Status.HISTORY)


def access_project(user: User | AnonymousUser, project_id: object) -> Project:
    """A project the user is a researcher on, while it runs. The same 404 for a project that
    does not exist and one the user has no part in; an ended project says so."""
    if not user.is_authenticated:
        raise not_found()
    pid = parse_id(project_id)
    grant = (
        Researcher.objects.filter(project_id=pid, user_id=user.pk, revoked_at__isnull=True)
        .select_related("project__group")
        .first()
    )
    if grant is None:
        raise not_found()
    project = grant.project
    if settings.REQUIRE_2FA_FOR_STAFF and not has_two_factor(user):  # they read members' words
        raise UserError(
            "two_factor_required",
            _(
                "This server asks researchers to use two-step sign-in. Turn it on under "
                "Profile → Sign-in and security, then come back."
            ),
            403,
        )
    if not project.is_open:
        raise UserError(
            "project_ended",
            _("This project ended on %(date)s. Its messages can no longer be opened.")
            % {"date": formats.date_format(project.ends_on, "DATE_FORMAT")},
            403,
        )
    return project


def access_own_project(user: User | AnonymousUser, gid: int, project_id: object) -> Project:
    """A project of a group the user leads (the leader manages it but does not read it)."""
    access_leadership(user, gid)
    project = Project.objects.filter(pk=parse_id(project_id), group_id=gid).first()
    if project is None:
        raise not_found()
    return project


def projects_of(user: User) -> list[Project]:
    """The projects the user is a researcher on (ended ones too, to say that they ended)."""
    return list(
        Project.objects.filter(researchers__user=user, researchers__revoked_at__isnull=True)
        .select_related("group")
        .order_by("-created_at")
    )


def research_access(group_id: int) -> list[Project]:
    """What members see: every running project on their group and who works on it."""
    today = timezone.localdate()
    return list(
        Project.objects.filter(group_id=group_id, closed_at__isnull=True, ends_on__gte=today)
        .prefetch_related("researchers__user")
        .order_by("ends_on")
    )


def studied_units(project: Project) -> QuerySet[Unit]:
    """The project's units a researcher may open now: consenting authors, not deleted."""
    allowed = list(consent.consents(project.group_id))
    return (
        Unit.objects.filter(
            project=project,
            message__sender_id__in=allowed,
            message__status__in=STUDIED,
            message__deleted_at__isnull=True,
        )
        .select_related("message")
        .order_by("position")
    )


def pseudonyms(project: Project, user_ids: Iterable[int]) -> dict[int, str]:
    """Each member's label in the project, numbering newcomers in the order given."""
    wanted = list(dict.fromkeys(user_ids))
    known = dict(
        Participant.objects.filter(project=project, user_id__in=wanted).values_list(
            "user_id", "number"
        )
    )
    missing = [u for u in wanted if u not in known]
    for _attempt in range(3):
        if not missing:
            break
        try:
            with transaction.atomic():
                top = Participant.objects.filter(project=project).aggregate(n=Max("number"))["n"]
                start = (top or 0) + 1
                Participant.objects.bulk_create(
                    Participant(project=project, user_id=u, number=start + i)
                    for i, u in enumerate(missing)
                )
            known.update({u: start + i for i, u in enumerate(missing)})
            missing = []
        except IntegrityError:  # another request numbered someone at the same moment
            known.update(
                Participant.objects.filter(project=project, user_id__in=missing).values_list(
                    "user_id", "number"
                )
            )
            missing = [u for u in wanted if u not in known]
    return {u: f"P{n:03d}" for u, n in known.items()}


def _names(project: Project, labels: dict[int, str]) -> tuple[dict[str, str], list[str]]:
    """Every name by which the group's people may appear in text, with its replacement, and
    the hospitals members gave in their profiles."""
    people = set(
        Membership.objects.filter(group_id=project.group_id).values_list("user_id", flat=True)
    ) | set(
        ImportedPerson.objects.filter(group_id=project.group_id).values_list("user_id", flat=True)
    )
    names: dict[str, str] = {}

    def add(name: str, tag: str) -> None:
        # "芳姐 Fang" is also written "Fang": each word of a name is a name too (the
        # redactor replaces very short ones only after "@").
        for part in [name, *name.split()]:
            if part and not part.startswith("imported-"):
                names.setdefault(part, tag)

    for uid, username, display in User.objects.filter(pk__in=people).values_list(
        "pk", "username", "display_name"
    ):
        add(display, labels.get(uid, "[member]"))
        add(username, labels.get(uid, "[member]"))
    for name, uid in ImportedPerson.objects.filter(group_id=project.group_id).values_list(
        "name", "claimed_by_id"
    ):
        add(name, labels.get(uid or 0, "[member]"))
    hospitals = [
        p.hospital
        for p in Profile.objects.filter(user_id__in=people).only("hospital")
        if p.hospital
    ]
    return names, hospitals


@dataclass
class Row:
    """One unit as a researcher sees it."""

    unit: int
    position: int
    message: int
    author: str
    at: datetime
    kind: str
    history: bool
    text: str
    reply_to: int | None  # the replied-to message's id, if the coder may see it
    reply_text: str = ""
    codes: dict[int, frozenset[str]] = field(default_factory=dict)  # coder id -> keys


def rows(project: Project, units: Iterable[Unit]) -> list[Row]:
    """The units, pseudonymised and redacted, with the message each replies to when its
    author consents too."""
    units = list(units)
    allowed = consent.consents(project.group_id)
    parents = {
        m.pk: m
        for m in Message.objects.filter(
            pk__in=[u.message.reply_to_id for u in units if u.message.reply_to_id],
            sender_id__in=list(allowed),
            status__in=STUDIED,
            deleted_at__isnull=True,
        )
    }
    labels = pseudonyms(
        project,
        [m.sender_id for m in [u.message for u in units] + list(parents.values()) if m.sender_id],
    )
    names, hospitals = _names(project, labels)
    out = []
    for u in units:
        m = u.message
        parent = parents.get(m.reply_to_id or 0)
        out.append(
            Row(
                unit=u.pk,
                position=u.position,
                message=m.pk,
                author=labels.get(m.sender_id or 0, "[member]"),
                at=m.created_at,
                kind=m.kind,
                history=m.status == Message.Status.HISTORY,
                text=redact(m.text, names, hospitals),
                reply_to=parent.pk if parent else None,
                reply_text=redact(parent.text, names, hospitals) if parent else "",
            )
        )
    return out


def eligible_messages(project: Project) -> Q:
    """The filter a new sample is drawn with (see actions.do_sample)."""
    allowed = list(consent.consents(project.group_id))
    return Q(
        group_id=project.group_id,
        sender_id__in=allowed,
        status__in=STUDIED,
        deleted_at__isnull=True,
    ) & ~Q(text="")
