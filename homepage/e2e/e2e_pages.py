"""Steps on the homepage that several browser tests take: the header menu, the drawer, sending."""

from __future__ import annotations

from playwright.sync_api import Page, expect

BUBBLES = '[data-testid="message-cj"], [data-testid="message-user"]'


def open_menu(page: Page) -> None:
    """The header's menu holds history, new chat, end chat, account details and sign out."""
    if page.get_by_test_id("header-menu-panel").count() == 0:
        page.get_by_test_id("header-menu").click()
    expect(page.get_by_test_id("header-menu-panel")).to_be_visible()


def close_menu(page: Page) -> None:
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("header-menu-panel")).to_have_count(0)


def is_phone(page: Page) -> bool:
    size = page.viewport_size
    return size is not None and size["width"] < 1024


def show_sidebar(page: Page) -> None:
    """On a phone the conversation list is a drawer opened from the header."""
    if is_phone(page) and page.locator(".sidebar--open").count() == 0:
        page.get_by_test_id("open-sidebar").click()
    expect(page.get_by_test_id("sidebar")).to_be_visible()


def hide_sidebar(page: Page) -> None:
    if is_phone(page) and page.locator(".sidebar--open").count() > 0:
        page.get_by_test_id("close-sidebar").click()
        expect(page.locator(".sidebar--open")).to_have_count(0)


def chat_bubbles(page: Page) -> list[tuple[str, str]]:
    """``(sender, text)`` of every bubble on screen, in order."""
    rows = page.locator(BUBBLES).evaluate_all(
        "els => els.map(el => [el.dataset.testid.replace('message-', ''),"
        " el.querySelector('.bubble__text').textContent])"
    )
    return [(sender, text) for sender, text in rows]


def send_and_wait(page: Page, text: str) -> None:
    """Type a message, send it, and wait until CJ has answered it (it then counts as sent)."""
    replies = page.get_by_test_id("message-cj").count()
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("send-button").click()
    expect(page.get_by_test_id("message-user").last).to_contain_text(text)
    expect(page.get_by_test_id("message-cj")).to_have_count(replies + 1)
    expect(page.get_by_test_id("sending")).to_have_count(0)
