"""What a person sees: headless Chromium (Debian's chromium + chromium-driver, via Selenium)
opens home, asks, opens an article and follows Keep Reading; reads a Markdown article; browses
the API docs; watches a generated answer stream in; signs in and uploads. The browser reaches
nothing but 127.0.0.1 (every other name fails to resolve), and no page may break its Content
Security Policy. Screenshots go to test-artifacts/browser/. Without Chromium the tests skip
locally and fail under CI=true."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from answerdb.answer.generate import LLMConfig
from answerdb.embed import Embedder
from answerdb.server.session import COOKIE

from ..kb import CAREERS_QUESTION
from .conftest import KEY, live_server, make_app
from .fake_llm import running
from .test_markdown import RICH

DRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
    # Offline but for the app: any host name but 127.0.0.1 fails, so a CDN cannot load.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


def _chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    missing = []
    if binary is None:
        missing.append("chromium")
    if not DRIVER.exists():
        missing.append("chromium-driver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        message = (
            f"browser test needs {', '.join(missing)}: apt-get install chromium chromium-driver"
        )
        # CI must run it; a developer without Chromium may go on without it.
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert binary is not None
    return binary


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    binary = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports land here
    # The Service names Debian's driver, so Selenium never looks for one to download.
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    try:
        _assert_no_policy_violations(driver)
    finally:
        driver.quit()


def _assert_no_policy_violations(driver: Any) -> None:
    """Nothing the pages did was blocked by the CSP, and nothing failed to load."""
    problems = [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"]
        or "ERR_NAME_NOT_RESOLVED" in entry["message"]
    ]
    assert not problems, problems


def _same_origin_only(driver: Any, url: str) -> None:
    """Every script, style sheet, image and fetch on the page came from the app itself."""
    loaded = driver.execute_script(
        "return [...document.querySelectorAll('script[src], link[href], img[src]')]"
        ".map(e => e.src || e.href).concat("
        "performance.getEntriesByType('resource').map(e => e.name))"
    )
    assert loaded and all(u.startswith(url + "/") for u in loaded), loaded


def _wait(driver: Any, condition: Any, seconds: float = 30) -> Any:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # A page still loading replaces its elements: look again rather than fail.
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, seconds, ignored_exceptions=ignored).until(condition)


def test_home_search_article_keep_reading(browser: Any, demo_kb: Path, minilm: Embedder) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    app = make_app(demo_kb, minilm)
    with live_server(app) as url:
        browser.get(url + "/")
        assert "Ask this knowledge base" in browser.find_element(By.TAG_NAME, "h1").text
        series = browser.find_elements(By.CSS_SELECTOR, "details.series summary a")
        assert "Computer vision" in [s.text for s in series]
        browser.save_screenshot(str(ARTIFACTS / "1-home.png"))

        box = browser.find_element(By.ID, "home-q")
        box.send_keys(CAREERS_QUESTION, Keys.ENTER)
        _wait(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == CAREERS_QUESTION)
        answer = browser.find_element(By.ID, "answer-text").text
        assert "computer vision engineer" in answer and "[1]" in answer
        assert browser.find_elements(By.CSS_SELECTOR, "a.cite[href='#source-1']")
        browser.save_screenshot(str(ARTIFACTS / "2-ask.png"))

        browser.find_element(By.CSS_SELECTOR, "#source-1 a").click()
        _wait(browser, lambda d: "/q/" in d.current_url)
        assert browser.find_element(By.TAG_NAME, "h1").text == CAREERS_QUESTION
        cards = browser.find_elements(By.CSS_SELECTOR, ".keep-reading .card a")
        assert len(cards) == 5 and all(c.text.endswith("?") for c in cards)
        teasers = browser.find_elements(By.CSS_SELECTOR, ".keep-reading .teaser")
        assert all(t.text for t in teasers)
        browser.save_screenshot(str(ARTIFACTS / "3-article.png"))

        target = cards[0].text
        cards[0].click()
        _wait(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == target)
        body = browser.find_element(By.CSS_SELECTOR, ".answer-body").text
        assert len(body.split()) > 30
        nav = browser.find_element(By.CSS_SELECTOR, ".series-nav").text
        assert nav.startswith("Learn series:")
        browser.save_screenshot(str(ARTIFACTS / "4-keep-reading.png"))


def test_generated_answer_streams_into_the_page(
    browser: Any, demo_kb: Path, minilm: Embedder
) -> None:
    from selenium.webdriver.common.by import By

    with running() as llm:
        # The fake sends a chunk with "choices": [] first and last, as Azure OpenAI does.
        llm.reply = (
            "Careers include:\n\n- engineers who **train models** [1]\n- imaging specialists [2]"
        )
        llm.delay = 0.15
        app = make_app(demo_kb, minilm, llm=LLMConfig(url=llm.url, model="fake", timeout=10))
        with live_server(app) as url:
            browser.get(f"{url}/ask?q=careers+in+computer+vision")
            _wait(browser, lambda d: d.find_element(By.ID, "answer-status").is_displayed())
            assert "writing an answer" in browser.find_element(By.ID, "answer-status").text
            browser.save_screenshot(str(ARTIFACTS / "5-writing.png"))
            _wait(browser, lambda d: d.find_element(By.ID, "answer-label").is_displayed())
            items = browser.find_elements(By.CSS_SELECTOR, "#answer-text li")
            assert [i.text for i in items] == [
                "engineers who train models [1]",
                "imaging specialists [2]",
            ]
            assert (
                browser.find_element(By.CSS_SELECTOR, "#answer-text li strong").text
                == "train models"
            )
            assert browser.find_elements(By.CSS_SELECTOR, "#answer-text a.cite[href='#source-2']")
            assert not browser.find_element(By.ID, "answer-status").is_displayed()
            assert not browser.find_element(By.ID, "answer-note").is_displayed()
            assert (
                browser.find_element(By.CSS_SELECTOR, ".answer").get_attribute("aria-busy")
                == "false"
            )
            browser.save_screenshot(str(ARTIFACTS / "6-generated.png"))


def test_markdown_article(browser: Any, kb_copy: Path, minilm: Embedder) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    app = make_app(kb_copy, minilm)
    with live_server(app) as url:
        # A Markdown file, uploaded: what the file reader stores is what the page shows.
        data = f"---\nquestion: How do I read a tide table?\n---\n{RICH}".encode()
        files = {"file": ("tide-tables.md", data, "text/markdown")}
        reply = httpx.post(f"{url}/api/documents", files=files, headers={"X-API-Key": KEY})
        assert reply.status_code == 201
        browser.get(f"{url}/q/upload/tide-tables")
        body = browser.find_element(By.CSS_SELECTOR, ".answer-body")
        assert body.find_element(By.TAG_NAME, "h2").text == "Reading a tide table"
        items = body.find_elements(By.CSS_SELECTOR, "ul > li")
        assert [i.text for i in items] == ["find your port", "note the high water time"]
        code = body.find_element(By.CSS_SELECTOR, "pre > code").text
        assert code.startswith("def height(hour):\n    # a comment, not a heading\n    return")
        cells = [c.text for c in body.find_elements(By.CSS_SELECTOR, "table th, table td")]
        assert cells == ["port", "high water", "Brest", "06:10"]
        link = body.find_element(By.LINK_TEXT, "the almanac")
        assert link.get_attribute("href") == "https://example.org/tides"
        # The javascript: link is text, and nothing on the page is a javascript: link.
        assert "[this](javascript:alert(1))" in body.text
        assert (
            browser.execute_script(
                "return [...document.querySelectorAll('a')]"
                ".filter(a => a.protocol === 'javascript:').length"
            )
            == 0
        )
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 - reading it is the check
        browser.save_screenshot(str(ARTIFACTS / "7-markdown.png"))


def test_api_docs_offline(browser: Any, demo_kb: Path, minilm: Embedder) -> None:
    from selenium.webdriver.common.by import By

    app = make_app(demo_kb, minilm)
    with live_server(app) as url:
        browser.get(f"{url}/docs")
        _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 10)
        paths = {p.text for p in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
        assert {"/api/ask", "/api/search", "/api/documents", "/api/series/{slug}"} <= paths
        assert browser.find_element(By.CSS_SELECTOR, "button.authorize").is_displayed()
        time.sleep(0.5)  # let late requests (fonts, images) show in the resource list
        _same_origin_only(browser, url)
        browser.save_screenshot(str(ARTIFACTS / "8-docs.png"))


def test_sign_in_upload_and_ask_with_protected_reads(
    browser: Any, kb_copy: Path, minilm: Embedder, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    notes = tmp_path / "otters.md"
    notes.write_text(
        "# How do otters sleep?\n\nSea otters hold hands.\n\n## Rafts\n\nMany float together.\n"
    )
    with running() as llm:
        config = LLMConfig(url=llm.url, model="fake", timeout=10)
        app = make_app(kb_copy, minilm, protect_reads=True, llm=config)
        with live_server(app) as url:
            browser.get(url + "/")
            assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"
            _sign_in(browser, "not the key")
            _wait(
                browser, lambda d: "wrong API key" in d.find_element(By.ID, "sign-in-problem").text
            )
            browser.save_screenshot(str(ARTIFACTS / "9-sign-in.png"))
            _sign_in(browser, KEY)
            _wait(
                browser,
                lambda d: d.find_element(By.TAG_NAME, "h1").text == "Ask this knowledge base",
            )
            cookie = browser.get_cookie(COOKIE)
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert COOKIE not in browser.execute_script("return document.cookie")

            browser.find_element(By.LINK_TEXT, "Add articles").click()
            browser.find_element(By.ID, "file").send_keys(str(notes))
            browser.find_element(By.CSS_SELECTOR, "form.stack button").click()
            _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#added a"))
            browser.save_screenshot(str(ARTIFACTS / "10-uploaded.png"))
            browser.find_element(By.CSS_SELECTOR, "#added a").click()
            _wait(
                browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "How do otters sleep?"
            )
            assert browser.find_element(By.CSS_SELECTOR, ".answer-body h2").text == "Rafts"

            # The page's script reads /api/ask with the cookie, as the pages do.
            browser.get(f"{url}/ask?q=careers+in+computer+vision")
            _wait(browser, lambda d: d.find_element(By.ID, "answer-label").is_displayed())
            assert (
                "Computer vision engineers build" in browser.find_element(By.ID, "answer-text").text
            )
            browser.save_screenshot(str(ARTIFACTS / "11-signed-in-answer.png"))


def _sign_in(browser: Any, key: str) -> None:
    from selenium.webdriver.common.by import By

    box = browser.find_element(By.ID, "key")
    box.clear()
    box.send_keys(key)
    browser.find_element(By.CSS_SELECTOR, "form.stack button").click()
