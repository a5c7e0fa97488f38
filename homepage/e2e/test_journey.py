"""A merchant's first minutes and their return, at 1280×800 and at 390×844, on a stack like
``make dev`` without Shopify credentials (the fake Shopify as the labelled demo store).

Each width walks it with a shop of its own: chat → Connect Shopify on the demo store (Approve)
→ back signed in, the shop's name in the header and no ``usr_`` id in it → three conversations
with different first messages → each in the sidebar (the drawer on the phone) under its own
title → search finds one by a word from its middle → the older, ended one is opened and
continued → its transcript and the archive hold the new messages in order → a new browser
context for the same shop is welcomed back and sees the same sidebar. Then, at the desktop
width: Redis loses a conversation that was archived before its last messages, and the page
says which messages could not be recovered; and Sign out revokes the token at auth.

Every step is saved as ``screenshots/journey-WIDTH-NN-step.png``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg2
import pytest
import redis
from conftest import DESKTOP, PHONE
from e2e_harness import Stack
from e2e_pages import (
    chat_bubbles,
    hide_sidebar,
    open_menu,
    send_and_wait,
    show_sidebar,
)
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

pytestmark = pytest.mark.e2e

CALLBACK_PATH = "/api/v1/shopify/callback"
# Three first messages (each under 60 characters, so each is its chat's whole title); the search
# word of the first sits in its middle.
FIRST_MESSAGES = (
    "Can you draft a calm reply about late parcels for me?",
    "Which of my products sell best in the winter?",
    "Help me write a friendly returns policy",
)
SEARCH_WORD = "parcels"
CONTINUED = "And what about parcels that go abroad?"
AFTER_ARCHIVE = "Is this last question saved anywhere?"


@dataclass
class Walk:
    """One width's journey and what its steps leave for the next."""

    viewport: ViewportSize
    shop_name: str
    shots: Path
    step: int = 0
    ids: dict[str, str] = field(default_factory=dict)  # first message -> conversation id

    @property
    def shop(self) -> str:
        return f"{self.shop_name}.myshopify.com"

    def capture(self, page: Page, name: str, *, fits: bool = True) -> None:
        """Nothing overflows sideways (nor, for the chat, downwards); a screenshot to look at."""
        size = page.evaluate(
            "() => { const root = document.documentElement;"
            " return [root.scrollWidth, innerWidth, root.scrollHeight, innerHeight] }"
        )
        assert size[0] <= size[1], f"{name} overflows sideways: {size}"
        if fits:
            assert size[2] <= size[3], f"{name} scrolls: {size}"
        self.step += 1
        width = self.viewport["width"]
        page.screenshot(path=self.shots / f"journey-{width}-{self.step:02d}-{name}.png")


def current_conversation(page: Page) -> str:
    return str(page.evaluate("sessionStorage.getItem('hirecj_conversation_id')"))


def check_header(page: Page, walk: Walk) -> None:
    header = page.locator("header.chat__header")
    expect(header.get_by_test_id("shop-name")).to_have_text(walk.shop_name)
    expect(header.get_by_test_id("connected-mark")).to_have_text("Connected")
    expect(header.get_by_test_id("connect-shopify")).to_have_count(0)
    assert "usr_" not in header.inner_text()
    box = header.bounding_box()
    assert box is not None
    assert box["height"] <= 64, f"the header takes {box['height']} px: more than one row"


def connect_on_demo_store(page: Page, stack: Stack, walk: Walk) -> None:
    page.get_by_test_id("connect-shopify").click()
    expect(page.get_by_test_id("demo-store-note")).to_be_visible()
    page.get_by_test_id("shop-input").fill(walk.shop_name)
    walk.capture(page, "connect-form")
    page.get_by_test_id("connect-submit").click()
    expect(page.get_by_test_id("demo-banner")).to_contain_text("Demo store")
    expect(page.get_by_test_id("demo-shop")).to_contain_text(walk.shop)
    expect(page.get_by_test_id("demo-scopes")).to_contain_text("read_products")
    walk.capture(page, "demo-store-approve", fits=False)
    with page.expect_response(lambda r: urlsplit(r.url).path == CALLBACK_PATH) as callback:
        page.get_by_test_id("demo-approve").click()
    assert callback.value.status == 302
    expect(page).to_have_url(f"{stack.frontend_url}/chat")
    check_header(page, walk)
    # One welcome: CJ's own message says the store is connected; no banner repeats it.
    expect(page.get_by_test_id("message-cj").last).to_contain_text(f"{walk.shop_name} is connected")
    expect(page.locator(".notice--success")).to_have_count(0)


def end_and_start_new(page: Page) -> None:
    open_menu(page)
    page.get_by_test_id("end-chat").click()
    expect(page.get_by_test_id("conversation-ended")).to_be_visible()
    page.get_by_test_id("start-new-conversation").click()
    expect(page.get_by_test_id("chat-input")).to_be_focused()
    expect(page.get_by_test_id("connection-status")).to_have_text("Online")
    expect(page.get_by_test_id("message-cj")).to_have_count(1)  # CJ's greeting


def sidebar_titles(page: Page) -> list[str]:
    show_sidebar(page)
    list_ = page.get_by_test_id("sidebar-list")
    expect(list_.get_by_test_id("sidebar-row")).to_have_count(len(FIRST_MESSAGES))
    return list_.get_by_test_id("sidebar-title").all_inner_texts()


def archived_messages(stack: Stack, conversation_id: str) -> list[tuple[str, str]]:
    with psycopg2.connect(stack.env["IDENTITY_DATABASE_URL"]) as db, db.cursor() as cursor:
        cursor.execute("SELECT messages FROM conversations WHERE id = %s", (conversation_id,))
        row = cursor.fetchone()
    assert row is not None, f"{conversation_id} was not archived"
    messages = row[0] if isinstance(row[0], list) else json.loads(row[0])
    return [(m["sender"], m["content"]) for m in messages]


def archive_all(stack: Stack) -> None:
    result = stack.run_archiver("--all")
    assert result.returncode == 0, result.stdout + result.stderr


def walk_first_visit(page: Page, stack: Stack, walk: Walk) -> None:
    page.goto("/chat")
    expect(page.get_by_test_id("connection-status")).to_have_text("Online")
    expect(page.get_by_test_id("message-cj").first).to_contain_text("I'm CJ")
    expect(page.get_by_test_id("chat-input")).to_be_focused()
    walk.capture(page, "chat")
    connect_on_demo_store(page, stack, walk)
    walk.capture(page, "connected")

    for number, text in enumerate(FIRST_MESSAGES):
        send_and_wait(page, text)
        walk.ids[text] = current_conversation(page)
        if number < len(FIRST_MESSAGES) - 1:
            end_and_start_new(page)
    assert len(set(walk.ids.values())) == len(FIRST_MESSAGES)
    walk.capture(page, "three-chats")

    # The server lists a chat once it is archived; a reload reads the list from it.
    archive_all(stack)
    page.reload()
    expect(page.get_by_test_id("connection-status")).to_have_text("Online")
    assert sidebar_titles(page) == list(reversed(FIRST_MESSAGES))
    current = page.locator('[data-testid="sidebar-row"] a[aria-current="page"]')
    expect(current).to_contain_text(FIRST_MESSAGES[-1])
    walk.capture(page, "sidebar")

    page.get_by_test_id("sidebar-search").fill(SEARCH_WORD)
    results = page.get_by_test_id("sidebar-results").get_by_test_id("sidebar-row")
    expect(results).to_have_count(1)
    expect(results.get_by_test_id("sidebar-title")).to_have_text(FIRST_MESSAGES[0])
    expect(results.locator("mark").first).to_have_text(SEARCH_WORD)
    walk.capture(page, "search")


def walk_continue_the_oldest(page: Page, stack: Stack, walk: Walk) -> None:
    oldest = walk.ids[FIRST_MESSAGES[0]]
    page.get_by_test_id("sidebar-results").get_by_role("link").first.click()
    expect(page).to_have_url(f"{stack.frontend_url}/chat/{oldest}")
    if walk.viewport["width"] < 1024:
        expect(page.locator(".sidebar--open")).to_have_count(0)
    expect(page.get_by_test_id("message-user").first.locator(".bubble__text")).to_have_text(
        FIRST_MESSAGES[0]
    )
    expect(page.get_by_test_id("chat-input")).to_be_visible()
    before = chat_bubbles(page)
    send_and_wait(page, CONTINUED)
    said = chat_bubbles(page)
    assert said[: len(before)] == before
    assert said[len(before)][1] == CONTINUED
    walk.capture(page, "continued")

    archive_all(stack)
    assert archived_messages(stack, oldest) == said
    open_menu(page)
    page.get_by_test_id("history-button").click()
    row = page.locator(f'[data-testid="conversation-row"][data-conversation-id="{oldest}"]')
    expect(row.get_by_test_id("conversation-title")).to_have_text(FIRST_MESSAGES[0])
    walk.capture(page, "history", fits=False)
    row.get_by_test_id("open-conversation").click()
    messages = page.get_by_test_id("transcript-message")
    expect(messages).to_have_count(len(said))
    transcript = messages.evaluate_all(
        "els => els.map(el => [el.dataset.sender,"
        " el.querySelector('.transcript__text').textContent])"
    )
    assert [tuple(message) for message in transcript] == said
    expect(page).to_have_title(f"{FIRST_MESSAGES[0]} · HireCJ")
    walk.capture(page, "transcript", fits=False)


def walk_coming_back(context: BrowserContext, stack: Stack, walk: Walk) -> None:
    page = context.new_page()
    page.goto("/chat")
    expect(page.get_by_test_id("connect-shopify")).to_be_visible()
    page.get_by_test_id("connect-shopify").click()
    page.get_by_test_id("shop-input").fill(walk.shop_name)
    page.get_by_test_id("connect-submit").click()
    page.get_by_test_id("demo-approve").click()
    expect(page).to_have_url(f"{stack.frontend_url}/chat")
    check_header(page, walk)
    expect(page.get_by_test_id("message-cj").last).to_contain_text("Welcome back")
    assert sidebar_titles(page) == list(reversed(FIRST_MESSAGES))
    walk.capture(page, "welcomed-back")
    hide_sidebar(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_a_merchants_first_minutes_and_return(
    stack: Stack,
    new_visit: Callable[..., BrowserContext],
    screenshots_dir: Path,
    viewport: ViewportSize,
) -> None:
    walk = Walk(viewport=viewport, shop_name=f"journey-{viewport['width']}", shots=screenshots_dir)
    page = new_visit(viewport).new_page()
    walk_first_visit(page, stack, walk)
    walk_continue_the_oldest(page, stack, walk)
    walk_coming_back(new_visit(viewport), stack, walk)
    if viewport == DESKTOP:
        walk_redis_loses_the_last_messages(page, stack, walk)
        walk_sign_out(page, stack, walk)


def walk_redis_loses_the_last_messages(page: Page, stack: Stack, walk: Walk) -> None:
    """The conversation was archived, then more was said, then Redis lost it: the restored copy
    lacks the last exchange, and the page says so instead of quietly showing less."""
    oldest = walk.ids[FIRST_MESSAGES[0]]
    page.get_by_test_id("continue-conversation").click()
    expect(page).to_have_url(f"{stack.frontend_url}/chat/{oldest}")
    expect(page.get_by_test_id("message-user").last.locator(".bubble__text")).to_have_text(
        CONTINUED
    )
    send_and_wait(page, AFTER_ARCHIVE)
    lost_reply = chat_bubbles(page)[-1]

    store = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        store.delete(f"conv:{{{oldest}}}:session", f"conv:{{{oldest}}}:messages")
        store.zrem("archive:due", oldest)
        store.zrem("archive:leased", oldest)
    finally:
        store.close()
    page.reload()
    notice = page.get_by_test_id("restored-notice")
    expect(notice).to_contain_text("2 messages could not be recovered")
    expect(notice.get_by_test_id("restored-lost")).to_contain_text(AFTER_ARCHIVE)
    lost = page.locator('[data-lost="true"] .bubble__text')
    expect(lost).to_have_text([AFTER_ARCHIVE, lost_reply[1]])
    expect(page.get_by_test_id("not-saved")).to_have_count(2)
    walk.capture(page, "restored-notice")


def walk_sign_out(page: Page, stack: Stack, walk: Walk) -> None:
    """The menu's Sign out asks auth to revoke the token, then forgets it: the old token no longer
    opens the history."""
    token = str(page.evaluate("localStorage.getItem('hirecj_token')"))
    user_id = str(page.evaluate("localStorage.getItem('hirecj_user_id')"))
    history = f"{stack.agents_url}/api/v1/users/{user_id}/conversations"
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(history, headers=bearer).status_code == 200
    open_menu(page)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/api/v1/sign-out") as answer:
        page.get_by_test_id("sign-out").click()
    assert answer.value.status == 204
    assert answer.value.request.headers["authorization"] == f"Bearer {token}"
    expect(page.locator("header.chat__header").get_by_test_id("connect-shopify")).to_be_visible()
    assert page.evaluate("localStorage.getItem('hirecj_token')") is None
    assert page.evaluate("localStorage.getItem('hirecj_user_id')") is None
    expect(page.get_by_test_id("sidebar-signed-out")).to_be_visible()
    walk.capture(page, "signed-out")
    # Agents learns of a revocation within a few seconds; until then it may still answer.
    deadline = time.monotonic() + 15
    status = 200
    while time.monotonic() < deadline and status != 401:
        status = httpx.get(history, headers=bearer).status_code
        time.sleep(0.25)
    assert status == 401
