"""Draw the README's screenshots from the app as a new user starts it, with real answers.

The app runs as ``bash scripts/run.sh`` runs it (the default presets, the built-in SmolLM2-135M
model, no LLM server), in Debian's Chromium: desktop 1200×820 with the settings panel open, and a
390×844 phone, in English and in Japanese. The answers are whatever the small model writes, at
temperature 0 so a rerun draws the same.

    .venv/bin/python scripts/readme_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmchat.testing.app_process import AppProcess  # noqa: E402
from llmchat.testing.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

INPUT = "#llmchat-input textarea"
ANSWER_TIMEOUT = 180_000  # ms: the first answer waits for the model to load
SHOTS = [
    # name, locale, viewport, question, settings panel open
    ("screenshot-en.png", "en-US", (1200, 820), "What is the capital of France?", True),
    ("screenshot-ja.png", "ja-JP", (1200, 820), "Name three famous Japanese dishes.", True),
    ("screenshot-en-phone.png", "en-US", (390, 844), "Give me three tips for a good night's sleep.", False),
    ("screenshot-ja-phone.png", "ja-JP", (390, 844), "What is the capital of Japan?", False),
]


def shoot(browser: object, url: str, out: Path, shot: tuple[str, str, tuple[int, int], str, bool]) -> None:
    name, locale, (width, height), question, settings = shot
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(INPUT)
    page.wait_for_timeout(1500)  # the model list and the saved conversations load
    page.fill(INPUT, question)
    page.keyboard.press("Enter")
    page.wait_for_selector("#llmchat-chat .llmchat-stats", timeout=ANSWER_TIMEOUT)
    page.wait_for_timeout(800)
    if settings:
        page.locator(".llmchat-toggle-right").click()
        page.wait_for_selector("#llmchat-right.open")
        page.wait_for_timeout(600)
    page.screenshot(path=out / name)
    answer = page.locator('#llmchat-chat [data-testid="bot"]').last.inner_text()
    print(f"{name}: {question!r} -> {answer[:120]!r}")
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with AppProcess(ready_timeout=180) as app, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for shot in SHOTS:
            shoot(browser, app.url, args.out, shot)
        browser.close()


if __name__ == "__main__":
    main()
