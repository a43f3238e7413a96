"""Importing a chat history: an 82,389-message WhatsApp export and a WeChat CSV of the same
messages, end to end, and our WhatsApp parser side by side with `whatstk`.

    python bench/imports.py [--quick] [--runs N] [--postgres | --database-url URL]
                            [--out docs/performance.md]

1. Generates (seeded, so every run reads the same bytes) a WhatsApp Android export
   (`12/03/2023, 09:05 - 王 芳: text`) and a WeChatMsg/MemoTrace CSV holding the same
   messages: 150 senders, mostly Chinese with some English, emoji, ~10 % multi-line
   messages, `<Media omitted>`, joins/leaves/renames/recalls, 242 days. Both are checked to
   parse, with our parsers, to exactly the generated messages.
2. The whole import, each file in a fresh data directory (fresh SQLite file, or a fresh
   PostgreSQL database) after `tongzhou migrate` and a group with its leader:
   - `python -m tongzhou.cli import FILE --group G --timezone Asia/Shanghai`, wall time of
     that process (Python and Django start, read and check, import with the suggestions)
     and its peak RSS (os.wait4: the child's own ru_maxrss);
   - a driver process doing what the web pages do (upload → read_job → import_now), with
     the steps timed from outside the product code (its functions wrapped, not changed),
     its peak RSS, and in a separate untimed run the tracemalloc peak.
3. Parse speed against whatstk (PyPI; installed on the first run into bench/.venv-whatstk,
   never a project dependency) on the same WhatsApp file: each side in its own fresh
   process, one cold call then several warm calls, median.

The figures replace the section between the `imports` markers in --out.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV = HERE / ".venv-whatstk"
WHATSTK_SPEC = "whatstk"
START_MARK = "<!-- imports:start -->"
END_MARK = "<!-- imports:end -->"
NOTES_NAME = "imports"
ZONE = "Asia/Shanghai"
MESSAGES = 82_389
DAYS = 242
SENDERS = 150
FIRST_DAY = dt.date(2023, 3, 12)
WHATSAPP_HFORMAT = "%d/%m/%Y, %H:%M - %name:"
GOAL_S = 10.0

# --------------------------------------------------------------------------- the exports

SURNAMES = (
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 高 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 "
    "彭 曾 肖 田 董 潘 袁 蔡 蒋 余 于 杜 叶 程 魏 苏 吕 丁 任 卢 姚 沈 钟 姜 崔 谭 陆 范 汪 廖 "
    "石 金 韦 贾 夏 付 方 邹 熊 白 孟 秦 邱 侯 江 尹 薛 闫 段 雷 龙 黎 史 陶 贺 毛 郝 顾 龚 邵 "
    "万 覃 武 钱 戴 严 欧阳 司马"
).split()
GIVEN = (
    "芳 明 静 丽 强 军 敏 伟 磊 洋 勇 艳 杰 娟 涛 超 霞 平 刚 桂英 秀英 桂兰 建国 志强 海燕 "
    "晓东 丽娟 玉兰 淑珍 建华 红梅 文斌 雪梅 春花 国庆 小红 欣怡 子涵 浩然 思远 雨桐 婉清 "
    "美玲 德明 宏伟 金凤 秋菊 立新 翠萍 慧敏"
).split()
SUFFIXES = ("妈妈", "爸爸", "家属", "(肺癌)", "(乳腺癌二期)", "女儿", "老公", "姐", "哥", "阿姨")
LATIN_NAMES = (
    "Lily Chen", "Grace Wang", "David Liu", "Amy Zhang", "Kevin Huang", "Sophie Lin",
    "Michael Wu", "Jenny 周", "Tony 李", "Cindy", "Annie 王", "Helen Xu",
)  # fmt: skip

DRUGS = (
    "奥希替尼 吉非替尼 埃克替尼 阿来替尼 克唑替尼 安罗替尼 贝伐珠单抗 帕博利珠单抗 信迪利单抗 "
    "卡瑞利珠单抗 替雷利珠单抗 培美曲塞 顺铂 卡铂 紫杉醇 白蛋白紫杉醇 多西他赛 吉西他滨 卡培他滨 "
    "奥沙利铂 伊立替康 来曲唑 他莫昔芬 曲妥珠单抗 帕妥珠单抗 PD-1 K药 O药"
).split()
DRUGS_EN = ("Keytruda", "Tagrisso", "Herceptin", "Avastin", "Opdivo", "Xeloda", "Alecensa")
SYMPTOMS = (
    "恶心 呕吐 掉头发 手脚发麻 口腔溃疡 拉肚子 便秘 乏力 失眠 皮疹 甲沟炎 白细胞低 血小板低 "
    "食欲不振 咳嗽 发烧 腿肿 骨头疼 手足综合征 心慌 头晕"
).split()
TESTS = (
    "CT 增强CT PET-CT 核磁 MRI B超 血常规 肝功能 肾功能 肿瘤标志物 CEA CA125 CA199 基因检测 "
    "骨扫描 穿刺 胃镜 肠镜"
).split()
MARKERS = ("CEA", "CA125", "CA199", "CA153", "NSE", "转氨酶", "肌酐", "白细胞", "血小板")
TREATMENTS = (
    "化疗 放疗 靶向 免疫治疗 手术 PICC置管 输液港 内分泌治疗 打升白针 中药调理 同步放化疗 "
    "腹腔热灌注"
).split()
HOSPITALS = ("肿瘤医院", "协和", "华西", "中山医院", "省人民医院", "市一医院", "胸科医院", "瑞金")
FOODS = ("小米粥", "鸡蛋羹", "鱼汤", "鸽子汤", "山药", "红枣", "蛋白粉", "猕猴桃", "酸奶", "蒸南瓜")
RELATIVES = ("我妈", "我爸", "我老公", "我老婆", "我家老人", "我姐", "我自己", "我婆婆", "我哥")
EMOJI = ("💪", "🙏", "❤️", "😊", "🤗", "👍", "😭", "🌹", "☀️", "🌙", "🤞", "😣", "🎉", "💊", "🏥")

QUESTIONS = (
    "请问{d}吃多久会有{s}的反应？",
    "有没有人{tr}以后{s}的？怎么缓解的？",
    "{p}{t}结果出来了，{m}有点高，要紧吗？",
    "{h}的{tr}需要提前多久预约？",
    "{s}厉害的话，可以吃点什么？",
    "大家{tr}期间都吃些什么？",
    "请问{d}医保能报销吗？",
    "第{n}次{tr}之后{s}正常吗",
    "{t}要空腹吗？",
    "{p}{s}好几天了，要不要去医院看看？",
    "有在{h}看的吗？哪个医生比较好？",
    "{d}和{d2}可以一起用吗？",
    "Has anyone tried {de}? Any side effects?",
    "请问PICC多久维护一次？",
    "{tr}后多久可以复查{t}?",
)
ANSWERS = (
    "我当时也是{s}，医生开了药，大概一周就好了",
    "{s}的话可以试试{f}，{p}吃了感觉好一些",
    "一般{tr}后第三四天最难受，熬过去就好了{e}",
    "建议还是问问主治医生，每个人情况不一样",
    "医保可以报的，要先办特药备案，在医院药房就能拿",
    "{t}不用空腹，{t2}要空腹，早上八点前去",
    "我们在{h}做的，提前一周挂号就行",
    "{d}我吃了{n}个月了，{s}比较明显，其他还好",
    "{m}稍微高一点不要紧，看趋势，下次复查再看看",
    "{s}要跟医生说，别自己硬扛{e}",
    "我{p}也是这样，后来{tr}就好多了",
    "可以先吃点{f}，少食多餐",
    "My mum had the same with {de}, it got better after two weeks",
)
CHATTER = (
    "加油{e}", "抱抱🤗", "谢谢大家🙏", "收到，谢谢！", "好的", "早上好☀️", "晚安🌙", "👍",
    "🙏🙏🙏", "哈哈哈", "大家早上好！今天天气不错{e}", "今天复查结果稳定😊",
    "{p}今天出院了，谢谢大家的关心❤️", "明天{tr}，有点紧张😣", "Good morning everyone 🌞",
    "Thank you all ❤️", "CT scan next Monday, fingers crossed 🤞", "Stable again! 🎉",
    "今天做了{t}，waiting for results 🤞", "谢谢{name}的分享{e}", "同问", "我也想知道",
    "分享一篇文章：https://www.cancer.gov/types/lung/patient/lung-treatment-pdq",
    "群里的姐妹们都要好好的{e}", "今天第{n}次{tr}，顺利完成{e}", "{name} 你好，欢迎加入{e}",
    "有空一起出来走走", "周末有病友交流会，在{h}三楼", "多喝水，多休息", "心态很重要{e}",
)  # fmt: skip
SENTENCES = (
    "{p}是去年{n}月确诊的，当时已经是晚期了。",
    "一开始做了{n}次{tr}，{s}特别厉害，整个人瘦了二十斤。",
    "后来做了基因检测，有突变，就换了{d}。",
    "吃了三个月复查，{t}显示病灶缩小了一半，全家都很高兴。",
    "现在每天早上走半小时，吃饭也慢慢好起来了。",
    "医生说{m}降下来了，继续吃药，三个月后复查。",
    "最难受的时候是{s}，晚上睡不着，多亏群里大家支持。",
    "{f}和{f2}轮着吃，尽量保证蛋白质。",
    "想跟新来的朋友说，别怕，跟着医生走，一步一步来。",
    "今天在{h}排了三个小时的队，终于做上{t}了。",
    "The nurse said the side effects usually ease after the second cycle.",
    "报告上写着“未见明显异常”，心里的石头落地了。",
)
SUBJECTS = ("同舟病友群", "肺癌病友互助群", "同舟·互助", "病友之家", "抗癌路上不孤单")


@dataclass
class Msg:
    at: dt.datetime  # wall clock in ZONE (naive)
    sender: str
    text: str  # "" for media
    media: bool = False
    system: str | None = None  # "join", "leave", "rename", "recall", "e2e"
    actor: str = ""  # who added / removed
    subject: tuple[str, str] = ("", "")


def make_names(rng: random.Random) -> list[str]:
    names: set[str] = set()
    ordered: list[str] = []
    latin = list(LATIN_NAMES)
    while len(ordered) < SENDERS:
        roll = rng.random()
        if roll < 0.06 and latin:
            name = latin.pop(rng.randrange(len(latin)))
        elif roll < 0.08:
            name = f"+86 1{rng.randint(30, 99)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        else:
            family, given = rng.choice(SURNAMES), rng.choice(GIVEN)
            # "王 芳": some write a space between family and given name
            name = f"{family} {given}" if rng.random() < 0.2 else family + given
            if rng.random() < 0.12:
                name += rng.choice(SUFFIXES)
        if name not in names:
            names.add(name)
            ordered.append(name)
    return ordered


def fill(template: str, rng: random.Random, names: list[str]) -> str:
    c = rng.choice
    slots = {
        "d": c(DRUGS), "d2": c(DRUGS), "de": c(DRUGS_EN), "s": c(SYMPTOMS), "t": c(TESTS),
        "t2": c(TESTS), "m": c(MARKERS), "tr": c(TREATMENTS), "h": c(HOSPITALS), "f": c(FOODS),
        "f2": c(FOODS), "p": c(RELATIVES), "n": rng.randint(1, 12), "name": c(names),
        "e": c(EMOJI) if rng.random() < 0.5 else "",
    }  # fmt: skip
    return template.format(**slots)


def make_messages(seed: int, count: int, days: int) -> list[Msg]:
    """The chat: `count` messages from SENDERS people over `days` days, plus system lines,
    in time order."""
    rng = random.Random(seed)
    names = make_names(rng)
    weights = [1 / (i + 1) ** 0.9 for i in range(len(names))]  # a few people talk most
    day_w = [rng.uniform(0.4, 1.6) * (0.8 if (FIRST_DAY + dt.timedelta(d)).weekday() >= 5 else 1)
             for d in range(days)]  # fmt: skip
    hour_w = [0.2, 0.1, 0.05, 0.05, 0.1, 0.3, 1, 2, 3, 3, 3, 2.5, 2, 2, 2.5, 2.5, 2.5, 2.5, 3,
              3.5, 4, 4, 3, 1]  # fmt: skip
    start = dt.datetime.combine(FIRST_DAY, dt.time())
    n_system = max(count // 200, 4)
    times = sorted(
        start + dt.timedelta(days=d, hours=h, minutes=rng.randrange(60), seconds=rng.randrange(60))
        for d, h in zip(
            rng.choices(range(days), day_w, k=count + n_system),
            rng.choices(range(24), hour_w, k=count + n_system),
            strict=True,
        )
    )
    times[0] = start + dt.timedelta(hours=8)  # the first line is the chat's own notice
    times.sort()
    system_at = set(rng.sample(range(1, len(times)), n_system - 1))

    out = [Msg(times[0], "", "", system="e2e")]
    pending_answers = 0
    asker = ""
    for i, at in enumerate(times[1:], 1):
        if i in system_at:
            kind = rng.choices(("join", "leave", "rename", "recall"), (5, 2, 0.3, 3))[0]
            who, actor = rng.choice(names), rng.choice(names[:5])
            if kind == "rename":
                out.append(Msg(at, "", "", system="rename", actor=actor,
                               subject=(rng.choice(SUBJECTS), rng.choice(SUBJECTS))))  # fmt: skip
            else:
                by = actor if rng.random() < 0.5 and kind in ("join", "leave") else ""
                out.append(Msg(at, who, "", system=kind, actor=by))
            continue
        sender = rng.choices(names, weights)[0]
        roll = rng.random()
        if pending_answers and sender != asker:
            pending_answers -= 1
            text = fill(rng.choice(ANSWERS), rng, names)
        elif roll < 0.05:
            out.append(Msg(at, sender, "", media=True))
            continue
        elif roll < 0.20:
            text = fill(rng.choice(QUESTIONS), rng, names)
            asker, pending_answers = sender, rng.choice((0, 1, 1, 2, 3))
        elif roll < 0.32:  # multi-line: an experience, or a numbered list
            k = rng.randint(2, 5)
            parts = [fill(rng.choice(SENTENCES), rng, names) for _ in range(k)]
            if rng.random() < 0.3:
                parts = [f"{j}. {p}" for j, p in enumerate(parts, 1)]
            text = "\n".join(parts)
        elif roll < 0.40:  # a long one-line message
            text = "".join(
                fill(rng.choice(SENTENCES), rng, names) for _ in range(rng.randint(2, 4))
            )
        else:
            text = fill(rng.choice(CHATTER), rng, names)
        out.append(Msg(at, sender, text))
    assert sum(1 for m in out if m.system is None) == count
    return out


def wa_name(name: str) -> str:
    """Phone numbers of people not in the exporter's contacts come wrapped in LTR marks."""
    return f"\u202a{name}\u202c" if name.startswith("+") else name


def whatsapp_text(msgs: list[Msg]) -> str:
    lines = []
    for m in msgs:
        head = m.at.strftime("%d/%m/%Y, %H:%M - ")
        if m.system is None:
            body = "<Media omitted>" if m.media else m.text
            lines.append(f"{head}{wa_name(m.sender)}: {body}")
        elif m.system == "e2e":
            lines.append(
                f"{head}Messages and calls are end-to-end encrypted. No one outside of this chat, "
                "not even WhatsApp, can read or listen to them. Tap to learn more."
            )
        elif m.system == "recall":
            lines.append(f"{head}{wa_name(m.sender)}: This message was deleted")
        elif m.system == "rename":
            lines.append(
                f'{head}{wa_name(m.actor)} changed the subject from "{m.subject[0]}" to '
                f'"{m.subject[1]}"'
            )
        elif m.system == "join":
            if m.actor:
                lines.append(f"{head}{wa_name(m.actor)} added {wa_name(m.sender)}")
            else:
                lines.append(f"{head}{wa_name(m.sender)} joined using this group's invite link")
        elif m.system == "leave":
            if m.actor:
                lines.append(f"{head}{wa_name(m.actor)} removed {wa_name(m.sender)}")
            else:
                lines.append(f"{head}{wa_name(m.sender)} left")
    return "\n".join(lines) + "\n"


def wechat_csv(msgs: list[Msg], seed: int) -> str:
    """WeChatMsg/MemoTrace's CSV of a group chat: Type 1 text, 3 picture, 10000 system."""
    rng = random.Random(seed + 1)
    wxid: dict[str, str] = {}
    me = next(m.sender for m in msgs if m.system is None)  # the exporting user (IsSender 1)
    buf = io.StringIO()
    w = csv.writer(buf)  # QUOTE_MINIMAL, \r\n, as the tool writes it
    w.writerow(("localId", "TalkerId", "Type", "SubType", "IsSender", "CreateTime", "Status",
                "StrContent", "StrTime", "Remark", "NickName", "Sender"))  # fmt: skip
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(ZONE)
    for local_id, m in enumerate((m for m in msgs if m.system != "e2e"), 1):
        stamp = str(int(m.at.replace(tzinfo=zone).timestamp()))
        str_time = m.at.strftime("%Y-%m-%d %H:%M:%S")
        if m.system is not None:
            who = f'"{m.sender}"'
            by = f'"{m.actor}"' if m.actor else "你"
            content = {
                "join": f"{who}通过扫描{by}分享的二维码加入群聊" if not m.actor
                else f"{by}邀请{who}加入了群聊",
                "leave": f"{by}将{who}移出了群聊",
                "rename": f"{by}修改群名为“{m.subject[1]}”",
                "recall": f"{who} 撤回了一条消息",
            }[m.system]  # fmt: skip
            w.writerow((local_id, 1, 10000, 0, 0, stamp, 4, content, str_time, "", "", ""))
            continue
        if m.sender not in wxid:
            wxid[m.sender] = "wxid_" + "".join(
                rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=14)
            )
        typ, content = (3, "") if m.media else (1, m.text)
        w.writerow((local_id, 1, typ, 0, int(m.sender == me), stamp, 2, content, str_time, "",
                    m.sender, wxid[m.sender]))  # fmt: skip
    return buf.getvalue()


def expected(msgs: list[Msg]) -> list[tuple[str, str, bool]]:
    return [(m.sender, m.text, m.media) for m in msgs if m.system is None]


def check_parsed(label: str, data: bytes, msgs: list[Msg], count: int) -> dict[str, Any]:
    """Our parser reads back exactly the generated messages (sender, text, attachment)."""
    from zoneinfo import ZoneInfo

    from tongzhou.imports import formats

    t0 = time.perf_counter()
    parsed = formats.read(data, zone=ZoneInfo(ZONE))
    took = time.perf_counter() - t0
    got = [(r.sender, r.text, bool(r.media)) for r in parsed.records if r.system is None]
    want = expected(msgs)
    bad = [i for i, (g, x) in enumerate(zip(got, want, strict=False)) if g != x]
    assert len(got) == count, f"{label}: parsed {len(got)} messages, want {count}"
    assert not bad, (
        f"{label}: {len(bad)} messages differ, first #{bad[0]}: {got[bad[0]]!r} vs {want[bad[0]]!r}"
    )
    assert not parsed.problems, f"{label}: problems {parsed.problems[:3]}"
    return {
        "format": parsed.format,
        "variant": parsed.variant,
        "messages": len(got),
        "system": len(parsed.records) - len(got),
        "people": len({r.sender for r in parsed.records if r.system is None}),
        "multiline": sum(1 for r in parsed.records if "\n" in r.text),
        "media": sum(1 for r in parsed.records if r.media),
        "parse_s": took,
    }


# --------------------------------------------------------------------------- processes


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    steal = fields[7] if len(fields) > 7 else 0
    guest = sum(fields[8:10]) if len(fields) > 9 else 0  # already counted in user/nice
    return (sum(fields) - idle - steal - guest) / tick


@dataclass
class Ran:
    rc: int
    wall_s: float
    maxrss_mb: float
    cpu_s: float
    other_cpu_s: float  # the rest of the machine's busy CPU meanwhile
    load: tuple[float, float, float]
    stdout: str
    stderr: str


def run_child(argv: list[str], env: dict[str, str], work: Path) -> Ran:
    """Run a process to its end: wall time, and from os.wait4 (the child's own rusage, as
    getrusage(RUSAGE_CHILDREN) would give for it alone) peak RSS and CPU."""
    out_path, err_path = work / "child.out", work / "child.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        busy0 = machine_busy()
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=env, stdout=out, stderr=err, cwd=REPO)
        _pid, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        busy1 = machine_busy()
        p.returncode = os.waitstatus_to_exitcode(status)
    cpu = ru.ru_utime + ru.ru_stime
    return Ran(
        rc=p.returncode,
        wall_s=wall,
        maxrss_mb=ru.ru_maxrss / 1024,
        cpu_s=cpu,
        other_cpu_s=max(busy1 - busy0 - cpu, 0.0),
        load=os.getloadavg(),
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


class Database:
    """Where a run's data goes: a fresh SQLite data dir each time, or a fresh PostgreSQL
    database on the server given (dropped afterwards)."""

    def __init__(self, admin_url: str | None) -> None:
        self.admin_url = admin_url
        self.made: list[str] = []

    @property
    def name(self) -> str:
        return "PostgreSQL" if self.admin_url else "SQLite"

    def fresh(self, work: Path, tag: str) -> dict[str, str]:
        data = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=work))
        env = {
            **os.environ,
            "TONGZHOU_DATA_DIR": str(data / "data"),
            "TONGZHOU_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "tongzhou.settings",
            "PYTHONPATH": str(REPO / "src"),
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        if self.admin_url:
            import psycopg

            db = f"tz_bench_imports_{os.getpid()}_{len(self.made)}"
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {db}")
                conn.execute(f"CREATE DATABASE {db} ENCODING 'UTF8'")
            self.made.append(db)
            env["DATABASE_URL"] = with_database(self.admin_url, db)
        subprocess.run([sys.executable, "-m", "tongzhou.cli", "migrate"], env=env, check=True,
                       capture_output=True, cwd=REPO)  # fmt: skip
        return env

    def drop_all(self) -> None:
        if not self.admin_url or not self.made:
            return
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for db in self.made:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        self.made.clear()


def with_database(url: str, name: str) -> str:
    """The same server (and options) with another database name."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def pg_admin_url(url: str) -> str:
    """The same server's `postgres` database, to create and drop the runs' databases."""
    return with_database(url, "postgres")


# --------------------------------------------------------------------------- child modes


def django_ready() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongzhou.settings")
    import django

    django.setup()


def make_group() -> tuple[int, int]:
    """A leader and their group (as `tongzhou` makes them); (group id, leader id)."""
    from django.contrib.auth.hashers import make_password

    from tongzhou.accounts.models import User
    from tongzhou.groups.actions import do_create_group

    leader = User.objects.create(
        username="bench-leader", display_name="组长", password=make_password(None)
    )
    group = do_create_group(leader, "同舟病友群（导入基准）")
    return group.pk, leader.pk


def child_setup() -> None:
    django_ready()
    gid, _uid = make_group()
    print(json.dumps({"group": gid}))


def rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Timers:
    """Wraps product functions (module attributes) to time them; the code is unchanged."""

    def __init__(self) -> None:
        self.total: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.marks: dict[str, float] = {}

    def wrap(self, module: Any, attr: str, label: str) -> None:
        fn = getattr(module, attr)

        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            self.marks.setdefault(f"{label}:start", t0)
            try:
                return fn(*a, **k)
            finally:
                t1 = time.perf_counter()
                self.total[label] = self.total.get(label, 0.0) + t1 - t0
                self.calls[label] = self.calls.get(label, 0) + 1
                self.marks[f"{label}:end"] = t1

        setattr(module, attr, timed)


def child_driver(path: str, tracemalloc_on: bool) -> None:
    """What the web pages do for an upload, timed step by step (see the module doc)."""
    t_start = time.perf_counter()
    django_ready()
    from django.db.models import Count

    from tongzhou import storage
    from tongzhou.chat.models import Message
    from tongzhou.imports import actions, load, mining
    from tongzhou.imports.models import (
        Candidate,
        HistoryEvent,
        ImportedMessage,
        ImportedPerson,
        ImportJob,
        TermCandidate,
    )

    gid, uid = make_group()
    data = Path(path).read_bytes()
    t_ready = time.perf_counter()
    rss_before = rss_now_mb()

    timers = Timers()
    if not tracemalloc_on:
        timers.wrap(actions, "_read", "parse")
        timers.wrap(actions, "load", "load")
        timers.wrap(load, "record_keys", "keys")
        timers.wrap(load, "_existing", "existing")
        timers.wrap(load, "is_question", "is_question")
        timers.wrap(load, "_people", "people")
        timers.wrap(load, "_link_replies", "replies")
        timers.wrap(load, "index_terms_many", "index_terms")
        timers.wrap(load, "_insert", "inserts")
        timers.wrap(mining, "qa_pairs", "candidates")
        timers.wrap(mining, "sample_words", "terms")
    else:
        import tracemalloc

        tracemalloc.start()

    t0 = time.perf_counter()
    job = ImportJob(group_id=gid, created_by_id=uid, filename=Path(path).name, size=len(data),
                    requested_format="auto", zone=ZONE, status=ImportJob.Status.READING)  # fmt: skip
    job.file = storage.save(data)
    job.save()
    t1, c1 = time.perf_counter(), time.process_time()
    actions.read_job(job)
    t2, c2 = time.perf_counter(), time.process_time()
    assert job.status == ImportJob.Status.READY, job.error
    parse_in_read = timers.total.get("parse", 0.0)
    job.status = ImportJob.Status.IMPORTING
    job.save(update_fields=["status"])
    t3, c3 = time.perf_counter(), time.process_time()
    result = actions.import_now(job)
    t4, c4 = time.perf_counter(), time.process_time()
    traced_peak = 0.0
    if tracemalloc_on:
        import tracemalloc

        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    ru = resource.getrusage(resource.RUSAGE_SELF)

    tt = {k: v for k, v in timers.total.items()}
    tt["parse"] = tt.get("parse", 0.0) - parse_in_read  # the second parse, inside import_now
    m = timers.marks
    fetch = m.get("candidates:start", 0.0) - m.get("load:end", 0.0) if "load:end" in m else 0.0
    load_other = tt.get("load", 0.0) - sum(
        tt.get(k, 0.0) for k in ("keys", "existing", "is_question", "people", "replies", "index")
    )
    steps = {
        "upload": t1 - t0,
        "read_job": t2 - t1,
        "read_job_parse": parse_in_read,
        "import_now": t4 - t3,
        "read_job_cpu": c2 - c1,
        "import_now_cpu": c4 - c3,
        "parse": tt["parse"],
        "load": tt.get("load", 0.0),
        "keys": tt.get("keys", 0.0),
        "existing": tt.get("existing", 0.0),
        "is_question": tt.get("is_question", 0.0),
        "people": tt.get("people", 0.0),
        "replies": tt.get("replies", 0.0),
        "index": tt.get("index", 0.0),
        "insert": load_other,
        "fetch": fetch,
        "candidates": tt.get("candidates", 0.0),
        "terms": tt.get("terms", 0.0),
    }
    steps["import_rest"] = steps["import_now"] - sum(
        steps[k] for k in ("parse", "load", "fetch", "candidates", "terms")
    )
    counts = {
        "messages": Message.objects.filter(group_id=gid, status=Message.Status.HISTORY).count(),
        "questions": Message.objects.filter(group_id=gid, kind=Message.Kind.QUESTION).count(),
        "imported": ImportedMessage.objects.filter(group_id=gid).count(),
        "people": ImportedPerson.objects.filter(group_id=gid).count(),
        "events": dict(
            HistoryEvent.objects.filter(group_id=gid)
            .values_list("kind")
            .annotate(n=Count("id"))
            .values_list("kind", "n")
        ),
        "candidates": Candidate.objects.filter(group_id=gid).count(),
        "terms": list(
            TermCandidate.objects.filter(group_id=gid)
            .order_by("-score")
            .values_list("term", flat=True)[:12]
        ),
    }
    print(
        json.dumps(
            {
                "boot_s": t_ready - t_start,
                "steps": steps,
                "result": result,
                "counts": counts,
                "rss_before_mb": rss_before,
                "maxrss_mb": ru.ru_maxrss / 1024,
                "traced_peak_mb": traced_peak,
                "format": job.format,
                "variant": job.variant,
            },
            ensure_ascii=False,
        )
    )


OURS_PARSE = r"""
import json, resource, statistics, sys, time
from pathlib import Path
from zoneinfo import ZoneInfo

path, reps = sys.argv[1], int(sys.argv[2])
t_import = time.perf_counter()
from tongzhou.imports import formats, whatsapp
from tongzhou.imports.records import decode
t_import = time.perf_counter() - t_import
zone = ZoneInfo("Asia/Shanghai")

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out

def series(fn):
    runs = [timed(fn)[:2] for _ in range(reps)]
    return {"warm": [w for w, c in runs], "warm_cpu": [c for w, c in runs]}

rss0 = rss()
res = {"import_s": t_import, "rss_before_mb": rss0}
# file → records, as the import does: read the bytes, decode, detect, parse
full = lambda: formats.read(Path(path).read_bytes(), zone=zone)
cold, cold_cpu, parsed = timed(full)
res["records"] = len(parsed.records)
res["messages"] = sum(1 for r in parsed.records if r.system is None)
res["variant"] = parsed.variant
del parsed
res["file"] = {"cold": cold, "cold_cpu": cold_cpu, **series(full)}
text = decode(Path(path).read_bytes())
core = lambda: whatsapp.parse(text, zone=zone)
res["text"] = series(core)
res["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(res))
"""

THEIRS_PARSE = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
path, reps, hformat = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t_import = time.perf_counter()
import whatstk
from whatstk import WhatsAppChat
from whatstk.whatsapp import parser
t_import = time.perf_counter() - t_import

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out

def series(fn):
    runs = [timed(fn)[:2] for _ in range(reps)]
    return {"warm": [w for w, c in runs], "warm_cpu": [c for w, c in runs]}

import importlib.metadata as md
res = {"import_s": t_import, "rss_before_mb": rss(), "version": md.version("whatstk")}
# file → DataFrame: read, clean (NFKC), detect the header, parse (WhatsAppChat.from_source)
given = lambda: WhatsAppChat.from_source(path, hformat=hformat)
cold, cold_cpu, chat = timed(given)
res["messages_hformat"] = len(chat.df)
del chat
res["file_hformat"] = {"cold": cold, "cold_cpu": cold_cpu, **series(given)}
try:
    auto = lambda: WhatsAppChat.from_source(path)
    cold, cold_cpu, chat_auto = timed(auto)
    res["messages_auto"] = len(chat_auto.df)
    del chat_auto
    res["file_auto"] = {"cold": cold, "cold_cpu": cold_cpu, **series(auto)}
    res["auto_hformat"] = parser.extract_header_from_text(
        parser._clean_text(parser._str_from_file(path, max_size=None)))
except Exception as e:
    res["auto_error"] = f"{type(e).__name__}: {e}"
# text (already read and cleaned) → DataFrame: the parse alone, with the header given
text = parser._clean_text(parser._str_from_file(path, max_size=None))
core = lambda: parser._df_from_str(text, auto_header=False, hformat=hformat)
res["text"] = series(core)
res["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(res))
"""


# --------------------------------------------------------------------------- measurements


def whatstk_python() -> Path:
    """The benchmark's own venv with whatstk; pip from PyPI on the first run only."""
    python = VENV / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import whatstk"],
                                          capture_output=True).returncode == 0:  # fmt: skip
        return python
    print(f"== installing {WHATSTK_SPEC} into {VENV.relative_to(REPO)} (first run)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    WHATSTK_SPEC], check=True)  # fmt: skip
    return python


def child_json(ran: Ran, what: str) -> dict[str, Any]:
    if ran.rc != 0:
        raise RuntimeError(f"{what} failed ({ran.rc}):\n{ran.stderr[-3000:]}")
    return json.loads(ran.stdout.strip().splitlines()[-1])


def import_runs(
    fmt: str, path: Path, db: Database, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """The CLI and the driver, each --runs times, each on a fresh database."""
    me = str(Path(__file__).resolve())
    cli_runs, driver_runs = [], []
    for i in range(args.runs):
        env = db.fresh(work, f"{fmt}-cli-{i}")
        setup = subprocess.run([sys.executable, me, "--child", "setup"], env=env, check=True,
                               capture_output=True, text=True, cwd=REPO)  # fmt: skip
        gid = json.loads(setup.stdout.strip().splitlines()[-1])["group"]
        argv = [sys.executable, "-m", "tongzhou.cli", "import", str(path), "--group", str(gid),
                "--timezone", ZONE]  # fmt: skip
        ran = run_child(argv, env, work)
        if ran.rc != 0:
            raise RuntimeError(f"tongzhou import failed ({ran.rc}):\n{ran.stderr[-3000:]}")
        cli_runs.append(ran)
        print(f"  {fmt} {db.name} cli #{i + 1}: {ran.wall_s:.2f} s (CPU {ran.cpu_s:.2f} s), peak RSS "
              f"{ran.maxrss_mb:.0f} MB, other CPU {ran.other_cpu_s:.1f} s — "
              f"{ran.stdout.strip().splitlines()[-1][:160]}", flush=True)  # fmt: skip

        env = db.fresh(work, f"{fmt}-driver-{i}")
        ran = run_child([sys.executable, me, "--child", "driver", str(path)], env, work)
        r = child_json(ran, "driver")
        r["wall_s"], r["other_cpu_s"], r["load"] = ran.wall_s, ran.other_cpu_s, ran.load
        driver_runs.append(r)
        s = r["steps"]
        print(f"  {fmt} {db.name} driver #{i + 1}: read_job {s['read_job']:.2f} s, import_now "
              f"{s['import_now']:.2f} s (CPU {s['import_now_cpu']:.2f}; parse {s['parse']:.2f}, load {s['load']:.2f}, "
              f"candidates {s['candidates']:.2f}, terms {s['terms']:.2f}), peak RSS "
              f"{r['maxrss_mb']:.0f} MB", flush=True)  # fmt: skip
    traced = None
    if args.tracemalloc:
        env = db.fresh(work, f"{fmt}-traced")
        ran = run_child([sys.executable, me, "--child", "driver", str(path), "--tracemalloc"],
                        env, work)  # fmt: skip
        traced = child_json(ran, "driver --tracemalloc")["traced_peak_mb"]
        print(f"  {fmt} {db.name} tracemalloc peak {traced:.0f} MB", flush=True)
    best = min(range(len(cli_runs)), key=lambda k: cli_runs[k].wall_s)
    return {
        "format": fmt,
        "database": db.name,
        "cli": [vars(c) | {"stdout": c.stdout[-400:], "stderr": ""} for c in cli_runs],
        "cli_median_s": statistics.median(c.wall_s for c in cli_runs),
        "cli_best": best,
        "driver": driver_runs,
        "traced_peak_mb": traced,
    }


def parse_race(path: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Ours and whatstk's, each in a fresh process, alternating, --parse-rounds times."""
    python = whatstk_python()
    env_ours = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env_theirs = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for rnd in range(args.parse_rounds):
        sides = [("ours", [sys.executable, "-c", OURS_PARSE, str(path), str(args.parse_reps)],
                  env_ours, ours),
                 ("whatstk", [str(python), "-c", THEIRS_PARSE, str(path), str(args.parse_reps),
                              WHATSAPP_HFORMAT], env_theirs, theirs)]  # fmt: skip
        if rnd % 2:
            sides.reverse()
        for name, argv, env, into in sides:
            ran = run_child(argv, env, work)
            r = child_json(ran, f"{name} parse")
            r["other_cpu_s"], r["wall_s"] = ran.other_cpu_s, ran.wall_s
            into.append(r)
            print(f"  parse {name} round {rnd + 1}: " + (
                f"file {statistics.median(r['file']['warm']):.3f} s, text "
                f"{statistics.median(r['text']['warm']):.3f} s"
                if name == "ours" else
                f"file+hformat {statistics.median(r['file_hformat']['warm']):.3f} s, file+auto "
                f"{statistics.median(r['file_auto']['warm']) if 'file_auto' in r else float('nan'):.3f} s, "
                f"text {statistics.median(r['text']['warm']):.3f} s"
            ), flush=True)  # fmt: skip

    def med(runs: list[dict[str, Any]], key: str, kind: str = "warm") -> float:
        vals = [v for r in runs if key in r for v in r[key][kind]]
        return statistics.median(vals) if vals else float("nan")

    def cold(runs: list[dict[str, Any]], key: str) -> float:
        vals = [r[key]["cold"] for r in runs if "cold" in r.get(key, {})]
        return statistics.median(vals) if vals else float("nan")

    out: dict[str, Any] = {"ours": ours, "theirs": theirs}
    for name, runs, key in (("ours_file", ours, "file"), ("ours_text", ours, "text"),
                            ("theirs_hformat", theirs, "file_hformat"),
                            ("theirs_auto", theirs, "file_auto"),
                            ("theirs_text", theirs, "text")):  # fmt: skip
        out[name] = med(runs, key)
        out[name + "_cpu"] = med(runs, key, "warm_cpu")
        out[name + "_cold"] = cold(runs, key)
    return out


# --------------------------------------------------------------------------- report


def tongzhou_commit() -> str:
    def git(*argv: str) -> str:
        r = subprocess.run(["git", *argv], capture_output=True, text=True, cwd=REPO)
        return r.stdout.strip() if r.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "src/tongzhou/imports")
    return commit + (" with uncommitted changes in src/tongzhou/imports/" if dirty else "")


def shown_args() -> list[str]:
    """The command line as a reader would rerun it: without where the output went."""
    out, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a in ("--out", "--json"):
            skip = True
        elif not a.startswith(("--out=", "--json=")):
            out.append(a)
    return out


def mb(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f} MB"


def secs(x: float) -> str:
    return f"{x:.2f} s"


def render(
    files: dict[str, dict[str, Any]],
    imports: list[dict[str, Any]],
    race: dict[str, Any] | None,
    args: argparse.Namespace,
    runtime_s: float,
    loads: list[tuple[float, float, float]],
) -> str:
    sys.path.insert(0, str(HERE))
    from delivery import machine

    m = machine()
    n = args.messages
    lines = [
        START_MARK,
        "## Importing a chat history (`bench/imports.py`)",
        "",
        f"Measured {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} with "
        f"`{' '.join(['python bench/imports.py', *shown_args()])}` (whole run "
        f"{runtime_s:.0f} s). Tongzhou {tongzhou_commit()}.",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory']} memory, {m['os']}, "
        f"Python {m['python']}. **Shared machine:** other work (CI runs, other sessions) ran on "
        f"the same {m['cpus']} CPUs; load average (1/5/15 min) "
        + ", ".join(f"{a:.1f}/{b:.1f}/{c:.1f}" for a, b, c in loads[:1])
        + " at the start, "
        + ", ".join(f"{a:.1f}/{b:.1f}/{c:.1f}" for a, b, c in loads[-1:])
        + " at the end; the *other CPU* column is the CPU time the rest of the machine used "
        "during each timed process (a figure near the process's wall time means it had about "
        "one CPU to itself; on PostgreSQL it includes the database server's own CPU).",
        "",
        "**Files.** Generated, seeded (`--seed "
        f"{args.seed}`): {n:,} messages from {SENDERS} people over {DAYS} days (Zipf-like "
        "activity; Chinese names, some written with a space like `王 芳`, a few English names "
        "and phone numbers), mostly Chinese with some English and emoji, ~15 % questions "
        "followed by answers, ~10 % multi-line messages, 5 % `<Media omitted>`, plus system "
        "lines (joins, leaves, renames, deleted messages). The WeChat CSV holds the same "
        "messages in WeChatMsg/MemoTrace's 12 columns (Type 1 text, 3 picture, 10000 system; "
        "UTF-8 with BOM). Both are checked first: our parsers read back exactly the generated "
        "sender, text and attachment of every message.",
        "",
        "| file | size | messages | system lines | people | multi-line | variant |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, f in files.items():
        lines.append(
            f"| {name} | {f['bytes'] / 2**20:.1f} MB | {f['messages']:,} | {f['system']:,} "
            f"| {f['people']} | {f['multiline']:,} | {f['variant']} |"
        )
    lines += [
        "",
        "**Method (whole import).** Each measurement gets a fresh data directory "
        "(`TONGZHOU_DATA_DIR`, SQLite in WAL mode"
        + (
            ", or a fresh PostgreSQL database"
            if any(i["database"] != "SQLite" for i in imports)
            else ""
        )
        + ") made by `tongzhou migrate`, and a group with its leader. Then:",
        "",
        "- *`tongzhou import`*: `python -m tongzhou.cli import FILE --group G --timezone "
        f"{ZONE}`, timed from process start to exit: Python and Django start-up, reading and "
        "checking the file (`read_job`, which the command runs first to print the summary), "
        "then `import_now` (reads the file again, loads in one transaction, finds the Q&A and "
        "glossary candidates). Peak RSS is the child's own `ru_maxrss` (`os.wait4`, the "
        "figure `getrusage(RUSAGE_CHILDREN)` would give for it alone).",
        "- *steps*: a driver process does what the web pages do — store the upload "
        "(encrypted), `read_job`, then `import_now` — and times each step by wrapping the "
        "product functions (`actions._read`, `actions.load`, `load.record_keys`, "
        "`load._existing`, `load.is_question`, `load._people`, `load._link_replies`, "
        "`load.index_terms_many`, `load._insert`, `mining.qa_pairs`, `mining.sample_words`) "
        "from outside; the product code is not changed. *insert* is the rest of `load` "
        "(building the rows and the bulk inserts of messages, imported-message rows, events); "
        "*fetch* is reading the new messages back for mining."
        + (
            " *tracemalloc peak* comes from a separate, untimed run of the driver with "
            "tracemalloc on (Python allocations only)."
            if args.tracemalloc
            else ""
        ),
        "",
        f"Goal: the whole import under {GOAL_S:g} s on this machine.",
        "",
        "| file | database | `tongzhou import` wall | its CPU | driver: read+check / import, "
        "wall (CPU) | peak RSS | tracemalloc peak | other CPU | goal < 10 s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for imp in imports:
        walls = [c["wall_s"] for c in imp["cli"]]
        d = imp["driver"]

        def st(k: str, d: list[dict[str, Any]] = d) -> float:
            return statistics.median(x["steps"][k] for x in d)

        spread = f" ({min(walls):.2f}–{max(walls):.2f})" if len(walls) > 1 else ""
        lines.append(
            f"| {imp['format']} | {imp['database']} | **{statistics.median(walls):.2f} s**{spread} "
            f"| {statistics.median(c['cpu_s'] for c in imp['cli']):.2f} s "
            f"| {st('read_job'):.2f} s ({st('read_job_cpu'):.2f}) / {st('import_now'):.2f} s "
            f"({st('import_now_cpu'):.2f}) | {max(c['maxrss_mb'] for c in imp['cli']):,.0f} MB "
            f"| {mb(imp['traced_peak_mb'])} "
            f"| {statistics.median(c['other_cpu_s'] for c in imp['cli']):.1f} s "
            f"| {'yes' if statistics.median(walls) < GOAL_S else 'no'} |"
        )
    lines += [
        "",
        "Steps of the driver (median of the runs; seconds):",
        "",
        "| file | database | upload | read_job (of it parse) | import_now | parse | keys "
        "| is_question | people | insert | replies | search index | fetch | Q&A candidates "
        "| glossary terms | rest | driver peak RSS (before) |",
        "|---|---|" + "---:|" * 15,
    ]
    for imp in imports:
        d = imp["driver"]

        def med(k: str, d: list[dict[str, Any]] = d) -> str:
            return f"{statistics.median(x['steps'][k] for x in d):.2f}"

        lines.append(
            f"| {imp['format']} | {imp['database']} | {med('upload')} | {med('read_job')} "
            f"({med('read_job_parse')}) | **{med('import_now')}** | {med('parse')} | "
            f"{med('keys')} | {med('is_question')} | {med('people')} | {med('insert')} "
            f"| {med('replies')} | {med('index')} | {med('fetch')} | {med('candidates')} "
            f"| {med('terms')} | {med('import_rest')} "
            f"| {max(x['maxrss_mb'] for x in d):,.0f} MB ({d[0]['rss_before_mb']:.0f} MB) |"
        )
    first = imports[0]["driver"][0] if imports else None
    if first:
        c = first["counts"]
        lines += [
            "",
            f"What one import made ({imports[0]['format']}): {c['messages']:,} history messages "
            f"({c['questions']:,} marked as questions), {c['people']} placeholder people, "
            f"events {', '.join(f'{k} {v}' for k, v in sorted(c['events'].items()))}, "
            f"{c['candidates']:,} Q&A candidates, glossary candidates led by "
            f"{'、'.join(c['terms'][:8])}.",
        ]
    if race:
        ours, th = race["ours"][0], race["theirs"][0]

        def row(parser: str, what: str, key: str, found: str, rss: str, vs: str) -> str:
            cold = race.get(key + "_cold", float("nan"))
            wall, cpu = race[key], race[key + "_cpu"]
            return (
                f"| {parser} | {what} | {'' if cold != cold else secs(cold)} | **{secs(wall)}** "
                f"| {secs(cpu)} | {n / cpu:,.0f} | {found} | {rss} | {vs} |"
            )

        def versus(key: str, ours_key: str) -> str:
            return (
                f"**{race[key] / race[ours_key]:.1f}×** "
                f"({race[key + '_cpu'] / race[ours_key + '_cpu']:.1f}×)"
            )

        ours_rss = (
            f"{max(o['maxrss_mb'] for o in race['ours']):,.0f} MB ({ours['rss_before_mb']:.0f} MB)"
        )
        th_rss = (
            f"{max(t['maxrss_mb'] for t in race['theirs']):,.0f} MB ({th['rss_before_mb']:.0f} MB)"
        )
        lines += [
            "",
            f"**Parse speed against whatstk {th.get('version', '?')}** (PyPI, in "
            "`bench/.venv-whatstk`, never a project dependency), same WhatsApp file. Each "
            "side runs in its own fresh process (ours on the project's Python, whatstk in the "
            "venv made from the same interpreter), the two alternating, "
            f"{args.parse_rounds} processes each; in each, one cold call (the first in the "
            f"process, its result then dropped) and {args.parse_reps} warm calls. The table "
            "gives the medians of the warm calls, wall time and the process's CPU time (on "
            "this shared machine CPU time is the steadier figure).",
            "",
            "- *file → records*: ours `formats.read(Path(f).read_bytes(), zone=…)` (decode, "
            "recognise the format, parse to `Record`s with aware datetimes, system lines "
            "classified); whatstk `WhatsAppChat.from_source(f)` (read, strip marks and NFKC "
            "the text, detect the header, regex parse, a pandas DataFrame), with the header "
            f"detected automatically and with `hformat='{WHATSAPP_HFORMAT}'` given.",
            "- *text → records*: the parse alone on text already read — ours "
            "`whatsapp.parse(text, zone=…)`, whatstk `parser._df_from_str(text, hformat=…)` "
            "on text already cleaned.",
            "",
            "| parser | what | cold | warm wall | warm CPU | messages/s (CPU) | messages found "
            "| peak RSS (before) | whatstk / ours, wall (CPU) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
            row("Tongzhou", "file → records", "ours_file",
                f"{ours['messages']:,} (+{ours['records'] - ours['messages']} system)", ours_rss, "1"),
        ]  # fmt: skip
        if "file_auto" in th:
            lines.append(row(
                "whatstk", f"file → DataFrame, header auto-detected (`{th.get('auto_hformat', '?')}`)",
                "theirs_auto", f"{th['messages_auto']:,} rows", th_rss,
                versus("theirs_auto", "ours_file")))  # fmt: skip
        else:
            lines.append(f"| whatstk | file → DataFrame, header auto-detected | failed: "
                         f"{th.get('auto_error', '?')} | | | | | | |")  # fmt: skip
        lines += [
            row("whatstk", "file → DataFrame, hformat given", "theirs_hformat",
                f"{th['messages_hformat']:,} rows", "", versus("theirs_hformat", "ours_file")),
            row("Tongzhou", "text → records", "ours_text", "", "", "1"),
            row("whatstk", "text → DataFrame, hformat given", "theirs_text", "", "",
                versus("theirs_text", "ours_text")),
            "",
            "whatstk's rows are the header lines it matched with a name: it keeps the "
            "deleted-message lines as messages and folds the other system lines (which name "
            "no sender) into the message above them; ours returns the "
            f"{n:,} messages and classifies the {ours['records'] - ours['messages']} system "
            "lines.",
        ]  # fmt: skip
    # goal
    goal = []
    for imp in imports:
        med_wall = statistics.median(c["wall_s"] for c in imp["cli"])
        med_cpu = statistics.median(c["cpu_s"] for c in imp["cli"])
        goal.append(f"{imp['format']} on {imp['database']} {med_wall:.1f} s "
                    f"({'met' if med_wall < GOAL_S else 'missed'}; its CPU time alone "
                    f"{med_cpu:.1f} s)")  # fmt: skip
    if race:
        goal.append(
            f"parse faster than whatstk: {race['theirs_hformat'] / race['ours_file']:.1f}× "
            f"(hformat given) / {race['theirs_auto'] / race['ours_file']:.1f}× (auto) "
            f"({'met' if race['theirs_hformat'] > race['ours_file'] else 'missed'})"
        )
    lines += ["", f"**Goal check** (whole import < {GOAL_S:g} s, measured as `tongzhou import` "
              "wall time; parse faster than whatstk): " + "; ".join(goal) + "."]  # fmt: skip
    lines += ["", "NOTES_PLACEHOLDER", END_MARK]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    sys.path.insert(0, str(HERE))
    from delivery import old_notes, replace_section

    notes = old_notes(path, NOTES_NAME)
    section = section.replace("NOTES_PLACEHOLDER", notes.strip()).replace("\n\n\n", "\n\n")
    replace_section(path, section, START_MARK, END_MARK)


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="tz-bench-imports-"))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def databases(args: argparse.Namespace, work: Path) -> Iterator[list[Database]]:
    dbs = [Database(None)] if not args.no_sqlite else []
    pg = None
    try:
        if args.postgres:
            sys.path.insert(0, str(HERE))
            from synapse_race import Postgres

            pg = Postgres(work)
            pg.start()
            dbs.append(Database(pg.url("postgres")))
        elif args.database_url:
            dbs.append(Database(pg_admin_url(args.database_url)))
        yield dbs
    finally:
        for db in dbs:
            db.drop_all()
        if pg is not None:
            pg.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 messages, no race")
    parser.add_argument("--messages", type=int, default=MESSAGES, help="messages per file")
    parser.add_argument("--seed", type=int, default=20230312, help="the generator's seed")
    parser.add_argument("--runs", type=int, default=1, help="whole imports per file and database")
    parser.add_argument("--parse-rounds", type=int, default=2, help="processes per parser")
    parser.add_argument("--parse-reps", type=int, default=5, help="warm parses per process")
    parser.add_argument("--formats", default="whatsapp,wechat", help="which files to import")
    parser.add_argument("--no-race", action="store_true", help="skip the whatstk comparison")
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false",
                        help="skip the separate tracemalloc run")  # fmt: skip
    parser.add_argument("--postgres", action="store_true",
                        help="also on a throwaway PostgreSQL cluster (fsync=off)")  # fmt: skip
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""),
                        help="also on this PostgreSQL server (a fresh database per run; "
                        "default: $DATABASE_URL)")  # fmt: skip
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--out", default="docs/performance.md", help="'-' to skip writing")
    parser.add_argument("--keep", action="store_true", help="keep the files and data dirs")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--child", choices=("setup", "driver"), help=argparse.SUPPRESS)
    parser.add_argument("child_file", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", dest="traced_child", action="store_true",
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.child == "setup":
        child_setup()
        return 0
    if args.child == "driver":
        child_driver(args.child_file, args.traced_child)
        return 0
    if args.quick:
        args.messages, args.no_race, args.tracemalloc = 5000, True, False
    fmts = [f.strip() for f in args.formats.split(",") if f.strip()]
    sys.path.insert(0, str(REPO / "src"))
    os.chdir(REPO)

    loads = [os.getloadavg()]
    if not args.no_race:
        whatstk_python()  # install before the clock starts
    t_run = time.perf_counter()
    with workspace(args.keep) as work:
        t0 = time.perf_counter()
        msgs = make_messages(args.seed, args.messages, DAYS)
        wa = whatsapp_text(msgs).encode()
        wc = wechat_csv(msgs, args.seed).encode("utf-8-sig")
        paths = {"whatsapp": work / "WhatsApp Chat with 同舟病友群.txt",
                 "wechat": work / "同舟病友群_chat.csv"}  # fmt: skip
        paths["whatsapp"].write_bytes(wa)
        paths["wechat"].write_bytes(wc)
        print(f"== generated {args.messages:,} messages in {time.perf_counter() - t0:.1f} s: "
              f"WhatsApp {len(wa) / 2**20:.1f} MB, WeChat CSV {len(wc) / 2**20:.1f} MB "
              f"in {work}", flush=True)  # fmt: skip
        files: dict[str, dict[str, Any]] = {}
        for fmt in fmts:
            data = paths[fmt].read_bytes()
            info = check_parsed(fmt, data, msgs, args.messages)
            info["bytes"], info["path"] = len(data), str(paths[fmt])
            assert info["format"] == fmt, info
            files[fmt] = info
            print(f"== {fmt}: parses to {info['messages']:,} messages (+{info['system']} system "
                  f"lines, {info['people']} people, {info['multiline']:,} multi-line), variant "
                  f"{info['variant']}, in {info['parse_s']:.2f} s", flush=True)  # fmt: skip
        imports = []
        with databases(args, work) as dbs:
            for db in dbs:
                for fmt in fmts:
                    print(f"== import {fmt} on {db.name}", flush=True)
                    imports.append(import_runs(fmt, paths[fmt], db, work, args))
                    loads.append(os.getloadavg())
        race = None
        if not args.no_race and "whatsapp" in fmts:
            print("== parse speed: ours against whatstk", flush=True)
            race = parse_race(paths["whatsapp"], work, args)
            print(f"== whatstk / ours: file+auto {race['theirs_auto'] / race['ours_file']:.1f}×, "
                  f"file+hformat {race['theirs_hformat'] / race['ours_file']:.1f}×, text "
                  f"{race['theirs_text'] / race['ours_text']:.1f}×", flush=True)  # fmt: skip
        loads.append(os.getloadavg())
    runtime = time.perf_counter() - t_run
    results = {"files": files, "imports": imports, "race": race, "loads": loads}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False))
    if args.out != "-":
        out = Path(args.out)
        write_section(out, render(files, imports, race, args, runtime, loads))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
