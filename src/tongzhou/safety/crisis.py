"""Words of someone who may be thinking of ending their life, or is in the deepest despair.

Recall comes first (a false alarm costs a moderator a kind message; a miss can cost a
life), so the patterns are broad, and only the commonest figures of speech are left out
(累死了, 笑死, "killing me", "dying to").
"""

from __future__ import annotations

import re

from tongzhou.safety.textscan import fold, quick

ZH = (
    r"不想活|活着没(?:意思|意义|劲|盼头)|活不下去|不如死|死了算了|死了就好|死了倒好|想死|寻死|去死算"
    r"|自杀|轻生|自尽|了结自己|结束(?:自己|我的)?(?:的)?生命|一了百了|想解脱|求解脱|解脱了吧|早点解脱"
    r"|撑不下去|熬不下去|坚持不下去|扛不住了|挺不下去|不想(?:再)?(?:坚持|撑|熬)了|放弃(?:生命|自己|一切)"
    r"|不想(?:再)?治了|不治了.{0,6}(?:走|死|算了)|拖累|连累(?:家人|孩子|老伴|你们|大家)|成了(?:家里的)?负担"
    r"|没有我.{0,6}(?:更好|轻松|解脱)|跳楼(?!价)|跳河|跳江|跳下去|安眠药|攒.{0,4}药|割腕|上吊|喝农药|烧炭"
    r"|遗书|遗言|交代后事|永别|来世再见|下辈子再|最后一次.{0,6}(?:说|来|和大家)|再见了.{0,4}(?:各位|大家|朋友)"
    r"|生不如死|没有(?:任何)?希望|没希望了|绝望|走投无路|没有活路|看不到(?:希望|尽头|出路)"
    r"|睡着(?:了)?(?:就)?(?:不|别)(?:要)?醒|不想醒|离开这个世界|离开人世|不想(?:再)?拖|活够了|活腻"
    r"|什么都没(?:有)?意义|一切都没(?:有)?意义|崩溃了.{0,8}(?:不想|死)|不想面对明天|没有明天"
    r"|把.{0,6}(?:送给|留给).{0,8}(?:吧|了)[。.!！]*$"
    r"|活着(?:好|太|真)?(?:累|受罪|是受罪|是浪费|就是浪费|没意思|没意义)|为什么(?:还)?要活|不想(?:再)?这样活|不想[活或火]了"
    r"|永远(?:地)?(?:休息|睡|睡下去)|再也不(?:要)?醒|别醒过来|不醒(?:过来)?就好|全部吃下去|一次性解决|做傻事|傻事"
    r"|了结|拖油瓶|累赘|(?:我|自己)(?:就)?是.{0,6}负担|早点走|我死了|死了.{0,6}(?:轻松|解脱|好)|存.{0,6}药|药.{0,6}够多"
    r"|托付给|等我(?:走|不在)了|我走了以后|我不在了|写了?(?:一)?封信.{0,12}(?:不在|走)|想早点结束|结束这一切"
    r"|坚持不住|什么都无所谓|人生没(?:有)?意义|浪费(?:钱|粮食)|走得?没(?:有)?痛苦|吃了能走|不想活(?!成)|不想再活|没法活|活不了了"
    r"|解脱算了|一起解脱|想.{0,4}解脱|了断|(?:存折|银行卡|卡)密码.{0,12}(?:放|写|在)|最后一条|用不着了|分给.{0,12}以后"
    r"|结束自己|看不到(?:任何)?(?:希望|出路)|没有出路|煤气|活.{0,3}有什么意思|不想再过下去|过不下去|日子.{0,6}不想"
    r"|没(?:什么|有)?盼头|去找他|去陪他|不如早点去|冲进河|冲下去|没有人需要我|消失了?也没人|没人在乎|以后就不来了"
)
# Someone remembering a dark time that has passed, advising others, or describing a film.
NOT_NOW = re.compile(
    r"以前(?:也)?(?:觉得|想过)|那时(?:候)?(?:也)?(?:想过|觉得)|后来.{0,12}(?:好了|遇到|走出)|幸好(?:没|没有)"
    r"|如果.{0,12}(?:念头|想不开)|一定要(?:跟|找|打)|电影|电视剧|小说|《|楼上(?:说|的|那位)|担心你|(?:我妈|我爸|老人|她|他)(?:总|老|常|一直)说"
    r"|used to feel|when i was first diagnosed i|glad i didn'?t|if (?:anyone|you)\b.{0,16}(?:feel|think)|\bfilm\b|movie"
)
EN = (
    r"kill(?:ing)? myself|end(?:ing)? (?:my|it) (?:life|all)|end it all|end it\b|take my (?:own )?life"
    r"|suicid|want(?:ed)? to die|wanna die|wish i (?:was|were) dead|wish i was never born|better off dead"
    r"|better off without me|(?:a|the) burden (?:to|on)|won'?t be (?:a )?burden|no reason to (?:live|go on)"
    r"|can'?t go on|cannot go on|can'?t do this any ?more|can'?t keep going|can'?t take (?:it|this) any ?more"
    r"|give up on (?:life|everything|living)|giving up on (?:life|everything)|no way out|no point (?:in )?(?:living|going on|anything|to any)"
    r"|what'?s the point|not wake up|never wake up|don'?t want to wake|go to sleep (?:and|forever)"
    r"|overdose|all (?:my|the) pills|stockpil|slit|hang myself|jump (?:off|from|in front)"
    r"|say(?:ing)? goodbye (?:to (?:you all|everyone)|for good)|goodbye (?:everyone|all)|final goodbye|last goodbye"
    r"|won'?t be (?:around|here) (?:much longer|for long|anymore)|not be here (?:much longer|anymore)"
    r"|giving (?:away|my) (?:my )?things|hopeless|no hope left|lost all hope|nothing (?:left|matters)"
    r"|want (?:it|this|everything) (?:all )?to (?:end|stop)|(?:just )?want to disappear|tired of living"
    r"|rather be dead|self[- ]harm|hurt myself|don'?t want to be here|no longer want to (?:live|be here)"
    r"|pills (?:lined up|at once|it would take)|all my .{0,12}pills|sleeping pills|ending it|do it myself|kitchen knives"
    r"|better off (?:if i|when i|without)|i'?m gone|this is goodbye|stop(?:ped)? existing|want (?:this|it) to be over"
    r"|where i'?m going|not going to wait for|(?:don'?t|can'?t) see (?:the|any) point|why i should keep going"
    r"|can'?t keep going|keep going much longer|the bridge|cutting again|being done with it|don'?t want to be alive"
    r"|sick of being alive|tired of being (?:alive|everyone|a)|i'?m a burden|why i'?m still here|not coming home"
    r"|planning how to|how to do it|rather die|disappear forever|don'?t want it any ?more|pain to stop|insurance money"
    r"|don'?t want to live|ready to go\b.{0,20}$|soon i won'?t be|i won'?t be around"
    r"|goodbye[.!]*$|and goodbye|won'?t (?:be )?need(?:ing)? (?:them|it|these)|(?:can )?finally be over"
    r"|no one would (?:even )?(?:notice|care|miss)|if i (?:was|were) gone|if i wasn'?t around|no reason (?:left )?to"
    r"|whether i live or die|i'?m (?:just )?done[.!]|no more[.!]*$|can'?t face another day|i don'?t wake up"
)
FIGURES = re.compile(
    r"(?:累|笑|饿|烦|急|热|冷|困|吓|气|忙|渴|丑|美|帅|懒|疼)死(?:了|我|人)|得(?:我)?想死|想死.{0,3}(?:哈|笑|😂|🤣)"
    r"|dying (?:to|for)|to die for|killing me|(?:i'?m|i am) dead\b.{0,3}(?:😂|🤣|lol|haha)"
)
_ZH = quick(ZH)
_EN = quick(EN)


def crisis_signals(text: str) -> list[str]:
    """The phrases that suggest crisis, as found in the text (empty: none)."""
    folded = fold(text)
    if NOT_NOW.search(folded):
        return []
    plain = FIGURES.sub(" ", folded)
    # The first phrase found is enough (a long message is not scanned twice over).
    found = _ZH.search(plain) or _EN.search(plain)
    return [found.group(0)] if found else []


def is_crisis(text: str) -> bool:
    return bool(crisis_signals(text))
