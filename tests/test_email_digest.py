"""The e-mail digest end to end, through a real SMTP server on 127.0.0.1: confirming the
address, what a digest tells and leaves out, when nothing is sent, and retries."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tongzhou.chat.models import Message
from tongzhou.notify.models import EmailSettings, Notification
from tongzhou.tasks import run_pending, run_periodic

from .conftest import World, build_world, free_port

pytestmark = pytest.mark.django_db(transaction=True)  # the worker commits, as in production

SITE = "https://tz.example.org"
FROM = "tongzhou@localhost"


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) that keeps what it is sent; it can be stopped and started
    again on the same port."""

    port: int
    envelopes: list[Envelope] = field(default_factory=list)
    controller: Controller | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    refuse_recipients: bool = False  # as a relay does for a mailbox it does not know

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_recipients:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def take(self) -> list[Mail]:
        """Everything received since the last take, oldest first."""
        with self.lock:
            got, self.envelopes = self.envelopes, []
        return [Mail(e) for e in got]


class Mail:
    def __init__(self, envelope: Envelope) -> None:
        self.sender = envelope.mail_from
        self.to = list(envelope.rcpt_tos)
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        self.message = cast(EmailMessage, message_from_bytes(raw, policy=policy.default))

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, kind: str) -> str:
        body = self.message.get_body(preferencelist=(kind,))
        if body is None or body.get_content_subtype() != kind:
            return ""
        return str(cast(EmailMessage, body).get_content())

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")


@pytest.fixture
def smtp(settings: Any) -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    box.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = box.port
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = SITE
    settings.DEFAULT_FROM_EMAIL = FROM
    yield box
    box.stop()


@pytest.fixture
def world(transactional_db: Any) -> World:
    return build_world()


@dataclass
class Clock:
    offset: timedelta = timedelta(0)

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """timezone.now() moved forward on request (the digest and the task queue read it)."""
    real = timezone.now
    c = Clock()
    monkeypatch.setattr(timezone, "now", lambda: real() + c.offset)
    return c


def address(role: str) -> str:
    return f"{role}.tz@example.org"


def save_settings(world: World, role: str, language: str = "en", **fields: str) -> Any:
    """The settings page, as the member fills it in (checkboxes "on" or left out)."""
    form = {"email": address(role), "digest": "hourly", "quiet_start": "", "quiet_end": ""}
    form.update(fields)
    form = {k: v for k, v in form.items() if v is not None}
    r = world.client(role).post(
        "/notifications/settings/", form, HTTP_ACCEPT_LANGUAGE=language, follow=False
    )
    assert r.status_code == 302, r.content.decode()
    return r


def confirm_path(mail: Mail) -> str:
    found = re.search(re.escape(SITE) + r"(/notifications/confirm/[\w-]+/)", mail.text)
    assert found, mail.text
    return found.group(1)


def subscribe(
    world: World, smtp: Mailbox, role: str = "member", language: str = "en", **fields: str
) -> None:
    """Set an address and confirm it from the mailed link, the way a member does."""
    save_settings(world, role, language, **fields)
    run_pending()
    [mail] = smtp.take()
    r = world.client(role).post(confirm_path(mail))
    assert r.status_code == 302
    assert EmailSettings.objects.get(user=world.users[role]).email_confirmed


def say(
    world: World, role: str, text: str, *, kind: str = "text", reply_to: int | None = None, cid: str
) -> int:
    gid = world.other_group.pk if role == "outsider" else world.group.pk
    r = world.client(role).post(
        f"/api/v1/groups/{gid}/messages",
        {"client_id": cid, "text": text, "kind": kind, "reply_to": reply_to},
        content_type="application/json",
    )
    assert r.status_code == 201, r.json()
    return int(r.json()["id"])


def permalink(world: World, mid: int) -> str:
    return f"{SITE}{reverse('groups:chat', args=[world.group.pk])}?m={mid}"


def tasks(name: str) -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path__endswith=name).order_by("enqueued_at"))


def digest_tasks() -> list[DBTaskResult]:
    return tasks("send_digest")


def deliver() -> None:
    """One turn of the worker loop: the periodic jobs, then the queue."""
    run_periodic()
    run_pending()


# --- the address


def test_a_new_address_is_confirmed_by_the_button_not_by_opening_the_link(
    world: World, smtp: Mailbox
) -> None:
    save_settings(world, "member")
    assert smtp.take() == []  # the mail is a task; the page did not wait for SMTP

    run_pending()

    [mail] = smtp.take()
    assert (mail.sender, mail.to) == (FROM, [address("member")])
    assert mail.subject == "Tongzhou: please confirm your e-mail address"
    assert "Hello Member," in mail.text
    path = confirm_path(mail)
    me = world.client("member")
    state = lambda: me.get("/api/v1/me/email-settings").json()  # noqa: E731
    assert state()["email_confirmed"] is False

    # Mail scanners and link previews open links: a GET only shows the button.
    page = me.get(path)
    assert page.status_code == 200
    assert 'method="post"' in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0")
    assert state()["email_confirmed"] is False
    assert world.client("anonymous").post(path).status_code == 302  # to the sign-in page
    assert world.client("leader").post(path).status_code == 302  # someone else's link
    assert state()["email_confirmed"] is False
    assert not EmailSettings.objects.filter(user=world.users["leader"], email_confirmed=True)

    r = me.post(path)

    assert r.status_code == 302 and r["Location"] == reverse("notify:settings")
    assert state()["email_confirmed"] is True
    me.post(path)  # used up: a second press changes nothing and sends nothing
    assert state()["email_confirmed"] is True
    assert smtp.take() == []


# --- what a digest says


def test_a_digest_of_mentions_and_replies_with_permalinks_and_no_words(
    world: World, smtp: Mailbox
) -> None:
    subscribe(world, smtp, include_questions="on")
    mine = say(world, "member", "下周开始第一次放疗，有点紧张", cid="m1")
    reply = say(world, "moderator", "别担心，记得多喝水", reply_to=mine, cid="r1")
    mention = say(world, "leader", "@Member 白细胞低的话要打升白针吗", cid="l1")
    run_pending()
    assert smtp.take() == []  # nothing until the periodic job finds it due

    deliver()

    [mail] = smtp.take()
    assert mail.to == [address("member")]
    assert mail.subject == "Tongzhou: 2 mentions and replies"
    for body in (mail.text, mail.html):
        assert "Hello Member," in body
        assert "Leader mentioned you in NPC group" in body
        assert "Moderator replied to you in NPC group" in body
        assert permalink(world, mention) in body and permalink(world, reply) in body
        for words in ("白细胞", "升白针", "多喝水", "放疗"):
            assert words not in body
    assert f"{SITE}/notifications/settings/" in mail.text
    # The permalink opens the group's page for the member.
    assert (
        world.client("member").get(permalink(world, mention).removeprefix(SITE)).status_code == 200
    )
    assert set(Notification.objects.values_list("emailed_at", flat=True)) != {None}

    deliver()
    assert smtp.take() == []  # each mention is mailed once


def test_the_words_are_included_only_when_asked_for_and_stay_escaped(
    world: World, smtp: Mailbox
) -> None:
    subscribe(world, smtp, include_text="on")
    say(world, "leader", "@Member 化疗第三天 <img src=x onerror=alert(1)> 还好吗", cid="l1")

    deliver()

    [mail] = smtp.take()
    assert "化疗第三天 <img src=x onerror=alert(1)> 还好吗" in mail.text
    assert "化疗第三天 &lt;img src=x onerror=alert(1)&gt; 还好吗" in mail.html
    assert "<img" not in mail.html


@pytest.mark.parametrize(
    ("language", "expect", "absent"),
    [
        pytest.param(
            "en",
            ["Hello Member,", "Leader mentioned you in NPC group", "Mentions and replies"],
            ["您好", "@了你"],
            id="en",
        ),
        pytest.param(
            "zh-hans",
            ["Member，您好", "Leader 在「NPC group」里@了你", "@我和回复我的"],
            ["Hello", "mentioned you", "Mentions and replies", "Change or turn off"],
            id="zh-hans",
        ),
    ],
)
def test_the_mails_come_in_the_members_language(
    world: World, smtp: Mailbox, language: str, expect: list[str], absent: list[str]
) -> None:
    save_settings(world, "member", language=language)
    run_pending()
    [confirmation] = smtp.take()
    world.client("member").post(confirm_path(confirmation))
    mention = say(world, "leader", "@Member 在吗", cid="l1")

    deliver()

    [mail] = smtp.take()
    assert permalink(world, mention) in mail.text
    for body in (mail.text, mail.html):
        for phrase in expect:
            assert phrase in body, (phrase, body)
        for phrase in absent:
            assert phrase not in body, (phrase, body)
    assert expect[0] in confirmation.text  # the greeting
    for subject in (mail.subject, confirmation.subject):
        cjk = re.search(r"[\u4e00-\u9fff]", subject) is not None
        assert cjk == (language == "zh-hans"), subject


def asked_ago(mid: int, minutes: int) -> None:
    """The question was asked a while back (a question gets ten minutes to be answered in
    the chat before a digest tells of it)."""
    Message.objects.filter(pk=mid).update(created_at=timezone.now() - timedelta(minutes=minutes))


def test_unanswered_questions_are_included_when_asked_for(world: World, smtp: Mailbox) -> None:
    subscribe(world, smtp, include_questions="on")
    waiting = say(world, "leader", "放疗后口干怎么缓解？", kind="question", cid="q1")
    answered = say(world, "moderator", "复查要空腹吗？", kind="question", cid="q2")
    say(world, "leader", "要空腹", reply_to=answered, cid="a2")
    followed_up = say(world, "moderator", "有人用过漱口水吗？", kind="question", cid="q3")
    say(world, "moderator", "补充：医院开的那种", reply_to=followed_up, cid="a3")  # own words
    mine = say(world, "member", "我自己的问题？", kind="question", cid="q4")
    not_a_question = say(world, "leader", "今天天气真好！", cid="t5")  # neither marked nor detected
    elsewhere = say(world, "outsider", "别的群的问题？", kind="question", cid="q6")
    withdrawn = say(world, "leader", "删掉的问题？", kind="question", cid="q7")
    world.client("leader").delete(f"/api/v1/groups/{world.group.pk}/messages/{withdrawn}")
    for mid in (waiting, answered, followed_up, mine, not_a_question, elsewhere, withdrawn):
        asked_ago(mid, 30)
    fresh = say(world, "leader", "刚问的问题？", kind="question", cid="q8")  # may get answered

    deliver()

    [mail] = smtp.take()
    assert mail.subject == "Tongzhou: 2 questions waiting for an answer"
    assert "Questions waiting for an answer" in mail.text
    assert "Leader asked in NPC group" in mail.text
    assert "Moderator asked in NPC group" in mail.text
    included = {int(m) for m in re.findall(r"\?m=(\d+)", mail.text)}
    assert included == {waiting, followed_up}
    assert fresh not in included
    assert "口干" not in mail.text + mail.html  # words only with include_text


def test_questions_are_left_out_when_not_asked_for(world: World, smtp: Mailbox) -> None:
    subscribe(world, smtp)  # the checkbox left empty
    asked_ago(say(world, "leader", "有人知道吗？", kind="question", cid="q1"), 30)

    deliver()

    assert smtp.take() == []
    assert digest_tasks() == []


# --- when nothing is sent


def quiet_around_now(minutes: int = 60) -> dict[str, str]:
    now = timezone.localtime()
    return {
        "quiet_start": (now - timedelta(minutes=minutes)).strftime("%H:%M"),
        "quiet_end": (now + timedelta(minutes=minutes)).strftime("%H:%M"),
    }


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
def test_nothing_is_sent_in_quiet_hours_and_it_comes_after(
    world: World, smtp: Mailbox, clock: Clock, settings: Any, zone: str
) -> None:
    settings.TIME_ZONE = zone  # quiet hours are wall-clock times where the server is
    subscribe(world, smtp, **quiet_around_now())
    say(world, "leader", "@Member 明天见", cid="l1")

    deliver()

    assert smtp.take() == []
    assert digest_tasks() == []
    clock.advance(hours=2)  # the quiet hours are over
    deliver()
    [mail] = smtp.take()
    assert "Leader mentioned you in NPC group" in mail.text


def test_a_digest_waiting_in_the_queue_when_quiet_hours_begin_waits_for_them_to_end(
    world: World, smtp: Mailbox, clock: Clock
) -> None:
    subscribe(world, smtp)
    say(world, "leader", "@Member 明天见", cid="l1")
    run_periodic()  # queued, and the worker is busy (or the SMTP server slow) for a while
    assert len(digest_tasks()) == 1
    save_settings(world, "member", **quiet_around_now())

    run_pending()

    assert smtp.take() == []
    assert EmailSettings.objects.get(user=world.users["member"]).queued_at is None
    clock.advance(hours=2)
    deliver()
    [mail] = smtp.take()
    assert "Leader mentioned you in NPC group" in mail.text


def test_nothing_goes_to_an_unconfirmed_address_or_with_the_digest_off(
    world: World, smtp: Mailbox
) -> None:
    subscribe(world, smtp, "moderator", digest="off")
    subscribe(world, smtp, "leader")
    save_settings(world, "leader", email="new.address@example.org")  # confirmed no more
    save_settings(world, "member")  # never confirmed
    run_pending()
    confirmations = smtp.take()
    assert sorted(m.to[0] for m in confirmations) == [address("member"), "new.address@example.org"]
    for role in ("leader", "moderator"):
        say(world, role, "@Member 在吗", cid=f"{role}1")
    say(world, "member", "@Moderator @Leader 在", cid="m1")

    deliver()

    assert smtp.take() == []
    assert digest_tasks() == []
    assert Notification.objects.filter(emailed_at__isnull=False).count() == 0


def test_an_hourly_digest_comes_at_most_once_an_hour(
    world: World, smtp: Mailbox, clock: Clock
) -> None:
    subscribe(world, smtp)
    first = say(world, "leader", "@Member 早", cid="l1")
    deliver()
    assert len(smtp.take()) == 1
    second = say(world, "moderator", "@Member 晚上好", cid="m1")

    clock.advance(minutes=30)
    deliver()
    assert smtp.take() == []
    clock.advance(minutes=31)
    deliver()

    [mail] = smtp.take()
    assert mail.subject == "Tongzhou: 1 mention or reply"
    assert permalink(world, second) in mail.text and permalink(world, first) not in mail.text


def test_nothing_from_a_group_the_member_was_removed_from(world: World, smtp: Mailbox) -> None:
    from tongzhou.groups.actions import do_remove_member
    from tongzhou.groups.models import Membership

    subscribe(world, smtp, "moderator", include_text="on")
    say(world, "leader", "@Moderator 这周的值班", cid="l1")
    asked_ago(say(world, "member", "谁知道挂号的事？", kind="question", cid="q1"), 30)
    leader = Membership.objects.get(group=world.group, user=world.users["leader"])
    do_remove_member(
        leader, Membership.objects.get(group=world.group, user=world.users["moderator"])
    )

    deliver()

    assert smtp.take() == []


def test_a_mention_read_in_the_app_is_not_mailed(world: World, smtp: Mailbox) -> None:
    subscribe(world, smtp)
    say(world, "leader", "@Member 在吗", cid="l1")
    r = world.client("member").post(
        "/api/v1/notifications/read", {"ids": None}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["unread"] == 0

    deliver()

    assert smtp.take() == []


# --- when the SMTP server is down


def records(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the product logged (the test's own SMTP server's log is not ours)."""
    return "\n".join(
        f"{r.getMessage()}\n{r.exc_text or ''}"
        for r in caplog.records
        if not r.name.startswith("mail.log")
    )


def test_a_failed_send_is_retried_later_and_arrives_once_the_server_is_back(
    world: World, smtp: Mailbox, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    subscribe(world, smtp, include_text="on")
    for name in ("", "tongzhou", "django_tasks", "django_tasks_db"):
        caplog.set_level(logging.DEBUG, logger=name)
    words = "我的病理报告显示淋巴转移"
    mention = say(world, "leader", f"@Member {words}", cid="l1")
    smtp.stop()

    deliver()

    first, retry = digest_tasks()
    assert first.status == "SUCCESSFUL" and first.return_value == "retry"
    assert retry.status == "READY" and retry.args_kwargs["args"] == [world.users["member"].pk, 2]
    assert retry.run_after > timezone.now() + timedelta(seconds=50)  # about a minute later
    s = EmailSettings.objects.get(user=world.users["member"])
    assert (s.failures, s.last_sent_at) == (1, None) and s.queued_at is not None
    deliver()  # not due yet, and the periodic job does not queue a second one
    assert len(digest_tasks()) == 2 and smtp.take() == []

    smtp.start()
    clock.advance(minutes=2)
    deliver()

    [mail] = smtp.take()
    assert words in mail.text and permalink(world, mention) in mail.text
    s.refresh_from_db()
    assert (s.failures, s.queued_at) == (0, None) and s.last_sent_at is not None
    assert [t.return_value for t in digest_tasks()] == ["retry", "sent"]
    deliver()
    assert smtp.take() == []
    logged = records(caplog)
    assert "not sent (attempt 1)" in logged  # the failure is visible to the operator...
    for secret in (words, "淋巴", address("member")):
        assert secret not in logged  # ...without anyone's words or address


def test_a_confirmation_that_cannot_be_sent_is_retried_and_the_address_is_not_logged(
    world: World, smtp: Mailbox, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("", "tongzhou", "django_tasks", "django_tasks_db"):
        caplog.set_level(logging.DEBUG, logger=name)
    smtp.refuse_recipients = True
    save_settings(world, "member")

    run_pending()

    assert smtp.take() == []
    first, retry = tasks("send_confirmation")
    assert (first.status, first.return_value) == ("SUCCESSFUL", "retry")
    assert retry.status == "READY" and retry.run_after > timezone.now()
    smtp.refuse_recipients = False
    clock.advance(minutes=2)
    run_pending()
    [mail] = smtp.take()
    assert world.client("member").post(confirm_path(mail)).status_code == 302
    assert EmailSettings.objects.get(user=world.users["member"]).email_confirmed
    assert "confirmation for user" in records(caplog)
    # SMTP errors quote the address; the settings keep it encrypted, so must logs and tasks.
    assert address("member") not in records(caplog)
    for task in DBTaskResult.objects.all():
        assert address("member") not in f"{task.traceback}{task.return_value}"


# --- the worker command


def database_url_for_child() -> str:
    """The test database, on whichever engine this run uses, for a child process."""
    d = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{d['NAME']}"
    auth = d["USER"] + (f":{d['PASSWORD']}" if d["PASSWORD"] else "")
    return f"postgres://{auth}@{d['HOST']}:{d['PORT']}/{d['NAME']}"


def test_tongzhou_worker_once_runs_the_periodic_jobs_and_the_queue(
    world: World, smtp: Mailbox
) -> None:
    subscribe(world, smtp)
    mention = say(world, "leader", "@Member 早上好", cid="l1")
    save_settings(world, "moderator")  # a confirmation mail waits in the queue
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DATABASE_URL"))},
        "DATABASE_URL": database_url_for_child(),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "TONGZHOU_SITE_URL": SITE,
        "DEFAULT_FROM_EMAIL": FROM,
    }

    r = subprocess.run(
        [sys.executable, "-m", "tongzhou.cli", "worker", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert r.returncode == 0, r.stdout + r.stderr
    mails = {m.to[0]: m for m in smtp.take()}
    assert set(mails) == {address("member"), address("moderator")}
    assert permalink(world, mention) in mails[address("member")].text
    assert "/notifications/confirm/" in mails[address("moderator")].text
    assert DBTaskResult.objects.exclude(status="SUCCESSFUL").count() == 0


def test_a_banned_account_gets_no_digest(world: World, smtp: Mailbox) -> None:
    from tongzhou.accounts.actions import do_deactivate

    subscribe(world, smtp, include_text="on", include_questions="on")
    say(world, "leader", "@Member 我的复查结果出来了", cid="l1")
    asked_ago(say(world, "moderator", "有人用过这个药吗？", kind="question", cid="q1"), 30)
    run_periodic()  # a digest is queued...
    member = world.users["member"]
    assert member is not None
    do_deactivate(member)  # ...when an operator locks the account out everywhere

    run_pending()
    deliver()

    assert smtp.take() == []
    assert [t.return_value for t in digest_tasks()] == ["off"]
