"""The design guide's three flows in headless Chromium against real processes.

The tests share one journey and run in file order: a new user chats and connects Shopify;
that conversation is ended, archived and read back from the history pages; then a new visit
connects the same shop and is welcomed back (the contract counts archived conversations only,
which is why archival comes second). The last test checks that the bearer token never leaked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import DESKTOP, PHONE, BrowserRecord
from e2e_harness import Stack
from e2e_pages import close_menu, open_menu
from playwright.sync_api import BrowserContext, Page, WebSocket, expect

from shared.ids import user_id_for_shop
from shared.tokens import verify_token

pytestmark = pytest.mark.e2e

SHOP_NAME = "e2e-demo-shop"
SHOP = f"{SHOP_NAME}.myshopify.com"
USER_ID = user_id_for_shop(SHOP)
FIRST_MESSAGES = ("What can you do for my store?", "How much does it cost?")
BUBBLES = '[data-testid="message-cj"], [data-testid="message-user"]'
CALLBACK_PATH = "/api/v1/shopify/callback"


@dataclass
class Journey:
    """What one test leaves for the next."""

    context: BrowserContext | None = None
    page: Page | None = None
    sockets: list[WebSocket] = field(default_factory=list)
    said: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def journey() -> Journey:
    return Journey()


def chat_bubbles(page: Page) -> list[tuple[str, str]]:
    """``(sender, text)`` of every bubble on screen, in order."""
    rows = page.locator(BUBBLES).evaluate_all(
        "els => els.map(el => [el.dataset.testid.replace('message-', ''),"
        " el.querySelector('.bubble__text').textContent])"
    )
    return [(sender, text) for sender, text in rows]


def check_layout_and_capture(page: Page, shots: Path, name: str, *, fits: bool = False) -> None:
    """At 1280×800 and 390×844: nothing overflows sideways (and, for the chat, which is
    built to fill the window, nothing downwards either), and a screenshot for a person."""
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        size = page.evaluate(
            "() => { const root = document.documentElement;"
            " return [root.scrollWidth, innerWidth, root.scrollHeight, innerHeight] }"
        )
        assert size[0] <= size[1], f"{name} overflows sideways at {viewport['width']}px: {size}"
        if fits:
            assert size[2] <= size[3], f"{name} scrolls at {viewport['width']}px: {size}"
        page.screenshot(path=shots / f"{name}-{viewport['width']}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def send(page: Page, text: str, *, cj_count: int) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("send-button").click()
    expect(page.get_by_test_id("message-user").last).to_contain_text(text)
    expect(page.get_by_test_id("message-cj")).to_have_count(cj_count)


def connect_shopify(page: Page, stack: Stack, shop_typed: str) -> str:
    """Connect Shopify → the demo store's authorize page → Approve → auth callback → back on
    /chat. Returns the token that the callback put in the fragment of its redirect."""
    page.get_by_test_id("connect-shopify").click()
    expect(page.get_by_test_id("demo-store-note")).to_be_visible()
    page.get_by_test_id("shop-input").fill(shop_typed)
    page.get_by_test_id("connect-submit").click()
    expect(page.get_by_test_id("demo-banner")).to_contain_text("Demo store")
    with page.expect_response(lambda r: urlsplit(r.url).path == CALLBACK_PATH) as callback:
        page.get_by_test_id("demo-approve").click()
    response = callback.value
    assert response.status == 302, response.text()
    location = response.headers["location"]
    landing = urlsplit(location)
    assert f"{landing.scheme}://{landing.netloc}{landing.path}" == f"{stack.frontend_url}/chat"
    assert parse_qs(landing.query)["oauth"] == ["complete"]
    assert "token" not in parse_qs(landing.query)
    fragment_token = parse_qs(landing.fragment)["token"][0]
    # The page scrubs the query and the fragment before it renders.
    expect(page).to_have_url(f"{stack.frontend_url}/chat")
    open_menu(page)
    expect(page.get_by_test_id("user-id")).to_have_text(USER_ID)
    close_menu(page)
    return fragment_token


def check_signed_in_storage(page: Page, fragment_token: str, record: BrowserRecord) -> None:
    stored_user = page.evaluate("localStorage.getItem('hirecj_user_id')")
    stored_token = page.evaluate("localStorage.getItem('hirecj_token')")
    assert stored_user == USER_ID
    assert stored_token == fragment_token
    claims = verify_token(stored_token, secrets=[os.environ["IDENTITY_TOKEN_SECRET"]])
    assert (claims.user_id, claims.shop) == (USER_ID, SHOP)
    record.tokens.append(stored_token)
    assert urlsplit(page.url).query == ""
    assert urlsplit(page.url).fragment == ""


def test_new_user_chats_then_connects_shopify(
    stack: Stack,
    new_visit: Callable[[], BrowserContext],
    journey: Journey,
    browser_record: BrowserRecord,
    screenshots_dir: Path,
) -> None:
    context = new_visit()
    page = context.new_page()
    page.on("websocket", lambda socket: journey.sockets.append(socket))
    journey.context, journey.page = context, page

    page.goto("/chat")
    expect(page.get_by_test_id("connection-status")).to_have_text("Online")
    expect(page.get_by_test_id("message-cj").first).to_contain_text("I'm CJ")
    expect(page.get_by_test_id("history-button")).to_have_count(0)
    for turn, text in enumerate(FIRST_MESSAGES, start=1):
        send(page, text, cj_count=1 + turn)
    check_layout_and_capture(page, screenshots_dir, "1-new-user-chat", fits=True)

    # A shop typed the way a merchant might, normalised by the page.
    token = connect_shopify(page, stack, f"  {SHOP_NAME.upper()}  ")
    check_signed_in_storage(page, token, browser_record)
    expect(page.get_by_test_id("message-cj").last).to_contain_text(f"{SHOP_NAME} is connected")
    # The conversation resumed across the OAuth round trip: nothing said before was lost.
    said = chat_bubbles(page)
    assert [text for sender, text in said if sender == "user"] == list(FIRST_MESSAGES)
    assert len(said) == 6, said
    open_menu(page)
    expect(page.get_by_test_id("history-button")).to_be_visible()
    close_menu(page)
    journey.said = said
    check_layout_and_capture(page, screenshots_dir, "1-new-user-connected", fits=True)


def test_ended_conversation_is_archived_and_readable(
    stack: Stack, journey: Journey, screenshots_dir: Path
) -> None:
    page = journey.page
    if page is None or not journey.said:
        pytest.skip("the new-user flow did not finish")
    socket = journey.sockets[-1]
    # Wait for the server's acknowledgement, not just the button: only then is it ended.
    open_menu(page)
    with socket.expect_event(
        "framereceived", predicate=lambda payload: '"conversation_ended"' in str(payload)
    ):
        page.get_by_test_id("end-chat").click()
    expect(page.get_by_test_id("conversation-ended")).to_be_visible()

    result = stack.run_archiver("--all")
    assert result.returncode == 0, result.stdout + result.stderr

    open_menu(page)
    page.get_by_test_id("history-button").click()
    expect(page).to_have_url(f"{stack.frontend_url}/history/{USER_ID}")
    row = page.get_by_test_id("conversation-row")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("message-count")).to_have_text(f"{len(journey.said)} messages")
    expect(row).not_to_contain_text("not ended")
    check_layout_and_capture(page, screenshots_dir, "3-history-list")

    row.get_by_test_id("open-conversation").click()
    messages = page.get_by_test_id("transcript-message")
    expect(messages).to_have_count(len(journey.said))
    transcript = messages.evaluate_all(
        "els => els.map(el => [el.dataset.sender,"
        " el.querySelector('.transcript__text').textContent])"
    )
    assert [tuple(message) for message in transcript] == journey.said
    check_layout_and_capture(page, screenshots_dir, "3-transcript")


def test_returning_user_is_welcomed_back(
    stack: Stack,
    new_visit: Callable[[], BrowserContext],
    journey: Journey,
    browser_record: BrowserRecord,
    screenshots_dir: Path,
) -> None:
    if not journey.said:
        pytest.skip("the new-user flow did not finish")
    page = new_visit().new_page()
    page.goto("/chat")
    # A new visit knows nobody yet.
    expect(page.get_by_test_id("message-cj").first).to_contain_text("I'm CJ")
    expect(page.get_by_test_id("user-id")).to_have_count(0)

    token = connect_shopify(page, stack, SHOP)
    check_signed_in_storage(page, token, browser_record)
    expect(page.get_by_test_id("message-cj").last).to_contain_text("Welcome back")
    expect(page.get_by_test_id("message-cj").last).to_contain_text(SHOP_NAME)
    check_layout_and_capture(page, screenshots_dir, "2-returning-user-connected", fits=True)

    # A fresh conversation for a user with an archived one opens with the contract's greeting.
    page.get_by_test_id("new-conversation").click()
    greeting = page.get_by_test_id("message-cj")
    expect(greeting).to_have_count(1)
    expect(greeting.locator(".bubble__text")).to_have_text(re.compile(r"^Welcome back"))
    check_layout_and_capture(page, screenshots_dir, "2-returning-user-new-conversation", fits=True)


def test_no_token_in_urls_logs_or_user_id_storage(
    stack: Stack, browser_record: BrowserRecord
) -> None:
    if not browser_record.tokens:
        pytest.skip("no flow signed in")
    assert len(set(browser_record.tokens)) == 2, "each sign-in should mint its own token"
    assert browser_record.requested_urls
    for token in browser_record.tokens:
        signature = token.rsplit(".", 1)[-1]
        for url in browser_record.requested_urls:
            parts = urlsplit(url)
            assert token not in parts.query, url
            assert signature not in parts.query, url
            assert signature not in parts.path, url
        for log in stack.log_files():
            text = log.read_text(errors="replace")
            assert signature not in text, f"the bearer token appears in {log.name}"
