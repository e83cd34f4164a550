"""What a person sees: headless Chromium (Debian's chromium + chromium-driver, via Selenium)
opens home, asks, opens an article and follows Keep Reading. Screenshots go to
test-artifacts/browser/. Without Chromium the test skips locally and fails under CI=true."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from answerdb.answer.generate import LLMConfig
from answerdb.embed import Embedder

from ..kb import CAREERS_QUESTION
from .conftest import live_server, make_app
from .fake_llm import running

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
    # The Service names Debian's driver, so Selenium never looks for one to download.
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _wait(driver: Any, condition: Any, seconds: float = 30) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


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
        app = make_app(demo_kb, minilm, llm=LLMConfig(url=llm.url, model="fake", timeout=10))
        with live_server(app) as url:
            browser.get(f"{url}/ask?q=careers+in+computer+vision")
            expected = "Computer vision engineers build and train models [1]."
            _wait(browser, lambda d: expected in d.find_element(By.ID, "answer-text").text)
            _wait(
                browser,
                lambda d: (
                    d.find_element(By.CSS_SELECTOR, ".answer").get_attribute("aria-busy") == "false"
                ),
            )
            assert browser.find_elements(By.CSS_SELECTOR, "#answer-text a.cite")
            assert not browser.find_element(By.ID, "answer-note").is_displayed()
            browser.save_screenshot(str(ARTIFACTS / "5-generated.png"))
