"""The two people of the browser tests: a reporter in the web chat page and an officer in
the police console. They act only through the page (clicks and typing), as a person does.
"""

from __future__ import annotations

import base64
import re
import time

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from playwright.sync_api import Locator, Page, expect

STEP = 30  # seconds of one TOTP code
RECEIPT = re.compile(r"^\d{4} \d{4} \d{4} \d{4}$")


def totp_code(secret: bytes, at: float | None = None) -> str:
    """What the officer's authenticator app shows at ``at`` (default: now)."""
    totp = TOTP(secret, 6, SHA1(), STEP, enforce_key_length=False)
    return totp.generate(int(time.time() if at is None else at)).decode()


def wait_for_next_step(after: float) -> None:
    """Sleep until the TOTP step after the one of ``after`` begins: a code is good once per
    step, and the step of the enrolment counts as used."""
    next_step = (int(after) // STEP + 1) * STEP
    time.sleep(max(0.0, next_step - time.time()) + 0.2)


class Reporter:
    """Someone using the web chat page (`/`)."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.bot = page.locator("#messages .msg.bot")
        self.typing = page.locator("#typing")

    def open(self) -> str:
        """Open the page; it starts the chat by itself (the language question)."""
        self.page.goto(self.url)
        return self._replies(0)

    def say(self, text: str) -> str:
        """Type a message and send it; returns the text of the bot's answers."""
        before = self.bot.count()
        self.page.locator("#text").fill(text)
        self.page.locator("#send").click()
        return self._replies(before)

    def choose(self, label: str) -> str:
        """Press a button of the latest prompt; returns the text of the bot's answers."""
        before = self.bot.count()
        self.page.locator("#messages .choices").last.get_by_text(label, exact=True).click()
        return self._replies(before)

    def _replies(self, before: int) -> str:
        self.bot.nth(before).wait_for()
        expect(self.typing).to_be_hidden()
        return "\n".join(self.bot.nth(i).inner_text() for i in range(before, self.bot.count()))

    @property
    def receipt(self) -> Locator:
        return self.page.locator("#messages .receipt-code")

    @property
    def transcript(self) -> str:
        return self.page.locator("#messages").inner_text()


class Officer:
    """Someone using the police console (`/console/`) with a username and password."""

    def __init__(self, page: Page, url: str, username: str, password: str) -> None:
        self.page = page
        self.url = url
        self.username = username
        self.password = password
        self.secret = b""
        self.recovery_codes: list[str] = []
        self.enrolled_at = 0.0

    def sign_in(self, code: str = "") -> None:
        """Fill in and send the sign-in form (check the outcome yourself)."""
        page = self.page
        page.goto(f"{self.url}/console/login")
        page.locator("#username").fill(self.username)
        page.locator("#password").fill(self.password)
        page.locator("#code").fill(code)
        page.locator("form[action='/console/login'] button[type=submit]").click()

    def enrol(self) -> None:
        """First sign-in: the console sends the officer to set up the two-step login; the
        officer types the key shown for manual entry into an "app", confirms its code and
        notes the recovery codes."""
        page = self.page
        self.sign_in()
        expect(page).to_have_url(f"{self.url}/console/totp")
        shown = page.locator("code.secret").inner_text()
        assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", shown), shown
        key = shown.replace(" ", "")
        self.secret = base64.b32decode(key + "=" * (-len(key) % 8))
        page.locator("form[action='/console/totp'] #code").fill(totp_code(self.secret))
        page.locator("form[action='/console/totp'] button[type=submit]").click()
        expect(page).to_have_url(f"{self.url}/console/totp/codes")
        self.enrolled_at = time.time()
        codes = page.locator("ol.codes li code")
        expect(codes).to_have_count(10)
        self.recovery_codes = codes.all_inner_texts()
        assert all(re.fullmatch(r"[0-9a-f]{6}-[0-9a-f]{6}", c) for c in self.recovery_codes)
        page.locator("main a.button[href='/console/']").click()
        self.expect_queue()

    def expect_queue(self) -> None:
        """On the list of tips, signed in."""
        expect(self.page).to_have_url(f"{self.url}/console/")
        expect(self.page.locator("table.tips, p.empty")).to_be_visible()
        expect(self.page.locator("header .who")).to_be_visible()

    def expect_refused(self) -> None:
        expect(self.page).to_have_url(f"{self.url}/console/login")
        expect(self.page.locator("main .flash-error")).to_have_text(
            "Sai tên đăng nhập, mật khẩu hoặc mã."
        )

    def sign_out(self) -> None:
        self.page.locator("header form[action='/console/logout'] button").click()
        expect(self.page).to_have_url(f"{self.url}/console/login")
        expect(self.page.locator("header .who")).to_have_count(0)

    # --- the list of tips and one tip ---------------------------------------------------

    def queue_row(self, tip_id: str) -> Locator:
        return self.page.locator("table.tips tbody tr", has=self.page.get_by_text(tip_id))

    def tip_url(self, tip_id: str) -> str:
        return f"{self.url}/console/tips/{tip_id}"

    def submit(self, action: str) -> None:
        """Press the submit button of the tip page's form posting to ``…/<action>``."""
        self.page.locator(f"form[action$='/{action}'] button[type=submit]").click()

    @property
    def status_badge(self) -> Locator:
        return self.page.locator(".tip-head .badge").first

    def fact(self, name: str) -> Locator:
        """The value of a fact of the tip ("Hàng đợi", …) in its definition list."""
        return self.page.locator(
            "dl.facts dt", has_text=re.compile(f"^{re.escape(name)}$")
        ).locator("xpath=following-sibling::dd[1]")
