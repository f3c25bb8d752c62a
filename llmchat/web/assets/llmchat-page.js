/* llmchat's page script, part 2 of 2 (part 1, llmchat.js, keeps the conversations and is loaded
 * first): under each message the ←/→ pagers and the muted stats line; the keyboard (Esc stops,
 * Enter while an answer streams sends when it ends, Enter saves an edit); the names of files picked
 * for the message box; the sidebars (folded on a phone) and the title bar's buttons; Gradio's
 * English-only tooltips in the page's language. See llmchat.js for why the page draws these.
 */
(() => {
  "use strict";
  const lib = window.llmchatLib;
  if (!lib) return;
  const { cfg, lang, t, $, iconButton, toast, act, answering, renderList, renderTitle } = lib;

  // --- pagers and stats under the messages ---------------------------------------------------------

  /* The rows the chat shows for a document: the branch on screen, consecutive nodes of one role
   * in one row (as Gradio groups them), each with its place among its siblings and its stats. */
  function rowsOf(doc) {
    const nodes = Array.isArray(doc?.nodes) ? doc.nodes : [];
    const kids = new Map();
    nodes.forEach((node, i) => {
      const list = kids.get(node?.parent) || [];
      list.push(i);
      kids.set(node?.parent, list);
    });
    const pick = (parent) => {
      const list = kids.get(parent);
      if (!list) return null;
      const chosen = parent === -1 ? doc.selected : nodes[parent].selected;
      return list[Math.min(Math.max(Number(chosen) || 0, 0), list.length - 1)];
    };
    const rows = [];
    const seen = new Set();
    for (let i = pick(-1); i !== null && !seen.has(i); i = pick(i)) {
      seen.add(i);
      const node = nodes[i];
      if (!node?.messages?.length) continue;
      if (rows.length && rows.at(-1).role === node.role) {
        rows.at(-1).last = i;
        continue;
      }
      const siblings = kids.get(node.parent) || [i];
      rows.push({ role: node.role, node: i, last: i, position: siblings.indexOf(i) + 1, count: siblings.length });
    }
    return rows.map((row) => ({ ...row, stats: row.role === "assistant" ? String(nodes[row.last].stats || "") : "", partial: Boolean(nodes[row.last].partial) }));
  }

  function metaFor(row) {
    const meta = document.createElement("span");
    meta.className = "llmchat-meta";
    if (row.count > 1) {
      const pager = document.createElement("span");
      pager.className = "llmchat-pager";
      pager.setAttribute("role", "group");
      pager.setAttribute("aria-label", t("js_variant", { position: row.position, count: row.count }));
      const prev = iconButton("prev", t("js_previous"));
      const next = iconButton("next", t("js_next"));
      prev.dataset.node = next.dataset.node = String(row.node);
      prev.dataset.step = "-1";
      next.dataset.step = "1";
      prev.disabled = row.position <= 1;
      next.disabled = row.position >= row.count;
      const count = document.createElement("span");
      count.className = "llmchat-count";
      count.textContent = `${row.position}/${row.count}`;
      pager.append(prev, count, next);
      meta.append(pager);
    }
    if (row.stats && !row.partial) {
      const stats = document.createElement("span");
      stats.className = "llmchat-stats";
      stats.textContent = row.stats;
      meta.append(stats);
    }
    return meta;
  }

  function applyOverlay() {
    const chat = $("#llmchat-chat");
    if (!chat) return;
    const rows = lib.doc() ? rowsOf(lib.doc()) : [];
    const domRows = chat.querySelectorAll(".message-row");
    domRows.forEach((element, k) => {
      let bar = element.nextElementSibling;
      while (bar && !bar.classList.contains("message-buttons") && !bar.classList.contains("message-row")) bar = bar.nextElementSibling;
      if (!bar || !bar.classList.contains("message-buttons")) bar = null;
      const host = bar || element;
      const old = host.querySelector(":scope > .llmchat-meta");
      const row = rows[k];
      const role = element.classList.contains("user-row") ? "user" : "assistant";
      const wanted = row && row.role === role ? JSON.stringify([row.node, row.position, row.count, row.stats, row.partial]) : "";
      if (old && old.dataset.key === wanted) return;
      old?.remove();
      if (!wanted || (row.count < 2 && (!row.stats || row.partial))) return;
      const meta = metaFor(row);
      meta.dataset.key = wanted;
      host.append(meta);
    });
  }

  let overlayFrame = 0;
  function scheduleOverlay() {
    if (overlayFrame) return;
    overlayFrame = requestAnimationFrame(() => {
      overlayFrame = 0;
      applyOverlay();
    });
  }

  function scrollToEnd() {
    const log = $("#llmchat-chat [role=log]");
    if (log) log.scrollTo({ top: log.scrollHeight, behavior: "smooth" });
  }


  // --- keyboard ----------------------------------------------------------------------------------

  document.addEventListener(
    "keydown",
    (event) => {
      const target = event.target instanceof Element ? event.target : null;
      const stop = $("#llmchat-input .stop-button");
      const editing = target?.matches("#llmchat-chat textarea");
      if (event.key === "Escape" && stop && !editing) {
        stop.click();
        event.preventDefault();
        return;
      }
      if (target?.closest("#llmchat-input") && event.key === "Enter" && !event.shiftKey && !event.isComposing && stop) {
        event.preventDefault(); // typing ahead: the question is sent once the answer is done
        event.stopImmediatePropagation();
        if (!sendQueued) toast(t("js_stop_hint"));
        sendQueued = true;
        setTimeout(sendWhenDone, 150);
        return;
      }
      if (editing && (event.key === "Enter" || event.key === "Escape") && !event.shiftKey && !event.isComposing) {
        const row = target.closest(".message-row");
        let bar = row?.nextElementSibling;
        while (bar && !bar.classList.contains("message-buttons")) bar = bar.nextElementSibling;
        const buttons = bar ? bar.querySelectorAll("button") : [];
        const button = event.key === "Enter" ? buttons[0] : buttons[1];
        if (button) {
          event.preventDefault();
          event.stopImmediatePropagation();
          button.click();
        }
      }
    },
    true,
  );
  let sendQueued = false;
  /* A question typed ahead and sent with Enter while an answer streamed goes out when it ends. */
  function sendWhenDone() {
    if (!sendQueued) return;
    if (answering()) {
      setTimeout(sendWhenDone, 150);
      return;
    }
    sendQueued = false;
    $("#llmchat-input .submit-button")?.click();
  }

  // --- the composer's attached files, by name --------------------------------------------------------

  /* Gradio draws a file picked for the message box as a bare icon; the names come from the file
   * input (or a drop) in the order the thumbnails are drawn, and go away with their thumbnail. */
  let attached = [];
  document.addEventListener(
    "change",
    (event) => {
      const input = event.target instanceof HTMLInputElement ? event.target : null;
      if (input?.type === "file" && input.closest("#llmchat-input")) attached.push(...[...input.files].map((f) => f.name));
    },
    true,
  );
  document.addEventListener(
    "drop",
    (event) => {
      if (event.target instanceof Element && event.target.closest("#llmchat-input"))
        attached.push(...[...(event.dataTransfer?.files || [])].map((f) => f.name));
    },
    true,
  );
  document.addEventListener(
    "click",
    (event) => {
      const remove = event.target instanceof Element ? event.target.closest("#llmchat-input .thumbnail-item .delete-button") : null;
      if (!remove) return;
      const items = [...document.querySelectorAll("#llmchat-input .thumbnail-item")];
      attached.splice(items.indexOf(remove.closest(".thumbnail-item")), 1);
    },
    true,
  );
  let thumbnails = 0;
  function labelAttachments() {
    const items = [...document.querySelectorAll("#llmchat-input .thumbnail-item")];
    if (!items.length && thumbnails) attached = []; // sent (or all removed): start again
    thumbnails = items.length;
    items.forEach((item, i) => {
      const name = attached[i];
      if (!name || item.dataset.name === name) return;
      item.dataset.name = name;
      item.title = name;
      item.setAttribute("aria-label", name);
      item.querySelector(".llmchat-file-name")?.remove();
      if (!item.querySelector("img")) {
        const label = document.createElement("span");
        label.className = "llmchat-file-name";
        label.textContent = name;
        item.append(label);
      }
    });
  }

  // --- layout: sidebars, labels Gradio leaves in English -------------------------------------------

  const narrow = window.matchMedia("(max-width: 768px)");
  const sidebarOpen = (id) => Boolean(document.getElementById(id)?.classList.contains("open"));
  function setSidebar(id, open) {
    const sidebar = document.getElementById(id);
    if (sidebar && sidebarOpen(id) !== open) $(".toggle-button", sidebar)?.click();
    if (open && narrow.matches) setSidebar(id === "llmchat-left" ? "llmchat-right" : "llmchat-left", false);
  }

  /* Gradio's own English tooltips and labels, in the page's language. */
  function translateGradio() {
    if (lang !== "ja" || !cfg.gradioJa) return;
    for (const element of document.querySelectorAll("[title], [aria-label]")) {
      for (const attribute of ["title", "aria-label"]) {
        const value = element.getAttribute(attribute);
        const japanese = value && cfg.gradioJa[value];
        if (japanese) element.setAttribute(attribute, japanese);
      }
    }
  }

  let decorateFrame = 0;
  function scheduleDecorate() {
    if (decorateFrame) return;
    decorateFrame = requestAnimationFrame(() => {
      decorateFrame = 0;
      decorate();
    });
  }

  function decorate() {
    translateGradio();
    labelAttachments();
    for (const [id, key] of [["llmchat-left", "js_open_conversations"], ["llmchat-right", "js_open_settings"]]) {
      const toggle = $(`#${id} .toggle-button`);
      if (toggle && toggle.title !== t(key)) {
        toggle.title = t(key);
        toggle.setAttribute("aria-label", t(key));
      }
    }
    const refresh = $("#llmchat-model button.custom-button");
    if (refresh && refresh.title !== t("refresh_models_tip")) {
      refresh.title = t("refresh_models_tip");
      refresh.setAttribute("aria-label", refresh.title);
    }
    const title = $("#llmchat-title .llmchat-title");
    if (title && !title.dataset.ready) {
      title.dataset.ready = "1";
      const left = iconButton("menu", t("conversations"));
      left.classList.add("llmchat-toggle-left");
      const label = document.createElement("span");
      label.className = "llmchat-title-text";
      const right = iconButton("gear", t("settings"));
      right.classList.add("llmchat-toggle-right");
      title.append(left, label, right);
      renderTitle();
    }
  }

  function start() {
    decorate();
    renderList();
    if (narrow.matches) {
      setSidebar("llmchat-left", false);
      setSidebar("llmchat-right", false);
    }
    const chat = $("#llmchat-chat");
    if (chat) new MutationObserver(scheduleOverlay).observe(chat, { childList: true, subtree: true });
    new MutationObserver(scheduleDecorate).observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["title", "aria-label"] });
  }


  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const step = target?.closest(".llmchat-pager button");
    if (step && !step.disabled) act({ flip: Number(step.dataset.node), step: Number(step.dataset.step) });
    if (target?.closest(".llmchat-toggle-left")) setSidebar("llmchat-left", !sidebarOpen("llmchat-left"));
    if (target?.closest(".llmchat-toggle-right")) setSidebar("llmchat-right", !sidebarOpen("llmchat-right"));
  });

  lib.hooks.overlay = scheduleOverlay;
  lib.hooks.scrollToEnd = scrollToEnd;
  lib.hooks.foldList = () => {
    if (narrow.matches) setSidebar("llmchat-left", false);
  };
  window.llmchat.rowsOf = rowsOf;

  function whenReady() {
    if ($("#llmchat-chat") && $("#llmchat-conversations .llmchat-list")) start();
    else setTimeout(whenReady, 50);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", whenReady);
  else whenReady();
})();
