/* llmchat's page script, part 1 of 2: the saved conversations (part 2: llmchat-page.js).
 *
 * What Gradio has no component for, drawn here:
 *  - the saved conversations: one localStorage key per conversation ("llmchat-c:<id>") plus a
 *    small index ("llmchat-index": id, title, time, size) from which the left sidebar's list is
 *    drawn, so 200 kept conversations cost the page load nothing but the index. The server keeps
 *    only the open conversation; it sends it back (a JSON text in the hidden #llmchat-doc box)
 *    after every change, and this script keeps it. Opening one sends the server that document,
 *    which it checks like any visitor input. Bounded: at most cfg.maxConversations, and
 *    cfg.maxChars of text; nearing either limit shows a notice in the list, and when one is
 *    reached the oldest conversation is removed with a notice naming it.
 *  - search (titles and message text), rename, delete with Undo, Clear with Undo;
 *  - under each message on screen: ←/→ between answer variants and edited questions ("2/3"),
 *    and the answer's stats as one muted line, outside the message so that Copy leaves it out;
 *  - Esc stops an answer, Enter while an answer streams does not send (type ahead), Enter saves
 *    an edited question; the sidebars fold away on a phone; Gradio's English-only tooltips get
 *    words in the page's language.
 * Everything drawn from stored text is set with textContent: a title cannot inject markup.
 */
(() => {
  "use strict";
  const cfg = window.llmchatConfig || { labels: { en: {} }, maxConversations: 300, maxChars: 4e6 };
  const lang = cfg.forced || (/^ja\b/i.test(navigator.language || "") ? "ja" : "en");
  const words = cfg.labels[lang] || cfg.labels.en;
  const t = (key, params = {}) =>
    String(words[key] ?? cfg.labels.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => String(params[k] ?? ""));
  const INDEX = "llmchat-index";
  const DOC = "llmchat-c:";
  const OPEN = "llmchat-open";
  const ID = /^[A-Za-z0-9_-]{1,40}$/;
  const $ = (selector, root = document) => root.querySelector(selector);
  const ICONS = {
    prev: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M15 5l-7 7 7 7" /></svg>',
    next: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M9 5l7 7-7 7" /></svg>',
    rename: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 20h4L19 9l-4-4L4 16z" /></svg>',
    delete: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13" /></svg>',
    menu: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 6h16M4 12h16M4 18h16" /></svg>',
    gear: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1" /><circle cx="15" cy="6" r="2" /><circle cx="9" cy="12" r="2" /><circle cx="17" cy="18" r="2" /></svg>',
  };

  // What llmchat-page.js (loaded next) draws on screen, called from here.
  const hooks = { overlay() {}, scrollToEnd() {}, foldList() {} };
  let current = null; // the open conversation's id
  let shown = null; // the open conversation's document, as the server last sent it
  let pendingDoc = "";
  let pendingAction = "";
  const texts = new Map(); // id -> {updated, text}: what search looks through

  // --- storage ---------------------------------------------------------------------------------

  function readIndex() {
    let list;
    try {
      list = JSON.parse(localStorage.getItem(INDEX) || "[]");
    } catch {
      list = [];
    }
    if (!Array.isArray(list)) list = [];
    const seen = new Set();
    return list
      .filter((e) => e && typeof e.id === "string" && ID.test(e.id) && !seen.has(e.id) && seen.add(e.id))
      .slice(0, cfg.maxConversations * 2)
      .map((e) => ({
        id: e.id,
        title: String(e.title ?? "").slice(0, 200),
        updated: Number(e.updated) || 0,
        chars: Math.max(0, Number(e.chars) || 0),
      }))
      .sort((a, b) => b.updated - a.updated);
  }

  const writeIndex = (list) => localStorage.setItem(INDEX, JSON.stringify(list));
  const docText = (id) => (ID.test(id || "") ? localStorage.getItem(DOC + id) : null);
  const totalChars = (list) => list.reduce((sum, e) => sum + e.chars, 0);

  function parseDoc(text) {
    try {
      const doc = JSON.parse(text);
      return doc && typeof doc === "object" && ID.test(doc.id || "") ? doc : null;
    } catch {
      return null;
    }
  }

  function removeDoc(id) {
    localStorage.removeItem(DOC + id);
    writeIndex(readIndex().filter((e) => e.id !== id));
    texts.delete(id);
  }

  /* Keep one conversation. The oldest others make room when a limit is reached (each named in
   * a notice); the list already warned when nearly full. */
  function keep(doc) {
    const text = JSON.stringify(doc);
    let list = readIndex().filter((e) => e.id !== doc.id);
    list.push({ id: doc.id, title: String(doc.title || "").slice(0, 200), updated: Number(doc.updated) || Date.now(), chars: text.length });
    list.sort((a, b) => b.updated - a.updated);
    const dropped = [];
    const dropOldest = () => {
      const victim = list.filter((e) => e.id !== doc.id && e.id !== current).at(-1);
      if (!victim) return false;
      list = list.filter((e) => e !== victim);
      localStorage.removeItem(DOC + victim.id);
      texts.delete(victim.id);
      dropped.push(victim);
      return true;
    };
    while (list.length > cfg.maxConversations || (totalChars(list) > cfg.maxChars && list.length > 1)) {
      if (!dropOldest()) break;
    }
    for (;;) {
      try {
        localStorage.setItem(DOC + doc.id, text);
        break;
      } catch {
        if (!dropOldest()) {
          toast(t("js_quota"));
          list = list.filter((e) => e.id !== doc.id);
          break;
        }
      }
    }
    writeIndex(list);
    for (const gone of dropped) toast(t("js_dropped", { title: gone.title || t("js_untitled") }));
  }

  function rememberOpen(id) {
    try {
      sessionStorage.setItem(OPEN, id);
    } catch {}
    localStorage.setItem(OPEN, id);
  }

  // --- talking to the server (hidden boxes and buttons) ------------------------------------------

  const press = (id) => document.getElementById(id)?.click();
  const answering = () => Boolean($("#llmchat-input .stop-button"));

  function openConversation(id) {
    const text = docText(id);
    if (!text || answering()) return;
    pendingDoc = text;
    press("llmchat-open");
    hooks.foldList();
  }

  function act(action) {
    if (!current || answering()) return;
    pendingAction = JSON.stringify({ ...action, id: current });
    press("llmchat-act");
  }

  /* The server sent the open conversation (after any change): keep it, redraw. */
  function onDoc(text) {
    const doc = parseDoc(text);
    if (!doc) return;
    const ended = shown && shown.id === doc.id && hasPartial(shown) && !hasPartial(doc);
    current = doc.id;
    rememberOpen(doc.id);
    if (Array.isArray(doc.nodes) && doc.nodes.length) {
      if (!("preset" in doc)) {
        const before = parseDoc(docText(doc.id) || "");
        if (before) for (const key of ["preset", "mode", "model", "parameters"]) if (key in before) doc[key] = before[key];
      }
      keep(doc);
    } else if (docText(doc.id) !== null) {
      removeDoc(doc.id); // cleared: an empty conversation is not listed
    }
    shown = doc;
    renderList();
    renderTitle();
    hooks.overlay();
    if (ended) setTimeout(() => hooks.scrollToEnd(), 150); // a notice at the end of an answer is seen
  }

  const hasPartial = (doc) => Array.isArray(doc.nodes) && doc.nodes.some((n) => n && n.partial);

  function onImports(text) {
    let docs;
    try {
      docs = JSON.parse(text);
    } catch {
      return;
    }
    if (!Array.isArray(docs)) return;
    for (const doc of docs.slice(0, cfg.maxConversations)) if (doc && ID.test(doc.id || "")) keep(doc);
    renderList();
  }

  function allDocs() {
    const docs = [];
    for (const entry of readIndex()) {
      const doc = parseDoc(docText(entry.id) || "");
      if (doc) docs.push(doc);
    }
    return JSON.stringify(docs);
  }

  function startDoc() {
    let id = null;
    try {
      id = sessionStorage.getItem(OPEN);
    } catch {}
    id = id || localStorage.getItem(OPEN);
    return (id && docText(id)) || "";
  }

  // --- the list ----------------------------------------------------------------------------------

  function searchText(id, updated) {
    const cached = texts.get(id);
    if (cached && cached.updated === updated) return cached.text;
    const doc = parseDoc(docText(id) || "");
    const parts = [String(doc?.title || "")];
    for (const node of doc?.nodes || []) {
      for (const message of node?.messages || []) {
        const content = message?.content;
        for (const block of Array.isArray(content) ? content : [content]) {
          if (typeof block === "string") parts.push(block);
          else if (block && typeof block.text === "string") parts.push(block.text);
        }
      }
    }
    const text = parts.join("\n").toLowerCase();
    texts.set(id, { updated, text });
    return text;
  }

  function iconButton(kind, label) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `llmchat-${kind}`;
    button.setAttribute("aria-label", label);
    button.title = label;
    button.innerHTML = ICONS[kind];
    return button;
  }

  function renderList() {
    const box = $("#llmchat-conversations .llmchat-list");
    if (!box) return;
    const query = ($("#llmchat-search input, #llmchat-search textarea")?.value || "").trim().toLowerCase();
    const list = readIndex();
    const items = query ? list.filter((e) => searchText(e.id, e.updated).includes(query)) : list;
    const fragment = document.createDocumentFragment();
    for (const entry of items) {
      const item = document.createElement("div");
      item.className = "llmchat-item" + (entry.id === current ? " llmchat-current" : "");
      item.setAttribute("role", "listitem");
      item.dataset.id = entry.id;
      const open = document.createElement("button");
      open.type = "button";
      open.className = "llmchat-open-item";
      open.textContent = entry.title || t("js_untitled");
      open.title = entry.title || t("js_untitled");
      if (entry.id === current) open.setAttribute("aria-current", "true");
      item.append(open, iconButton("rename", t("js_rename")), iconButton("delete", t("js_delete")));
      fragment.append(item);
    }
    const note = document.createElement("p");
    note.className = "llmchat-list-note";
    if (!items.length) note.textContent = query ? t("js_no_match") : t("js_empty_list");
    const chars = totalChars(list);
    if (list.length >= cfg.maxConversations * 0.9 || chars >= cfg.maxChars * 0.9) {
      note.classList.add("llmchat-warning");
      note.textContent = t("js_nearly_full", {
        count: list.length,
        limit: cfg.maxConversations,
        size: (chars / 1e6).toFixed(1),
        limit_size: (cfg.maxChars / 1e6).toFixed(0),
      });
    }
    if (note.textContent) fragment.append(note);
    box.replaceChildren(fragment);
  }

  function renderTitle() {
    const title = $("#llmchat-title .llmchat-title-text");
    if (title) title.textContent = (shown && shown.nodes?.length && shown.title) || t("js_untitled");
  }

  function startRename(item) {
    const id = item.dataset.id;
    const open = $(".llmchat-open-item", item);
    const input = document.createElement("input");
    input.className = "llmchat-rename-input";
    input.value = open.textContent;
    input.maxLength = 120;
    input.setAttribute("aria-label", t("js_rename"));
    open.replaceWith(input);
    input.focus();
    input.select();
    let done = false;
    const finish = (save) => {
      if (done) return;
      done = true;
      const title = input.value.replace(/\s+/g, " ").trim();
      if (save && title) {
        if (id === current) act({ rename: title });
        else {
          const doc = parseDoc(docText(id) || "");
          if (doc) keep({ ...doc, title, titled: true });
        }
      }
      renderList();
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.isComposing) finish(true);
      if (e.key === "Escape") finish(false);
      e.stopPropagation();
    });
    input.addEventListener("blur", () => finish(true));
  }

  function deleteConversation(id) {
    const text = docText(id);
    if (text === null) return;
    const doc = parseDoc(text);
    const wasOpen = id === current;
    removeDoc(id);
    if (wasOpen) press("llmchat-new-chat");
    renderList();
    toast(t("js_deleted", { title: doc?.title || t("js_untitled") }), () => {
      if (doc) keep(doc);
      renderList();
      if (wasOpen) openConversation(id);
    });
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const item = target?.closest("#llmchat-conversations .llmchat-item");
    if (item) {
      if (target.closest(".llmchat-rename")) startRename(item);
      else if (target.closest(".llmchat-delete")) deleteConversation(item.dataset.id);
      else if (target.closest(".llmchat-open-item") && item.dataset.id !== current) openConversation(item.dataset.id);
    }
  });

  document.addEventListener("input", (event) => {
    if (event.target instanceof Element && event.target.closest("#llmchat-search")) {
      clearTimeout(renderList.timer);
      renderList.timer = setTimeout(renderList, 120);
    }
  });


  // --- toasts ------------------------------------------------------------------------------------

  function toast(message, undo) {
    let area = $("#llmchat-toasts");
    if (!area) {
      area = document.createElement("div");
      area.id = "llmchat-toasts";
      area.setAttribute("role", "status");
      area.setAttribute("aria-live", "polite");
      document.body.append(area);
    }
    const note = document.createElement("div");
    note.className = "llmchat-toast";
    const words = document.createElement("span");
    words.textContent = message;
    note.append(words);
    if (undo) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = t("js_undo");
      button.addEventListener("click", () => {
        note.remove();
        undo();
      });
      note.append(button);
    }
    area.append(note);
    setTimeout(() => note.remove(), undo ? 10000 : 7000);
  }


  window.llmchatLib = { cfg, lang, t, $, iconButton, toast, press, answering, act, renderList, renderTitle, hooks, doc: () => shown };
  window.llmchat = {
    startDoc,
    onDoc,
    onImports,
    allDocs,
    pendingDoc: () => pendingDoc,
    pendingAction: () => pendingAction,
    cleared: () => toast(t("js_cleared"), () => press("llmchat-unclear")),
    lang,
  };
})();
