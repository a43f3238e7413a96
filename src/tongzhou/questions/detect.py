"""Is this message a question someone wants answered? Rules over Chinese and English cues.

Written by hand rather than learned: the cues are few and well known (？, 吗, 请问, how, does
anyone…), a rule can be read and argued with by a group leader, and it needs no model file.
Rhetorical filler ("谁不是呢", "why me") is the hard part; those patterns are listed apart.
Measured on tests/data/questions.tsv (tests/test_questions_detect.py, docs/questions.md).
"""

from __future__ import annotations

import re

# A clause ends at sentence punctuation or a line break; the mark that ends it is kept.
_CLAUSE = re.compile(r"[^。！!？?\n；;…~～]+[。！!？?\n；;…~～]*")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_TRAILING_NOISE = re.compile(r"[\s\"'”’)）\]】>~～…。.,，、😀-🙏🌀-🗿🚀-🛿🤀-🧿☀-➿]+$")

# --- Chinese -------------------------------------------------------------------------------

# Asking outright, wherever it stands.
_ZH_ASK = re.compile(
    r"请问|求助|请教|求推荐|推荐一下|求问|想问|问一下|问下|问问|打听一下|谁知道|有谁知道|"
    r"^求(?![求你您])|有没有人|有人知道|有人用过|有人试过|求经验|求分享|分享一下经验|求指点|求解答|帮忙看看|"
    r"帮我看看|麻烦大家|大家知道|知道的说|懂的说|求指导|有经验的"
)
# Question words, once the non-question uses are removed (没什么, 这几天, 不知道为什么…).
_ZH_WORD = re.compile(
    r"怎么|怎样|咋|如何|什么|啥|哪|多少|多久|多长|多大|几[点天次个年月周岁级期号种回]|为什么|为啥|"
    r"能不能|可不可以|可以不(?=$|[？?，,])|行不行|有没有|是不是|要不要|会不会|用不用|该不该|需不需要|"
    r"好不好|对不对|算不算|正不正常|严不严重|疼不疼|痛不痛|贵不贵|难不难|管不管|报不报"
)
_ZH_NOT_ASKING = re.compile(
    r"没什么|没怎么|不怎么|什么都|什么也|不管什么|无论什么|不知道为什么|不知为何|不知道怎么|"
    r"这几|那几|前几|后几|好几|十几|几十|几百|几千|哪怕|哪里哪里|没多久|不多久|没多少|"
    r"怎么说呢|不是什么|这么|那么|为什么是我|凭什么|吗啡|到哪.{0,3}到哪"
)
# Sentence-final particles that make a clause a question.
_ZH_FINAL = re.compile(r"(吗|嘛|么|不|没|没有|呢|否)$")
# Rhetorical or emotional questions that want no answer.
_ZH_RHETORICAL = re.compile(
    r"谁不是|谁不想|谁不怕|谁能不|能不[^能]{1,4}吗|怎能不|难道|岂不|何必|何尝|"
    r"怎么这么|怎么那么|为什么是我|凭什么|有什么办法呢|有啥办法呢|有什么好.{1,2}的|哪有什么|还能怎么办|还能咋办|又能怎样|"
    r"又能怎么样|能怎么办|那又怎样|有什么用|有啥用|不是挺好的|不是很好|多好啊|多幸运|"
    r"真的假的|是吧[！!]|对吧[！!]|谁说不是|可不是|何苦|哪有不"
)

# --- English -------------------------------------------------------------------------------

_EN_ASK = re.compile(
    r"\b(any ?one|any ?body|some ?one|some ?body) (know|knows|tried|had|have|has|got|been|"
    r"recommend|with experience)\b|\b(does|has|have|did|can|could|would) (any ?one|any ?body)\b|"
    r"\bany (tips|advice|ideas|suggestions|recommendations|experience|thoughts)\b|"
    r"\b(looking for|need|needs|want|would like|appreciate) (some )?(advice|tips|help|"
    r"suggestions|recommendations)\b|\bwonder(ing)? (if|whether|what|how|when|where|why|who)\b|"
    r"\bplease (share|advise|help|tell|let me know)\b|\blet me know (if|what|how|whether)\b|"
    r"\bcan (someone|somebody|you) (tell|explain|help|share|recommend|advise)\b|"
    r"\b(recommendations?|advice|tips) (for|on|about|please)\b|\bhelp me (with|understand|find)\b",
    re.I,
)
_EN_START = re.compile(
    r"^(how|what|when|where|which|who|whom|whose|why|should|shall|can|could|would|will|is|are|"
    r"am|was|were|does|do|did|has|have|had|may|might|must|any|anyone|anybody|anything)\b",
    re.I,
)
_EN_RHETORICAL = re.compile(
    r"^(why me|who knew|who cares|how lucky|how lovely|how nice|how wonderful|how great|"
    r"how sweet|how kind|how amazing|how cool|how awesome|how funny|how sad|what a|what an|"
    r"guess what|isn't (it|that|this) (lovely|great|nice|wonderful|amazing|good|funny|sad|"
    r"awful|crazy)|aren't (they|you) (lovely|great|sweet|amazing)|who would have thought|"
    r"what more could|how could i not|why not\b.*!|can you believe|would you believe|"
    r"what helped me|what worked for me|what i did|what i found|what i do|how i|who needs|"
    r"anyway|anyhow|is it just me|how about that|what else is new|how dare|who says)\b",
    re.I,
)
_EN_TAG = re.compile(r"\b(right|you know|isn't it|eh|huh|no)\?$", re.I)


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE.findall(text) if c.strip()]


def _zh_clause(clause: str) -> bool:
    marked = clause.rstrip().endswith(("？", "?"))
    emphatic = bool(re.search(r"[!！][?？]|[?？][!！]", clause))
    body = _TRAILING_NOISE.sub("", re.sub(r"[?？!！]+$", "", clause.strip()))
    if emphatic or _ZH_RHETORICAL.search(body):
        return False
    if _ZH_ASK.search(body):
        return True
    stripped = _ZH_NOT_ASKING.sub("", body)
    if marked:
        return True
    if re.search(r"(吗|嘛)$", body):
        return True
    if _ZH_WORD.search(stripped):
        # A statement that reports a question ("我问医生怎么办，他说…") is no question.
        if re.search(r"(他|她|医生|护士|大夫|我)(说|告诉我|讲)|我当时|我那时|我也是这么问", body):
            return False
        return True
    return bool(re.search(r"(呢|没有|不)$", body) and _ZH_WORD.search(body))


def _en_clause(clause: str) -> bool:
    text = clause.strip()
    marked = text.rstrip().endswith("?")
    emphatic = bool(re.search(r"!\?|\?!", text))
    body = _TRAILING_NOISE.sub("", text.rstrip("?!. "))
    body_l = body.lower().lstrip("-*• ")
    body_l = re.sub(
        r"^(hi|hello|hey|dear)( all| everyone| friends| folks| there)?[,!. ]+", "", body_l
    )
    body_l = re.sub(r"^(so|and|but|also|ok|okay|well|quick question|question)[,:. ]+", "", body_l)
    if emphatic or _EN_RHETORICAL.search(body_l):
        return False
    if _EN_ASK.search(body_l):
        return True
    if marked:
        return not _EN_TAG.search(text)
    return bool(_EN_START.search(body_l)) and len(body_l.split()) >= 3


def is_question(text: str) -> bool:
    """True when some sentence of the message asks the group something."""
    for clause in _clauses(text or ""):
        if (_zh_clause if _HAN.search(clause) else _en_clause)(clause):
            return True
    return False
