/* llmchat's page script, part 3 (after llmchat.js and llmchat-page.js): the conversation's summary.
 *
 * When older turns are summarized (preset `overflow: summarize`, or the "Summarize older turns"
 * button under the message box), the kept document carries `summary` ({text, covers, fingerprint}).
 * It is drawn above the chat as a labelled, muted note ("Summary of N earlier messages") that the
 * visitor can open, read and edit: Save sends {summary: text} as a page action, the server keeps
 * it with the conversation, and every later turn sends it in place of those messages.
 * Drawn with textContent only: a summary (written by a model, or edited) cannot inject markup.
 */
(() => {
  "use strict";
  const lib = window.llmchatLib;
  if (!lib) return;
  const { t, $, act, answering, press } = lib;
  const narrow = window.matchMedia("(max-width: 768px)");
  let drawn = ""; // the key of what the note shows
  let editing = false;
  let open = null; // the visitor's choice (null: open on a wide screen, folded on a phone)

  function summaryOf(doc) {
    const s = doc && doc.summary;
    if (!s || typeof s.text !== "string" || !s.text || !Array.isArray(doc.nodes) || !doc.nodes.length) return null;
    return { text: s.text, covers: Math.max(0, Number(s.covers) || 0) };
  }

  function button(text, kind, tip) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `llmchat-summary-${kind}`;
    b.textContent = text;
    if (tip) {
      b.title = tip;
      b.setAttribute("aria-label", tip);
    }
    return b;
  }

  function draw(force = false) {
    const host = $("#llmchat-summary .llmchat-summary-note");
    if (!host) return;
    const doc = lib.doc();
    const summary = summaryOf(doc);
    const key = summary ? JSON.stringify([doc.id, summary.covers, summary.text]) : "";
    if (!force && key === drawn) return; // the same summary (an edit in progress stays open)
    drawn = key;
    editing = false;
    if (!summary) {
      host.replaceChildren();
      host.closest("#llmchat-summary")?.classList.remove("llmchat-has-summary");
      return;
    }
    host.closest("#llmchat-summary")?.classList.add("llmchat-has-summary");
    const box = document.createElement("details");
    box.className = "llmchat-summary";
    box.open = open ?? !narrow.matches;
    box.addEventListener("toggle", () => {
      open = box.open;
    });
    const head = document.createElement("summary");
    head.textContent = t("js_summary_title", { count: summary.covers });
    const body = document.createElement("div");
    body.className = "llmchat-summary-body";
    body.setAttribute("role", "note");
    body.setAttribute("aria-label", t("js_summary_label"));
    const text = document.createElement("p");
    text.className = "llmchat-summary-text";
    text.textContent = summary.text;
    const hint = document.createElement("p");
    hint.className = "llmchat-summary-hint";
    hint.textContent = t("js_summary_hint");
    const edit = button(t("js_summary_edit"), "edit", t("js_summary_edit_tip"));
    edit.addEventListener("click", () => startEdit(body, summary.text));
    const actions = document.createElement("div");
    actions.className = "llmchat-summary-actions";
    actions.append(hint, edit);
    body.append(text, actions);
    box.append(head, body);
    host.replaceChildren(box);
  }

  function startEdit(body, value) {
    if (answering()) return;
    editing = true;
    const area = document.createElement("textarea");
    area.className = "llmchat-summary-input";
    area.value = value;
    area.maxLength = 8000;
    area.rows = 6;
    area.setAttribute("aria-label", t("js_summary_label"));
    const save = button(t("js_summary_save"), "save");
    const cancel = button(t("js_summary_cancel"), "cancel");
    const actions = document.createElement("div");
    actions.className = "llmchat-summary-actions";
    actions.append(save, cancel);
    save.addEventListener("click", () => {
      editing = false;
      act({ summary: area.value });
    });
    cancel.addEventListener("click", () => draw(true));
    area.addEventListener("keydown", (e) => {
      if (e.key === "Escape") draw(true);
      e.stopPropagation(); // not the page's Enter and Esc
    });
    body.replaceChildren(area, actions);
    area.focus();
  }

  // "Summarize older turns" under the message box (drawn by the gauge, llmchat/web/context_gauge.py).
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest(".llmchat-summarize") : null;
    if (!target || target.disabled || answering()) return;
    target.disabled = true;
    target.dataset.words = target.textContent;
    target.textContent = t("js_summarizing");
    target.setAttribute("aria-busy", "true");
    press("llmchat-summarize-now");
  });

  function done() {
    for (const b of document.querySelectorAll(".llmchat-summarize[aria-busy]")) {
      b.disabled = false;
      b.textContent = b.dataset.words || b.textContent;
      b.removeAttribute("aria-busy");
    }
  }

  const overlay = lib.hooks.overlay;
  lib.hooks.overlay = () => {
    overlay();
    draw();
  };
  window.llmchatSummary = { done, draw };

  function whenReady() {
    if ($("#llmchat-summary .llmchat-summary-note")) draw();
    else setTimeout(whenReady, 50);
  }
  whenReady();
})();
