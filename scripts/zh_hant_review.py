"""Traditional Chinese (zh_Hant) made from the Simplified catalogue: OpenCC, then a reviewed
list of corrections. `scripts/i18n` writes the catalogue with `to_hant`; the translation
tests call it again to check the committed catalogue is exactly what it makes.

Reviewed by reading every converted string (2026-11). Add a correction here, never in the
.po file: the next `scripts/i18n` would overwrite a hand edit.
"""

from __future__ import annotations

from functools import cache

import opencc

# s2tw: characters to the standard forms of Taiwan's Ministry of Education (為 群 裡 著 啟 核
# 吃), the forms nearly all Traditional text, fonts and input methods use today, in Hong Kong
# and overseas as much as in Taiwan. Plain s2t gives OpenCC's older reference forms (爲 羣 裏
# 覈 喫: "審覈", "羣主"), which read like old print. Not s2twp: on top of s2tw it swaps in
# Taiwanese computing vocabulary and guesses wrong for us (審核 -> 稽核 "audit", 微信號 ->
# 微訊號, 類型 -> 型別 "data type", 打開 -> 開啟), and its choices are Taiwan's, not Hong
# Kong's. Vocabulary is corrected below, only where Taiwan and Hong Kong usage agree.
CONFIG = "s2tw"

# (converted, corrected), applied in this order to every converted string.
PHRASES: list[tuple[str, str]] = [
    # Conversion errors.
    ("隻能", "只能"),  # 最多只能 / 最大只能 "can only": 只 "only", not 隻 the measure word
    ("回復", "回覆"),  # "reply" is 回覆 everywhere else; 回復 is "restore"
    (" 周", " 週"),  # "1 周", "12 周", "104 周": a week is 週 (OpenCC already gives 每週, 逐週)
    ("周起始", "週起始"),  # "Week of"
    ("天后", "天後"),  # "N 天後" (after N days); OpenCC reads 天后 as the goddess
    # Punctuation: Traditional Chinese quotes with corner brackets.
    ("“", "「"),
    ("”", "」"),
    # Mainland words that Taiwan and Hong Kong both say differently.
    ("退出登錄", "登出"),  # sign out (before the next line)
    ("登錄", "登入"),  # sign in; 登錄 reads as "register, enter in a record"
    ("賬號", "帳號"),  # account: 帳號 in Taiwan and Hong Kong
    ("服務器", "伺服器"),  # server
    ("默認", "預設"),  # default
    ("主菜單", "主選單"),  # main menu (菜單 is a restaurant's)
    ("加載", "載入"),  # load (older messages)
    ("設置", "設定"),  # settings, set up
    ("鏈接", "連結"),  # link, to link
    ("下劃線", "底線"),  # underscore, underline
    ("文件", "檔案"),  # a computer file; 文件 reads as "document, paperwork"
    ("實時", "即時"),  # real-time
    ("導入", "匯入"),  # import a chat history: 匯入 (導入 reads as "lead into, introduce")
    ("導出", "匯出"),  # export (WhatsApp and Telegram say 匯出 in Taiwan and Hong Kong)
    # "**Bold**, lists and links work": what software does is 支援; 支持 is backing a person
    ("支持 **", "支援 **"),
]

# msgid -> the whole zh_Hant text, for strings that must not be converted.
BY_MSGID: dict[str, str] = {
    # LANGUAGES names each language in itself: Simplified Chinese is 简体中文 in every interface.
    "简体中文": "简体中文",
}


@cache
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC(CONFIG)


def to_hant(msgid: str, hans: str, used: set[str] | None = None) -> str:
    """The zh_Hant text for one zh_Hans text (one plural form) of `msgid`; the corrections
    that changed something (their wrong side, or the msgid) are added to `used`."""
    used = set() if used is None else used
    if msgid in BY_MSGID:
        used.add(msgid)
        return BY_MSGID[msgid]
    text: str = _converter().convert(hans)
    for wrong, right in PHRASES:
        if wrong in text:
            used.add(wrong)
            text = text.replace(wrong, right)
    return text
