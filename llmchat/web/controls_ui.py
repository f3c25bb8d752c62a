"""The page's widgets and the API's parameters, derived from :data:`llmchat.core.controls.CONTROLS`.

Each control a visitor sets becomes one widget (slider, text box, checkbox or radio, with its
range, step, label and placeholder) and one parameter of the ``/chat`` API, named like the
control, in the order of ``VISITOR_CONTROLS``. The handlers take and give the widgets' values as
a list in that same order; nothing else in the web layer lists the controls.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from llmchat.core.controls import VISITOR_CONTROLS, Control
from llmchat.core.presets import LoadedPreset
from llmchat.i18n.labels import LABELS
from llmchat.web.i18n import label


def _maximum(control: Control, preset: LoadedPreset) -> float | None:
    if control.limited_by:
        return preset.limits.get(control.limited_by, control.maximum)
    return control.maximum


def make_widget(control: Control, preset: LoadedPreset, **layout: Any) -> gr.components.Component:
    """The widget for ``control``, showing ``preset``'s value."""
    value = control.to_widget(getattr(preset.settings, control.name))
    common: dict[str, Any] = {"label": label(control.label), **layout}
    if control.widget == "slider":
        return gr.Slider(control.minimum, _maximum(control, preset), value=value, step=control.step, **common)
    if control.widget == "radio":
        choices = [(label(f"{control.name}_{choice}"), choice) for choice in control.choices]
        return gr.Radio(choices, value=value, **common)
    if control.widget == "checkbox":
        return gr.Checkbox(value, **common)
    placeholder = f"{control.name}_placeholder"
    return gr.Textbox(
        value,
        lines=control.lines,
        max_lines=None if control.lines > 1 else 1,
        placeholder=label(placeholder) if placeholder in LABELS["en"] else None,
        **common,
    )


def widget_updates(preset: LoadedPreset, values: dict[str, Any] | None = None) -> list[Any]:
    """The widgets' new values, in order: ``values`` where given, else the preset's own. A control
    that the preset limits also gets that preset's maximum."""
    out: list[Any] = []
    for control in VISITOR_CONTROLS:
        value = (values or {}).get(control.name, getattr(preset.settings, control.name))
        shown = control.to_widget(value)
        if control.limited_by:
            out.append(gr.update(value=shown, maximum=_maximum(control, preset)))
        else:
            out.append(shown)
    return out


def values_of(widgets: Sequence[Any]) -> dict[str, Any]:
    """The widgets' values (as the page or an API client sent them) by control name."""
    return {control.name: value for control, value in zip(VISITOR_CONTROLS, widgets, strict=True)}


def with_control_parameters(
    function: Callable[..., Any], before: Sequence[inspect.Parameter], after: Sequence[inspect.Parameter]
) -> Callable[..., Any]:
    """Give ``function`` (which takes ``*args``) the signature ``before + controls + after``.

    Gradio names the API's parameters after the chat function's own, so this is what makes the
    ``/chat`` endpoint take ``temperature=…``, ``max_tokens=…`` by name, in a stable order.
    """
    controls = [
        inspect.Parameter(c.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=_annotation(c))
        for c in VISITOR_CONTROLS
    ]
    parameters = [*before, *controls, *after]
    function.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    # Gradio finds the gr.Request parameter by its type hint, read from __annotations__.
    function.__annotations__ = {p.name: p.annotation for p in parameters}
    return function


def settings_handler(
    method: Callable[..., Any], before: Sequence[str], event: Any = None
) -> Callable[..., Any]:
    """``method`` as a handler taking ``before`` inputs, the preset, every control, the model,
    the event's data (when ``event``, a Gradio event data class, is given) and the request.

    Gradio passes the ``gr.Request`` (and event data) only to parameters it sees by their type
    hints, which a ``*rest`` signature hides; this gives the handler one named parameter each.
    """
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    first = [inspect.Parameter(name, positional) for name in (*before, "preset")]
    after = [inspect.Parameter("model", positional)]
    if event is not None:
        after.append(inspect.Parameter("data", positional, annotation=event))
    after.append(inspect.Parameter("request", positional, annotation=gr.Request))
    if inspect.isasyncgenfunction(method):

        async def wrapper(*args: Any) -> Any:
            async for update in method(*args):
                yield update

    elif inspect.iscoroutinefunction(method):

        async def wrapper(*args: Any) -> Any:  # type: ignore[misc]
            return await method(*args)

    else:

        def wrapper(*args: Any) -> Any:  # type: ignore[misc]
            return method(*args)

    wrapper.__name__ = method.__name__
    return with_control_parameters(wrapper, first, after)


def _annotation(control: Control) -> Any:
    return {"slider": float, "checkbox": bool, "radio": str}.get(control.widget or "", str)
