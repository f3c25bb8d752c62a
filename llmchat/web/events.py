"""The page's events: which handler runs when, with which inputs and outputs.

Kept apart from the layout (:mod:`llmchat.web.app`) and from the handlers themselves
(:mod:`llmchat.web.chat_page`, :mod:`llmchat.web.conversations`, :mod:`llmchat.web.handlers`).
Every event here is ``api_visibility="private"`` except ``/preset_values`` (public, as before).

The page's script (``assets/llmchat.js``) talks to the server through hidden components: it puts a
conversation's document or an action into an event's input with ``js=`` (the function's return
value replaces the inputs) and presses a hidden button; the server answers with the open
conversation's document in the hidden ``doc`` box, whose change the script keeps.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from llmchat.web.attach_check import AttachCheck
from llmchat.web.chat_page import ChatPage, box_update
from llmchat.web.context_gauge import GaugeHandler
from llmchat.web.controls_ui import settings_handler, with_control_parameters
from llmchat.web.conversations import Conversations
from llmchat.web.handlers import Page
from llmchat.web.summary_note import SummaryActions

PRIVATE: dict[str, Any] = {"api_visibility": "private"}
SAVE_DELAY_MS = 400
GAUGE_DELAY_MS = 400
# The gauge while the visitor types: measured once they pause (a hidden button pressed
# GAUGE_DELAY_MS after the last change of the box), not at every keystroke.
GAUGE_WHEN_TYPED_JS = f"""() => {{
    clearTimeout(window.llmchatGaugeTimer);
    window.llmchatGaugeTimer = setTimeout(
        () => document.getElementById("llmchat-gauge-now")?.click(), {GAUGE_DELAY_MS});
}}"""
# Keep the conversation (and refresh the export files) once it has settled: the chat's change
# event fires for every streamed piece, so the browser waits until nothing has changed for a
# moment and no answer is streaming, then presses the hidden save button.
SAVE_WHEN_SETTLED_JS = f"""() => {{
    const later = () => {{
        clearTimeout(window.llmchatSaveTimer);
        window.llmchatSaveTimer = setTimeout(() => {{
            if (document.querySelector("#llmchat-input .stop-button")) return later();  // answering
            document.getElementById("llmchat-save")?.click();
        }}, {SAVE_DELAY_MS});
    }};
    later();
}}"""


@dataclass
class Parts:
    """The page's components that events connect."""

    kept: gr.BrowserState
    conversation: gr.State
    preset: gr.Dropdown
    refresh: gr.Button
    model: gr.Dropdown
    info: gr.Markdown
    note: gr.Markdown
    controls: list[gr.components.Component]  # one widget per VISITOR_CONTROLS entry, in order
    new_chat: gr.Button
    export_json: gr.DownloadButton
    export_md: gr.DownloadButton
    import_json: gr.UploadButton
    import_status: gr.Markdown
    export_all: gr.Button
    download_all: gr.DownloadButton
    hidden: dict[str, gr.components.Component] = field(default_factory=dict)
    chatbot: gr.Chatbot | None = None
    textbox: gr.MultimodalTextbox | None = None
    clear: gr.Button | None = None
    gauge: gr.HTML | None = None
    attach_note: gr.Markdown | None = None


def _take(message: Any) -> list[Any]:
    """The message leaves the box at once (kept for the turn); the box stays usable."""
    return [gr.update(value=None), message]


def wire_events(
    demo: gr.Blocks,
    parts: Parts,
    page: Page,
    chat: ChatPage,
    conversations: Conversations,
    preset_values: Callable[[str], list[Any]],
    concurrency: int,
) -> None:
    chatbot, textbox, hidden = parts.chatbot, parts.textbox, parts.hidden
    assert chatbot is not None and textbox is not None and parts.clear is not None
    conv, doc = parts.conversation, hidden["doc"]
    settings = [parts.preset, *parts.controls, parts.model]
    shown = [chatbot, parts.preset, *parts.controls, parts.info, parts.model, doc]
    picker = {"inputs": [parts.preset, parts.model], "outputs": parts.model, **PRIVATE}
    streaming = {"concurrency_limit": concurrency, "show_progress": "hidden", **PRIVATE}
    quick = {"queue": False, "show_progress": "hidden", **PRIVATE}

    # --- settings -------------------------------------------------------------------------------
    def preset_switched(*args: Any) -> Any:
        return page.preset_switched(*args)

    switched = with_control_parameters(
        preset_switched,
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in ("conversation", "preset")],
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request)],
    )
    # .input, not .change: opening a conversation sets the preset without resetting the controls.
    # The note comes first: it reads the controls as the visitor left them, before the preset's
    # values replace them (two listeners of one event would race: the page sends the second's
    # inputs after the first's outputs are shown).
    parts.preset.input(
        switched, inputs=[conv, parts.preset, *parts.controls], outputs=parts.note, **quick
    ).then(
        preset_values,
        inputs=parts.preset,
        outputs=[*parts.controls, parts.info],
        api_name="preset_values",
        queue=False,
    ).then(page.describe, inputs=parts.preset, outputs=parts.info, **quick).then(
        page.preset_models, inputs=parts.preset, outputs=parts.model, **PRIVATE
    ).then(conversations.welcome, inputs=[conv, parts.preset], outputs=chatbot, **quick)
    parts.refresh.click(page.refresh_models, **picker)
    gr.on(
        [c.change for c in parts.controls] + [parts.model.change],
        None,
        js=SAVE_WHEN_SETTLED_JS,
        **PRIVATE,
    )

    # --- a turn: send, retry, edit, an example ---------------------------------------------------
    turn_inputs = [hidden["pending"], conv, *settings]
    took = textbox.submit(_take, [textbox], [textbox, hidden["pending"]], **quick)
    outputs = [chatbot, doc, textbox]
    turns = [
        took.then(chat.handler("send"), turn_inputs, outputs, **streaming),
        chatbot.retry(chat.handler("retry"), turn_inputs, outputs, **streaming),
        chatbot.edit(chat.handler("edit"), turn_inputs, outputs, **streaming),
        chatbot.example_select(chat.handler("example"), turn_inputs, outputs, **streaming),
    ]
    textbox.stop(None, None, None, cancels=turns, **PRIVATE).then(
        settings_handler(chat.after_stop, ["conversation"]), [conv, *settings], [chatbot, doc], **quick
    ).then(lambda: box_update(False), None, textbox, **quick)

    # --- other changes of the conversation -------------------------------------------------------
    chatbot.undo(chat.undo, [conv], [chatbot, doc, textbox], **quick)
    # A like changes the conversation but not the chat on screen, so the save (which also
    # refreshes the export files) is asked for here, as the chat's change asks for it.
    chatbot.like(chat.like, [conv], [doc], **quick).then(None, js=SAVE_WHEN_SETTLED_JS, **PRIVATE)
    for clear in (parts.clear.click, chatbot.clear):
        clear(chat.clear, [conv], [chatbot, doc, hidden["cleared"]], **quick).then(
            None, js="() => window.llmchat?.cleared()", **PRIVATE
        )
    hidden["unclear"].click(
        chat.unclear, [conv, hidden["cleared"]], [chatbot, doc, hidden["cleared"]], **quick
    )
    hidden["act"].click(
        chat.act,
        [hidden["action"], conv],
        [chatbot, doc],
        js="(a, ...rest) => [window.llmchat.pendingAction(), ...rest]",
        **quick,
    ).then(None, js=SAVE_WHEN_SETTLED_JS, **PRIVATE)  # a rename or a summary edit leaves the chat as it was

    # --- the list of conversations ---------------------------------------------------------------
    hidden["open"].click(
        conversations.open,
        [doc, conv],
        shown,
        js="(d, ...rest) => [window.llmchat.pendingDoc(), ...rest]",
        **quick,
    ).then(page.model_picker, **picker)
    parts.new_chat.click(
        settings_handler(conversations.new_chat, ["conversation"]), [conv, *settings], [chatbot, doc], **quick
    )
    hidden["save"].click(
        settings_handler(conversations.persist, ["conversation"]),
        [conv, *settings],
        [doc, parts.export_json, parts.export_md, textbox],
        concurrency_limit=None,
        show_progress="hidden",
        **PRIVATE,
    )
    chatbot.change(None, js=SAVE_WHEN_SETTLED_JS, **PRIVATE)
    doc.change(None, inputs=doc, js="(d) => { window.llmchat?.onDoc(d); }", **PRIVATE)
    hidden["imports"].change(
        None, inputs=hidden["imports"], js="(d) => { window.llmchat?.onImports(d); }", **PRIVATE
    )
    page_load = {"js": "(k, d, ...rest) => [k, window.llmchat ? window.llmchat.startDoc() : '', ...rest]"}
    demo.load(conversations.start, [parts.kept, doc, conv], [*shown, parts.kept], **page_load, **quick).then(
        page.model_picker, **picker
    )
    parts.import_json.upload(
        conversations.import_file,
        [parts.import_json, conv],
        [*shown, parts.import_status, hidden["imports"]],
        **PRIVATE,
    ).then(page.model_picker, **picker)
    parts.export_all.click(
        conversations.export_all,
        [hidden["action"]],
        [parts.download_all],
        js="(a) => [window.llmchat.allDocs()]",
        **PRIVATE,
    ).then(
        None,
        js="() => setTimeout(() => document.querySelector('#llmchat-download-all')?.click(), 50)",
        **PRIVATE,
    )


def wire_gauge(parts: Parts, gauge: GaugeHandler, summaries: SummaryActions, concurrency: int) -> None:
    """The context gauge: measured again when the conversation changes (the kept document
    changes after a turn, on opening, switching, clearing, undoing), when the settings change,
    and once the visitor stops typing for GAUGE_DELAY_MS (not at every keystroke: a burst of typing
    costs one count). ``always_last``: while one measurement runs, the page keeps only the newest
    change and asks once it is back, so a visitor has at most one gauge request in flight.

    And "Summarize older turns", the gauge's button (drawn by the gauge handler, clicked through
    ``llmchat-summary.js``): the summary lands in the kept document, whose change redraws the note."""
    textbox, doc = parts.textbox, parts.hidden["doc"]
    assert textbox is not None and parts.gauge is not None
    typed = gr.Button("gauge", visible="hidden", elem_id="llmchat-gauge-now")
    textbox.change(None, js=GAUGE_WHEN_TYPED_JS, **PRIVATE)
    triggers = [typed.click, doc.change, parts.preset.change, parts.model.change]
    triggers += [c.change for c in parts.controls]
    inputs = [textbox, parts.conversation, parts.preset, *parts.controls, parts.model]
    gr.on(
        triggers,
        settings_handler(gauge.gauge, ["message", "conversation"]),
        inputs,
        parts.gauge,
        trigger_mode="always_last",
        queue=False,
        show_progress="hidden",
        **PRIVATE,
    )
    summarize = gr.Button("summarize", visible="hidden", elem_id="llmchat-summarize-now")
    summarize.click(
        settings_handler(summaries.summarize, ["message", "conversation"]),
        inputs,
        doc,
        concurrency_limit=concurrency,
        trigger_mode="once",
        show_progress="hidden",
        **PRIVATE,
    ).then(None, js="() => window.llmchatSummary?.done()", **PRIVATE).then(
        None, js=SAVE_WHEN_SETTLED_JS, **PRIVATE
    )


def wire_attach_check(parts: Parts, check: AttachCheck) -> None:
    """Each file attached to the message box is checked at once (a binary file, an image for a
    text-only model): refused ones leave the box and the note above it says why; the note goes
    when the message is sent."""
    textbox, note = parts.textbox, parts.attach_note
    assert textbox is not None and note is not None
    quick = {"queue": False, "show_progress": "hidden", **PRIVATE}
    # The box's change (Gradio 6's MultimodalTextbox has no upload event): while typing, a box
    # without files reads nothing, and each file is read once (llmchat.web.attach_check).
    textbox.change(
        check.check,
        [textbox, parts.preset, parts.model],
        [textbox, note],
        trigger_mode="always_last",
        **quick,
    )
    textbox.submit(lambda: gr.update(value="", visible=False), None, note, **quick)
