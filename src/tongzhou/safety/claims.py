"""Matching messages against the group's claims worth checking (safety.models.Claim).

A pattern line is words joined by "+", all of which must appear; a word may offer
alternatives split by "/". Chinese words match anywhere; English words match at the start
of a word (so "cure" finds "cured"). A message that is plainly warning against the claim or
asking whether it is true is left alone: the note is for those who may believe it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from django.utils.translation import gettext_noop

from tongzhou.safety.textscan import fold, quick

DEBUNK = quick(
    r"别信|不要信|不能信|不可信|不要相信|别相信|千万别信|千万不要信|谣言|辟谣|骗人|骗子|忽悠|假的|不靠谱"
    r"|伪科学|没有(?:科学)?(?:依据|根据|证据)|误区|是真的吗|真的吗|靠谱吗|可信吗|能信吗|有用吗|可以吗|行吗|对吗"
    r"|有人说|听说.{0,20}(?:吗|？|\?)|医生说.{0,6}(?:不|没)|瞎说|胡说|智商税|别上当|上当"
    r"|myth|don'?t believe|do not believe|not true|isn'?t true|is (?:it|this|that) true|does (?:it|this|that) (?:really )?work"
    r"|nonsense|rubbish|debunk|no evidence|misinformation|false|be careful|beware|careful with"
    r"|quack|snake oil|is there any (?:truth|evidence)|anyone (?:know|tried).{0,40}\?|my (?:doctor|oncologist) (?:said|says)"
    r"|血的教训|没听|不行了|纠正|并不会|是不是|会不会|有没有|到底|动摇|担心|害怕|劝我|我妈说|我妈总说|邻居|后来|[?？]"
    r"|misleading|wary|anyway|still here|😂|🤣|lol|told me to|keeps telling|thinks|convince|rule|if sugar|not because"
    r"|only if|passed .{0,20}later|stick with|took ages"
    r"|治不了|不能治|改变不了|没有用|没用|不会(?:治|让)|doesn'?t (?:cure|work)|does not (?:cure|work)|can'?t cure|won'?t cure"
)


@lru_cache(maxsize=512)
def _compiled(patterns: str) -> tuple[tuple[re.Pattern[str], ...], ...]:
    lines = []
    for line in patterns.splitlines():
        parts = [fold(p).strip() for p in line.split("+")]
        regexes = []
        for part in parts:
            if not part:
                continue
            options = [o.strip() for o in part.split("/") if o.strip()]
            alt = "|".join(
                rf"(?<![a-z]){re.escape(o)}" if o.isascii() else re.escape(o) for o in options
            )
            regexes.append(re.compile(alt))
        if regexes:
            lines.append(tuple(regexes))
    return tuple(lines)


def matches(patterns: str, folded: str) -> bool:
    return any(all(r.search(folded) for r in line) for line in _compiled(patterns))


def matching(text: str, claims: Iterable[tuple[int, str]]) -> list[int]:
    """Ids of the claims (id, patterns) the text asserts; none if it warns against them."""
    folded = fold(text)
    if DEBUNK.search(folded):
        return []
    return [cid for cid, patterns in claims if matches(patterns, folded)]


# Shipped with every group; a leader edits, adds or switches them off on the claims page.
SEEDS = [
    {
        "seed": "no_treatment_needed",
        "title": gettext_noop("Cancer can be cured without surgery, chemotherapy or radiotherapy"),
        "correction": gettext_noop(
            "No herb, diet, qigong or remedy has been shown to cure cancer on its own. Surgery, "
            "chemotherapy and radiotherapy are how cancers are cured today; traditional medicine "
            "can help with side effects, alongside treatment and with your doctor's agreement."
        ),
        "patterns": "\n".join(
            [
                "不用/不需要/不必/无需/没必要/不做 + 化疗/放疗/手术/开刀 + 好/治愈/消失/痊愈/没了/康复",
                "中药/中医/草药/偏方/秘方/气功/食疗/自然疗法 + 治好/治愈/根治/消失/痊愈/消掉/吃好了 + 癌/肿瘤/瘤子",
                "癌/肿瘤/瘤子 + 自己会消失/自己消失/自然消失/自愈",
                "without + chemo/radiation/radiotherapy/surgery + cure/cured/heal/gone/disappear",
                "don't need/do not need/no need for + chemo/radiation/radiotherapy/surgery",
                "herb/natural/diet/qigong/juice/remedy/herbalist + cured/cure/heals/shrank/gone + cancer/tumour/tumor",
                "吃素/蔬菜汁/果汁/吃斋/素食/断食 + 治好/好了/治愈/消失",
                "不开刀/不手术/不用手术 + 就好了/好了/治好",
                "医院那一套 + 用不着/没用",
                "healed naturally/heal naturally/heals itself/beat stage/juicing + cancer/chemo/radiation/surgery/alone",
                "chemo/radiation/radiotherapy/surgery + unnecessary/not needed/pointless",
            ]
        ),
    },
    {
        "seed": "stop_treatment",
        "title": gettext_noop("Stop treatment and take a remedy instead"),
        "correction": gettext_noop(
            "Stopping surgery, chemotherapy or radiotherapy for a remedy lets the cancer grow. "
            "Please talk to your oncologist before stopping or changing any treatment."
        ),
        "patterns": "\n".join(
            [
                "停/停掉/停了/不做了/放弃/拒绝 + 化疗/放疗/靶向/免疫治疗/治疗 + 改/换/吃/喝 + 中药/偏方/草药/保健品/灵芝/食疗/秘方",
                "别/不要 + 化疗/放疗 + 了 + 中药/偏方/食疗",
                "stop/stopped/quit/quitting/refuse/skip + chemo/radiation/radiotherapy/treatment + instead/switch/gerson/herb/juice/protocol/remedy",
                "instead of + chemo/radiation/radiotherapy/surgery",
                "化疗/放疗/靶向/手术/治疗 + 停了/不吃了/不做了/别做了/停掉 + 汤/方子/草药/中医/练功/吃斋/偏方/中药",
                "stopped/cancelled/canceled/pulled/walked out/quit/stop + therapy/chemo/radiotherapy/radiation/oncology + natural/detox/juice/holistic/herbal/naturopath/enema/poison",
            ]
        ),
    },
    {
        "seed": "sugar_feeds_cancer",
        "title": gettext_noop("Any sugar feeds cancer; starve the tumour"),
        "correction": gettext_noop(
            "All cells use sugar, and cutting out sugar, fruit or carbohydrates does not starve a "
            "tumour. It can leave you weak and underweight during treatment. Eat enough, and ask "
            "a dietitian if unsure."
        ),
        "patterns": "\n".join(
            [
                "糖/甜/碳水/水果/主食 + 喂养/养/滋养/营养/喂 + 癌/肿瘤",
                "饿死 + 癌/肿瘤",
                "一点/一口/绝对/完全/坚决 + 不能/不要/别/不吃 + 糖/甜/水果/米饭/主食",
                "sugar/carbs/fruit/glucose + feeds/feed/fuel/fuels/grow + cancer/tumour/tumor",
                "starve + cancer/tumour/tumor",
                "cut out/no/zero/never + sugar/carbs/fruit + cancer/tumour/tumor",
                "乳糖/水果/糖 + 长得更快/长得快/长更快",
                "癌细胞/肿瘤 + 得不到营养",
                "fasting + kill/kills/starve + cancer/tumour/tumor",
                "without glucose/can't survive without",
            ]
        ),
    },
    {
        "seed": "alkaline",
        "title": gettext_noop("Alkaline water or an alkaline diet cures cancer"),
        "correction": gettext_noop(
            "Food and water do not change the body's acidity, and cancer is not caused by an "
            "'acidic body'. Alkaline water and diets do not treat or prevent cancer."
        ),
        "patterns": "\n".join(
            [
                "碱性 + 癌/肿瘤",
                "酸性体质",
                "alkaline + cancer/tumour/tumor/cure",
                "acidic body/acid body",
            ]
        ),
    },
    {
        "seed": "miracle_supplement",
        "title": gettext_noop("A supplement or mushroom cures cancer"),
        "correction": gettext_noop(
            "No supplement, mushroom or high-dose vitamin has been shown to cure cancer; some "
            "interfere with chemotherapy or harm the liver. Tell your doctor about anything you "
            "take."
        ),
        "patterns": "\n".join(
            [
                "灵芝/孢子粉/虫草/冬虫夏草/保健品/维生素c/维c/苦杏仁/b17/石斛/海参/铁皮/酵素/神药 + 治好/治愈/根治/抗癌/消失/缩小/没了/好了/杀死/杀癌",
                "抗癌神药/抗癌圣药",
                "supplement/mushroom/vitamin c/apricot/laetrile/b17/reishi/turmeric/cbd/ivermectin/fenbendazole + cure/cures/cured/shrank/shrunk/kill/kills/gone",
                "miracle + supplement/mushroom/cure",
                "纳豆激酶/硒片/枫斗/石斛/铁皮/冬虫夏草/维生素c/b17/杏仁 + 好的/好了/小了/治癌/克星/全靠/比化疗强/强多了",
                "essiac/graviola/b17/apricot/reishi + shrank/cure/proven/stronger",
            ]
        ),
    },
    {
        "seed": "chemo_harms_more",
        "title": gettext_noop("Chemotherapy only kills people"),
        "correction": gettext_noop(
            "Chemotherapy has hard side effects, but for many cancers it is what cures or "
            "controls the disease; doctors weigh benefit against harm for each person. Ask your "
            "oncologist what it offers you."
        ),
        "patterns": "\n".join(
            [
                "化疗/放疗 + 害人/害死/杀人/等于送死/死得更快/骗钱/骗局/毒药",
                "化疗 + 弊大于利",
                "chemo/chemotherapy + kills more/killed more/poison/scam/more harm/does more harm",
                "化疗/化療 + 骗局/騙局/赚钱/賺錢/化死/先走了/垮了/没一个/反而活",
                "chemo/chemotherapy + doesnt cure/doesn't cure/does not cure/miserable/makes them money/big pharma/died/refused are still",
            ]
        ),
    },
    {
        "seed": "biopsy_spreads",
        "title": gettext_noop("A biopsy makes cancer spread"),
        "correction": gettext_noop(
            "A biopsy is how a cancer is found and its treatment chosen; the risk of it spreading "
            "cancer is tiny and far smaller than the risk of not knowing."
        ),
        "patterns": "\n".join(
            [
                "biopsy/biopsies/surgery + spread/spreads/spreading",
                "穿刺/活检/活檢/动刀/動刀/手术 + 导致/會讓/会让/就会/一动刀就/一做/引起/跑到/跑出来/到处跑/见了空气 + 扩散/转移/轉移/血液/针眼/疯长/跑",
                "biopsy/biopsies/needle + release/releases/seed/seeds/spread/spreads + cancer/cells",
            ]
        ),
    },
]
