"""Research with consent: members choose, leaders grant projects, researchers code
pseudonymised and redacted messages of consenting members only, and the export holds
nothing a member did not allow."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from itertools import count
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tongzhou.accounts.models import Profile, User
from tongzhou.chat import actions as chat
from tongzhou.chat.models import Message
from tongzhou.groups import actions as group_actions
from tongzhou.groups.models import Membership
from tongzhou.insight import actions, coded, stats
from tongzhou.insight.models import Coding, Export, Project, ResearchConsent, Unit

from .conftest import World, make_user

pytestmark = pytest.mark.django_db
_ids = count()


def say(user: User | None, world: World, text: str, **kw: Any) -> int:
    assert user is not None
    msg, _new = chat.do_send_message(
        user,
        world.group.pk,
        client_id=f"c{next(_ids)}",
        text=text,
        confirm_personal_data=True,
        **kw,
    )
    return int(msg["id"])


def consent(user: User | None, world: World, **kw: bool) -> None:
    assert user is not None
    actions.do_decide_consent(
        user,
        world.group.pk,
        messages=kw.get("messages", True),
        health=kw.get("health", False),
        quotes=kw.get("quotes", False),
    )


def project_for(world: World, researcher: str = "outsider") -> Project:
    leader = world.users["leader"]
    assert leader is not None
    p = actions.do_create_project(
        leader,
        world.group.pk,
        title="Support in NPC groups",
        purpose="How members support each other after radiotherapy.",
        ends_on=timezone.localdate() + dt.timedelta(days=90),
    )
    actions.do_grant(leader, p, world.users[researcher].username)  # type: ignore[union-attr]
    return p


def researcher_client(world: World, who: str = "outsider") -> Client:
    return world.client(who)


def unzip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name).decode() for name in z.namelist()}


def test_consent_is_off_until_ticked_and_kept_as_a_history(world: World) -> None:
    c = world.client("member")
    page = c.get(f"/groups/{world.group.pk}/research/")
    assert page.status_code == 200
    assert "Researchers who study" in page.content.decode()  # the shipped text
    assert "Now: no (you have not chosen)." in page.content.decode()
    r = c.post(f"/groups/{world.group.pk}/research/", {"messages": "on"})
    assert r.status_code == 302
    r = c.post(f"/groups/{world.group.pk}/research/", {"health": "on"}, follow=True)
    assert "only be shared together with your messages" in r.content.decode()
    rows = list(ResearchConsent.objects.filter(user=world.users["member"]).order_by("id"))
    assert [(x.messages, x.health, x.quotes) for x in rows] == [(True, False, False)]
    c.post(f"/groups/{world.group.pk}/research/", {})
    assert ResearchConsent.objects.filter(user=world.users["member"]).count() == 2
    page = c.get(f"/groups/{world.group.pk}/research/").content.decode()
    assert "Now: no, since" in page


def test_members_see_who_has_research_access(world: World) -> None:
    p = project_for(world)
    page = world.client("member").get(f"/groups/{world.group.pk}/research/").content.decode()
    assert p.title in page and p.purpose in page
    assert world.users["outsider"].display_name in page  # type: ignore[union-attr]


def test_a_new_consent_text_is_a_version_and_asks_again(world: World) -> None:
    consent(world.users["member"], world)
    leader = world.client("leader")
    r = leader.post(
        f"/groups/{world.group.pk}/research/projects/",
        {"action": "text", "text": "Our own words about research, long enough to be read."},
    )
    assert r.status_code == 302
    page = world.client("member").get(f"/groups/{world.group.pk}/research/").content.decode()
    assert "Our own words about research" in page
    assert "The text has changed since you said yes" in page
    too_short = leader.post(
        f"/groups/{world.group.pk}/research/projects/",
        {"action": "text", "text": "ok"},
        follow=True,
    )
    assert "at least 40 characters" in too_short.content.decode()


def test_project_needs_purpose_and_a_future_end(world: World) -> None:
    leader = world.client("leader")
    url = f"/groups/{world.group.pk}/research/projects/"
    r = leader.post(url, {"title": "T", "purpose": "short", "ends_on": "2030-01-01"}, follow=True)
    assert "purpose in 20 to 2,000 characters" in r.content.decode()
    past = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    r = leader.post(url, {"title": "T", "purpose": "x" * 30, "ends_on": past}, follow=True)
    assert "between today and 3 years" in r.content.decode()
    assert not Project.objects.exists()
    r = leader.post(url, {"title": "T", "purpose": "x" * 30, "ends_on": "2099-01-01"}, follow=True)
    assert not Project.objects.exists()


def test_researchers_see_only_consenting_members_pseudonymised(world: World) -> None:
    member, moderator, leader = (world.users[r] for r in ("member", "moderator", "leader"))
    consent(member, world)
    consent(leader, world)
    say(member, world, "Moderator told me to drink more water, it helped")
    say(moderator, world, "SECRET-OF-A-MEMBER-WHO-SAID-NO")
    say(leader, world, "Welcome Member, glad you are here")
    p = project_for(world)
    actions.do_sample(world.users["outsider"], p, size=50)  # type: ignore[arg-type]
    assert Unit.objects.filter(project=p).count() == 2
    c = researcher_client(world)
    seen = "".join(
        c.get(f"/research/{p.pk}/code/?unit={u.pk}&show=all").content.decode()
        for u in Unit.objects.filter(project=p)
    )
    api = c.get(f"/api/v1/research/projects/{p.pk}/units?show=all").json()
    texts = [u["text"] for u in api["units"]]
    assert len(texts) == 2
    assert "SECRET-OF-A-MEMBER-WHO-SAID-NO" not in json.dumps(api) + seen
    # Names inside text become the consenting member's pseudonym, others a tag.
    authors = {u["author"] for u in api["units"]}
    assert authors <= {"P001", "P002"}
    assert any("[member]" in t or "[name]" in t for t in texts)
    assert not any("Moderator" in t or "Member," in t for t in texts)
    # Stable: asking again gives the same labels.
    again = c.get(f"/api/v1/research/projects/{p.pk}/units?show=all").json()
    assert [u["author"] for u in again["units"]] == [u["author"] for u in api["units"]]


def test_a_revoked_member_vanishes_from_coding_and_export(world: World) -> None:
    member, leader = world.users["member"], world.users["leader"]
    consent(member, world)
    consent(leader, world)
    say(member, world, "REVOKE-CANARY my scan was clear")
    say(leader, world, "So glad to hear it")
    p = project_for(world)
    actions.do_sample(world.users["outsider"], p, size=10)  # type: ignore[arg-type]
    c = researcher_client(world)
    assert "REVOKE-CANARY" in json.dumps(c.get(f"/api/v1/research/projects/{p.pk}/units").json())
    unit = Unit.objects.get(project=p, message__text__startswith="REVOKE")
    r = c.put(
        f"/api/v1/research/projects/{p.pk}/units/{unit.pk}/codes",
        {"codes": ["efficacy.mastery"]},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    consent(member, world, messages=False)
    assert "REVOKE-CANARY" not in json.dumps(
        c.get(f"/api/v1/research/projects/{p.pk}/units").json()
    )
    assert "REVOKE-CANARY" not in c.get(f"/research/{p.pk}/code/?show=all").content.decode()
    r = c.put(
        f"/api/v1/research/projects/{p.pk}/units/{unit.pk}/codes",
        {"codes": []},
        content_type="application/json",
    )
    assert r.status_code == 404
    for fmt in ("csv", "jsonl"):
        data = c.post(f"/research/{p.pk}/export/", {"format": fmt}).content
        assert "REVOKE-CANARY" not in "".join(unzip(data).values())


def test_leaving_the_group_ends_consent(world: World) -> None:
    member = world.users["member"]
    consent(member, world)
    say(member, world, "LEFT-CANARY")
    p = project_for(world)
    membership = Membership.objects.get(group=world.group, user=member)
    lm = Membership.objects.get(group=world.group, user=world.users["leader"])
    group_actions.do_remove_member(lm, membership)
    assert actions.do_sample(world.users["outsider"], p, size=10) == 0  # type: ignore[arg-type]


def test_each_word_of_a_name_is_taken_out_too(world: World) -> None:
    member, leader = world.users["member"], world.users["leader"]
    assert member is not None and leader is not None
    User.objects.filter(pk=leader.pk).update(display_name="芳姐 Fang")
    consent(member, world)
    say(member, world, "Welcome Fang! 芳姐 you will be fine")
    p = project_for(world)
    actions.do_sample(world.users["outsider"], p, size=5)  # type: ignore[arg-type]
    [unit] = researcher_client(world).get(f"/api/v1/research/projects/{p.pk}/units").json()["units"]
    assert "Fang" not in unit["text"] and "芳姐" not in unit["text"]
    assert unit["text"] == "Welcome [member]! [member] you will be fine"


def test_export_carries_no_canary_and_marks_quotes(world: World) -> None:
    member, leader = world.users["member"], world.users["leader"]
    assert member is not None and leader is not None
    Profile.objects.filter(user=member).update(hospital="Canary Valley Hospital")
    consent(member, world, quotes=True)
    consent(leader, world)
    canaries = [
        "13812345678",
        "canary.person@example.org",
        world.users["moderator"].display_name,  # type: ignore[union-attr]
        member.username,
        "Canary Valley Hospital",
        "北京协和医院",
    ]
    say(member, world, f"Call me on 138 1234 5678 or write to {canaries[1]}")
    # Contact details wait for a moderator (safety); say one approved it.
    Message.objects.filter(text__startswith="Call me").update(status=Message.Status.VISIBLE)
    say(member, world, f"{canaries[2]} and {member.username} were treated at {canaries[4]}")
    say(leader, world, "我在北京协和医院做的放疗，效果很好")
    p = project_for(world)
    actions.do_sample(world.users["outsider"], p, size=10)  # type: ignore[arg-type]
    c = researcher_client(world)
    for fmt in ("csv", "jsonl"):
        r = c.post(f"/research/{p.pk}/export/", {"format": fmt})
        assert r.status_code == 200
        assert r["Content-Type"] == "application/zip"
        files = unzip(r.content)
        everything = "".join(files.values())
        for canary in canaries:
            assert canary not in everything, (fmt, canary)
        assert "1234" not in everything.replace("unit", "")
        assert "[hospital]" in everything and "[phone]" in everything, files.get(
            "messages.csv", files.get("messages.jsonl")
        )
        if fmt == "jsonl":
            rows = [json.loads(line) for line in files["messages.jsonl"].splitlines()]
            quotes = {row["author"]: row["quote_allowed"] for row in rows}
            members = [json.loads(x) for x in files["members.jsonl"].splitlines()]
        else:
            rows = list(csv.DictReader(io.StringIO(files["messages.csv"])))
            quotes = {row["author"]: row["quote_allowed"] == "True" for row in rows}
            members = list(csv.DictReader(io.StringIO(files["members.csv"])))
        assert sorted(quotes.values()) == [False, True]
        assert len(members) == 2
        assert {"codebook.csv", "agreement.json", "README.json"} & set(files)
    assert Export.objects.filter(project=p).count() == 2
    page = world.client("leader").get(f"/groups/{world.group.pk}/research/projects/{p.pk}/")
    assert "CSV" in page.content.decode() and "JSONL" in page.content.decode()


def test_health_details_only_with_their_consent_and_in_groups_of_five(world: World) -> None:
    leader = world.users["leader"]
    assert leader is not None
    people = [make_user(f"patient{i}") for i in range(7)]
    for i, u in enumerate(people):
        app = group_actions.do_apply(u, world.group, role="patient")
        group_actions.do_decide(leader, app, approve=True)
        Profile.objects.filter(user=u).update(
            cancer_type="鼻咽癌" if i < 6 else "Rare sarcoma",
            stage=["II", "III", "IIIA", "IV", "II", "III", "IV"][i],
            diagnosis_year=2019 + i,
        )
        consent(u, world, health=i != 0)
        say(u, world, f"message from patient {i}")
    p = project_for(world)
    actions.do_sample(world.users["outsider"], p, size=50)  # type: ignore[arg-type]
    files = unzip(
        researcher_client(world).post(f"/research/{p.pk}/export/", {"format": "jsonl"}).content
    )
    members = [json.loads(x) for x in files["members.jsonl"].splitlines()]
    attributes = [json.loads(x) for x in files["attributes.jsonl"].splitlines()]
    assert len(members) == 7
    assert sum(m["health_shared"] for m in members) == len(attributes) <= 6
    combos: dict[tuple[Any, ...], int] = {}
    for row in attributes:
        key = tuple(
            row[k] for k in ("role", "cancer_type", "stage", "phase", "region", "diagnosis_year")
        )
        combos[key] = combos.get(key, 0) + 1
    assert all(n >= 5 for n in combos.values()), combos
    assert "Rare sarcoma" not in json.dumps(attributes)
    shared = {m["pseudonym"] for m in members if m["health_shared"]}
    assert {a["pseudonym"] for a in attributes} == shared


def test_two_coders_independently_then_agreement_and_settling(world: World) -> None:
    member, leader = world.users["member"], world.users["leader"]
    consent(member, world)
    consent(leader, world)
    for text in ("How do I cope with dry mouth?", "Drink water often", "You can do it!", "Me too"):
        say(member, world, text)
    p = project_for(world)
    second = make_user("coder2")
    actions.do_grant(leader, p, "coder2")  # type: ignore[arg-type]
    actions.do_sample(world.users["outsider"], p, size=10)  # type: ignore[arg-type]
    units = list(Unit.objects.filter(project=p).order_by("position"))
    one, two = researcher_client(world), Client()
    two.force_login(second)
    plan_one = [
        ["qa.question"],
        ["support.informational", "qa.answer"],
        ["efficacy.persuasion"],
        [],
    ]
    plan_two = [["qa.question"], ["support.informational"], ["support.emotional"], []]
    for c, plan in ((one, plan_one), (two, plan_two)):
        for unit, codes in zip(units, plan, strict=True):
            r = c.post(
                f"/research/{p.pk}/code/",
                {"unit": unit.pk, "codes": codes, "position": unit.position},
            )
            assert r.status_code == 302
    # Each coder's own view shows only their own ticks.
    page = two.get(f"/research/{p.pk}/code/?show=mine&unit={units[2].pk}").content.decode()
    assert 'value="support.emotional" data-key' in page and "checked" in page
    assert 'value="efficacy.persuasion" data-key="8" checked' not in page
    ratings = coded.ratings(p, [u.pk for u in units])
    keys = list(p.codes.values_list("key", flat=True))
    report = stats.agreement(ratings, keys)
    page = one.get(f"/research/{p.pk}/agreement/").content.decode()
    assert f"{report.alpha:.3f}" in page
    assert "C1 · C2" in page
    dis = one.get(f"/research/{p.pk}/disagreements/").content.decode()
    assert "Drink water often" in dis and "You can do it!" in dis
    assert "How do I cope" not in dis  # both coded it the same
    r = one.post(
        f"/research/{p.pk}/disagreements/", {"unit": units[2].pk, "codes": ["efficacy.persuasion"]}
    )
    assert r.status_code == 302
    assert "You can do it!" not in one.get(f"/research/{p.pk}/disagreements/").content.decode()
    rows = [
        json.loads(x)
        for x in unzip(one.post(f"/research/{p.pk}/export/", {"format": "jsonl"}).content)[
            "messages.jsonl"
        ].splitlines()
    ]
    by_text = {r["text"]: r for r in rows}
    assert by_text["You can do it!"]["agreed"] == ["efficacy.persuasion"]
    assert by_text["Drink water often"]["codes"] == {
        "C1": ["qa.answer", "support.informational"],
        "C2": ["support.informational"],
    }


def test_suggestions_are_shown_never_applied(world: World) -> None:
    member = world.users["member"]
    consent(member, world)
    for i in range(12):
        say(member, world, f"请问放疗后口干怎么办 {i}？" if i % 2 else f"多喝水，慢慢会好的 {i}")
    p = project_for(world)
    actions.do_sample(world.users["outsider"], p, size=12)  # type: ignore[arg-type]
    c = researcher_client(world)
    units = list(Unit.objects.filter(project=p).order_by("position"))
    for u in units[:8]:
        codes = ["qa.question"] if "请问" in u.message.text else ["qa.answer"]
        c.post(f"/research/{p.pk}/code/", {"unit": u.pk, "codes": codes, "position": u.position})
    before = Coding.objects.count()
    r = c.post(f"/research/{p.pk}/suggestions/", follow=True)
    assert r.status_code == 200
    assert Coding.objects.count() == before
    page = r.content.decode()
    assert "too few examples" in page  # most codes have no examples yet


def test_an_ended_project_says_so_and_a_revoked_researcher_gets_nothing(world: World) -> None:
    p = project_for(world)
    c = researcher_client(world)
    assert c.get(f"/research/{p.pk}/").status_code == 200
    Project.objects.filter(pk=p.pk).update(ends_on=timezone.localdate() - dt.timedelta(days=1))
    r = c.get(f"/research/{p.pk}/")
    assert r.status_code == 403 and "This project ended on" in r.content.decode()
    Project.objects.filter(pk=p.pk).update(ends_on=timezone.localdate() + dt.timedelta(days=1))
    grant = p.researchers.get()
    world.client("leader").post(
        f"/groups/{world.group.pk}/research/projects/{p.pk}/",
        {"action": "revoke", "researcher": grant.pk},
    )
    assert c.get(f"/research/{p.pk}/").status_code == 404
    assert c.get("/api/v1/research/projects").json() == {"projects": []}


def test_grant_needs_an_existing_account(world: World) -> None:
    p = project_for(world)
    r = world.client("leader").post(
        f"/groups/{world.group.pk}/research/projects/{p.pk}/",
        {"action": "grant", "username": "nobody-here"},
        follow=True,
    )
    assert "There is no account with that user name" in r.content.decode()


def test_researchers_need_two_step_sign_in_where_staff_do(world: World, settings: Any) -> None:
    p = project_for(world)
    settings.REQUIRE_2FA_FOR_STAFF = True
    r = researcher_client(world).get(f"/research/{p.pk}/")
    assert r.status_code == 403
    assert "asks researchers to use two-step sign-in" in r.content.decode()


def test_the_api_says_what_it_takes(world: World) -> None:
    p = project_for(world)
    c = researcher_client(world)
    r = c.get(f"/api/v1/research/projects/{p.pk}/units?show=everything")
    assert r.status_code == 400 and "all, todo or mine" in r.json()["error"]["message"]
    r = c.post(
        f"/api/v1/research/projects/{p.pk}/export",
        {"format": "xlsx"},
        content_type="application/json",
    )
    assert r.status_code == 400 and "csv or jsonl" in r.json()["error"]["message"]
