"""A tip's whole round trip in Chromium: a reporter sends it in the web chat page, the
Ba Đình officer reads it in the console and asks a question, the reporter comes back with
the receipt and answers, the officer reads the answer, triages the tip and forwards it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.people import RECEIPT, Officer, Reporter
from tests.e2e.server import DemoServer

pytestmark = pytest.mark.browser

BA_DINH_QUEUE = "Công an Phường Ba Đình"
HOAN_KIEM_QUEUE = "Công an Phường Hoàn Kiếm"
PROVINCE_QUEUE = "Công an Hà Nội"
QUEUE = "Đơn vị tiếp nhận"  # the tip page's "Queue"


def send_tip(reporter: Reporter, story: str) -> str:
    """Through the chat to the receipt, as a reporter in Hà Nội's Ba Đình does."""
    assert "Chọn ngôn ngữ" in reporter.open()
    assert "Bạn muốn làm gì?" in reporter.choose("Tiếng Việt")
    assert "Trước khi bắt đầu" in reporter.choose("Gửi tin báo ẩn danh")
    assert "về việc gì?" in reporter.choose("Tiếp tục")
    assert "tỉnh, thành phố nào?" in reporter.choose("Mua bán, bán lẻ ma túy")
    assert "xã, phường nào?" in reporter.choose("Hà Nội")
    assert "Phường Ba Đình" in reporter.say("Ba Đình")
    assert "khi nào?" in reporter.choose("Phường Ba Đình")
    assert "Cụ thể ở đâu?" in reporter.choose("Đang diễn ra")
    assert "Chuyện gì đã xảy ra?" in reporter.say("Cổng sau chợ, cạnh cây xăng")
    assert "Đã thêm." in reporter.say(story)
    assert "ảnh" in reporter.choose("Xong")
    review = reporter.choose("Xong")
    assert story in review and "Phường Ba Đình, Hà Nội" in review, review
    reporter.choose("Gửi tin báo")
    expect(reporter.receipt).to_have_count(1)
    receipt = reporter.receipt.inner_text().strip()
    assert RECEIPT.match(receipt), receipt
    return receipt


def test_a_tip_from_the_web_chat_is_discussed_triaged_and_forwarded(
    server: DemoServer, new_page: Callable[[str], Page]
) -> None:
    story = f"Bán ma túy đá ở cổng sau chợ, dấu hiệu {uuid.uuid4().hex[:8]}"
    question = "Người bán thường có mặt vào giờ nào?"
    answer = f"Khoảng 9 giờ tối, đi xe máy màu đỏ {uuid.uuid4().hex[:6]}"

    # The reporter sends the tip, keeps the receipt and wipes the chat, as advised.
    reporter = Reporter(new_page("reporter"), f"{server.url}/")
    receipt = send_tip(reporter, story)
    reporter.page.locator("#wipe").click()
    expect(reporter.receipt).to_have_count(0)
    expect(reporter.page.locator("#messages .msg.bot.wiped")).to_have_count(1)
    assert receipt not in reporter.transcript and story not in reporter.transcript
    reporter.page.context.close()

    # The officer signs in, finds the tip in the queue, reads it and asks a question.
    username, password = server.account("canbo.demo")
    officer = Officer(new_page("officer"), server.url, username, password)
    page = officer.page
    officer.enrol()
    rows = page.locator("table.tips tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ba Đình")
    link = rows.first.locator("a")
    tip_id = link.inner_text()
    link.click()
    expect(page).to_have_url(officer.tip_url(tip_id))
    expect(page.locator(".tip-main p.text", has_text=story)).to_be_visible()
    expect(officer.fact(QUEUE)).to_have_text(BA_DINH_QUEUE)
    expect(officer.status_badge).to_have_text("Mới")
    page.locator("#ask").fill(question)
    officer.submit("ask")
    expect(page.locator(".message.from-police .text")).to_have_text(question)

    # The reporter comes back with the receipt, reads the question and answers it.
    reporter = Reporter(new_page("reporter-again"), f"{server.url}/")
    reporter.open()
    reporter.choose("Tiếng Việt")
    assert "16" in reporter.choose("Xem tin báo bằng mã biên nhận")
    checked = reporter.say(receipt)
    assert f"Công an: {question}" in checked, checked
    assert receipt not in reporter.transcript  # the typed receipt is masked on the screen
    assert "Viết câu trả lời" in checked
    reporter.choose("Viết câu trả lời")
    assert "đã được gửi ẩn danh đến công an" in reporter.say(answer)

    # The officer sees the answer, then changes the status.
    page.reload()
    expect(page.locator(".message.from-reporter .text")).to_have_text(answer)
    page.locator("#status").select_option("in_review")
    officer.submit("status")
    expect(officer.status_badge).to_have_text("Đang xem xét")
    page.locator("#status").select_option("closed")
    officer.submit("status")  # closing needs a disposition
    expect(page.locator("main .flash-error")).to_contain_text("Hãy chọn kết luận")
    expect(officer.status_badge).to_have_text("Đang xem xét")
    page.locator("#status").select_option("closed")
    page.locator("#disposition").select_option("confirmed")
    officer.submit("status")
    expect(officer.status_badge).to_have_text("Đã đóng")
    expect(page.locator(".tip-head .badge", has_text="Xác minh đúng")).to_be_visible()

    # Forwarded to the other commune of this officer: the tip stays in their list.
    page.locator("#queue").select_option(label=HOAN_KIEM_QUEUE)
    officer.submit("forward")
    expect(officer.fact(QUEUE)).to_have_text(HOAN_KIEM_QUEUE)
    expect(page).to_have_url(officer.tip_url(tip_id))
    expect(page.locator("main .flash-ok")).to_have_text(f"Đã chuyển tin báo cho {HOAN_KIEM_QUEUE}.")
    page.locator("p.back a").click()
    officer.expect_queue()
    expect(officer.queue_row(tip_id)).to_contain_text("Đã đóng")

    # Forwarded to the province (PC04): the commune officer loses it.
    officer.queue_row(tip_id).locator("a").click()
    expect(page).to_have_url(officer.tip_url(tip_id))
    page.locator("#queue").select_option(label=PROVINCE_QUEUE)
    officer.submit("forward")
    expect(page).to_have_url(f"{server.url}/console/")
    expect(page.locator("main .flash-ok")).to_have_text(f"Đã chuyển tin báo cho {PROVINCE_QUEUE}.")
    expect(officer.queue_row(tip_id)).to_have_count(0)
    expect(page.locator("main p.empty")).to_be_visible()
    response = page.goto(officer.tip_url(tip_id))
    assert response is not None and response.status == 404
    expect(page.locator("main")).not_to_contain_text(story)

    # The province's supervisor has it, with the whole conversation.
    username, password = server.account("giamsat.demo")
    supervisor = Officer(new_page("supervisor"), server.url, username, password)
    supervisor.enrol()
    supervisor.queue_row(tip_id).locator("a").click()
    expect(supervisor.fact(QUEUE)).to_have_text(PROVINCE_QUEUE)
    expect(supervisor.page.locator(".tip-main p.text", has_text=story)).to_be_visible()
    expect(supervisor.page.locator(".message.from-reporter .text")).to_have_text(answer)
    assert re.search(r"\b" + tip_id + r"\b", supervisor.page.url)
