"""How the page copes with long conversations and many of them (issue 13, item 9).

Chromium (through Playwright) on the app, with the visitor's saved conversations written into
local storage in the page's own format before the page loads: a 2,000-token answer in an empty
conversation and after 100 earlier turns (Markdown and code), opening a 100-turn conversation from
the list and switching between two, and the page's load with 0 and 200 saved conversations.
"""
