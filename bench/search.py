"""Search benchmark: latency over 1,000,000 bilingual messages and 10,000 entries, on SQLite
and PostgreSQL; index build time and database size.

    python bench/search.py [--messages 1000000] [--entries 10000] [--dbs sqlite,postgres]
                           [--rounds 3] [--quick] [--out docs/performance.md]

Each database is measured in its own process (settings read DATABASE_URL once, at Django
setup): this script re-invokes itself with `--db sqlite` (the embedded default: a fresh data
directory, the settings' pragmas) and `--db postgres` (a PostgreSQL it starts itself, as
scripts/test does: initdb on a temporary directory as the postgres user, a free port, the
default configuration; or `--pg-url` for a server you already run, on which a fresh database
is created and dropped afterwards). Every child process:

1. Building: 10 groups of 40 members (group sizes very uneven: the largest gets 30 % of the
   messages, the two smallest 3 % each), --messages generated chat messages over three years
   (busier lately; ~60 % Chinese, ~8 % of those in traditional characters; questions, replies,
   treatment updates, greetings, hospital and money logistics, with a long tail of rarer words
   so that a term's frequency ranges from every seventh message to a handful), a few held
   for a moderator and a few deleted. Inserted with `Message.objects.bulk_create` (timed on
   its own), then indexed with `knowledge.index.index_messages` over all messages in id order
   ("index build": computing terms, writing `MessageTerms` rows, and the database keeping its
   full-text index: FTS5 triggers on SQLite, the GIN index on PostgreSQL). Then --entries
   knowledge entries (bulk_create + `EntryTerms` rows with the terms `index_entry` writes) and
   15 glossary words per group. PostgreSQL then gets the VACUUM ANALYZE autovacuum would run
   after such a load (timed, reported); SQLite gets nothing (the product never runs ANALYZE).
   Sizes: the SQLite file after a WAL checkpoint and its tables from `dbstat`;
   `pg_database_size` and relation sizes on PostgreSQL.
2. Searching: a fixed mix of ~280 queries in classes (common and rare Chinese words, three-
   and four-character words, traditional spellings, English words and prefixes, two words,
   quoted phrases, no hits, single characters, filters: questions, dates, sender), by a
   member of all 10 groups, plus 30 queries by a member of the largest group only and 30 by
   a member of a small group only (`Filters(group=gid)`). `knowledge.search.search` is timed
   end to end in-process (membership lookup, entries, glossary, messages, snippets): the mix
   once untimed, then --rounds timed rounds in a shuffled order. Then one more untimed pass
   counting SQL statements and their time, and the matching rows in the index per query.
3. EXPLAIN (QUERY PLAN on SQLite, ANALYZE BUFFERS on PostgreSQL) of the message and entry
   candidate queries for a common term, a rare term and the slowest query, printed to the
   console and kept in the section.

The parent collects the results and replaces the section between the `search` markers in
--out (hand-written notes between the `search-notes` markers are kept).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import datetime as dt
import glob
import json
import math
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import delivery  # noqa: E402  (machine facts, percentiles and the section writer)
import questions as qbench  # noqa: E402  (question texts and their vocabulary, users, groups)

START_MARK = "<!-- search:start -->"
END_MARK = "<!-- search:end -->"
NOTES_START = "<!-- search-notes:start -->"
NOTES_END = "<!-- search-notes:end -->"
GOAL_MS = 50.0
DB_LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}

# --------------------------------------------------------------------------- message texts

# fmt: off
# Chat besides questions: slots are those of questions.ZH / questions.EN plus the ones below.
CHAT_ZH = [
    "今天放疗{week}，{rt_sym}", "放疗{week}了，{rt_sym}，还好能吃东西",
    "刚做完第{n}次化疗，{chemo_sym}", "打完{drug}第{d}天，{chemo_sym}",
    "明天去{hospital}复查，有没有人一起？", "{hospital}今天人好多，挂号排了{hours}个小时",
    "EB病毒{ebv}，好紧张", "复查结果出来了，一切正常，开心！", "复查结果还没出来，睡不着",
    "{who}今天胃口好一点了，吃了半碗粥", "{who}住院了，在{hospital}{ward}",
    "洗鼻子{nasal_issue}", "分享一个食谱：{food}炖汤，放疗期间喝很好",
    "医保报销下来了，自费{money}块", "在{city}租房，月租{money}，离医院近",
    "张口训练今天做了{n}十次", "医生说{finding}，下个月再看", "今天血常规白细胞{wbc}",
    "早上好", "大家早上好！", "晚安", "加油！", "抱抱", "谢谢大家的鼓励", "收到，谢谢",
    "同意楼上", "哈哈哈", "我也是这样", "+1", "多喝水", "坚持就是胜利", "今天天气不错，出去走走了",
    "{hospital}的放疗科在几楼？", "有没有{city}的病友？", "群里有{cancer}的吗？",
    "今天做chemo好累", "等scan结果好焦虑", "PICC今天维护了，{hospital}收了{money}块",
    "PD-1打了{n}次了，没什么反应", "{who}今天情绪不好，不想说话", "今天终于毕业了！放疗结束🎉",
    "体重又掉了{kg}斤", "口腔溃疡好了一点，能吃{food}了", "{med}真的有用，推荐",
    "放疗面罩做好了，下周一开始", "住院押金交了{money}", "异地就医备案办好了",
    "{who}化疗后吃饭没胃口", "今天吃饭吃了一小碗", "晚上疼痛睡不着", "疼痛科开了{med}",
    "放疗期间饮食要清淡", "饮食上有什么要注意的？", "又是睡不着的一晚", "手术后伤口疼痛",
]
CHAT_EN = [
    "Day {d} of radiotherapy, {rt_sym} is getting worse", "Finished chemo cycle {n} today!",
    "Scan results are clear!! 🎉", "Still waiting for the scan results, can't sleep",
    "Good morning all", "Morning everyone", "Hugs", "Thanks everyone", "Same here",
    "Hang in there", "Anyone going to {hospital} tomorrow?", "My {who} is in hospital at {hospital}",
    "Had {drug} today, feeling {feeling}", "Week {n} of rads done, {rt_sym} now",
    "Insurance finally paid out", "Doing my jaw exercises {n} times a day",
    "The {med} really helped with {rt_sym}", "Lost another {kg} kg this week",
    "Made {food_en} soup, easy to swallow", "Anyone from {city} here?",
    "Rang the bell today, treatment finished!", "The mask fitting was scary but OK",
    "White count is {wbc} today, no chemo this week", "PICC dressing changed, all good",
    "Nausea is bad today", "Chemo brain is real", "Radiation fatigue hitting hard",
    "Appointment at {hospital} moved to next week", "Good luck with the scan tomorrow!",
    "Thinking of you", "That's great news!", "Congratulations!!", "Sorry to hear that",
    "Chemotherapy starts on Monday", "Second round of chemotherapy done",
    "The radiotherapy team were lovely", "Pain is worse at night", "Sleeping better this week",
]
EXTRA: dict[str, list[str]] = {
    "hours": ["两", "三", "四", "半"],
    "ward": ["放疗科", "肿瘤内科", "头颈科", "耳鼻喉科", "中医科", "ICU"],
    "money": ["300", "800", "1500", "2000", "3500", "5000", "一万", "两万"],
    "feeling": ["awful", "OK", "tired", "sick", "better than last time", "wiped out"],
    "food_en": ["chicken", "fish", "pumpkin", "potato", "lentil", "tomato"],
}
TAIL_FRAMES_ZH = ["，听说{tail}有用", "，医生提到{tail}", "，有人试过{tail}吗？", "。{tail}",
                  "，{tail}也要注意"]
TAIL_FRAMES_EN = [". Has anyone tried {tail}?", ", my doctor mentioned {tail}", ". {tail} too",
                  " (and {tail})"]
# A long tail: drawn by a Zipf law over a fixed shuffled order, so some are in tens of
# thousands of messages and the last ones in fewer than a hundred.
TAIL_ZH = (
    "黄芪 党参 枸杞 石斛 灵芝 西洋参 冬虫夏草 铁皮石斛 蒲公英 金银花 菊花 罗汉果 胖大海 麦冬 玉竹 "
    "百合 山药 薏米 茯苓 白术 当归 川贝 雪梨 银耳 莲子 红枣 桂圆 阿胶 海参 鲍鱼 甲鱼 黑鱼 鲫鱼 "
    "鸽子汤 牛肉粥 小米粥 南瓜粥 蒸蛋 豆腐脑 藕粉 米糊 肠内营养粉 安素 全安素 益力佳 乳清蛋白 "
    "血常规 肝功能 肾功能 甲功 电测听 鼻咽镜 活检 骨扫描 腹部彩超 心电图 肺功能 胃镜 肠镜 "
    "耳鸣 眩晕 盗汗 失眠 脱发 牙龈出血 复视 面瘫 嗅觉减退 味觉丧失 吞咽困难 声音嘶哑 颈部淋巴结 "
    "放射性脑病 放射性骨坏死 颞叶损伤 甲减 鼻窦炎 渗出性中耳炎 鼓膜置管 咽鼓管 口腔真菌 "
    "氟化钠 漱口液 碳酸氢钠 利多卡因 地塞米松 昂丹司琼 阿瑞匹坦 奥氮平 甲地孕酮 重组人粒细胞 "
    "聚乙二醇化 血小板生成素 白介素 胸腺肽 香菇多糖 槐耳颗粒 平消胶囊 西黄丸 "
    "尼妥珠 恩度 贝伐珠 西妥昔 特瑞普利 信迪利 替雷利珠 卡瑞利珠 派安普利 阿替利珠 "
    "质子治疗 重离子 射波刀 近距离放疗 后装 调强放疗 螺旋断层 同步放化疗 诱导化疗 辅助化疗 "
    "惠民保 大病医保 门特 异地备案 水滴筹 轻松筹 慈善赠药 援助项目 报销比例 起付线 "
    "针灸 艾灸 拔罐 推拿 八段锦 太极拳 冥想 正念 瑜伽 散步 "
    "假发 头巾 帽子 口罩 保湿喷雾 加湿器 冲牙器 软毛牙刷 含漱 张口器 "
    "中山二院 肿瘤医院东院 越秀院区 黄埔院区 天河院区 番禺 佛山 东莞 惠州 汕头 梅州 茂名 "
    "鼻饲管 胃造瘘 营养管 输液港 静脉炎 血栓 心理咨询 病友会 志愿者 社工"
).split()
TAIL_EN = (
    "ginger acupuncture manuka turmeric lozenge audiogram tinnitus vertigo lymphedema trismus "
    "osteoradionecrosis neuropathy xerostomia mucositis candida thrush nasogastric hyperbaric "
    "fluoride biotene xylitol caphosol benzydamine gabapentin ondansetron dexamethasone "
    "olanzapine filgrastim pegfilgrastim neulasta keytruda nivolumab cetuximab nimotuzumab "
    "toripalimab camrelizumab tislelizumab gemcitabine capecitabine carboplatin "
    "brachytherapy tomotherapy cyberknife protons imrt vmat "
    "mindfulness meditation yoga pilates walking swimming counselling therapist "
    "wig headscarf beanie humidifier waterpik toothbrush therabite mouthguard "
    "smoothies porridge congee broth custard jelly milkshake ensure fortisip "
    "endoscopy biopsy audiology dietitian physio speech hygienist dentist "
    "thyroxine hypothyroidism sinusitis grommets eustachian dysphagia hoarseness "
    "fibrosis stiffness numbness cramps insomnia anxiety depression fatigue "
    "reimbursement copay deductible crowdfunding charity volunteer "
    "parking shuttle hostel airbnb caravan ferry "
    "marathon gardening knitting painting choir chess mahjong"
).split()
# Typed only by a handful of members: each occurs in about 5 messages per million.
ULTRA_RARE = ["蛇床子", "苍耳子", "辛夷花", "鹅不食草", "鱼腥草茶", "紫苏叶", "野菊花茶",
              "瓜蒌皮", "木蝴蝶", "玄参", "glossectomy", "sialendoscopy", "pentoxifylline",
              "amifostine", "palifermin", "tocotrienol", "hydrotherapy", "sialogogue",
              "photobiomodulation", "cryotherapy"]
TRADITIONAL_SHARE = 0.08
QUESTION_SHARE = 0.12
REPLY_SHARE = 0.2
TAIL_SHARE = 0.25
TAIL_ZIPF = 1.2
ULTRA_RARE_SHARE = 0.0001
GROUP_SHARES = [30, 18, 12, 10, 8, 7, 5, 4, 3, 3]  # % of messages (and entries) per group
MEMBERS_PER_GROUP = 40
CATEGORIES = ["treatment", "diet", "hospitals", "housing", "rehab", "tcm", "emotions", "money"]
TAGS = ["放疗", "化疗", "饮食", "医保", "鼻咽癌", "picc", "复查", "心理", "chemo", "diet",
        "insurance", "口干", "中药", "住院"]
GLOSSARY = [("毕业", "完成全部治疗", "finished treatment"), ("CR", "完全缓解", "complete remission"),
            ("PR", "部分缓解", "partial response"), ("升白", "升白针，升白细胞的针", "G-CSF"),
            ("面罩", "放疗固定用的热塑面罩", "mask"), ("同步", "同步放化疗", "concurrent"),
            ("诱导", "诱导化疗", "induction"), ("EB", "EB病毒DNA拷贝数", "EBV DNA"),
            ("洗鼻", "鼻咽冲洗", "nasal rinse"), ("门特", "门诊特殊病种", "outpatient scheme"),
            ("PICC", "经外周静脉置入中心静脉导管", "PICC line"), ("港", "输液港", "port"),
            ("靶向", "靶向药", "targeted therapy"), ("免疫", "免疫治疗 PD-1", "immunotherapy"),
            ("复查", "治疗后的定期检查", "follow-up")]
# fmt: on

_SLOT = re.compile(r"\{(\w+)\}")


def zipf_pick_weights(n: int, s: float) -> list[float]:
    return [1 / (i + 1) ** s for i in range(n)]


class ChatWriter:
    """Chat message texts, ~60 % Chinese (some in traditional characters), from the question
    templates of bench/questions.py and the chat templates above."""

    def __init__(self, seed: int, chinese: float = 0.6) -> None:
        import opencc

        self.rng = random.Random(seed)
        self.chinese = chinese
        self.zh_q = qbench.Writer(seed + 1, chinese=1.0)
        self.en_q = qbench.Writer(seed + 2, chinese=0.0)
        self.zh = {**qbench.ZH, **EXTRA}
        self.en = {**qbench.EN, **EXTRA}
        self.to_traditional = [opencc.OpenCC("s2t"), opencc.OpenCC("s2hk")]
        order = random.Random(seed + 3)
        self.tail_zh = TAIL_ZH[:]
        self.tail_en = TAIL_EN[:]
        order.shuffle(self.tail_zh)
        order.shuffle(self.tail_en)
        self.tail_zh_w = zipf_pick_weights(len(self.tail_zh), TAIL_ZIPF)
        self.tail_en_w = zipf_pick_weights(len(self.tail_en), TAIL_ZIPF)

    def fill(self, slots: dict[str, list[str]], text: str) -> str:
        return _SLOT.sub(lambda m: self.fill(slots, self.rng.choice(slots[m[1]])), text)

    def message(self) -> tuple[str, bool, bool]:
        """(text, is a question, is traditional)."""
        rng = self.rng
        zh = rng.random() < self.chinese
        r = rng.random()
        question = r < QUESTION_SHARE
        if question:
            text = (self.zh_q if zh else self.en_q).question()[1]
        elif r < QUESTION_SHARE + REPLY_SHARE:
            text = self.fill(
                self.zh if zh else self.en,
                rng.choice(qbench.REPLIES_ZH if zh else qbench.REPLIES_EN),
            )
        else:
            text = self.fill(self.zh if zh else self.en, rng.choice(CHAT_ZH if zh else CHAT_EN))
            if rng.random() < 0.1:  # two thoughts in one message
                more = self.fill(self.zh if zh else self.en, rng.choice(CHAT_ZH if zh else CHAT_EN))
                text += ("。" if zh else ". ") + more
        if rng.random() < TAIL_SHARE:
            if zh:
                tail = rng.choices(self.tail_zh, self.tail_zh_w)[0]
                text += rng.choice(TAIL_FRAMES_ZH).format(tail=tail)
            else:
                tail = rng.choices(self.tail_en, self.tail_en_w)[0]
                text += rng.choice(TAIL_FRAMES_EN).format(tail=tail)
        if rng.random() < ULTRA_RARE_SHARE:
            text += " " + rng.choice(ULTRA_RARE)
        traditional = zh and rng.random() < TRADITIONAL_SHARE
        if traditional:
            text = rng.choice(self.to_traditional).convert(text)
        return text, question, traditional

    def entry(self) -> tuple[str, str, list[str]]:
        """(title, body, tags) of a knowledge entry: a question as its title, a few
        paragraphs of advice and experience."""
        rng = self.rng
        zh = rng.random() < 0.7
        title = (self.zh_q if zh else self.en_q).question()[1][:120]
        paragraphs = []
        for _ in range(rng.randint(2, 5)):
            sentences = [self.message()[0] for _ in range(rng.randint(2, 6))]
            paragraphs.append(("。" if zh else " ").join(sentences))
        body = "\n\n".join(paragraphs)[:20000]
        tags = rng.sample(TAGS, rng.randint(0, 4))
        if zh and rng.random() < TRADITIONAL_SHARE:
            title = self.to_traditional[0].convert(title)
            body = self.to_traditional[0].convert(body)
        return title, body, tags


# --------------------------------------------------------------------------- the query mix

# fmt: off
ZH_COMMON = ["化疗", "放疗", "医院", "医生", "复查", "鼻咽", "口干", "治疗", "挂号", "饮食",
             "溃疡", "医保", "报销", "洗鼻", "面罩", "营养", "体重", "失眠", "头发", "中药",
             "耳鸣", "谢谢", "加油", "老公", "鸡蛋", "海鲜", "住院", "白细", "吃饭", "疼痛"]
ZH_LONG = ["鼻咽癌", "白细胞", "口腔溃疡", "升白针", "中山肿瘤", "放疗科", "异地就医", "张口训练",
           "鼻咽冲洗", "营养液", "核磁共振", "副作用", "宫颈癌", "乳腺癌", "甲状腺癌", "康复新液",
           "医保报销", "放射性皮炎", "手脚发麻", "北京肿瘤医院", "诱导化疗", "复查结果", "血小板",
           "蛋白粉", "生理盐水"]
ZH_TRAD = ["化療", "放療", "醫院", "醫生", "複查", "口腔潰瘍", "醫保", "報銷", "頭髮", "營養",
           "體重", "中藥", "掛號", "復發", "白細胞", "鼻咽衝洗", "副作用", "腫瘤", "藥", "睡不著"]
EN_WORDS = ["chemo", "chemotherapy", "radiotherapy", "radiation", "nausea", "hospital", "doctor",
            "mouth", "saliva", "scan", "insurance", "hair", "weight", "pain", "sleep", "swallow",
            "vomiting", "fatigue", "PICC", "NPC", "cisplatin", "thanks", "morning", "exercises",
            "treatment"]
EN_PREFIX = ["chem", "rad", "naus", "insur", "hosp", "radiot", "pic", "cis", "doc", "swall",
             "ther", "nasa", "exerc", "ch", "ra"]
TWO_WORDS = ["放疗 口干", "化疗 白细胞", "医院 挂号", "chemo nausea", "dry mouth", "鼻咽癌 复查",
             "化疗 hair", "PICC 洗澡", "radiotherapy skin", "中山肿瘤 住院", "insurance claim",
             "放疗 鸡蛋", "口腔溃疡 康复新液", "jaw exercises", "white count", "医保 异地",
             "放療 口乾", "hospital appointment", "scan results", "洗鼻 出血", "chemo hair",
             "复查 PET-CT", "EB病毒 拷贝", "nasal rinse", "失眠 焦虑"]
PHRASES = ['"dry mouth"', '"white count"', '"radiation burns"', '"nasal rinsing"',
           '"jaw exercises"', '"feeding tube"', '"hair loss"', '"sore throat"', '"PET-CT"',
           '"PD-1"', '"5-FU"', '"chemo brain"', '"scan results"', '"放疗 第三周"',
           '"口腔溃疡 怎么办"']
NO_HITS = ["量子计算", "区块链", "火箭发射", "xylophone", "blockchain", "quantum", "化疗 xylophone",
           "鼻咽癌 blockchain", "咽鼻癌", "疗化放", '"mouth dry"', '"count white"', "zebrafish",
           "潜水艇", "放疗 潜水艇", "chemo zebrafish", "kangaroo", "长颈鹿", "helicopter",
           "医院 helicopter"]
SINGLE = ["癌", "药", "吐", "疼", "汤"]
# fmt: on


def query_mix(
    writer: ChatWriter, groups: list[int], senders: dict[str, int], span: tuple[dt.date, dt.date]
) -> list[dict[str, Any]]:
    """The fixed mix: [{cls, q, filters, user}], user "all" (member of every group) or
    "big"/"small" (member of one group)."""
    first, last = span
    mix: list[dict[str, Any]] = []

    def add(cls: str, qs: list[str], user: str = "all", **filters: Any) -> None:
        mix.extend({"cls": cls, "q": q, "filters": dict(filters), "user": user} for q in qs)

    add("zh common (2 chars)", ZH_COMMON)
    rare = writer.tail_zh[-15:] + ULTRA_RARE[:5] + writer.tail_en[-3:] + ULTRA_RARE[-2:]
    add("rare words", rare)
    add("zh 3-6 chars", ZH_LONG)
    add("traditional", ZH_TRAD)
    add("en words", EN_WORDS)
    add("en prefixes", EN_PREFIX)
    add("two words", TWO_WORDS)
    add("phrase in quotes", PHRASES)
    add("no hits", NO_HITS)
    add("single character", SINGLE)
    # Filters: only messages are searched (entries and glossary left out).
    add(
        "filter: questions",
        ["化疗", "放疗", "医院", "chemo", "radiotherapy", "鼻咽癌", "口干", "医保", "洗鼻", "PICC"],
        questions=True,
    )
    last30 = (last - dt.timedelta(days=30)).isoformat()
    year_ago = last - dt.timedelta(days=365)
    two_years = last - dt.timedelta(days=730)
    add("filter: dates", ["化疗", "放疗", "chemo"], since=last30)
    add(
        "filter: dates",
        ["化疗", "医院", "nausea"],
        since=year_ago.isoformat(),
        until=(year_ago + dt.timedelta(days=30)).isoformat(),
    )
    add(
        "filter: dates",
        ["化疗", "口干", "radiotherapy"],
        since=two_years.isoformat(),
        until=(two_years + dt.timedelta(days=7)).isoformat(),
    )
    add("filter: dates", ["放疗", "hospital"], until=(first + dt.timedelta(days=60)).isoformat())
    add("filter: sender", ["化疗", "放疗", "医院", "chemo", "谢谢"], sender=senders["busy"])
    add("filter: sender", ["化疗", "放疗", "医院", "chemo", "谢谢"], sender=senders["quiet"])
    # fmt: off
    one_group = ["化疗", "放疗", "医院", "复查", "口干", "鼻咽癌", "口腔溃疡", "化療", "醫院",
                 "chemo", "radiotherapy", "nausea", "hospital", "chem", "dry mouth",
                 "放疗 口干", '"dry mouth"', "量子计算", "xylophone", writer.tail_zh[-1],
                 writer.tail_zh[-5], ULTRA_RARE[0], writer.tail_en[-1], "癌", "谢谢", "PICC",
                 "insurance", "白细胞", "中山肿瘤", "失眠 焦虑"]
    # fmt: on
    add("one group (largest, 30 %)", one_group, user="big", group=groups[0])
    add("one group (small, 3 %)", one_group, user="small", group=groups[-1])
    return mix


def filters_of(item: dict[str, Any]) -> Any:
    from tongzhou.knowledge.search import Filters

    f = dict(item["filters"])
    for key in ("since", "until"):
        if key in f:
            f[key] = dt.date.fromisoformat(f[key])
    return Filters(**f)


def describe(item: dict[str, Any]) -> str:
    if not item["filters"]:
        return ""
    return ", ".join(f"{k}={v}" for k, v in item["filters"].items())


# --------------------------------------------------------------------------- building


def setup_django(work: Path) -> None:
    """Django on the database named by DATABASE_URL (PostgreSQL) or the default SQLite file
    in a fresh data directory; migrated."""
    data = work / "data"
    data.mkdir(parents=True)
    os.environ.update(
        {
            "TONGZHOU_DATA_DIR": str(data),
            "TONGZHOU_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "tongzhou.settings",
        }
    )
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("TONGZHOU_DEBUG", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_world(rng: random.Random) -> dict[str, Any]:
    """10 groups of 40 members each; a searcher in all of them and one in a single group
    each for the largest and a small group, admitted through do_apply/do_decide."""
    from tongzhou.accounts.actions import do_register
    from tongzhou.accounts.models import User
    from tongzhou.groups.actions import do_apply, do_decide
    from tongzhou.groups.models import Group

    groups, members, leaders = [], [], []
    for g in range(len(GROUP_SHARES)):
        users = qbench.make_users(f"g{g:02d}m", MEMBERS_PER_GROUP)
        gid = qbench.make_group(f"Search group {g + 1}", users, rng)
        groups.append(gid)
        members.append(users)
        leaders.append(User.objects.get(pk=users[0]))

    def searcher(name: str, indexes: list[int]) -> User:
        user = do_register(name, "bench-search-Passw0rd!", name.title())
        for i in indexes:
            app = do_apply(user, Group.objects.get(pk=groups[i]), role="patient")
            do_decide(leaders[i], app, approve=True)
        return user

    searchers = {
        "all": searcher("searcher", list(range(len(groups)))),
        "big": searcher("onebig", [0]),
        "small": searcher("onesmall", [len(groups) - 1]),
    }
    return {"groups": groups, "members": members, "users": searchers}


def build_messages(
    world: dict[str, Any], n: int, writer: ChatWriter, budget_s: float
) -> dict[str, Any]:
    """N messages over three years, ids in time order, inserted with bulk_create in chunks
    (one transaction each). Stops early when inserting has taken `budget_s`."""
    from django.db import transaction
    from django.utils import timezone

    from tongzhou.chat.models import DeletedBy, Message

    rng = writer.rng
    end = timezone.now() - dt.timedelta(hours=1)
    start = end - dt.timedelta(days=3 * 365)
    span = (end - start).total_seconds()
    groups, members = world["groups"], world["members"]
    # Within a group some members talk far more than others.
    sender_w = [qbench.zipf_weights(len(m), 1.0) for m in members]
    chunk = 50_000
    t_gen = t_insert = 0.0
    done = 0
    counts = Counter[str]()
    per_sender: Counter[int] = Counter()
    stopped = False
    # Times for all N first (sorted), so that ids follow time even when stopped early.
    times = sorted(rng.random() for _ in range(n))
    while done < n:
        size = min(chunk, n - done)
        t0 = time.perf_counter()
        rows = []
        for i in range(done, done + size):
            g = rng.choices(range(len(groups)), GROUP_SHARES)[0]
            sender = rng.choices(members[g], sender_w[g])[0]
            text, question, traditional = writer.message()
            at = start + dt.timedelta(seconds=span * math.sqrt(times[i]))  # busier lately
            r = rng.random()
            held = r < 0.003
            deleted = 0.003 <= r < 0.008
            counts["question"] += question
            counts["traditional"] += traditional
            counts["held"] += held
            counts["deleted"] += deleted
            per_sender[sender] += 1
            rows.append(
                Message(
                    group_id=groups[g],
                    sender_id=sender,
                    client_id=f"s{i}",
                    text="" if deleted else text,
                    kind=Message.Kind.QUESTION if question else Message.Kind.TEXT,
                    status=Message.Status.HELD if held else Message.Status.VISIBLE,
                    created_at=at,
                    deleted_at=at + dt.timedelta(minutes=5) if deleted else None,
                    deleted_by=DeletedBy.SENDER if deleted else "",
                )
            )
            counts["chars"] += len(text)
        t1 = time.perf_counter()
        with transaction.atomic():
            Message.objects.bulk_create(rows, batch_size=2000)
        t2 = time.perf_counter()
        t_gen += t1 - t0
        t_insert += t2 - t1
        done += size
        print(
            f"  {done:,} messages inserted ({t_insert:.0f} s inserting, {t_gen:.0f} s generating)",
            flush=True,
        )
        if t_insert > budget_s and done < n:
            stopped = True
            print(f"  stopping at {done:,}: the insert budget of {budget_s:.0f} s is spent")
            break
    busiest_group = members[0]
    by_count = sorted(busiest_group[1:], key=lambda u: -per_sender[u])
    return {
        "messages": done,
        "asked": n,
        "stopped_early": stopped,
        "generate_s": t_gen,
        "insert_s": t_insert,
        "questions": counts["question"],
        "traditional": counts["traditional"],
        "held": counts["held"],
        "deleted": counts["deleted"],
        "mean_chars": counts["chars"] / max(done, 1),
        "first_day": start.date().isoformat(),
        "last_day": timezone.localtime(end).date().isoformat(),
        "senders": {
            "busy": by_count[0],
            "busy_messages": per_sender[by_count[0]],
            "quiet": by_count[len(by_count) // 2],
            "quiet_messages": per_sender[by_count[len(by_count) // 2]],
        },
    }


def messages_in_id_order(chunk: int = 10_000) -> Iterator[Any]:
    from tongzhou.chat.models import Message

    last = 0
    while True:
        rows = list(
            Message.objects.filter(pk__gt=last)
            .order_by("pk")
            .only("id", "text", "deleted_at")[:chunk]
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].pk


def build_index() -> dict[str, Any]:
    """`index_messages` over every message in id order, as an import or a reindex would."""
    from tongzhou.chat.models import Message
    from tongzhou.knowledge.index import index_messages
    from tongzhou.knowledge.models import MessageTerms
    from tongzhou.knowledge.terms import index_terms

    # The terms alone, on a sample (OpenCC and the stemmer load here, not counted below).
    sample = list(Message.objects.order_by("pk").values_list("text", flat=True)[:50_000])
    index_terms("放疗后口干 chemo")
    t0 = time.perf_counter()
    lengths = [len(index_terms(t)) for t in sample]
    terms_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    indexed = index_messages(messages_in_id_order())
    index_s = time.perf_counter() - t0
    return {
        "indexed": indexed,
        "rows": MessageTerms.objects.count(),
        "index_s": index_s,
        "terms_sample": len(sample),
        "terms_per_s": len(sample) / terms_s if terms_s else math.nan,
        "terms_per_message": statistics.fmean(lengths) if lengths else math.nan,
    }


def build_entries(world: dict[str, Any], n: int, writer: ChatWriter) -> dict[str, Any]:
    """N entries (bulk_create) with the EntryTerms rows index_entry would write (bulk), and
    15 glossary words per group."""
    from django.db import transaction
    from django.utils import timezone

    from tongzhou.knowledge import index
    from tongzhou.knowledge.models import Entry, EntryTerms, GlossaryTerm
    from tongzhou.knowledge.terms import index_terms

    def terms_row(e: Entry) -> EntryTerms:
        """The row index_entry writes (index.entry_terms where the code has it)."""
        if hasattr(index, "entry_terms"):
            return index.entry_terms(e)
        return EntryTerms(entry_id=e.pk, terms=" ".join(index_terms(index.entry_text(e))))

    rng = writer.rng
    now = timezone.now()
    groups, members = world["groups"], world["members"]
    t0 = time.perf_counter()
    rows = []
    for _ in range(n):
        g = rng.choices(range(len(groups)), GROUP_SHARES)[0]
        title, body, tags = writer.entry()
        created = now - dt.timedelta(days=rng.uniform(1, 1000))
        reviewed = rng.random() < 0.6
        rows.append(
            Entry(
                group_id=groups[g],
                title=title,
                body=body,
                category=rng.choice(CATEGORIES),
                tags=tags,
                status=Entry.Status.REVIEWED if reviewed else Entry.Status.DRAFT,
                created_by_id=rng.choice(members[g]),
                created_at=created,
                updated_at=created + dt.timedelta(days=rng.uniform(0, 30)),
                reviewed_at=created if reviewed else None,
                reviewed_by_id=members[g][0] if reviewed else None,
            )
        )
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with transaction.atomic():
        Entry.objects.bulk_create(rows, batch_size=500)
        entries = list(Entry.objects.order_by("pk"))
        EntryTerms.objects.bulk_create([terms_row(e) for e in entries], batch_size=1000)
        GlossaryTerm.objects.bulk_create(
            [
                GlossaryTerm(group_id=gid, term=term, also=also, meaning=meaning)
                for gid in groups
                for term, meaning, also in GLOSSARY
            ]
        )
    return {
        "entries": len(entries),
        "generate_s": gen_s,
        "insert_s": time.perf_counter() - t0,
        "mean_chars": statistics.fmean(len(e.title) + len(e.body) for e in entries),
    }


# --------------------------------------------------------------------------- sizes


def sizes(vendor: str) -> dict[str, Any]:
    """Bytes: the whole database and the parts search adds."""
    from django.conf import settings
    from django.db import connection

    out: dict[str, Any] = {}
    with connection.cursor() as c:
        if vendor == "sqlite":
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            path = Path(settings.DATABASES["default"]["NAME"])
            out["database"] = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
            c.execute("SELECT name, tbl_name, type FROM sqlite_master")
            owner = {name: tbl for name, tbl, _t in c.fetchall()}
            c.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
            per: Counter[str] = Counter()
            for name, size in c.fetchall():
                table = owner.get(name, name)
                for fts in ("knowledge_messageterms_fts", "knowledge_entryterms_fts"):
                    if table.startswith(fts):
                        table = fts
                per[table] += size
            out["messages"] = per["chat_message"]
            out["message_terms"] = per["knowledge_messageterms"]
            out["message_index"] = per["knowledge_messageterms_fts"]
            out["entries"] = per["knowledge_entry"]
            out["entry_terms"] = per["knowledge_entryterms"]
            out["entry_index"] = per["knowledge_entryterms_fts"]
        else:
            c.execute("SELECT pg_database_size(current_database())")
            out["database"] = c.fetchone()[0]

            def one(sql: str) -> int:
                c.execute(sql)
                return int(c.fetchone()[0])

            out["messages"] = one("SELECT pg_total_relation_size('chat_message')")
            out["message_terms"] = one(
                "SELECT pg_table_size('knowledge_messageterms') + "
                "pg_relation_size('knowledge_messageterms_pkey')"
            )
            out["message_index"] = one("SELECT pg_relation_size('knowledge_messageterms_vector')")
            out["entries"] = one("SELECT pg_total_relation_size('knowledge_entry')")
            out["entry_terms"] = one("SELECT pg_table_size('knowledge_entryterms')")
            out["entry_index"] = one("SELECT pg_indexes_size('knowledge_entryterms')")
    return out


# --------------------------------------------------------------------------- searching


class SqlLog:
    """Every statement run through Django's cursors while installed: (sql, params, ms)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, float]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.calls.append((sql, params, (time.perf_counter() - t0) * 1000))


def index_count(raw: str, kind: str) -> int:
    """Rows of `kind` whose terms hold every database term of the query (all groups)."""
    from django.db import connection

    from tongzhou.knowledge.index import match_clause
    from tongzhou.knowledge.terms import parse

    frm, where, _col, params = match_clause(kind, parse(raw).db_terms())
    with connection.cursor() as c:
        c.execute(f"SELECT count(*) FROM {frm} WHERE {where}", params)  # noqa: S608  # nosec B608
        return int(c.fetchone()[0])


def run_mix(
    mix: list[dict[str, Any]], users: dict[str, Any], rounds: int, seed: int
) -> dict[str, Any]:
    from django.db import connection

    from tongzhou.knowledge.search import search

    prepared = [(item, users[item["user"]], filters_of(item)) for item in mix]
    t0 = time.perf_counter()
    for _item, user, f in prepared:  # warm: the mix once, not counted
        search(user, _item["q"], f)
    warm_s = time.perf_counter() - t0
    times: list[list[float]] = [[] for _ in prepared]
    order = list(range(len(prepared)))
    rng = random.Random(seed)
    for r in range(rounds):
        rng.shuffle(order)
        for i in order:
            item, user, f = prepared[i]
            t = time.perf_counter()
            search(user, item["q"], f)
            times[i].append((time.perf_counter() - t) * 1000)
        print(f"  round {r + 1}/{rounds} done", flush=True)
    # One more pass, untimed, counting what each query did.
    details = []
    for i, (item, user, f) in enumerate(prepared):
        log = SqlLog()
        with connection.execute_wrapper(log):
            result = search(user, item["q"], f)
        kinds = Counter(r["type"] for r in result["results"])
        details.append(
            {
                **item,
                "ms": times[i],
                "median_ms": statistics.median(times[i]),
                "max_ms": max(times[i]),
                "sql": len(log.calls),
                "sql_ms": sum(ms for _s, _p, ms in log.calls),
                "candidate_queries": sum(
                    1 for s, _p, _ms in log.calls if "chat_message m" in s and "LIMIT" in s
                ),
                "results": dict(kinds),
                "more": result["next_before"] is not None,
                "in_index": index_count(item["q"], "message"),
                "entries_in_index": index_count(item["q"], "entry"),
            }
        )
    # And one under cProfile: which part of search() the time goes to.
    prof = cProfile.Profile()
    prof.enable()
    for item, user, f in prepared:
        search(user, item["q"], f)
    prof.disable()
    # For comparison: the same mix asking for messages only (`type="message"`): what the
    # message side costs without the entries and the glossary.
    only = [(item, user, dataclasses.replace(f, type="message")) for item, user, f in prepared]
    for item, user, f in only:
        search(user, item["q"], f)
    messages_only: list[float] = []
    for _r in range(rounds):
        rng.shuffle(order)
        for i in order:
            item, user, f = only[i]
            t = time.perf_counter()
            search(user, item["q"], f)
            messages_only.append((time.perf_counter() - t) * 1000)
    return {
        "warm_s": warm_s,
        "queries": details,
        "shares": shares(prof),
        "messages_only": messages_only,
    }


# Disjoint parts of search(), each the named function and everything below it.
PARTS = {
    "entries (`_entries`)": "_entries",
    "messages (`_messages`)": "_messages",
    "glossary (`_terms`)": "_terms",
    "membership (`readable_groups`)": "readable_groups",
    "parsing (`parse`)": "parse",
}


def shares(prof: cProfile.Profile) -> dict[str, float]:
    stats: dict[Any, Any] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = (
        sum(
            v[3]
            for (f, _l, n), v in stats.items()
            if n == "search" and f.endswith("knowledge/search.py")
        )
        or 1.0
    )
    out = {}
    for label, name in PARTS.items():
        out[label] = sum(
            v[3]
            for (f, _l, n), v in stats.items()
            if n == name and (f.endswith("knowledge/search.py") or f.endswith("knowledge/terms.py"))
        )
    out["other"] = total - sum(out.values())
    return {k: v / total for k, v in out.items()}


def share_text(sh: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in sorted(sh.items(), key=lambda kv: -kv[1]))


def time_mix(mix: list[dict[str, Any]], users: dict[str, Any], rounds: int) -> list[float]:
    """`rounds` timed passes over the mix (already warm), in its order."""
    from tongzhou.knowledge.search import search

    out = []
    for _r in range(rounds):
        for item in mix:
            user, f = users[item["user"]], filters_of(item)
            t = time.perf_counter()
            search(user, item["q"], f)
            out.append((time.perf_counter() - t) * 1000)
    return out


def summarise_ms(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {
        "n": len(s),
        "p50": delivery.pct(s, 0.50),
        "p90": delivery.pct(s, 0.90),
        "p99": delivery.pct(s, 0.99),
        "max": s[-1] if s else math.nan,
    }


def summarise(details: list[dict[str, Any]], messages_only: list[float]) -> dict[str, Any]:
    def stats(ms: list[float]) -> dict[str, float]:
        s = sorted(ms)
        return {
            "n": len(s),
            "p50": delivery.pct(s, 0.50),
            "p90": delivery.pct(s, 0.90),
            "p99": delivery.pct(s, 0.99),
            "max": s[-1] if s else math.nan,
        }

    classes: dict[str, list[dict[str, Any]]] = {}
    for d in details:
        classes.setdefault(d["cls"], []).append(d)
    out = {
        "all": {**stats([t for d in details for t in d["ms"]]), "queries": len(details)},
        "classes": {
            cls: {**stats([t for d in ds for t in d["ms"]]), "queries": len(ds)}
            for cls, ds in classes.items()
        },
    }
    out["messages_only"] = stats(messages_only)
    out["sql_share"] = sum(d["sql_ms"] for d in details) / max(
        sum(d["median_ms"] for d in details), 1e-9
    )
    return out


def explain(vendor: str, user: Any, raw: str, f: Any) -> dict[str, Any]:
    """The plans of the candidate queries one search runs (messages, entries), with their
    times when run alone."""
    from django.db import connection

    from tongzhou.knowledge.search import search

    log = SqlLog()
    with connection.execute_wrapper(log):
        search(user, raw, f)
    out: dict[str, Any] = {"query": raw, "plans": []}
    wanted = [
        (s, p, ms)
        for s, p, ms in log.calls
        if ("MATCH" in s or "@@" in s) and ("chat_message m" in s or "knowledge_entry e" in s)
    ]
    seen = set()
    for sql, params, ms in wanted:
        if "chat_message m" in sql:
            what = "messages"
        elif "title_vector" in sql or any("title :" in str(p) for p in params or []):
            what = "entries, title hits"
        else:
            what = "entries"
        if what in seen:  # the first batch of each is enough
            continue
        seen.add(what)
        with connection.cursor() as c:
            if vendor == "sqlite":
                c.execute("EXPLAIN QUERY PLAN " + sql, params)
                rows = c.fetchall()
                depth: dict[int, int] = {0: -1}
                lines = []
                for node, parent, _unused, detail in rows:
                    depth[node] = depth.get(parent, -1) + 1
                    lines.append("  " * depth[node] + detail)
                plan = "\n".join(lines)
            else:
                c.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = "\n".join(r[0] for r in c.fetchall())
            alone = []
            for _ in range(3):
                t0 = time.perf_counter()
                c.execute(sql, params)
                c.fetchall()
                alone.append((time.perf_counter() - t0) * 1000)
        shown_sql = sql
        shown_params = list(params) if params else []
        out["plans"].append(
            {
                "what": what,
                "sql": shown_sql,
                "params": [str(p) for p in shown_params],
                "ms_in_search": ms,
                "ms_alone": min(alone),
                "plan": plan,
            }
        )
    return out


# --------------------------------------------------------------------------- one database


def code_version() -> str:
    """The commit measured, and whether the search code differed from it (src/ may be
    edited while a long run goes on)."""

    def git(*argv: str) -> str:
        try:
            return subprocess.run(
                ["git", *argv], cwd=HERE.parent, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "src/tongzhou/knowledge", "src/tongzhou/chat")
    return commit + (" (search code changed since)" if dirty else "")


def child(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=f"tz-search-{args.db}-"))
    result: dict[str, Any] = {"db": args.db}
    try:
        t0 = time.perf_counter()
        setup_django(work)
        from django.db import connection

        result["migrate_s"] = time.perf_counter() - t0
        with connection.cursor() as c:
            if connection.vendor == "sqlite":
                import sqlite3

                result["version"] = f"SQLite {sqlite3.sqlite_version}"
            else:
                c.execute("SHOW server_version")
                result["version"] = f"PostgreSQL {c.fetchone()[0].split()[0]}"
                c.execute("SHOW shared_buffers")
                result["shared_buffers"] = c.fetchone()[0]
        vendor = "sqlite" if connection.vendor == "sqlite" else "postgres"
        import tongzhou.knowledge.search  # noqa: F401  (the code measured is the code now)

        result["code"] = code_version()
        print(f"== {result['version']}: building", flush=True)
        rng = random.Random(args.seed)
        world = make_world(rng)
        writer = ChatWriter(args.seed)
        b = build_messages(world, args.messages, writer, args.budget * 60 * 0.45)
        result["build"] = b
        print(
            f"  {b['messages']:,} messages: insert {b['insert_s']:.1f} s "
            f"({b['messages'] / b['insert_s']:,.0f}/s), generating {b['generate_s']:.1f} s",
            flush=True,
        )
        print("== index_messages", flush=True)
        ix = build_index()
        result["index"] = ix
        print(
            f"  {ix['indexed']:,} rows in {ix['index_s']:.1f} s "
            f"({ix['indexed'] / ix['index_s']:,.0f} messages/s); index_terms alone "
            f"{ix['terms_per_s']:,.0f}/s, {ix['terms_per_message']:.1f} terms per message",
            flush=True,
        )
        print(f"== {args.entries:,} entries", flush=True)
        en = build_entries(world, args.entries, writer)
        result["entries"] = en
        print(f"  inserted with terms in {en['insert_s']:.1f} s", flush=True)
        if vendor == "postgres":
            t0 = time.perf_counter()
            with connection.cursor() as c:
                c.execute("VACUUM ANALYZE")
            result["vacuum_s"] = time.perf_counter() - t0
            print(f"  VACUUM ANALYZE {result['vacuum_s']:.1f} s", flush=True)
        result["sizes"] = sizes(vendor)
        s = result["sizes"]
        print(
            "  sizes: " + ", ".join(f"{k} {v / 2**20:,.0f} MB" for k, v in s.items()),
            flush=True,
        )
        result["build_s"] = time.perf_counter() - started

        senders = {"busy": b["senders"]["busy"], "quiet": b["senders"]["quiet"]}
        span = (dt.date.fromisoformat(b["first_day"]), dt.date.fromisoformat(b["last_day"]))
        mix = query_mix(writer, world["groups"], senders, span)
        print(f"== searching: {len(mix)} queries, 1 warm + {args.rounds} timed rounds", flush=True)
        connection.close()  # a fresh connection, as a server process would have
        run = run_mix(mix, world["users"], args.rounds, args.seed)
        result["run"] = run
        result["summary"] = summarise(run["queries"], run["messages_only"])
        sm = result["summary"]
        for cls, st in [("all", sm["all"]), *sm["classes"].items()]:
            print(
                f"  {cls:<28} p50 {st['p50']:7.1f}  p90 {st['p90']:7.1f}  "
                f"p99 {st['p99']:7.1f}  max {st['max']:7.1f} ms  ({st['queries']} queries)",
                flush=True,
            )
        mo = sm["messages_only"]
        print(
            f"  {'all, messages only':<28} p50 {mo['p50']:7.1f}  p90 {mo['p90']:7.1f}  "
            f"p99 {mo['p99']:7.1f}  max {mo['max']:7.1f} ms",
            flush=True,
        )
        print(f"  where the time goes: {share_text(run['shares'])}", flush=True)
        slow = sorted(run["queries"], key=lambda d: -d["median_ms"])[:5]
        print("  slowest:", flush=True)
        for d in slow:
            print(
                f"    {d['median_ms']:7.1f} ms  {d['q']!r} [{d['cls']}] {describe(d)} "
                f"in index {d['in_index']:,}, entries {d['entries_in_index']:,}, "
                f"results {d['results']}, {d['sql']} SQL ({d['sql_ms']:.1f} ms)",
                flush=True,
            )
        from tongzhou.knowledge.search import Filters

        users = world["users"]
        first_days = span[0] + dt.timedelta(days=60)
        cases = [
            ("common term", "化疗", "all", Filters()),
            ("rare term", writer.tail_zh[-1], "all", Filters()),
            ("very rare term", ULTRA_RARE[0], "all", Filters()),
            ("no hits", "xylophone", "all", Filters()),
            (
                "common term, member of the largest group only",
                "化疗",
                "big",
                Filters(group=world["groups"][0]),
            ),
            ("common term, oldest 60 days", "放疗", "all", Filters(until=first_days)),
            ("three-character word (two pairs ANDed)", "白细胞", "all", Filters()),
        ]
        item = slow[0]
        cases.append(("slowest query", item["q"], item["user"], filters_of(item)))
        result["plans"] = []
        for label, q, who, f in cases:
            p = explain(vendor, users[who], q, f)
            p["label"] = label
            p["filters"] = ", ".join(
                f"{fl.name}={getattr(f, fl.name)}"
                for fl in dataclasses.fields(f)
                if getattr(f, fl.name) != fl.default
            )
            p["in_index"] = index_count(q, "message")
            p["entries_in_index"] = index_count(q, "entry")
            result["plans"].append(p)
        from tongzhou.knowledge import index as knowledge_index

        if vendor == "sqlite" and hasattr(knowledge_index, "purge_deleted_terms"):
            # What every account erasure runs after its commit: FTS5 'optimize' (all
            # segments merged). Then the mix once more, on the merged index.
            t0 = time.perf_counter()
            knowledge_index.purge_deleted_terms()
            result["optimize_s"] = time.perf_counter() - t0
            after = time_mix(mix, world["users"], 1)
            result["after_optimize"] = summarise_ms(after)
            print(
                f"  purge_deleted_terms (FTS5 optimize) {result['optimize_s']:.1f} s; the mix "
                f"after it: p50 {result['after_optimize']['p50']:.1f}, p99 "
                f"{result['after_optimize']['p99']:.1f} ms",
                flush=True,
            )
        for p in result["plans"]:
            for plan in p["plans"]:
                print(
                    f"-- EXPLAIN {result['version']}, {p['label']}: {p['query']!r} "
                    f"{p['filters']} ({plan['what']}; {p['in_index']:,} messages / "
                    f"{p['entries_in_index']:,} entries in the index; "
                    f"{plan['ms_alone']:.1f} ms alone)\n{plan['sql']}\n"
                    f"params {plan['params']}\n{plan['plan']}",
                    flush=True,
                )
    finally:
        if args.keep:
            print(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    result["runtime_s"] = time.perf_counter() - started
    result["code_end"] = code_version()
    Path(args.result).write_text(json.dumps(result, indent=1, default=str))
    return 0


# --------------------------------------------------------------------------- PostgreSQL


class Postgres:
    """A throwaway PostgreSQL (initdb as the postgres user on a temporary directory, a free
    port, default configuration), as scripts/test starts one; or a database on --pg-url."""

    def __init__(self, url: str | None) -> None:
        self.given = url
        self.work: Path | None = None
        self.pgbin = ""
        self.url = ""
        self.dbname = ""

    def _as_pg(self, cmd: str) -> None:
        argv = (
            ["su", "postgres", "-s", "/bin/sh", "-c", cmd]
            if os.geteuid() == 0
            else ["sh", "-c", cmd]
        )
        subprocess.run(argv, check=True, capture_output=True)

    def start(self) -> str:
        import psycopg

        if self.given:
            admin = self.given
            name = f"tz_search_{os.getpid()}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            base = admin.rsplit("/", 1)[0]
            self.url = f"{base}/{name}"
            self.dbname = name
            return self.url
        initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not initdb:
            raise SystemExit("PostgreSQL is not installed (apt-get install -y postgresql)")
        self.pgbin = str(Path(initdb[-1]).parent)
        self.work = Path(tempfile.mkdtemp(prefix="tz-search-pg-"))
        pg = self.work / "pg"
        pg.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.work, "postgres")
            shutil.chown(pg, "postgres")
        self._as_pg(f"{self.pgbin}/initdb -D {pg} -A trust -U postgres -E UTF8")
        port = delivery.free_port()
        self._as_pg(
            f"{self.pgbin}/pg_ctl -D {pg} -o '-p {port} -k {self.work} "
            f"-c listen_addresses=127.0.0.1' -l {pg}/log -w start"
        )
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
        ) as c:
            c.execute("CREATE DATABASE tongzhou")
        self.url = f"postgres://postgres@127.0.0.1:{port}/tongzhou"
        return self.url

    def stop(self) -> None:
        import psycopg

        if self.given and self.url:
            with (
                contextlib.suppress(Exception),
                psycopg.connect(self.given, autocommit=True) as conn,
            ):
                conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
            return
        if self.work is not None:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._as_pg(f"{self.pgbin}/pg_ctl -D {self.work / 'pg'} -m fast -w stop")
            shutil.rmtree(self.work, ignore_errors=True)


def run_db(db: str, args: argparse.Namespace, passthrough: list[str]) -> dict[str, Any] | None:
    pg = Postgres(args.pg_url) if db == "postgres" else None
    out = Path(tempfile.mkstemp(prefix=f"tz-search-{db}-", suffix=".json")[1])
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    try:
        if pg is not None:
            env["DATABASE_URL"] = pg.start()
            print(f"== PostgreSQL at {env['DATABASE_URL']}", flush=True)
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--db",
            db,
            "--result",
            str(out),
            *passthrough,
        ]
        proc = subprocess.run(cmd, env=env, check=False)
        if proc.returncode != 0 or not out.stat().st_size:
            print(f"!! the {db} run failed (exit {proc.returncode})", flush=True)
            return None
        return dict(json.loads(out.read_text()))
    finally:
        if pg is not None:
            pg.stop()
        out.unlink(missing_ok=True)


# --------------------------------------------------------------------------- report


def fmt(x: float | None, digits: int = 1) -> str:
    return delivery.fmt(x if x is not None else math.nan, digits)


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def render(results: list[dict[str, Any]], args: argparse.Namespace, runtime_s: float) -> str:
    m = delivery.machine()
    cmd = " ".join(["python bench/search.py", *sys.argv[1:]])
    date = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    versions = ", ".join(
        r["version"]
        + (
            f" (default configuration, shared_buffers {r['shared_buffers']})"
            if "shared_buffers" in r
            else ""
        )
        for r in results
    )
    r0 = results[0]
    b0 = r0["build"]
    la0, la1 = args.load_before, args.load_after
    lines = [
        START_MARK,
        "## Search (`bench/search.py`)",
        "",
        f"Measured {date} with `{cmd}` (whole run {runtime_s / 60:.0f} min). Machine: "
        f"{m['cpus']} CPUs ({m['cpu_model']}), {m['memory']} memory, {m['os']}, Python "
        f"{m['python']}; {versions}. Load average {la0[0]:.1f} at the start and {la1[0]:.1f} "
        "at the end. Code: "
        + "; ".join(
            f"{DB_LABELS[r['db']]} run at {r['code']}"
            + (f", {r['code_end']} at its end" if r.get("code_end") != r["code"] else "")
            for r in results
        )
        + ".",
        "",
        "**Method.** Each database in its own process, the real models and "
        "`knowledge.search.search` called in-process, as a server process would. SQLite is "
        "the embedded default (a fresh data directory, the settings' pragmas: WAL, "
        "`synchronous=FULL`); PostgreSQL a server the script starts (initdb on a temporary "
        "directory, its default configuration, fsync on), on the same machine.",
        "",
        f"- *Data.* 10 groups of {MEMBERS_PER_GROUP} members; messages spread very unevenly "
        f"over them ({'/'.join(str(s) for s in GROUP_SHARES)} %) and over three years (busier "
        "lately), ids in time order. Texts are generated patient chat, ~60 % Chinese "
        f"({b0['traditional'] / b0['messages']:.0%} of all messages in traditional "
        "characters), from the question templates of `bench/questions.py` (treatment side "
        "effects, chemotherapy, nasal irrigation, diet, hospitals, insurance, PICC, scans, "
        f"feelings; {b0['questions'] / b0['messages']:.0%} of messages, kind *question*), "
        "replies, treatment updates, greetings and logistics, with Chinese–English mixing; "
        f"{TAIL_SHARE:.0%} carry one of {len(TAIL_ZH) + len(TAIL_EN)} long-tail words drawn "
        f"by a Zipf law (s = {TAIL_ZIPF}), and one in {1 / ULTRA_RARE_SHARE:,.0f} one of "
        f"{len(ULTRA_RARE)} words that then occur a handful of times. Mean length "
        f"{b0['mean_chars']:.0f} characters. 0.3 % are held for a moderator and 0.5 % "
        "deleted (not indexed). Entries: a question as title and two to five paragraphs "
        f"(mean {r0['entries']['mean_chars']:,.0f} characters), 70 % Chinese, 60 % reviewed; "
        "15 glossary words per group.",
        "- *Build.* `Message.objects.bulk_create` in chunks of 50,000 (one transaction "
        "each; generating the texts not counted), then `knowledge.index.index_messages` over "
        "all messages read in id order (computing terms, writing `MessageTerms` in batches "
        "of 2,000, the database maintaining its full-text index: FTS5 triggers on SQLite, the "
        "GIN index over the generated tsvector on PostgreSQL). Entries with `bulk_create` and "
        "their `EntryTerms` rows (the terms `index_entry` writes). PostgreSQL then gets a "
        "`VACUUM ANALYZE` (what autovacuum does after such a load; timed apart). SQLite gets "
        "no `ANALYZE` (the product never runs it). Sizes after a WAL checkpoint (SQLite: file "
        "size and `dbstat`; PostgreSQL: `pg_database_size`, relation sizes).",
        f"- *Queries.* A fixed mix of {r0['summary']['all']['queries']} queries (listed in "
        "`bench/search.py`), by a member of all 10 groups unless said otherwise, default "
        "filters (20 results; entries, glossary and messages) unless a filter is named; "
        "*filter* queries search messages only. *One group*: a member of only that group "
        "searching it (`Filters(group=…)`). `search()` is timed end to end (membership, "
        "parsing, entry candidates and their exact check, glossary, message candidates in "
        "batches and their exact check, loading and rendering the shown rows): the mix once "
        f"untimed, then {args.rounds} timed rounds in shuffled order; percentiles (nearest "
        "rank) over all timed calls of a class.",
        "",
        "**Building** (one process, one core):",
        "",
        "| database | messages | inserting (`bulk_create`) | rows/s | index build (`index_messages`) "
        "| messages/s | entries + terms | VACUUM ANALYZE |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        b, ix = r["build"], r["index"]
        stopped = " (stopped: time budget)" if b["stopped_early"] else ""
        lines.append(
            f"| {DB_LABELS[r['db']]} | {b['messages']:,}{stopped} | {b['insert_s']:.0f} s "
            f"| {b['messages'] / b['insert_s']:,.0f} | {ix['index_s']:.0f} s "
            f"| {ix['indexed'] / ix['index_s']:,.0f} | {r['entries']['entries']:,} in "
            f"{r['entries']['insert_s']:.0f} s | "
            + (f"{r['vacuum_s']:.0f} s" if "vacuum_s" in r else "–")
            + " |"
        )
    ix0 = r0["index"]
    lines += [
        "",
        f"`index_terms` alone computes {ix0['terms_per_s']:,.0f} messages/s "
        f"({ix0['terms_per_message']:.1f} terms per message, over the first "
        f"{ix0['terms_sample']:,} messages); the rest of the index build is reading the "
        "messages, writing the rows and the database's index maintenance.",
        "",
        "**Sizes**:",
        "",
        "| database | whole database | messages (table + indexes) | `MessageTerms` table "
        "| message full-text index | entries | `EntryTerms` + its index |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r["sizes"]
        lines.append(
            f"| {DB_LABELS[r['db']]} | {mb(s['database'])} | {mb(s['messages'])} "
            f"| {mb(s['message_terms'])} | {mb(s['message_index'])} | {mb(s['entries'])} "
            f"| {mb(s['entry_terms'] + s['entry_index'])} |"
        )
    lines += [
        "",
        "On PostgreSQL the `MessageTerms` table holds the generated tsvector column as well as "
        "the terms text; on SQLite the FTS5 index is its shadow tables (external content, so "
        "the terms are stored once).",
        "",
        f"**Search latency, ms** (goal: p99 under {GOAL_MS:.0f} ms):",
        "",
        "| query class | queries | "
        + " | ".join(f"{DB_LABELS[r['db']]} p50 / p90 / p99 / max" for r in results)
        + " |",
        "|---|---:|" + "---:|" * len(results),
    ]
    classes = list(r0["summary"]["classes"])

    def cell(st: dict[str, float]) -> str:
        return f"{fmt(st['p50'])} / {fmt(st['p90'])} / {fmt(st['p99'])} / {fmt(st['max'], 0)}"

    lines.append(
        f"| **all** | {r0['summary']['all']['queries']} | "
        + " | ".join(f"**{cell(r['summary']['all'])}**" for r in results)
        + " |"
    )
    for cls in classes:
        lines.append(
            f"| {cls} | {r0['summary']['classes'][cls]['queries']} | "
            + " | ".join(cell(r["summary"]["classes"][cls]) for r in results)
            + " |"
        )
    lines.append(
        '| *for comparison:* all, messages only (`type="message"`) | '
        f"{r0['summary']['all']['queries']} | "
        + " | ".join(cell(r["summary"]["messages_only"]) for r in results)
        + " |"
    )
    verdicts = []
    for r in results:
        p99 = r["summary"]["all"]["p99"]
        verdicts.append(
            f"{DB_LABELS[r['db']]} {'meets' if p99 < GOAL_MS else 'misses'} it "
            f"(p99 {fmt(p99)} ms over {r['summary']['all']['n']:,} timed calls)"
        )
    lines += [
        "",
        "Goal: "
        + "; ".join(verdicts)
        + ". "
        + " ".join(
            f"{DB_LABELS[r['db']]}: {r['summary']['sql_share']:.0%} of the time is in SQL "
            f"statements (summed over one extra pass); by part (cProfile over one more pass, "
            f"rough shares): {share_text(r['run']['shares'])}."
            for r in results
        ),
    ]
    for r in results:
        if "optimize_s" in r:
            a = r["after_optimize"]
            lines += [
                "",
                f"{DB_LABELS[r['db']]}: `knowledge.index.purge_deleted_terms()` (FTS5 "
                "'optimize', merging every segment; run after each account erasure commits) "
                f"took {r['optimize_s']:.1f} s at this size. The mix once more after it: p50 "
                f"{fmt(a['p50'])}, p90 {fmt(a['p90'])}, p99 {fmt(a['p99'])}, max "
                f"{fmt(a['max'], 0)} ms.",
            ]
    lines += [
        "",
        "**Slowest 5 queries** (median of the timed rounds; *in index*: messages / entries "
        "whose terms hold every database term of the query, all groups; *SQL*: statements "
        "in one call, of them message-candidate batches):",
        "",
    ]
    for r in results:
        lines += [
            f"*{DB_LABELS[r['db']]}*",
            "",
            "| query | class | filters | median ms | max ms | in index | results "
            "| SQL (batches) | SQL ms |",
            "|---|---|---|---:|---:|---:|---|---:|---:|",
        ]
        slow = sorted(r["run"]["queries"], key=lambda d: -d["median_ms"])[:5]
        for d in slow:
            res = ", ".join(f"{v} {k}" for k, v in sorted(d["results"].items())) or "none"
            lines.append(
                f"| `{d['q']}` | {d['cls']} | {describe(d) or '–'} | {d['median_ms']:.1f} "
                f"| {d['max_ms']:.1f} | {d['in_index']:,} / {d['entries_in_index']:,} | {res} "
                f"| {d['sql']} ({d['candidate_queries']}) | {d['sql_ms']:.1f} |"
            )
        lines.append("")
    lines += [
        "**Query plans** of the message candidate query (its first batch) for a common term, "
        "a rare one, a very rare one, one with no hits, a common term searched by a member of "
        "one group, a common term in the oldest 60 days, a three-character word, and the "
        "slowest query; and of the "
        "entry candidate queries for the common term and the slowest query (the console "
        "output has them all); *alone* = the statement run by itself (best of 3):",
        "",
        "<details><summary>EXPLAIN output</summary>",
        "",
    ]
    for r in results:
        for p in r["plans"]:
            for plan in p["plans"]:
                # All message plans; the entry plans (much alike) for two cases only. The
                # console shows them all.
                if plan["what"] != "messages" and p["label"] not in (
                    "common term",
                    "slowest query",
                ):
                    continue
                lines += [
                    f"{DB_LABELS[r['db']]}, {p['label']}: `{p['query']}` "
                    + (f"({p['filters']}) " if p["filters"] else "")
                    + f"— {plan['what']} ({p['in_index']:,} messages / "
                    f"{p['entries_in_index']:,} entries in the index), "
                    f"{plan['ms_alone']:.1f} ms alone:",
                    "",
                    "```",
                    plan["plan"],
                    "```",
                    "",
                ]
    lines += ["</details>", "", "NOTES_PLACEHOLDER", END_MARK]
    return "\n".join(lines) + "\n"


def old_notes(path: Path) -> str:
    """Hand-written notes (between the notes markers) are kept across reruns."""
    if not path.exists():
        return ""
    text = path.read_text()
    if NOTES_START in text and NOTES_END in text:
        return NOTES_START + text.split(NOTES_START, 1)[1].split(NOTES_END, 1)[0] + NOTES_END
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="chat messages")
    parser.add_argument("--entries", type=int, default=10_000, help="knowledge entries")
    parser.add_argument("--dbs", default="sqlite,postgres", help="databases to measure")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of the query mix")
    parser.add_argument(
        "--budget",
        type=float,
        default=25.0,
        help="minutes per database; inserting stops after 45 %% of it (reported)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="50,000 messages, 2,000 entries, 2 rounds; writes nothing unless --out",
    )
    parser.add_argument("--pg-url", help="use this PostgreSQL server (a database is created)")
    parser.add_argument("--out", help="default docs/performance.md ('-' to skip writing)")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    parser.add_argument("--db", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.messages, args.entries, args.rounds = 50_000, 2_000, 2
    if args.db:
        return child(args)

    out_path = args.out or ("-" if args.quick else "docs/performance.md")
    passthrough = [
        f"--messages={args.messages}",
        f"--entries={args.entries}",
        f"--rounds={args.rounds}",
        f"--budget={args.budget}",
        f"--seed={args.seed}",
        *(["--keep"] if args.keep else []),
    ]
    started = time.perf_counter()
    args.load_before = os.getloadavg()
    results = []
    for db in [d.strip() for d in args.dbs.split(",") if d.strip()]:
        r = run_db(db, args, passthrough)
        if r is not None:
            results.append(r)
    args.load_after = os.getloadavg()
    runtime = time.perf_counter() - started
    print(f"== total {runtime:.0f} s")
    if not results:
        return 1
    if args.json:
        raw = {
            "argv": sys.argv[1:],
            "runtime_s": runtime,
            "load_before": args.load_before,
            "load_after": args.load_after,
            "results": results,
        }
        Path(args.json).write_text(json.dumps(raw, indent=1, default=str))
    section = render(results, args, runtime)
    notes = old_notes(Path(out_path)) if out_path != "-" else ""
    section = section.replace("NOTES_PLACEHOLDER", notes).replace("\n\n\n", "\n\n")
    if out_path == "-":
        print(section)
    else:
        delivery.replace_section(Path(out_path), section, START_MARK, END_MARK)
        print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
