"""Part A/B in a real browser: Chromium (through Playwright) shows the answer, timed in the page."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.common.bench_app import App
from benchmarks.common.llm_process import LLMServer
from benchmarks.common.log import log
from benchmarks.stream_bench.figures import Run
from benchmarks.stream_bench.texts import first_difference, mixed_text
from llmchat.testing.chromium import CHROMIUM_ARGS

# The chat's text box: llmchat's elem_id, or the English placeholder (older versions).
TEXTBOX = "#llmchat-input textarea, textarea[placeholder='Ask a question']"

# All browser times are taken inside the page (performance.now(), checked on every animation frame),
# so the DevTools round trip to Python does not count. ``window.__bench`` collects them.
INSTRUMENT_JS = """() => {
  window.__bench = {};
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') window.__bench.key = performance.now();
  }, true);
}"""
# The bot messages' rendered text (not their aria-label, which holds the raw Markdown).
FIRST_TEXT_JS = """(count) => {
  const els = document.querySelectorAll('[data-testid="bot"] .message-content');
  if (els.length < count || !els[els.length - 1].textContent.trim()) return false;
  window.__bench.first = performance.now();
  return true;
}"""
FULL_TEXT_JS = """([expected, count]) => {
  const els = document.querySelectorAll('[data-testid="bot"] .message-content');
  if (els.length < count) return false;
  const text = els[els.length - 1].textContent;
  if (text.length < expected.length || text.trim() !== expected) return false;
  window.__bench.full = performance.now();
  return true;
}"""
RESULT_JS = """() => {
  const b = window.__bench;
  const joins = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/queue/join') && e.startTime >= b.key);
  const els = document.querySelectorAll('[data-testid="bot"] .message-content');
  return {key: b.key, first: b.first, full: b.full, join: joins.length ? joins[0].startTime : null,
          now: performance.now(), text: els.length ? els[els.length - 1].textContent.trim() : ''};
}"""


def _page_clock_offset(page: Any) -> float:
    """monotonic seconds minus page seconds (performance.now()), to within half a round trip."""
    before = time.monotonic()
    page_now = page.evaluate("performance.now()") / 1000
    after = time.monotonic()
    return (before + after) / 2 - page_now


def _ask_in_page(
    page: Any, box: Any, llm: LLMServer, text: str, count: int, question: str, delay: float = 0.0
) -> dict[str, Any]:
    """Type ``question``, press Enter, wait until bot message number ``count`` shows ``text`` in full."""
    box.fill(question)
    llm.clear()
    llm.enqueue(reply=text, delay=delay)
    offset = _page_clock_offset(page)
    box.press("Enter")
    page.wait_for_function(FIRST_TEXT_JS, arg=count, polling="raf", timeout=60_000)
    note = ""
    try:
        page.wait_for_function(FULL_TEXT_JS, arg=[text, count], polling="raf", timeout=120_000)
    except Exception as exc:  # a wrong text never matches: say below how it differs
        note = f"not shown in full: {type(exc).__name__}"
    got = page.evaluate(RESULT_JS)
    stream = llm.last_stream()
    got.update(note=note, offset=offset, llm_started=stream["started_at"], llm_ended=stream["ended_at"])
    return got


def browser_bench(
    app: App, llm: LLMServer, sizes: list[int], runs: int, chromium: str, delay: float = 0.0
) -> dict[int, list[Run]]:
    """Per run, a fresh page: a short warm-up question, then the measured one.

    Measured (page clock): Enter -> first answer text on the page -> the whole answer on the page,
    compared character for character with what the server sent. The server's own clock gives
    "shown after the server's last token" and when the request reached the LLM server.
    """
    from playwright.sync_api import sync_playwright

    speed = f", {delay * 1000:.0f} ms between tokens" if delay else ""
    log(f"browser (Chromium): {sizes} tokens x {runs} runs{speed}")
    results: dict[int, list[Run]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            for n in sizes:
                expected = mixed_text(n)
                results[n] = []
                for i in range(runs + 1):
                    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
                    try:
                        page.goto(app.url, wait_until="load", timeout=60_000)
                        locator = page.locator(TEXTBOX).first
                        locator.wait_for(timeout=60_000)
                        box = locator.element_handle()  # the placeholder is gone after the first answer
                        page.evaluate(INSTRUMENT_JS)
                        _ask_in_page(page, box, llm, mixed_text(20), 1, "A short warm-up question.")
                        page.wait_for_timeout(300)  # let the UI re-enable the textbox
                        question = f"Answer #{i} with {n} tokens, please."
                        got = _ask_in_page(page, box, llm, expected, 2, question, delay)
                    finally:
                        page.close()
                    key, offset = got["key"] / 1000, got["offset"]
                    full = got["full"] / 1000 if got["full"] is not None else got["now"] / 1000
                    note = got["note"]
                    ok = got["text"] == expected
                    if not ok:
                        note = (note + "; " if note else "") + first_difference(got["text"], expected)
                    run = Run(n, full - key, got["first"] / 1000 - key, ok, note)
                    run.after_last = full + offset - got["llm_ended"]
                    run.join = got["join"] / 1000 - key if got["join"] is not None else None
                    run.llm_request = got["llm_started"] - offset - key
                    if i:  # the first page of each size warms up the browser cache
                        results[n].append(run)
        finally:
            browser.close()
    return results
