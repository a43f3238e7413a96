"""The demo group's earlier history: its old WhatsApp chat, imported by the leader the way
the import page does it (upload, read, names checked, import), with what it taught waiting
for review, a member's claim waiting for the leader, and a later export waiting for its
names. Called from tongzhou/demo.py."""

from __future__ import annotations

from typing import Any

from tongzhou.accounts.models import User
from tongzhou.groups.models import Group
from tongzhou.imports import actions
from tongzhou.imports.models import Candidate, ImportedPerson, ImportJob

ZONE = "Asia/Shanghai"
OLD_CHAT = "WhatsApp Chat with 鼻咽癌病友群.txt"
LATER_CHAT = "WhatsApp Chat with 鼻咽癌病友群 (2).txt"

HISTORY = """\
03/05/2023, 08:58 - 老李: 大家早上好！Good morning everyone 🌞
03/05/2023, 09:05 - 王芳: 请问放疗后口干怎么办？晚上总是干醒。Any tips for a dry mouth after radiotherapy?
03/05/2023, 09:07 - 老李: 多喝水，用漱口水，床头放一杯水。我放疗后口干了半年，慢慢会好些。
03/05/2023, 09:12 - 陈大哥: Sip water often and chew sugar-free gum; ask your doctor about a saliva spray.
03/05/2023, 09:15 - 王芳: 谢谢！Thank you both 🙏
10/05/2023, 20:30 - 小林: 我是小白，下周开始放疗，有什么要准备的吗？What should I get ready?
10/05/2023, 20:34 - 老李: 小白别怕！提前看牙医，准备软食和保湿喷雾。See a dentist first.
10/05/2023, 20:40 - 陈大哥: 放疗期间多休息，每周称一次体重。Rest, and weigh yourself every week.
10/05/2023, 20:41 - 小林: <Media omitted>
02/06/2023, 19:00 - 王芳: 今天复查结果都好！My check-up was all clear today 🎉
02/06/2023, 19:03 - 陈大哥: 太好了！又一个小白熬过来了。Well done!
"""
LATER = """\
02/06/2023, 19:03 - 陈大哥: 太好了！又一个小白熬过来了。Well done!
15/06/2023, 08:30 - 小林: 第一周放疗做完了，谢谢大家。First week of radiotherapy done.
15/06/2023, 08:32 - 周医生: 记得每天鼻冲。Remember to rinse your nose every day.
"""
# The names the leader chose for those who are not (yet) members here.
PSEUDONYMS = {"王芳": "芳姐 Fang", "小林": "小林 Lin"}


def _upload(leader: User, group: Group, filename: str, text: str) -> ImportJob:
    job = actions.do_upload(leader, group.pk, filename, text.encode(), fmt="whatsapp", zone=ZONE)
    actions.read_job(job)
    return job


def seed_imports(group: Group, leader: User, claimant: User | None = None) -> ImportJob:
    """Import the group's old chat as `leader`; `claimant` (a member) asks for their messages."""
    job = _upload(leader, group, OLD_CHAT, HISTORY)
    job.pseudonyms = actions.check_pseudonyms(job, dict(PSEUDONYMS))
    job.status = ImportJob.Status.IMPORTING
    job.save(update_fields=["pseudonyms", "status"])
    actions.import_now(job)
    if claimant is not None:
        chen = ImportedPerson.objects.get(group=group, name="陈大哥")
        actions.do_request_claim(claimant, group.pk, chen.pk)
    _upload(leader, group, LATER_CHAT, LATER)
    return job


def ids(group: Group) -> dict[str, Any]:
    """Placeholders of the access matrix's import pages, for tests that open every page: the
    import (done), the later export (read, waiting for its names), a question of the history."""
    jobs = ImportJob.objects.filter(group=group)
    return {
        "ijdid": jobs.get(filename=OLD_CHAT).pk,
        "ijid": jobs.get(filename=LATER_CHAT).pk,
        "ihmid": Candidate.objects.filter(group=group).earliest("id").question_id,
    }
