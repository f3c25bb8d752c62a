"""How long llmchat.core.safe_markdown takes on a 20 kB answer (issue 11, part 3).

The chat runs it on every streamed update of an answer (at most ~20 a second per answer), so what
matters is one update of a long answer, from scratch (a restored or imported message) and while the
answer grows (the resume cache scans from the last blank line), also with many answers growing at
once (they share the cache). Prints CPU time (process time: the
machine is shared), median of several runs.

    .venv/bin/python -m benchmarks.safe_markdown_bench
"""

from __future__ import annotations

import statistics
import time

import llmchat.core.safe_html as safe_html
import llmchat.core.safe_markdown as sm

TYPICAL = (
    "## Parsing HTML in Python\n\n"
    "The standard library's `html.parser` reads a page without extra packages. Feed it text and it calls "
    "your handler for each `<a>` or `<img>` tag it meets; **BeautifulSoup** wraps it in a friendlier API. "
    "See [the docs](https://docs.python.org/3/library/html.parser.html) for details.\n\n"
    "```python\nfrom html.parser import HTMLParser\n\nclass Links(HTMLParser):\n"
    "    def handle_starttag(self, tag, attrs):\n        if tag == 'a':\n"
    "            print(dict(attrs).get('href'))  # <a href=...>\n\n"
    "Links().feed('<p><a href=\"x\">x</a></p>')\n```\n\n"
    "| Library | Speed | Notes |\n|---|---|---|\n| html.parser | medium | built in |\n"
    "| lxml | fast | needs a C library |\n\n"
    "1. Install with `pip install beautifulsoup4`.\n2. Parse: `soup = BeautifulSoup(text, 'html.parser')`.\n"
    "3. Find links with `soup.find_all('a')`.\n\n"
)
DENSE = (
    "The `<div>` element groups content; see [MDN](https://developer.mozilla.org) and **bold** text. "
    "Use <b>raw</b> tags, a <br> and an image ![x](http://elsewhere.example/a.png?q=1). "
) * 3 + (
    "\n\n- item <kbd>Ctrl</kbd>\n- item `a < b`\n\n```cpp\n#include <iostream>\n```\n\n"
    "| a | b |\n|---|---|\n| `x<y>` | <i>z</i> |\n\n"
)
PLAIN = "Plain prose without markup, just words and punctuation: 2 > 1, [a link](https://example.org). "


def _answer(unit: str, size: int = 20_000) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _cold(text: str) -> float:
    sm._RESUME.clear()
    safe_html._angle.cache_clear()
    safe_html._rebuild_tag.cache_clear()
    started = time.process_time()
    sm.safe_markdown(text)
    return time.process_time() - started


def _streamed(text: str, step: int = 40) -> float:
    """CPU time per update while ``text`` arrives ``step`` characters at a time."""
    sm._RESUME.clear()
    started, updates = time.process_time(), 0
    for end in range(step, len(text) + step, step):
        sm.safe_markdown(text[:end])
        updates += 1
    return (time.process_time() - started) / updates


def _crowd(answers: int, size: int = 8_000, step: int = 100) -> float:
    """CPU time per update while ``answers`` different answers grow together, update by update."""
    texts = [_answer(f"Answer {k}: " + TYPICAL, size) for k in range(answers)]
    sm._RESUME.clear()
    started, updates = time.process_time(), 0
    for end in range(step, size + step, step):
        for text in texts:
            sm.safe_markdown(text[:end])
            updates += 1
    return (time.process_time() - started) / updates


def main() -> None:
    print(f"{'20 kB answer':44s} {'from scratch':>14s} {'per streamed update':>20s}")
    for name, unit in [
        ("typical (code, table, a few tags)", TYPICAL),
        ("dense (a tag or span every ~30 characters)", DENSE),
        ("plain (nothing to do: returned as is)", PLAIN),
    ]:
        text = _answer(unit)
        cold = statistics.median(_cold(text) for _ in range(15))
        streamed = statistics.median(_streamed(text) for _ in range(3))
        print(f"{name:44s} {cold * 1e6:11.0f} µs {streamed * 1e6:17.0f} µs")
    print("\nanswers streaming at once (8 kB typical answers, 100 characters an update): per update")
    for answers in (1, 20, 100, 128):
        print(f"  {answers:4d} answers {statistics.median(_crowd(answers) for _ in range(3)) * 1e6:9.0f} µs")
    print("\nworst cases (from scratch, no blank line to resume from):")
    for name, unit in [
        ("'<b>' repeated", "<b>"),
        ("'![' repeated", "!["),
        ("'<a ' repeated (unclosed tags)", "<a "),
        ("'\\n```\\n<b>' (a fence every other line)", "\n```\n<b>"),
    ]:
        text = _answer(unit)
        print(f"  {name:42s} {statistics.median(_cold(text) for _ in range(5)) * 1e6:9.0f} µs")


if __name__ == "__main__":
    main()
