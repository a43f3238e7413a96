"""Questions benchmark: "asked before" over 100,000 past questions, and routing decisions.

    python bench/questions.py [--questions 100000] [--queries 500] [--runs 50] [--quick]

Everything runs in this process against the real models and the embedded default database
(SQLite in a fresh, migrated data directory, the settings' pragmas), as a server process
would call it:

1. Building: one group gets --questions past questions (generated Chinese and English
   questions, about 60 % Chinese, over nine topics with varied wording and details), asked
   over three years by its members, three in four answered by others and some marked
   helpful. Texts go through `questions.search.terms_of` (the indexing cost, reported as
   questions per second) and are inserted with bulk_create (chat Message rows for questions
   and replies, questions.Question rows with `terms`).
2. Lookup: `questions.queries.similar_questions` (index refresh query, BM25 search, fetching
   the rows shown) for --queries query texts that are not copies of indexed ones (the
   hand-written questions of tests/data/questions.tsv, then fresh generated ones); the
   first call on an empty index cache (loading all questions from the database) separately;
   then `Index.search` alone, `terms_of` alone and the refresh query alone.
3. Routing: groups of 150 and 1,000 members with profiles (encrypted health fields, spread
   over cancer types, hospitals, stages and phases), helper and e-mail settings, recent
   sessions and help requests, and a history of a few thousand answered questions. For each,
   --runs fresh unanswered questions (asked 5 minutes before, so due for helpers) are timed
   through `routing.choose_helpers` and, separately, through `routing.route_question` (claim,
   choose, notify, commit); each question is created before and deleted after its run,
   outside the timing, so every run sees the same group.
4. For comparison only: the warm lookup again after SQLite's ANALYZE (which the product
   never runs), to show what the query planner's choice costs.

The figures replace the section between the `questions` markers in --out.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
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
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import delivery  # noqa: E402  (machine facts, percentiles and the section writer)

START_MARK = "<!-- questions:start -->"
END_MARK = "<!-- questions:end -->"
NOTES_START = "<!-- questions-notes:start -->"
NOTES_END = "<!-- questions-notes:end -->"

# --------------------------------------------------------------------------- question texts

# fmt: off
# Slots are filled recursively: a value may itself hold {slots}. Repeated entries weigh more.
ZH: dict[str, list[str]] = {
    "opener": ["", "", "", "", "请问", "请问一下，", "各位病友好，", "大家好，", "想问问大家，",
               "求助：", "新人报到，", "打扰一下，", "有经验的姐妹帮忙看看，", "各位前辈，"],
    "who": ["我", "我", "我老公", "我老婆", "我妈", "我爸", "我姐", "我哥", "我婆婆",
            "家里老人", "孩子他爸"],
    "cancer": ["鼻咽癌", "鼻咽癌", "鼻咽癌", "鼻咽癌", "宫颈癌", "宫颈癌", "乳腺癌", "乳腺癌",
               "肺癌", "食管癌", "甲状腺癌", "直肠癌", "舌癌", "喉癌"],
    "stage": ["一期", "二期", "三期", "三期", "四期", "四A期", "T2N1M0", "T3N2M0", "早期",
              "晚期"],
    "hospital": ["中山肿瘤", "中山大学肿瘤防治中心", "广州医科大学附属肿瘤医院", "省人民医院",
                 "南方医院", "北京肿瘤医院", "医科院肿瘤医院", "复旦肿瘤", "湘雅医院",
                 "广西医科大学附属肿瘤医院", "华西医院", "浙江省肿瘤医院", "协和",
                 "本地的市医院", "中山肿瘤"],
    "hospital2": ["中山肿瘤", "省人民医院", "南方医院", "北京肿瘤医院", "复旦肿瘤", "华西医院", "协和"],
    "d": [str(i) for i in range(1, 36)],
    "city": ["广州", "北京", "上海", "长沙", "南宁", "深圳", "成都", "杭州", "湛江", "赣州"],
    "week": ["第一周", "第二周", "第三周", "第四周", "第五周", "第六周", "第七周", "第{n}次"],
    "n": ["两", "三", "四", "五", "六", "十", "二十"],
    "duration": ["两周", "一个月", "三个月", "半年", "一年", "两年", "三年多", "五年"],
    "context": ["{who}{cancer}{stage}，", "{who}在{hospital}做完{n}次化疗，",
                "{who}刚确诊{cancer}，", "{who}放疗{week}了，",
                "{who}{cancer}治疗结束{duration}了，",
                "{who}{cancer}{stage}，在{hospital}治疗，", "我是{cancer}患者，"],
    "relief": ["有什么办法缓解吗？", "大家都怎么缓解的？", "有没有好用的药？",
               "要不要去医院看看？", "怎么办？", "有什么偏方吗？", "怎么熬过去的？"],
    "normal": ["正常吗？", "这个要紧吗？", "会不会好？", "多久能恢复？", "严不严重？",
               "是不是复发了？", "需要马上去医院吗？"],
    "detail": ["已经{n}天了。", "晚上疼得睡不着。", "吃了{med}也没用。",
               "医生说没事但我还是不放心。", "今天是放疗第{d}天。", "化疗第{d}天了。",
               "{d}号就要复查了。",
               "体重掉了{kg}斤。", "下周就要复查了。", "最近特别累。"],
    "med": ["康复新液", "金因肽", "西瓜霜", "维生素B12", "布洛芬", "止吐药", "漱口水", "中药"],
    "kg": ["五", "八", "十", "十几", "二十"],
    "closer": ["", "", "", "谢谢！", "先谢谢大家了", "🙏", "有经验的说说", "急，在线等",
               "感谢分享"],
    # radiotherapy side effects
    "rt_sym": ["口干得厉害", "嘴里烂了好几个口腔溃疡", "嘴里烂", "脖子上的皮肤发红脱皮",
               "脖子越来越硬", "耳朵闷闷的像进水一样", "吃什么都没味道", "喉咙痛得咽不下口水",
               "张口越来越困难", "口水又黏又稠", "脸和脖子肿", "后脑勺的头发一块一块地掉",
               "整天没力气想睡觉", "牙齿酸痛", "鼻子老是流血", "耳鸣"],
    "rt_noun": ["口腔溃疡", "放射性皮炎", "口干", "中耳炎", "张口困难", "放射性龋齿", "颈部纤维化"],
    "rt": ["放疗{week}{rt_sym}，{relief}", "{rt_sym}，是放疗的副作用吗？{normal}",
           "放疗结束{duration}了还是{rt_sym}，{normal}", "放射治疗期间{rt_sym}怎么办？",
           "放疗的时候{rt_sym}，要不要跟医生说？", "{rt_noun}用什么药好？",
           "放疗后{rt_noun}多久能好？", "张口训练每天做多少次？什么时候开始做？",
           "放疗面罩压得很难受，喘不过气，怎么办？", "放疗前一定要拔牙吗？",
           "放疗期间可以{activity}吗？", "{rt_sym}，放疗还能继续做吗？"],
    # chemotherapy
    "drug": ["顺铂", "多西他赛", "紫杉醇", "卡培他滨", "吉西他滨", "5-FU", "奈达铂", "替吉奥"],
    "chemo_sym": ["吐得厉害", "白细胞降到{wbc}", "掉头发", "手脚发麻", "便秘", "一直打嗝",
                  "吃不下饭", "血小板低", "拉肚子", "手脚脱皮"],
    "wbc": ["1.8", "2.1", "2.5", "1.2", "3"],
    "activity": ["洗头", "运动", "上班", "喝茶", "吃中药", "出门旅游", "游泳", "染头发"],
    "chemo": ["打完{drug}{chemo_sym}，{relief}", "化疗第{n}个疗程{chemo_sym}，{normal}",
              "化疗后白细胞只有{wbc}，要打升白针吗？", "升白针打完骨头痛，{normal}",
              "{drug}的副作用大不大？{who}下周开始打", "化疗期间可以{activity}吗？",
              "同步化疗和诱导化疗有什么区别？", "化疗前一天要注意什么？",
              "吃{drug}嘴里烂了，这个要停药吗？", "打化疗{chemo_sym}，{relief}",
              "化学治疗结束多久头发能长回来？"],
    # nasal irrigation
    "nasal_issue": ["有血丝", "水从嘴里流出来", "耳朵疼", "冲出来很多脓涕", "鼻子很干", "头痛"],
    "nasal": ["鼻咽冲洗每天要洗几次？", "洗鼻子的时候{nasal_issue}，{normal}",
              "洗鼻盐和生理盐水哪个好？", "鼻腔冲洗器哪个牌子好用？",
              "放疗结束{duration}了还要坚持洗鼻吗？", "洗鼻的水要多少度？每次用多少毫升？",
              "冲鼻的时候呛到了，怎么洗才不会呛？", "鼻咽冲洗要坚持多少年？",
              "洗鼻子{nasal_issue}，是不是方法不对？"],
    # diet
    "food": ["海鲜", "鸡蛋", "牛奶", "鸡肉", "羊肉", "榴莲", "芒果", "辣椒", "火锅", "豆浆",
             "燕窝", "灵芝孢子粉", "蛋白粉", "鱼汤", "螃蟹", "鹅肉", "腌菜"],
    "diet": ["放疗期间能吃{food}吗？", "{who}化疗后吃不下饭，有什么开胃的做法？",
             "{food}是不是发物？{cancer}病人能不能吃？", "蛋白粉哪个牌子好？医生让补充营养",
             "求流食食谱，{who}现在只能吃流的", "鼻饲管每天打多少毫升营养液？",
             "治疗期间体重掉了{kg}斤，{relief}", "化疗期间能吃{food}吗？",
             "治疗结束{duration}了，什么时候可以吃{food}？", "吃不下饭要不要打营养针？"],
    # hospitals
    "hosp": ["{hospital}的号好挂吗？要提前几天？", "{hospital}放疗科住院一般要排多久？",
             "{hospital}哪个医生看{cancer}比较好？",
             "在{city}做放疗，{hospital}附近有没有便宜的房子租？",
             "{hospital}挂不到号怎么办，有没有加号的办法？",
             "从{city}去{hospital}看病，异地就医要办什么手续？",
             "{hospital}和{hospital2}哪个放疗技术好？", "{hospital}做放疗要自己带面罩吗？",
             "{hospital}的质子重离子能报销吗？"],
    # insurance
    "drug_t": ["PD-1", "尼妥珠单抗", "特瑞普利单抗", "卡瑞利珠单抗", "靶向药", "恩度"],
    "ins": ["异地就医医保报销比例是多少？", "重疾险理赔需要准备什么材料？",
            "{drug_t}能进医保报销吗？", "惠民保能报{cancer}的自费药吗？",
            "{city}的门诊特殊病种怎么申请？", "医保报销要带哪些单据？发票丢了怎么办？",
            "商业保险被拒赔了，{who}投保前没有体检，怎么办？", "{drug_t}一个月要花多少钱？",
            "在{city}看病，老家的医保能报多少？"],
    # PICC
    "picc": ["PICC多久维护一次？{hospital}维护一次多少钱？", "带着PICC可以洗澡吗？怎么包才不进水？",
             "PICC的贴膜下面痒得厉害，{normal}", "PICC堵管了怎么办？", "输液港和PICC哪个好？",
             "PICC拔管疼不疼？", "PICC置管的手臂肿了，{normal}", "带PICC能不能{activity}？",
             "回老家了，{city}哪里可以维护PICC？"],
    # scans and follow-up
    "ebv": ["升到了{copies}拷贝", "一直是零", "比上次高了一点", "又检测出来了"],
    "copies": ["600", "1200", "3000", "250", "5000"],
    "finding": ["黏膜增厚", "淋巴结稍大", "纤维化", "考虑炎症", "信号异常", "结节"],
    "scan": ["复查要做PET-CT还是核磁共振就够了？", "EB病毒DNA{ebv}，{normal}",
             "治疗结束{duration}，多久复查一次？", "核磁报告上写{finding}，是什么意思？",
             "做增强CT打造影剂要注意什么？", "复查前一晚要空腹吗？", "PET-CT辐射大不大？",
             "复查报告上写{finding}，{normal}", "核磁共振要做多久？幽闭恐惧怎么办？",
             "拍片结果看不懂，{finding}要不要紧？"],
    # feelings
    "emo_q": ["大家是怎么调整过来的？", "要不要看心理医生？", "吃安眠药会不会依赖？",
              "怎么才能不想这些？", "有人也这样吗？"],
    "emo": ["确诊以后天天失眠，{emo_q}", "每次复查前都特别焦虑，{emo_q}",
            "要不要告诉孩子我生病了？孩子才{age}岁",
            "照顾{carer}{duration}了，我自己快撑不住了，怎么办？",
            "总担心复发，{emo_q}", "治疗结束后回去上班，怎么跟同事说？",
            "{who}情绪很低落不愿意说话，家属能做些什么？", "一个人去做放疗，心里很害怕，{emo_q}"],
    "age": ["五", "八", "十", "十二", "十五"],
    "carer": ["老公", "老婆", "我妈", "我爸", "老人", "孩子"],
}
EN: dict[str, list[str]] = {
    "opener": ["", "", "", "", "Hi all, ", "Hello everyone, ", "Quick question: ", "Newbie here. ",
               "Hoping someone can help. ", "Sorry if this was asked before, ", "Hi! "],
    "who": ["husband", "wife", "mum", "dad", "sister", "brother", "partner", "mother-in-law"],
    "cancer": ["NPC", "NPC", "nasopharyngeal cancer", "cervical cancer", "breast cancer",
               "lung cancer", "head and neck cancer", "tongue cancer", "throat cancer"],
    "stage": ["stage 2", "stage 3", "stage 4a", "T3N1", "early stage", "stage 3b"],
    "hospital": ["Sun Yat-sen Cancer Center", "Queen Mary", "the Royal Marsden", "Guy's",
                 "Christie", "the county hospital", "Peter Mac", "MD Anderson", "Sun Yat-sen"],
    "hospital2": ["Queen Mary", "the Royal Marsden", "Christie", "Peter Mac", "MD Anderson"],
    "d": [str(i) for i in range(1, 36)],
    "city": ["Hong Kong", "Manchester", "Singapore", "Melbourne", "Kuala Lumpur", "Toronto"],
    "n": ["2", "3", "4", "5", "6"],
    "duration": ["two weeks", "a month", "three months", "six months", "a year", "two years",
                 "five years"],
    "context": ["My {who} has {cancer} ({stage}). ", "I'm in week {n} of radiotherapy. ",
                "I finished chemo {duration} ago. ", "My {who} was just diagnosed with {cancer}. ",
                "{cancer}, {stage}, treated at {hospital}. ", "I'm {duration} out of treatment. "],
    "detail": ["It's been {n} days.", "Day {d} of radiotherapy today.",
               "My review is on the {d}th.", "What the doctor gave me ({med}) isn't helping.",
               "The doctor says it's fine but I'm worried.", "I've lost {kg} kg already.",
               "My next scan is next week.", "Nights are the worst."],
    "med": ["mouthwash", "gel", "lozenges", "painkillers", "anti-sickness pills", "cream"],
    "kg": ["4", "6", "8", "10"],
    "closer": ["", "", "", "Thanks!", "Thanks in advance.", "Any advice welcome.", "🙏",
               "Would love to hear your experience."],
    "rt_sym": ["dry mouth", "mouth sores", "red peeling skin on the neck", "a stiff neck",
               "blocked ears", "no sense of taste", "a sore throat", "trouble opening my jaw",
               "thick sticky saliva", "fatigue", "hair loss at the back of the head",
               "nosebleeds", "ringing in the ears"],
    "rt": ["How do you deal with {rt_sym} during radiation?",
           "Any tips for {rt_sym} after radiotherapy?",
           "Is it normal to still have {rt_sym} {duration} after rads finished?",
           "I've got {rt_sym} in week {n} of RT. Does it get worse?",
           "What cream do you use for radiation burns on the neck?",
           "How long did {rt_sym} last after your treatment?",
           "Does anyone else have {rt_sym} from radiotherapy? What helped?",
           "Do I need fluoride trays after radiotherapy?",
           "Which jaw exercises do you do for trismus?"],
    "drug": ["cisplatin", "docetaxel", "capecitabine", "gemcitabine", "5-FU", "paclitaxel"],
    "wbc": ["1.8", "2.1", "1.2"],
    "activity": ["exercise", "work", "swim", "travel", "dye my hair", "drink coffee"],
    "chemo": ["Does {drug} make everyone this nauseous?",
              "My white count dropped to {wbc} after chemo. Did you get the booster shots?",
              "How long did it take for your hair to grow back after chemo?",
              "Can I {activity} during chemo?", "Bone pain after the white cell injection, normal?",
              "Tingling hands and feet after {drug}, does it go away?",
              "How did you manage the vomiting on {drug}?",
              "Any tips for constipation during chemo?"],
    "nasal": ["How many times a day should I do nasal rinsing?",
              "Blood in the water when I rinse my nose, should I worry?",
              "Which nasal irrigation bottle do you use?",
              "Do I still need to rinse my nose {duration} after radiotherapy?",
              "Salt packets or plain saline for nose rinsing?",
              "Water comes out of my mouth when I rinse my nose, am I doing it wrong?"],
    "food": ["seafood", "eggs", "dairy", "spicy food", "red meat", "sugar", "soy", "alcohol"],
    "diet": ["Is it safe to eat {food} during treatment?",
             "Any recipes for soft food? My {who} can only swallow liquids.",
             "Which protein shake do you recommend?",
             "Lost {kg} kg during radiation, how do I put weight back on?",
             "How much should go through the feeding tube each day?",
             "When can I have {food} again after treatment?", "diet tips?"],
    "hosp": ["How long is the wait for radiotherapy at {hospital}?",
             "Which doctor at {hospital} is good for {cancer}?",
             "Where do you stay when treated at {hospital}? We're coming from {city}.",
             "How do I get an appointment at {hospital} quickly?",
             "Is {hospital} or {hospital2} better for proton therapy?"],
    "ins": ["Does travel insurance cover people who've finished cancer treatment?",
            "What paperwork do I need for a critical illness claim?",
            "Is immunotherapy covered by the medical insurance?",
            "Has anyone had an insurance claim refused? What did you do?",
            "How do I get reimbursed for treatment in another province?",
            "How much does a month of targeted therapy cost without insurance?"],
    "picc": ["Can I shower with a PICC line? How do you keep it dry?",
             "How often does the PICC dressing get changed?",
             "Itchy skin under the PICC dressing, anything that helps?",
             "Port or PICC line, which did you prefer?",
             "Does it hurt when they take the PICC out?",
             "My arm is swollen around the PICC, should I call the ward?"],
    "copies": ["600", "1200", "3000", "250"],
    "finding": ["mucosal thickening", "a slightly enlarged lymph node", "fibrosis",
                "inflammatory change", "a small nodule"],
    "scan": ["Should I ask for a PET-CT or is an MRI enough?",
             "My EBV DNA went up to {copies} copies, should I be worried?",
             "How often are follow-up scans after finishing treatment?",
             "What does {finding} on the MRI report mean?",
             "Do I need to fast before the contrast CT?", "How do you cope with scan anxiety?",
             "The report mentions {finding}, is that recurrence?"],
    "emo": ["I can't sleep since the diagnosis. What helped you?",
            "How did you tell your kids? Mine are {n} and {age}.",
            "I'm caring for my {who} and I'm exhausted. How do you look after yourself?",
            "How do you live with the fear of recurrence?",
            "Going back to work after treatment, what do I tell colleagues?",
            "My {who} won't talk about it and seems depressed. What can I do?"],
    "age": ["8", "10", "12", "15"],
}
TOPICS = {"rt": 25, "chemo": 15, "nasal": 8, "diet": 12, "hosp": 10, "ins": 7, "picc": 6,
          "scan": 10, "emo": 7}
REPLIES_ZH = ["我也是这样，过了两周就好了", "可以问问主管医生", "用康复新液含漱很管用",
              "{hospital}周一早上可以加号", "坚持洗，别偷懒", "正常的，别担心",
              "我当时也是，吃了{med}好多了",
              "多喝水，少量多餐", "我是放疗结束{duration}才慢慢好的", "抱抱，会好起来的",
              "建议去{hospital}看看", "这个要问医生，每个人不一样"]
REPLIES_EN = ["Same here, it got better after a couple of weeks.", "Ask your oncologist, really.",
              "Saline rinses helped me a lot.", "It's normal, hang in there.",
              "I used {med} and it helped.", "Took me {duration} to feel normal again.",
              "Sending hugs, you've got this.", "Small meals and lots of water."]
THANKS = ["谢谢！", "收到，谢谢", "Thanks so much!", "thank you"]
# fmt: on

_SLOT = re.compile(r"\{(\w+)\}")


class Writer:
    """Question and reply texts from the templates above, about 60 % Chinese."""

    def __init__(self, seed: int, chinese: float = 0.6) -> None:
        self.rng = random.Random(seed)
        self.chinese = chinese
        self.topics = list(TOPICS)
        self.weights = list(TOPICS.values())

    def fill(self, slots: dict[str, list[str]], text: str) -> str:
        return _SLOT.sub(lambda m: self.fill(slots, self.rng.choice(slots[m[1]])), text)

    def question(self) -> tuple[str, str]:
        rng = self.rng
        topic = rng.choices(self.topics, self.weights)[0]
        if rng.random() < self.chinese:
            parts = [
                "{opener}",
                "{context}" if rng.random() < 0.45 else "",
                f"{{{topic}}}",
                "{detail}" if rng.random() < 0.3 else "",
            ]
            text = self.fill(ZH, "".join(parts))
            closer = self.fill(ZH, "{closer}")
            if closer and text[-1] not in "？。！?!":
                text += "，" if rng.random() < 0.5 else " "
            return "zh", text + closer
        parts = [
            "{opener}",
            "{context}" if rng.random() < 0.4 else "",
            f"{{{topic}}}",
            "{detail}" if rng.random() < 0.3 else "",
            "{closer}",
        ]
        text = " ".join(self.fill(EN, p) for p in parts if p).strip()
        text = re.sub(r"\s+", " ", text)
        # "Hi all, how do you…": lower case after a comma, but not "I'm", "NPC" or "PICC".
        text = re.sub(r", ([A-Z])(?=[a-z])", lambda m: ", " + m[1].lower(), text)
        if rng.random() < 0.1:  # typed in a hurry
            text = text.lower().rstrip("?!.🙏 ")
        return "en", text

    def reply(self, lang: str) -> str:
        if lang == "zh":
            return self.fill(ZH, self.rng.choice(REPLIES_ZH))
        return self.fill(EN, self.rng.choice(REPLIES_EN))


def hand_written_questions() -> list[str]:
    """The questions people wrote in tests/data/questions.tsv (label q)."""
    path = HERE.parent / "tests" / "data" / "questions.tsv"
    out = []
    for line in path.read_text().splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) >= 5 and cols[2] == "q":
            out.append(cols[4])
    return out


# --------------------------------------------------------------------------- building


def setup_django(work: Path) -> None:
    data = work / "data"
    data.mkdir(parents=True)
    os.environ.update(
        {
            "TONGZHOU_DATA_DIR": str(data),
            "TONGZHOU_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "tongzhou.settings",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_users(prefix: str, n: int) -> list[int]:
    from django.contrib.auth.hashers import make_password

    from tongzhou.accounts.models import User

    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(username=f"{prefix}{i:05d}", display_name=f"{prefix} {i}", password=unusable)
            for i in range(n)
        ],
        batch_size=2000,
    )
    return list(
        User.objects.filter(username__startswith=prefix)
        .order_by("username")
        .values_list("pk", flat=True)
    )


def make_group(name: str, user_ids: list[int], rng: random.Random) -> int:
    """A group led by the first user, the others members; a few moderators and verified
    professionals among them."""
    from tongzhou.accounts.models import User
    from tongzhou.groups.actions import do_create_group
    from tongzhou.groups.models import Group, Membership

    group = do_create_group(User.objects.get(pk=user_ids[0]), name)
    Group.objects.filter(pk=group.pk).update(member_cap=max(150, len(user_ids)))
    now = dt.datetime.now(dt.UTC)
    rows = []
    for uid in user_ids[1:]:
        r = rng.random()
        rows.append(
            Membership(
                group=group,
                user_id=uid,
                role=Membership.GroupRole.MODERATOR if r < 0.01 else Membership.GroupRole.MEMBER,
                verified_professional_at=now if 0.01 <= r < 0.02 else None,
                joined_at=now - dt.timedelta(days=rng.randint(1, 1000)),
            )
        )
    Membership.objects.bulk_create(rows, batch_size=2000)
    return group.pk


def zipf_weights(n: int, s: float = 0.9) -> list[float]:
    """Some members answer far more than others."""
    return [1 / (i + 1) ** s for i in range(n)]


def build_history(
    group_id: int,
    members: list[int],
    n: int,
    writer: Writer,
    start: dt.datetime,
    end: dt.datetime,
    next_id: int,
) -> dict[str, Any]:
    """N past questions asked between start and end, three in four answered by others (one
    to three replies), two in five of those with the reply that helped marked; some askers
    say thanks. Ids follow time, as they would have."""
    from django.db import transaction

    from tongzhou.chat.models import Message
    from tongzhou.questions.models import Question
    from tongzhou.questions.search import terms_of

    rng = writer.rng
    t0 = time.perf_counter()
    texts = [writer.question() for _ in range(n)]
    t_generate = time.perf_counter() - t0

    terms_of("放疗后口干怎么办")  # jieba loads its dictionary on first use: not counted
    t0 = time.perf_counter()
    terms = [" ".join(terms_of(text)) for _lang, text in texts]
    t_terms = time.perf_counter() - t0

    span = (end - start).total_seconds()
    asked = sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in range(n))
    answer_weights = zipf_weights(len(members))
    rng.shuffle(answer_weights)
    # (time, kind, question index, sender, text, reply number)
    events: list[tuple[dt.datetime, int, int, int, str]] = []
    replies_of: list[list[int]] = [[] for _ in range(n)]
    askers = [rng.choice(members) for _ in range(n)]
    for i in range(n):
        events.append((asked[i], 0, i, askers[i], texts[i][1]))
        if rng.random() < 0.75:
            at = asked[i]
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                at += dt.timedelta(minutes=rng.lognormvariate(math.log(20), 1.2))
                sender = rng.choices(members, answer_weights)[0]
                if sender == askers[i]:
                    continue
                events.append((min(at, end), 1, i, sender, writer.reply(texts[i][0])))
            if rng.random() < 0.2:
                events.append(
                    (min(at + dt.timedelta(minutes=5), end), 2, i, askers[i], rng.choice(THANKS))
                )
    events.sort(key=lambda e: (e[0], e[1]))
    question_id = [0] * n
    messages: list[Any] = []
    for offset, (at, kind, i, sender, text) in enumerate(events):
        mid = next_id + offset
        if kind == 0:
            question_id[i] = mid
        elif kind == 1:
            replies_of[i].append(mid)
        messages.append((mid, at, kind, i, sender, text))
    reply_at = {mid: at for mid, at, kind, _i, _s, _t in messages if kind == 1}

    t0 = time.perf_counter()
    with transaction.atomic():
        for chunk in range(0, len(messages), 20000):
            Message.objects.bulk_create(
                [
                    Message(
                        pk=mid,
                        group_id=group_id,
                        sender_id=sender,
                        client_id=f"b{mid}",
                        text=text,
                        kind=Message.Kind.QUESTION if kind == 0 else Message.Kind.TEXT,
                        reply_to_id=None if kind == 0 else question_id[i],
                        created_at=at,
                    )
                    for mid, at, kind, i, sender, text in messages[chunk : chunk + 20000]
                ]
            )
        rows = []
        for i in range(n):
            first = replies_of[i][0] if replies_of[i] else None
            helpful = rng.choice(replies_of[i]) if first and rng.random() < 0.4 else None
            rows.append(
                Question(
                    message_id=question_id[i],
                    group_id=group_id,
                    asker_id=askers[i],
                    asked_at=asked[i],
                    detected=rng.random() < 0.7,
                    terms=terms[i],
                    terms_at=asked[i],
                    first_answer_id=first,
                    first_answer_at=reply_at[first] if first else None,
                    helpful_id=helpful,
                    resolved_at=reply_at[helpful] + dt.timedelta(hours=2) if helpful else None,
                    resolved_by_id=askers[i] if helpful else None,
                    routed_stage=2,
                )
            )
            if len(rows) == 20000 or i == n - 1:
                Question.objects.bulk_create(rows)
                rows = []
    t_insert = time.perf_counter() - t0
    return {
        "questions": n,
        "chinese": sum(lang == "zh" for lang, _t in texts) / n,
        "distinct_texts": len({t for _l, t in texts}),
        "messages": len(messages),
        "answered": sum(1 for r in replies_of if r),
        "mean_terms": statistics.fmean(len(t.split()) for t in terms),
        "generate_s": t_generate,
        "terms_s": t_terms,
        "insert_s": t_insert,
        "next_id": next_id + len(messages),
        "texts": {t for _l, t in texts},
    }


# --------------------------------------------------------------------------- lookup


def timed_ms(fn: Any, items: list[Any]) -> list[float]:
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def summary(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {
        "n": len(s),
        "p50": delivery.pct(s, 0.50),
        "p99": delivery.pct(s, 0.99),
        "max": s[-1] if s else math.nan,
        "mean": statistics.fmean(s) if s else math.nan,
    }


def jieba_start_ms() -> float:
    """jieba loads its dictionary once per process (from its cache file, written by an
    earlier run), when questions.search is imported or first used: timed in a fresh
    interpreter, import and first `terms_of` together."""
    code = (
        "import time; t = time.perf_counter(); from tongzhou.questions.search import terms_of; "
        "terms_of('放疗后口干怎么办'); print((time.perf_counter() - t) * 1000)"
    )
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


# Where a call's time goes, from cProfile (so shares, not times: the profiler slows Python
# more than C). Disjoint: the first four are the named function and everything below it;
# SQLite is the sqlite3 module's own methods, the Django ORM its own code in django/db.
PARTS = {
    "decrypting health fields": ("tongzhou/crypto.py", "decrypt"),
    "Index.search": ("tongzhou/questions/search.py", "search"),
    "terms_of": ("tongzhou/questions/search.py", "terms_of"),
    "rendering texts": ("tongzhou/chat/render.py", "plain_text"),
}


def shares(prof: cProfile.Profile) -> dict[str, float]:
    stats: dict[Any, Any] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values()) or 1.0
    out = {}
    for label, (path, name) in PARTS.items():
        out[label] = sum(v[3] for (f, _l, n), v in stats.items() if f.endswith(path) and n == name)
    out["SQLite"] = sum(v[2] for (_f, _l, n), v in stats.items() if "sqlite3." in n)
    out["Django ORM"] = sum(v[2] for (f, _l, _n), v in stats.items() if "/django/db/" in f)
    out["other Python"] = total - sum(out.values())
    return {k: v / total for k, v in out.items() if v / total >= 0.005}


def sql_count(fn: Any) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def lookup(group_id: int, queries: list[str], profile: bool) -> dict[str, Any]:
    import tracemalloc

    from django.db import connection

    from tongzhou.questions import search
    from tongzhou.questions.queries import SIMILAR_SHOWN, similar_questions

    out: dict[str, Any] = {"queries": len(queries)}
    # Loading: an empty cache and a new connection, as in a server process after a start.
    loads, colds = [], []
    for q in queries[:3]:
        search.forget()
        connection.close()
        t0 = time.perf_counter()
        search.index_for(group_id)
        loads.append((time.perf_counter() - t0) * 1000)
        search.forget()
        connection.close()
        t0 = time.perf_counter()
        similar_questions(group_id, q)
        colds.append((time.perf_counter() - t0) * 1000)
    out["load"] = summary(loads)
    out["cold_call"] = summary(colds)
    search.forget()
    tracemalloc.start()
    index = search.index_for(group_id)
    out["index_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    out["indexed"] = len(index)
    out["distinct_terms"] = len(index.postings)

    for q in queries[:20]:  # warm-up: not counted
        similar_questions(group_id, q)
    shown = []

    def one(q: str) -> None:
        shown.append(len(similar_questions(group_id, q)))

    out["warm"] = summary(timed_ms(one, queries))
    out["shown_any"] = sum(1 for s in shown if s) / len(shown)
    out["shown_mean"] = statistics.fmean(shown)
    out["shown_max"] = SIMILAR_SHOWN

    words = [search.terms_of(q) for q in queries]
    out["terms_of"] = summary(timed_ms(search.terms_of, queries))
    out["search"] = summary(timed_ms(lambda w: index.search(w, SIMILAR_SHOWN * 4, set()), words))
    out["refresh"] = summary(timed_ms(lambda _q: search.index_for(group_id), queries))
    visited: list[float] = sorted(
        sum(len(index.postings[w]) for w in set(ws) if w in index.postings) for ws in words
    )
    out["postings_p50"] = delivery.pct(visited, 0.5)
    out["postings_p99"] = delivery.pct(visited, 0.99)
    common = sorted(index.postings.items(), key=lambda kv: -len(kv[1]))[:8]
    out["common_terms"] = [(w, len(p)) for w, p in common]
    out["sql_per_call"] = statistics.median(
        sql_count(lambda q=q: similar_questions(group_id, q)) for q in queries[:20]
    )
    prof = cProfile.Profile()
    prof.enable()
    for q in queries[:100]:
        similar_questions(group_id, q)
    prof.disable()
    out["shares"] = shares(prof)
    if profile:
        print("-- profile: similar_questions (warm)")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(18)
    return out


def after_analyze(group_id: int, queries: list[str]) -> dict[str, float]:
    """For comparison only (the product never runs it): the warm lookup again after SQLite's
    ANALYZE has given the query planner statistics."""
    from django.db import connection

    from tongzhou.questions import search
    from tongzhou.questions.queries import similar_questions

    with connection.cursor() as c:
        c.execute("ANALYZE")
    connection.close()
    search.forget()
    for q in queries[:20]:
        similar_questions(group_id, q)
    return summary(timed_ms(lambda q: similar_questions(group_id, q), queries))


# --------------------------------------------------------------------------- routing

# fmt: off
CANCERS = [("鼻咽癌", 40), ("宫颈癌", 14), ("乳腺癌", 14), ("肺癌", 8), ("甲状腺癌", 6),
           ("食管癌", 4), ("NPC", 4), ("", 10)]
HOSPITALS = [("中山大学肿瘤防治中心", 25), ("广州医科大学附属肿瘤医院", 10), ("广东省人民医院", 8),
             ("南方医院", 6), ("广西医科大学附属肿瘤医院", 6), ("湘雅医院", 5),
             ("复旦大学附属肿瘤医院", 5),
             ("北京大学肿瘤医院", 4), ("Queen Mary Hospital", 2), ("", 29)]
STAGES = [("I", 8), ("II", 20), ("III", 30), ("IVa", 15), ("IVb", 4), ("", 23)]
PHASES = [("new", 10), ("treatment", 30), ("finished", 30), ("survivor", 20), ("", 10)]
# fmt: on


def pick(rng: random.Random, spread: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _w in spread], [w for _v, w in spread])[0]


def populate_members(
    group_id: int, members: list[int], now: dt.datetime, rng: random.Random
) -> dict[str, int]:
    """Profiles for nine in ten members (the rest never filled theirs in), helper settings,
    e-mail quiet hours, recent sessions and help requests already sent in the last hour."""
    from tongzhou.accounts.models import Profile, Role, UserSession, Visibility
    from tongzhou.chat.models import Message
    from tongzhou.notify.models import EmailSettings, Notification
    from tongzhou.questions.models import HelperSettings

    def vis(members_share: float) -> str:
        r = rng.random()
        if r < members_share:
            return Visibility.MEMBERS
        return Visibility.LEADERS if r < (1 + members_share) / 2 else Visibility.NOBODY

    profiles, helpers, mails, sessions = [], [], [], []
    for uid in members:
        if rng.random() < 0.9:
            # The field stores text (encrypted) and reads back an int.
            year = str(rng.randint(2008, 2025)) if rng.random() < 0.8 else None
            role = rng.choices([Role.PATIENT, Role.CARER, Role.PROFESSIONAL], [70, 25, 5])[0]
            profiles.append(
                Profile(
                    user_id=uid,
                    role=role,
                    cancer_type=pick(rng, CANCERS),
                    hospital=pick(rng, HOSPITALS),
                    stage=pick(rng, STAGES),
                    phase=pick(rng, PHASES),
                    diagnosis_year=year,
                    cancer_type_visibility=vis(0.85),
                    hospital_visibility=vis(0.6),
                    stage_visibility=vis(0.5),
                    phase_visibility=vis(0.8),
                )
            )
        if rng.random() < 0.3:
            helpers.append(
                HelperSettings(
                    user_id=uid,
                    accepts=rng.random() > 0.15,
                    max_per_hour=rng.choice((1, 2, 3, 3, 5, 10)),
                )
            )
        if rng.random() < 0.2:
            quiet = rng.choice(
                [
                    (dt.time(22), dt.time(8)),
                    (None, None),
                    (dt.time(23), dt.time(7)),
                    (dt.time(13), dt.time(15, 30)),
                ]  # an afternoon nap covers the routing time
            )
            mails.append(EmailSettings(user_id=uid, quiet_start=quiet[0], quiet_end=quiet[1]))
        r = rng.random()
        if r < 0.35:
            # 15 % seen in the last 10 minutes ("online"), the others earlier today.
            seen = now - dt.timedelta(
                minutes=rng.uniform(0, 10) if r < 0.15 else rng.uniform(11, 600)
            )
            sessions.append(
                UserSession(
                    session_key=f"bench{uid:08d}{rng.getrandbits(64):016x}",
                    session_data="",
                    expire_date=now + dt.timedelta(days=14),
                    user_id=uid,
                    device="Android · Chrome",
                    started_at=seen - dt.timedelta(days=1),
                    seen_at=seen,
                )
            )
    Profile.objects.bulk_create(profiles, batch_size=1000)
    HelperSettings.objects.bulk_create(helpers, batch_size=1000)
    EmailSettings.objects.bulk_create(mails, batch_size=1000)
    UserSession.objects.bulk_create(sessions, batch_size=1000)
    # Help requests already sent in the last hour, about earlier questions.
    earlier = list(
        Message.objects.filter(group_id=group_id, kind=Message.Kind.QUESTION)
        .order_by("-id")
        .values_list("pk", flat=True)[:200]
    )
    notes = []
    for uid in rng.sample(members, len(members) // 10):
        for mid in rng.sample(earlier, rng.choice((1, 1, 2, 3))):
            notes.append(
                Notification(
                    user_id=uid,
                    group_id=group_id,
                    message_id=mid,
                    kind=Notification.Kind.HELP,
                    reasons=["online"],
                    created_at=now - dt.timedelta(minutes=rng.uniform(1, 59)),
                )
            )
    Notification.objects.bulk_create(notes, batch_size=1000)
    return {
        "profiles": len(profiles),
        "helper_settings": len(helpers),
        "email_settings": len(mails),
        "sessions": len(sessions),
        "help_last_hour": len(notes),
    }


def routing_now() -> dt.datetime:
    """The last 15:00 in the server's time zone: outside everybody's default quiet hours
    (22:00–08:00, which apply to members who never opened their e-mail settings) and not in
    the future, so that all the history is in the past."""
    from django.utils import timezone

    local = timezone.localtime()
    at = local.replace(hour=15, minute=0, second=0, microsecond=0)
    return at if at <= local else at - dt.timedelta(days=1)


def routing(size: int, history: int, runs: int, seed: int, profile: bool) -> dict[str, Any]:
    from django.db.models import Max

    from tongzhou.chat.models import Message
    from tongzhou.groups.models import Group
    from tongzhou.notify.models import Notification
    from tongzhou.questions import search
    from tongzhou.questions.models import Question
    from tongzhou.questions.routing import choose_helpers, route_question

    rng = random.Random(seed)
    writer = Writer(seed)
    now = routing_now()
    t0 = time.perf_counter()
    users = make_users(f"r{size}x", size)
    group_id = make_group(f"Routing benchmark ({size} members)", users, rng)
    members = users[1:]
    next_id = (Message.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    built = build_history(
        group_id,
        users,
        history,
        writer,
        now - dt.timedelta(days=365),
        now - dt.timedelta(minutes=30),
        next_id,
    )
    built.pop("texts")
    setup = populate_members(group_id, members, now, rng)
    setup_s = time.perf_counter() - t0
    group = Group.objects.get(pk=group_id)

    def new_question() -> Question:
        asker = rng.choice(members)
        _lang, text = writer.question()
        asked = now - dt.timedelta(minutes=5)  # past T1 (3 min), before T2 (30 min)
        m = Message.objects.create(
            group_id=group_id,
            sender_id=asker,
            client_id=f"fresh{rng.getrandbits(64):x}",
            text=text,
            kind=Message.Kind.QUESTION,
            created_at=asked,
        )
        Question.objects.create(
            message=m,
            group_id=group_id,
            asker_id=asker,
            asked_at=asked,
            detected=True,
            terms=" ".join(search.terms_of(text)),
        )
        # As the worker reads it (routing.due_questions).
        return Question.objects.select_related("group", "message").get(pk=m.pk)

    def drop(q: Question) -> None:
        Notification.objects.filter(message_id=q.pk).delete()
        Message.objects.filter(pk=q.pk).delete()
        # The process's index keeps deleted questions; the run never happened.
        search.index_for(group_id).remove(q.pk)

    reasons: Counter[str] = Counter()
    chosen_counts: list[int] = []
    with_similar = 0

    def run(fn: Any, keep: bool, prof: cProfile.Profile | None = None) -> float:
        nonlocal with_similar
        q = new_question()
        if prof:
            prof.enable()
        t = time.perf_counter()
        chosen = fn(q)
        elapsed = (time.perf_counter() - t) * 1000
        if prof:
            prof.disable()
        drop(q)
        if keep:
            chosen_counts.append(len(chosen))
            seen = {r for c in chosen for r in c.reasons}
            reasons.update(seen)
            with_similar += bool(seen & {"similar", "similar_helpful"})
        return elapsed

    def choose(q: Question) -> Any:
        return choose_helpers(q, now, group.question_helpers)

    def route(q: Question) -> Any:
        return route_question(q, now)

    search.forget()
    first = run(choose, keep=False)
    for _ in range(3):  # warm-up
        run(choose, keep=False)
        run(route, keep=False)
    chose, routed = [], []
    for _ in range(runs):  # alternating, so that a busy moment on the machine hits both
        chose.append(run(choose, keep=True))
        routed.append(run(route, keep=True))
    sql: list[int] = []
    run(lambda q: sql.append(sql_count(lambda: route(q))), keep=False)
    prof = cProfile.Profile()
    for _ in range(10):
        run(route, keep=False, prof=prof)
    if profile:
        print(f"-- profile: route_question, {size} members")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    return {
        "members": size,
        "history": built,
        "setup": setup,
        "setup_s": setup_s,
        "now": now.isoformat(),
        "first_ms": first,
        "choose": summary(chose),
        "route": summary(routed),
        "sql_per_call": sql[0],
        "shares": shares(prof),
        "asked_mean": statistics.fmean(chosen_counts),
        "runs_with_similar": with_similar / len(chosen_counts),
        "reasons": {k: v / len(chosen_counts) for k, v in reasons.most_common()},
    }


# --------------------------------------------------------------------------- report


def fmt(x: float, digits: int = 1) -> str:
    return delivery.fmt(x, digits)


def share_text(sh: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in sorted(sh.items(), key=lambda kv: -kv[1]))


def render(r: dict[str, Any], args: argparse.Namespace) -> str:
    m = delivery.machine()
    b, lk = r["build"], r["lookup"]
    cmd = " ".join(["python bench/questions.py", *sys.argv[1:]])
    la0, la1 = r["load_before"], r["load_after"]
    lines = [
        START_MARK,
        "## Similar questions and routing (`bench/questions.py`)",
        "",
        f"Measured {r['date']} with `{cmd}` (whole run {r['runtime_s']:.0f} s). Machine: "
        f"{m['cpus']} CPUs ({m['cpu_model']}), {m['memory']} memory, {m['os']}, Python "
        f"{m['python']}, SQLite {r['sqlite']}. Another job (a test run) was sharing the "
        f"machine: load average {la0[0]:.1f} at the start and {la1[0]:.1f} at the end, so the "
        "tails (p99, max) are noisy.",
        "",
        "**Method.** One process, the real models and the embedded default database (SQLite "
        "in a fresh data directory with the settings' pragmas: WAL, `synchronous=FULL`), "
        "calling the product functions as a server process or the worker does. Times are "
        "wall clock per call; p50/p99 by nearest rank.",
        "",
        f"- *History.* One group gets {b['questions']:,} past questions over three years "
        f"({b['chinese']:.0%} Chinese, {b['distinct_texts']:,} distinct texts), generated "
        "from templates over nine topics (radiotherapy side effects, chemotherapy, nasal "
        "irrigation, diet, hospitals, insurance, PICC lines, scans, feelings) with varied "
        "openers, context (who, cancer, stage, hospital, week of treatment), details and "
        f"closers; {b['answered'] / b['questions']:.0%} answered by other members "
        f"({b['messages']:,} messages in all), some with the reply that helped marked. "
        "Inserted with `bulk_create` in one transaction.",
        f"- *Lookup.* {lk['queries']} query texts, none a copy of an indexed one: the "
        f"{r['hand_written']} hand-written questions of `tests/data/questions.tsv`, then "
        "fresh generated ones. *Index load*: `index_for` on an empty cache and a new "
        "connection (every question's `terms` read into the in-memory BM25 index), and the "
        "first `similar_questions` after it (load + lookup), 3 times each. *Warm*: "
        "`similar_questions` (refresh query, search, the rows shown) once per query after 20 "
        "warm-up calls; then its parts alone: `Index.search` on the query's words, "
        "`terms_of` on the text, `index_for` with nothing new to load.",
        "- *Routing.* Groups of 150 and 1,000 members (a leader, ~1 % moderators, ~1 % "
        "verified professionals). Nine in ten have a profile (cancer type, hospital, stage, "
        "phase, year, stored encrypted; spread as in a group where nasopharyngeal cancer "
        "and one hospital dominate; most shared with members), 30 % helper settings (15 % of "
        "those opted out), 20 % e-mail settings with quiet hours (some covering the routing "
        "time), 15 % were seen in the last 10 minutes, 10 % were already asked to help in "
        "the last hour, and the group has a year of questions answered mostly by a few "
        "active helpers. Each run creates a fresh unanswered question by a random member, "
        "asked 5 minutes before the routing time (15:00 server time, outside the default "
        "22:00–08:00 quiet hours), times one call, then deletes the question and its help "
        "requests (not timed), so every run sees the same group. `choose_helpers(question, "
        "now, 3)` and `route_question(question, now)` (claim the stage with an update, "
        "choose, write the requests, commit, push them to the members' channels) alternate, "
        f"{args.runs} runs each after 3 warm-up runs of both. *First decision* is "
        "`choose_helpers` on an empty index cache (it loads the group's questions).",
        "- *Where the time goes*: shares of the profiled time (cProfile) over 100 warm "
        "lookups and 10 extra `route_question` runs. Decrypting is `crypto.decrypt` and "
        "below, rendering `chat.render.plain_text` and below; SQLite is the sqlite3 "
        "module's own calls (executing, stepping, fetching), the Django ORM its own code "
        "(compiling queries, building model objects). The profiler slows Python more than "
        "C, so these are rough shares, not times.",
        "",
        "**Building the history** (one process, one core):",
        "",
        "| questions | `terms_of` (indexing words) | questions/s | inserting (`bulk_create`) "
        "| rows/s | words per question | distinct words | database file |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {b['questions']:,} | {b['terms_s']:.1f} s | {b['questions'] / b['terms_s']:,.0f} "
        f"| {b['insert_s']:.1f} s | {(b['messages'] + b['questions']) / b['insert_s']:,.0f} "
        f"| {b['mean_terms']:.1f} | {lk['distinct_terms']:,} | {r['db_mb']:.0f} MB |",
        "",
        f'**"Asked before" over {lk["indexed"]:,} questions** (`questions.queries.'
        "similar_questions` and its parts):",
        "",
        "| step | calls | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]

    def row(label: str, s: dict[str, float], digits: int = 1) -> str:
        return (
            f"| {label} | {s['n']} | {fmt(s['p50'], digits)} | {fmt(s['p99'], digits)} "
            f"| {fmt(s['max'], digits)} |"
        )

    lines += [
        f"| jieba's dictionary: import + first `terms_of` in a new process (once) | 3 "
        f"| {fmt(r['jieba_ms'], 0)} | | |",
        row(f"index load, {lk['indexed']:,} questions (`index_for`, empty cache)", lk["load"], 0),
        row("first `similar_questions` after a start (load + lookup)", lk["cold_call"], 0),
        row("**`similar_questions`, warm**", lk["warm"]),
        row("`Index.search` alone", lk["search"]),
        row("`terms_of(query)` alone", lk["terms_of"], 2),
        row("`index_for` alone (refresh query, nothing new)", lk["refresh"], 2),
        row(
            "*for comparison:* `similar_questions`, warm, after `ANALYZE` (not done by the "
            "product)",
            r["analyzed"],
        ),
        "",
        f"The loaded index holds {lk['index_mb']:.0f} MB of Python objects (tracemalloc). "
        f"{lk['shown_any']:.0%} of the queries showed at least one earlier question (mean "
        f"{lk['shown_mean']:.1f} of at most {lk['shown_max']}). A query's words appear in "
        f"{lk['postings_p50']:,} indexed questions at the median and {lk['postings_p99']:,} "
        "at p99 (the postings a search walks); the commonest words: "
        + ", ".join(f"{w} ({c:,})" for w, c in lk["common_terms"][:6])
        + f". A warm lookup makes {lk['sql_per_call']:g} SQL queries (median); its time goes to "
        f"{share_text(lk['shares'])}.",
        "",
        "**Routing decision** (`questions.routing`):",
        "",
        "| members | past questions | `choose_helpers` p50 / p99 ms | `route_question` p50 / "
        "p99 ms | first decision (index load) | SQL queries | helpers asked | runs with a "
        "similar-question helper |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for g in r["routing"]:
        lines.append(
            f"| {g['members']:,} | {g['history']['questions']:,} "
            f"| {fmt(g['choose']['p50'])} / {fmt(g['choose']['p99'])} "
            f"| {fmt(g['route']['p50'])} / {fmt(g['route']['p99'])} "
            f"| {fmt(g['first_ms'])} ms | {g['sql_per_call']} | {g['asked_mean']:.1f} "
            f"| {g['runs_with_similar']:.0%} |"
        )
    lines += [
        "",
        "Where a `route_question` goes: "
        + "; ".join(f"{g['members']:,} members: {share_text(g['shares'])}" for g in r["routing"])
        + ".",
        "",
        "Reasons among those asked (share of runs in which at least one helper was chosen "
        "for it): "
        + "; ".join(
            f"{g['members']:,} members: "
            + ", ".join(f"{k} {v:.0%}" for k, v in g["reasons"].items())
            for g in r["routing"]
        )
        + ".",
        "",
        "NOTES_PLACEHOLDER",
        END_MARK,
    ]
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
    parser.add_argument("--questions", type=int, default=100_000, help="past questions")
    parser.add_argument("--queries", type=int, default=500, help="lookup query texts")
    parser.add_argument("--sizes", default="150,1000", help="routing group sizes")
    parser.add_argument(
        "--history", help="past questions in each routing group (default 3000,5000)"
    )
    parser.add_argument("--runs", type=int, default=50, help="timed decisions per size and call")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10,000 questions, 150 queries, 10 runs; writes nothing unless --out",
    )
    parser.add_argument("--profile", action="store_true", help="print cProfile summaries")
    parser.add_argument("--out", help="default docs/performance.md ('-' to skip writing)")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    if args.quick:
        args.questions, args.queries, args.runs = 10_000, 150, 10
        args.history = args.history or "1000,1500"
    out_path = args.out or ("-" if args.quick else "docs/performance.md")
    sizes = [int(s) for s in args.sizes.split(",")]
    histories = [int(s) for s in (args.history or "3000,5000").split(",")][: len(sizes)]
    histories += histories[-1:] * (len(sizes) - len(histories))

    started = time.perf_counter()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="tz-questions-"))
    try:
        setup_django(work)
        import sqlite3

        result: dict[str, Any] = {"sqlite": sqlite3.sqlite_version}
        result["jieba_ms"] = jieba_start_ms()
        print(f"== jieba's dictionary in a new process: {result['jieba_ms']:.0f} ms", flush=True)
        print(f"== building {args.questions:,} past questions", flush=True)
        rng = random.Random(1)
        users = make_users("hist", 400)
        group_id = make_group("Asked before (100k questions)", users, rng)
        end = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        b = build_history(
            group_id, users, args.questions, Writer(2), end - dt.timedelta(days=1095), end, 1
        )
        indexed_texts = b.pop("texts")
        result["build"] = b
        db = work / "data" / "tongzhou.sqlite3"
        result["db_mb"] = sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 2**20
        print(
            f"  terms_of {b['terms_s']:.1f} s ({b['questions'] / b['terms_s']:,.0f}/s), "
            f"insert {b['insert_s']:.1f} s ({b['messages']:,} messages), "
            f"{b['chinese']:.0%} Chinese, {b['distinct_texts']:,} distinct",
            flush=True,
        )

        hand = hand_written_questions()
        fresh = Writer(3)
        queries = [q for q in hand if q not in indexed_texts][: args.queries]
        seen = set(queries) | indexed_texts
        while len(queries) < args.queries:
            _lang, text = fresh.question()
            if text not in seen:
                seen.add(text)
                queries.append(text)
        random.Random(4).shuffle(queries)
        result["hand_written"] = sum(1 for q in queries if q in set(hand))
        print(f"== lookup, {len(queries)} queries", flush=True)
        lk = lookup(group_id, queries, args.profile)
        result["lookup"] = lk
        for key in ("load", "cold_call", "warm", "search", "terms_of", "refresh"):
            s = lk[key]
            print(
                f"  {key:<10} p50 {s['p50']:8.2f} ms  p99 {s['p99']:8.2f} ms  "
                f"max {s['max']:8.2f} ms  (n={s['n']})",
                flush=True,
            )
        print(f"  {lk['sql_per_call']} SQL queries; {share_text(lk['shares'])}", flush=True)
        print(
            f"  shown any {lk['shown_any']:.0%}, mean {lk['shown_mean']:.2f}; postings "
            f"p50 {lk['postings_p50']:,} p99 {lk['postings_p99']:,}; index "
            f"{lk['index_mb']:.0f} MB",
            flush=True,
        )

        result["routing"] = []
        for size, history in zip(sizes, histories, strict=True):
            print(f"== routing, {size} members, {history:,} past questions", flush=True)
            g = routing(size, history, args.runs, 100 + size, args.profile)
            result["routing"].append(g)
            print(
                f"  setup {g['setup_s']:.1f} s; first {g['first_ms']:.1f} ms; choose_helpers "
                f"p50 {g['choose']['p50']:.1f} p99 {g['choose']['p99']:.1f} ms; route_question "
                f"p50 {g['route']['p50']:.1f} p99 {g['route']['p99']:.1f} ms; asked "
                f"{g['asked_mean']:.1f}; similar {g['runs_with_similar']:.0%}; {g['reasons']}",
                flush=True,
            )
            print(f"  {g['sql_per_call']} SQL queries; {share_text(g['shares'])}", flush=True)
        print("== for comparison: the lookup after ANALYZE", flush=True)
        result["analyzed"] = after_analyze(group_id, queries)
        s = result["analyzed"]
        print(f"  warm p50 {s['p50']:.2f} ms  p99 {s['p99']:.2f} ms", flush=True)
    finally:
        if args.keep:
            print(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    result["runtime_s"] = time.perf_counter() - started
    result["load_before"], result["load_after"] = load_before, os.getloadavg()
    result["date"] = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    print(
        f"== total {result['runtime_s']:.0f} s, load average {load_before[0]:.1f} → "
        f"{result['load_after'][0]:.1f}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    section = render(result, args)
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
