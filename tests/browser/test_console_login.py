"""Signing in to the police console in Chromium: the first sign-in sets up the two-step
login (the key typed into an "app" by hand), then password + a fresh code, or a recovery
code; each code works once."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.people import Officer, totp_code, wait_for_next_step
from tests.e2e.server import DemoServer

pytestmark = pytest.mark.browser


def test_the_officer_sets_up_the_two_step_login_then_signs_in_with_a_fresh_code(
    server: DemoServer, new_page: Callable[[str], Page]
) -> None:
    username, password = server.account("canbo.demo")
    officer = Officer(new_page("officer"), server.url, username, password)
    page = officer.page

    officer.enrol()
    officer.sign_out()
    page.goto(f"{server.url}/console/")
    expect(page).to_have_url(re.compile(re.escape(f"{server.url}/console/login")))

    officer.sign_in()  # the password alone is not enough any more
    officer.expect_refused()

    wait_for_next_step(officer.enrolled_at)  # the enrolment's own step counts as used
    code = totp_code(officer.secret)
    officer.sign_in(code)
    officer.expect_queue()
    officer.sign_out()

    officer.sign_in(code)  # the same code again
    officer.expect_refused()

    officer.sign_in(officer.recovery_codes[0])
    officer.expect_queue()
    officer.sign_out()
    officer.sign_in(officer.recovery_codes[0])  # each recovery code works once
    officer.expect_refused()
