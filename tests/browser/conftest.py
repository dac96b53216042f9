"""Real headless Chromium (Debian's package) driven by Playwright; never a downloaded browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture
def login(live_server):
    def do_login(page, username: str, password: str):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")

    return do_login


@pytest.fixture
def demo(live_server, celery_worker_process):
    """The live server with the demo workspace seeded (its users are the ones `make run` prints)."""
    call_command("seed_demo", quiet=True)
    return live_server


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where the browser suite saves its screenshots (1280 and 390 px of each role's main pages)."""
    base = os.environ.get("IMPRIMATUR_VAR_DIR")
    folder = Path(base) / "screenshots" if base else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
