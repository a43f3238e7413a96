"""A newcomer signs up and applies; the leader approves; both chat live. In English and Chinese,
on a 360 px wide phone screen, in real Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tongzhou.accounts.actions import do_register
from tongzhou.groups.actions import do_create_group

from ..conftest import LiveServer
from .conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
LEADER_PASSWORD = "leader-pass-2026"

TEXT = {
    "en": {
        "locale": "en-US",
        "username": "Username (for signing in)",
        "login_username": "Username",
        "display_name": "Display name (what others see)",
        "password": "Password",
        "create_account": "Create account",
        "apply": "Apply to join",
        "i_am": "I am a",
        "cancer": "Cancer type (yours, or the person you care for)",
        "send_application": "Send application",
        "consent_needed": "please tick the box",
        "consent": "I agree that Tongzhou keeps the health details",
        "pending": "Waiting for review",
        "sign_in": "Sign in",
        "approve": "Approve",
        "now_member": "is now a member",
        "message": "Message",
        "send": "Send",
        "connected": "Connected",
        "hello": "Hello everyone, I start radiotherapy next week. Any advice?",
        "reply": "Welcome! Ask anything; we have all been there.",
        "queued": "Waiting for the network",
        "unread": "New messages",
    },
    "zh": {
        "locale": "zh-CN",
        "username": "用户名（登录用）",
        "login_username": "用户名",
        "display_name": "昵称（别人看到的名字）",
        "password": "密码",
        "create_account": "注册",
        "apply": "申请入群",
        "i_am": "我是",
        "cancer": "癌症类型（你自己的，或你照顾的人的）",
        "send_application": "提交申请",
        "consent_needed": "请勾选同意框",
        "consent": "我同意同舟加密保存",
        "pending": "等待审核",
        "sign_in": "登录",
        "approve": "通过",
        "now_member": "已成为成员",
        "message": "消息",
        "send": "发送",
        "connected": "已连接",
        "hello": "大家好，我下周开始放疗，有什么要注意的吗？",
        "reply": "欢迎！有问题随时问，我们都经历过。",
        "queued": "等待网络",
        "unread": "以下是新消息",
    },
}


def phone(browser: Browser, lang: str) -> BrowserContext:
    return browser.new_context(viewport=PHONE, locale=TEXT[lang]["locale"], device_scale_factor=2)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_newcomer_joins_and_chats_live_with_the_leader(
    asgi_server: LiveServer, browser: Browser, lang: str, shots: Path
) -> None:
    t = TEXT[lang]
    leader = do_register("laoli", LEADER_PASSWORD, "老李 Lao Li")
    group = do_create_group(
        leader, "鼻咽癌互助群 NPC Mutual Aid", "For people with NPC and their families."
    )

    # The newcomer signs up and applies.
    newcomer_ctx = phone(browser, lang)
    newcomer = newcomer_ctx.new_page()
    newcomer.goto(f"{asgi_server.url}/accounts/signup/")
    newcomer.screenshot(path=shots / "01-signup.png", full_page=True)
    newcomer.get_by_label(t["username"]).fill("afang")
    newcomer.get_by_label(t["display_name"]).fill("阿芳 Fang")
    newcomer.get_by_label(t["password"]).fill("sunflower-2026")
    newcomer.get_by_role("button", name=t["create_account"]).click()
    expect(newcomer).to_have_url(re.compile(r"/groups/$"))
    newcomer.screenshot(path=shots / "02-directory.png", full_page=True)
    newcomer.get_by_role("link", name=t["apply"]).click()
    newcomer.get_by_label(t["i_am"]).select_option("patient")
    newcomer.get_by_label(t["cancer"]).fill("鼻咽癌 II")
    newcomer.get_by_role("button", name=t["send_application"]).click()
    # Health details need a separate yes first; what was typed is kept.
    expect(newcomer.get_by_role("alert")).to_contain_text(t["consent_needed"])
    expect(newcomer.get_by_label(t["cancer"])).to_have_value("鼻咽癌 II")
    newcomer.screenshot(path=shots / "03a-consent.png", full_page=True)
    newcomer.get_by_label(t["consent"]).check()
    newcomer.get_by_role("button", name=t["send_application"]).click()
    expect(newcomer.get_by_test_id("application-status")).to_have_text(t["pending"])
    newcomer.screenshot(path=shots / "03-applied.png", full_page=True)

    # The leader, in a second browser context, approves.
    leader_ctx = phone(browser, lang)
    lp = leader_ctx.new_page()
    sign_in(lp, asgi_server.url, "laoli", LEADER_PASSWORD, labels=t)
    expect(lp).to_have_url(re.compile(r"/groups/$"))
    lp.goto(f"{asgi_server.url}/groups/{group.pk}/applications/")
    expect(lp.get_by_text("阿芳 Fang")).to_be_visible()
    lp.screenshot(path=shots / "04-review-queue.png", full_page=True)
    lp.get_by_role("button", name=t["approve"], exact=True).click()
    expect(lp.get_by_role("status")).to_contain_text(t["now_member"])

    # Both open the chat; each sees the other's message appear live, without a reload.
    lp.goto(f"{asgi_server.url}/groups/{group.pk}/chat/")
    newcomer.goto(f"{asgi_server.url}/groups/{group.pk}/")
    expect(newcomer).to_have_url(re.compile(rf"/groups/{group.pk}/chat/$"))
    for page in (lp, newcomer):
        expect(page.locator("#conn")).to_have_text(t["connected"])
    newcomer.get_by_role("textbox", name=t["message"], exact=True).fill(t["hello"])
    newcomer.get_by_role("button", name=t["send"], exact=True).click()
    expect(lp.locator(".message .text", has_text=t["hello"])).to_be_visible()
    expect(lp.locator(".unread-marker")).to_have_text(t["unread"])
    lp.locator(".message", has_text=t["hello"]).locator(".reply-button").click()
    lp.get_by_role("textbox", name=t["message"], exact=True).fill(t["reply"])
    lp.get_by_role("button", name=t["send"], exact=True).click()
    reply = newcomer.locator(".message", has_text=t["reply"])
    expect(reply).to_be_visible()
    expect(reply.locator(".quote")).to_contain_text(t["hello"][:10])
    # Each message is shown exactly once on each side.
    for page in (lp, newcomer):
        expect(page.locator(".message")).to_have_count(2)
    newcomer.screenshot(path=shots / "05-chat-newcomer.png")
    lp.screenshot(path=shots / "06-chat-leader.png")

    # A send without a network waits in the outbox; back online it is delivered once.
    newcomer_ctx.set_offline(True)
    newcomer.get_by_role("textbox", name=t["message"], exact=True).fill("offline draft 1")
    newcomer.get_by_role("button", name=t["send"], exact=True).click()
    expect(newcomer.locator(".message.queued", has_text="offline draft 1")).to_contain_text(
        t["queued"]
    )
    expect(newcomer.get_by_role("textbox", name=t["message"], exact=True)).to_have_value("")
    newcomer.screenshot(path=shots / "07-send-queued.png")
    newcomer_ctx.set_offline(False)
    expect(lp.locator(".message .text", has_text="offline draft 1")).to_have_count(1)
    expect(newcomer.locator(".message .text", has_text="offline draft 1")).to_have_count(1)
    expect(newcomer.locator(".message.queued")).to_have_count(0)

    newcomer_ctx.close()
    leader_ctx.close()
