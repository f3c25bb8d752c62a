"""Chromium on the app with saved conversations in local storage; every time taken in the page.

Each measured page is a fresh browser context: a first page loads the app (its files reach the
HTTP cache, the same for every case) and writes the saved conversations into local storage as
``llmchat.js`` keeps them; the measured page is then a new tab of that context, so it starts as a
visitor's reload does. Times come from ``performance.now()`` in the page (checked on every
animation frame); the renderer's main-thread time from the DevTools ``Performance`` domain
(``TaskDuration``: every task the main thread ran, script, style, layout and paint included).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from benchmarks.common.llm_process import LLMServer
from benchmarks.stream_bench.browser import TEXTBOX, _page_clock_offset
from benchmarks.stream_bench.texts import first_difference, mixed_text

BOT = '#llmchat-chat [data-testid="bot"] .message-content'
ITEM = "#llmchat-conversations .llmchat-list .llmchat-item"

# Installed before the page's own scripts: the first frame at which the input is usable and the
# list holds ``window.__lhExpect`` items, and when the last click happened.
WATCH_JS = """() => {
  const b = (window.__lh = {});
  // The visitor's clicks only: the page's script clicks hidden buttons itself (opening, saving).
  document.addEventListener('click', (e) => { if (e.isTrusted) b.click = performance.now(); }, true);
  document.addEventListener('keydown', (e) => { if (e.key === 'Enter') b.key = performance.now(); }, true);
  const expect = Number(localStorage.getItem('__lh-expect') || 0);
  const tick = () => {
    const box = document.querySelector('#llmchat-input textarea');
    if (b.input === undefined && box && !box.disabled) b.input = performance.now();
    const list = document.querySelector('#llmchat-conversations .llmchat-list');
    if (b.list === undefined && list && list.childElementCount > 0 &&
        list.querySelectorAll('.llmchat-item').length >= expect) b.list = performance.now();
    if (b.input === undefined || b.list === undefined) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""
SEED_JS = """(items) => {
  localStorage.clear();
  for (const [key, value] of Object.entries(items)) localStorage.setItem(key, value);
}"""
# The conversation whose last answer ends with ``marker`` is on screen, ``count`` answers long.
SHOWN_JS = """([marker, count]) => {
  const els = document.querySelectorAll('#llmchat-chat [data-testid="bot"] .message-content');
  if (els.length !== count || !els[els.length - 1].textContent.includes(marker)) return false;
  window.__lh.shown = performance.now();
  return true;
}"""
FULL_JS = """([expected, count]) => {
  const els = document.querySelectorAll('#llmchat-chat [data-testid="bot"] .message-content');
  if (els.length < count) return false;
  const text = els[els.length - 1].textContent;
  if (text.length < expected.length || text.trim() !== expected) return false;
  window.__lh.full = performance.now();
  return true;
}"""


def task_seconds(cdp: Any) -> float:
    """The renderer main thread's busy time so far (seconds)."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


class Visit:
    """A fresh browser context with ``items`` in local storage, and a page loaded on it."""

    def __init__(self, browser: Any, url: str, items: dict[str, str], expect_listed: int = 0) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        seeder = self.context.new_page()
        seeder.goto(url, wait_until="load", timeout=60_000)
        seeder.locator(TEXTBOX).first.wait_for(timeout=60_000)
        seeder.wait_for_timeout(500)  # the page's own first writes are done
        seeder.evaluate(SEED_JS, {**items, "__lh-expect": str(expect_listed)})
        seeder.close()
        self.context.add_init_script(script=f"({WATCH_JS})()")
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable")
        self.page.goto(url, wait_until="load", timeout=60_000)
        self.box = self.page.locator(TEXTBOX).first
        self.box.wait_for(timeout=60_000)

    def close(self) -> None:
        self.context.close()

    def loaded(self) -> dict[str, float]:
        """Navigation start -> the input usable, and -> the list drawn (seconds)."""
        self.page.wait_for_function("() => window.__lh.input !== undefined && window.__lh.list !== undefined")
        got = self.page.evaluate("window.__lh")
        return {"input": got["input"] / 1000, "list": got["list"] / 1000}

    def wait_shown(self, marker: str, count: int) -> float:
        self.page.wait_for_function(SHOWN_JS, arg=[marker, count], polling="raf", timeout=60_000)
        return self.page.evaluate("window.__lh.shown") / 1000

    def bots(self) -> int:
        return self.page.evaluate(f"document.querySelectorAll('{BOT}').length")

    def settle(self, seconds: float = 1.0) -> None:
        """Let the page finish what follows a change (saving, the list, the gauge)."""
        self.page.wait_for_timeout(seconds * 1000)

    def open_item(self, cid: str, marker: str, count: int) -> dict[str, float]:
        """Click conversation ``cid`` in the list; click -> its last answer on screen."""
        task0 = task_seconds(self.cdp)
        self.page.locator(f'{ITEM}[data-id="{cid}"] .llmchat-open-item').click()
        shown = self.wait_shown(marker, count)
        task = task_seconds(self.cdp) - task0
        click = self.page.evaluate("window.__lh.click") / 1000
        return {"seconds": shown - click, "main_thread": task}

    def ask(self, llm: LLMServer, text: str, question: str, profile: bool = False) -> dict[str, Any]:
        """Type ``question``, press Enter; the answer ``text`` streams at the server's full speed.
        Returns Enter -> fully shown, the server's last token -> fully shown, the main-thread
        time in between, whether the text is exact, and (``profile``) where the time went."""
        count = self.bots() + 1
        self.box.fill(question)
        llm.clear()
        llm.enqueue(reply=text)
        offset = _page_clock_offset(self.page)
        if profile:
            self.cdp.send("Profiler.enable")
            self.cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            self.cdp.send("Profiler.start")
        task0 = task_seconds(self.cdp)
        self.box.press("Enter")
        note = ""
        try:
            self.page.wait_for_function(FULL_JS, arg=[text, count], polling="raf", timeout=120_000)
        except Exception as exc:  # a wrong text never matches: say how it differs
            note = f"not shown in full: {type(exc).__name__}"
        task = task_seconds(self.cdp) - task0
        hot = top_functions(self.cdp.send("Profiler.stop")["profile"]) if profile else None
        got = self.page.evaluate(
            f"""() => {{ const els = document.querySelectorAll('{BOT}');
            return {{key: window.__lh.key, full: window.__lh.full ?? performance.now(),
                     text: els.length ? els[els.length - 1].textContent.trim() : ''}}; }}"""
        )
        stream = llm.last_stream()
        full = got["full"] / 1000
        if got["text"] != text:
            note = (note + "; " if note else "") + first_difference(got["text"], text)
        return {
            "total": full - got["key"] / 1000,
            "after_last": full + offset - stream["ended_at"],
            "llm_started": stream["started_at"] - offset - got["key"] / 1000,
            "llm_ended": stream["ended_at"] - offset - got["key"] / 1000,
            "main_thread": task,
            "exact": got["text"] == text,
            "note": note,
            "profile": hot,
        }


def top_functions(profile: dict[str, Any], count: int = 15) -> list[dict[str, Any]]:
    """A CPU profile's self time by function (name, script, line), the largest first, each with
    the callers that spent most of it (two frames up), to find who forces a layout, say."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}

    def name(node_id: int | None) -> str:
        if node_id is None:
            return "-"
        frame = nodes[node_id]["callFrame"]
        where = frame["url"].rsplit("/", 1)[-1] or "-"
        return f"{frame['functionName'] or '(anonymous)'} {where}:{frame['lineNumber'] + 1}"

    deltas = profile.get("timeDeltas") or []
    self_us: Counter[str] = Counter()
    callers: dict[str, Counter[str]] = {}
    for sample, delta in zip(profile.get("samples") or [], [*deltas[1:], 0], strict=False):
        key = name(sample)
        self_us[key] += delta
        up = parent.get(sample)
        chain = f"{name(up)} <- {name(parent.get(up) if up is not None else None)}"
        callers.setdefault(key, Counter())[chain] += delta
    total = sum(self_us.values()) or 1
    return [
        {
            "function": k,
            "ms": v / 1000,
            "share": v / total,
            "callers": [f"{c} ({t / 1000:.0f} ms)" for c, t in callers[k].most_common(3)],
        }
        for k, v in self_us.most_common(count)
    ]


def warm_up(visit: Visit, llm: LLMServer) -> None:
    """A short question first, as the streaming benchmark does (the page's first turn is slower)."""
    visit.ask(llm, mixed_text(20), "A short warm-up question.")
    visit.settle(0.5)
