"""Signs of a salesman: contact details, invitations to talk privately, advertising, shop
links. A pure function over the text and what is known about the sender; the caller adds
what needs the database (a QR code in the picture, the same text in other groups).

Each sign alone is common in honest talk (a hospital's phone number, "I'll message you", a
news link), so a message is judged on the signs together (`is_spam`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tongzhou.safety.pii import phones
from tongzhou.safety.textscan import digits_spelled, fold, quick

# WeChat in its disguises (V信, 薇信, 威信, vx, wx, +v …) followed by an id, or "微信号".
WECHAT = quick(
    r"(?:微信|威信|薇信|徽信|薇芯|卫星|v信|vx|wx|wechat|weixin|薇|威|\+v|加v|加微|加薇|加威|微号)"
    r"[\s:：号是为搜\-_❤♥️💕🌹💖]{0,4}[a-z][a-z0-9_\-]{5,19}(?![a-z0-9])"
    r"|(?<![a-z])v[\s:：❤♥️💕🌹💖]{1,4}[a-z][a-z0-9_\-]{5,19}(?![a-z0-9])"
    r"|(?:微信|威信|薇信|v信|vx|wx|wechat)(?:号|id)?[\s:：是为]{0,3}\d{6,12}"
)
# Asking people onto WeChat without an id: an invitation to talk privately.
WECHAT_ASK = re.compile(
    r"加个?(?:v|微|薇|威|卫)(?:信|星)?(?:了解|咨询|详聊|看|领)|微信同号|加威信|加薇信"
)
QQ = re.compile(r"(?:qq|扣扣|企鹅|(?<![a-z])q)(?:号|群)?[\s:：是为]{0,3}\d{5,11}")
HANDLE = quick(
    r"t\.me/\w+|wa\.me/\d+|chat\.whatsapp\.com|telegram[\s:：@]{1,3}@?\w{4,}|whatsapp[\s:：]{1,3}\+?\d"
    r"|line\s*id[\s:：]{1,3}\w+"
    r"|(?<![a-z])(?:ig|instagram|viber|line|telegram|whatsapp|signal|facebook|fb|snapchat)(?:\s+is)?[\s:：]+(?:@[\w.]{4,}|\+?\d[\d\s-]{6,})"
    r"|邀请码|推荐码|\[名片\]|推.{0,4}名片"
)
EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}")
PRIVATE = quick(
    r"加我|加一下我|私聊|私信|私我|私戳|的私[，,。 ]|私下联系|加好友|联系我|找我|咨询我|滴滴我|戳我|扫码|扫一扫|二维码"
    r"|看我头像|看我朋友圈|朋友圈有|主页有|详聊|了解一下|欢迎了解|欢迎咨询|留言给我|拉你进群|扫码进群|加群|带你进|跟我说|打我电话"
    r"|dm me|dm (?:to|for)|(?<![a-z])dm \"|pm me|message me|inbox (?:me|for)|contact me|text me|whatsapp me|add me|reach me"
    r"|email me|call me|ring me|write to me|hit me up|in (?:my )?(?:bio|profile)|scan the (?:qr )?code|join (?:my|our) (?:new )?group"
    r"|check my profile|my contact is|reply here or dm|book at|visit my page|my number|ask me how"
    r"|需要的加|要的加|扣1|福利群|详询|拉你们进"
)
AD = quick(
    r"代购|优惠|折扣|打折|[一二三四五六七八九]折|特价|包邮|免费领|免费送|免费试|免费看|领取|限时|限量|秒杀|下单|购买|订购|批发|厂家"
    r"|招代理|加盟|代理商|微商|团购|正品|货源|有货|特效|神药|祖传|秘方|偏方|根治|治愈率|有效率|疗效显著|见效"
    r"|专治|包治|包好|无效退款|药到病除|康复率|专家团队|绿色通道|内部渠道|名额有限|一疗程|疗程价|老价格|转账给我"
    r"|抗癌(?:神|圣)|保健品|孢子粉|孢子油|小分子肽|特供|私人订制|高薪|兼职|赚钱|日赚|理财|投资|保险|贷款|副业|红包"
    r"|服务费|收费|一盒|买[一二三]送|淘宝|小铺|网店|店铺|直邮|产品|陪诊服务|网上问诊|回复.{0,6}领"
    r"|discount|% off|\d+\s*%\s*off|buy now|order now|free trial|limited offer|limited time|promo"
    r"|coupon|wholesale|cure rate|guaranteed|miracle|protocol|special price|shop now|best price|for price"
    r"|click here|visit (?:our|my)|our clinic|our hospital|our product|earn \$|work from home|package"
    r"|investment|sign up now|free sample|risk[- ]free|money[- ]back|coaching|shipped|rental|free consultation"
    r"|agency|fundraiser pays|made \$|crypto|secret list|natural chemo|selling|distributor|samples"
    r"|[$£€]\s?\d+|\d+\s?(?:each|a jar|a bottle|per bottle)|cancer cure|free .{0,20}kit"
    r"|便宜|纯正|试用装|免费送|已帮助\d|帮助了?\d+\+?(?:位|名)?患者|有需要.{0,12}的吗|关注公众号"
)
URL = re.compile(
    r"(?:https?://|www\.)[^\s，。<>\"']+"
    r"|(?<![@\w.-])[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|co|cn|io|me|info|shop|store|top|xyz|vip|cc|biz|uk|au|hk|tw|ly|link|site|online|app|page|club)\b(?:/[^\s，。]*)?"
)
# Talking about salesmen to warn others is not selling.
WARNING = quick(
    r"别信|不要信|千万别|千万不要|大家小心|小心|骗钱|骗子|被骗|诈骗|骗局|举报|别加|不要加|别上当|是假的|别点"
    r"|拉黑|别理|屏蔽|scam|ignore them|reported|beware|don'?t (?:click|add|reply|buy)|be careful|fake"
)
# Links to these sites are the group's bread and butter: health services, journals, news.
TRUSTED = re.compile(
    r"(?:^|\.)(?:gov|gov\.cn|gov\.uk|gov\.au|gov\.hk|gov\.tw|edu|edu\.cn|ac\.uk|nhs\.uk|who\.int"
    r"|cancer\.gov|cancer\.org|cancerresearchuk\.org|macmillan\.org\.uk|nih\.gov|nccn\.org"
    r"|mayoclinic\.org|bmj\.com|thelancet\.com|nejm\.org|nature\.com|cancer\.org\.au"
    r"|pubmed\.ncbi\.nlm\.nih\.gov|cacancer\.org\.cn|sysucc\.org\.cn|dxy\.cn|medlineplus\.gov"
    r"|bbc\.co\.uk|bbc\.com|xinhuanet\.com|people\.com\.cn|cctv\.com|thepaper\.cn|samaritans\.org"
    r"|988lifeline\.org|lifeline\.org\.au|beyondblue\.org\.au|mp\.weixin\.qq\.com"
    r"|clinicaltrials\.gov)$"
)


@dataclass
class Sender:
    """What the checks may know about whoever wrote the text."""

    new_member: bool = False


@dataclass
class SpamFindings:
    signals: list[str] = field(default_factory=list)

    def add(self, code: str) -> None:
        if code not in self.signals:
            self.signals.append(code)


def _untrusted_links(text: str) -> bool:
    for m in URL.finditer(text):
        raw = m.group(0)
        host = urlsplit(raw if "://" in raw else f"http://{raw}").hostname or ""
        if not TRUSTED.search(host.removeprefix("www.")):
            return True
    return False


def spam_signals(text: str, sender: Sender | None = None) -> list[str]:
    """The salesman's signs in a text, as codes: contact, private, ad, link, new_member."""
    sender = sender or Sender()
    folded = digits_spelled(fold(text))
    found = SpamFindings()
    if WECHAT.search(folded):
        found.add("contact:wechat")
    if WECHAT_ASK.search(folded):
        found.add("private")
    if QQ.search(folded):
        found.add("contact:qq")
    if HANDLE.search(folded) or EMAIL.search(folded):
        found.add("contact:handle")
    if phones(re.sub(r"(?<=\d)[\s\-.·]{1,3}(?=\d)", "", folded)):
        found.add("contact:phone")
    if PRIVATE.search(folded):
        found.add("private")
    ads: set[str] = set()
    for m in AD.finditer(folded):
        ads.add(m.group(0))
        if len(ads) == 2:  # enough to call it a lot of advertising
            break
    if ads:
        found.add("ad")
    if len(ads) >= 2:
        found.add("ad:strong")
    if _untrusted_links(folded):
        found.add("link")
    if WARNING.search(folded):
        found.add("warning")
    if sender.new_member and any(
        s.startswith(("contact", "private", "link")) for s in found.signals
    ):
        found.add("new_member")
    return found.signals


def is_spam(signals: list[str]) -> bool:
    """The signs together: an explicit WeChat/QQ id or handle; contact details or a private
    invitation with selling; a shop link with selling; a QR code; a copied text; or a
    newcomer's contact details. A warning about salesmen is none of these."""
    s = set(signals)
    if "warning" in s and not s & {"contact:wechat", "contact:qq", "qr_code", "duplicate"}:
        return False
    contact = any(x.startswith("contact") for x in s)
    return bool(
        s
        & {
            "qr_code",
            "duplicate",
            "new_member",
            "ad:strong",
            "contact:wechat",
            "contact:qq",
            "contact:handle",
        }
        or (contact and ({"private", "ad", "link"} & s))
        or ("private" in s and ({"ad", "link"} & s))
        or ("link" in s and "ad" in s)
    )
