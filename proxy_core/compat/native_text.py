"""Reading a native request back into OpenAI's chat-completions shape: the inverse of a
translator's ``build_request``, for the text turns of a conversation.

A logged request is replayed to a provider of another API family through
``/compat/chat/completions``: each translator's ``openai_request`` reads its family's native body
into an OpenAI request with these helpers, and the compat endpoint translates that into the
target's native API. Only what every family can carry comes across (system text, user and
assistant text turns, the sampling settings, ``stream``); a turn holding anything else (an image,
a tool call, a document) is refused with a :class:`CompatError` that names it, never dropped
silently, so a replay never compares answers to different questions.
"""

from __future__ import annotations

from typing import Any, Iterable

from proxy_core.compat.base import CompatError

__all__ = ["chat_request", "copy_settings", "joined_text"]


def joined_text(content: Any, where: str, text_keys: Iterable[str] = ("text",)) -> str:
    """The text of a message ``content``: a string, or a list of text parts (``{"type": "text",
    "text": …}``, Google's ``{"text": …}``, a bare string) joined in order; any other part is a
    :class:`CompatError` naming ``where``."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        raise CompatError(f"{where}: no text content to replay", param=where)
    keys = tuple(text_keys)
    pieces: list[str] = []
    for index, part in enumerate(content):
        if isinstance(part, str):
            pieces.append(part)
            continue
        kind = part.get("type") if isinstance(part, dict) else None
        text = next((part[k] for k in keys if isinstance(part, dict) and isinstance(part.get(k), str)), None)
        if text is not None and kind in (None, "text", "input_text", "output_text"):
            pieces.append(text)
            continue
        what = kind or (next(iter(part), "unknown") if isinstance(part, dict) and part else "unknown")
        raise CompatError(
            f"{where}[{index}] holds a {what!r} part: only text turns can be replayed to another API format",
            param=where,
        )
    return "".join(pieces)


def copy_settings(native: dict[str, Any], names: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``{openai name: value}`` for each ``(native name, openai name)`` that ``native`` sets."""
    return {openai: native[name] for name, openai in names if native.get(name) is not None}


def chat_request(system: list[str], turns: list[dict[str, str]], settings: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat-completions body (without ``model``) from system texts, ``{role, content}``
    turns and settings; a :class:`CompatError` when no user or assistant turn is left."""
    if not turns:
        raise CompatError("the request has no user or assistant message to replay", param="messages")
    messages = [{"role": "system", "content": "\n\n".join(system)}] if any(system) else []
    return {"messages": messages + turns, **settings}
