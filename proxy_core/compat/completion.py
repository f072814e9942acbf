"""OpenAI's answer shapes: ``chat.completion`` objects and the ``chat.completion.chunk`` stream."""

from __future__ import annotations

from typing import Any

from proxy_core.compat.base import error_body, new_id, now
from proxy_core.compat.sse import DONE, SSEDecoder, SSEEvent, encode

__all__ = ["ChunkWriter", "SSEToChunks", "chat_completion", "choice", "count", "tool_call", "usage"]


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    """One ``tool_calls`` entry of an assistant message."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def choice(index: int, text: str | None, calls: list[dict[str, Any]], finish_reason: str) -> dict[str, Any]:
    """One choice; ``content`` is ``None`` when the model only called tools."""
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return {"index": index, "message": message, "finish_reason": finish_reason, "logprobs": None}


def count(value: Any) -> int | None:
    """``value`` as a token count when it is a whole number in ``[0, 2**63)``, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():  # also rejects inf and nan
        return None
    return int(value) if 0 <= value < 2**63 else None


def usage(
    prompt: Any, completion: Any, *, total: Any = None, cached: Any = None, reasoning: Any = None
) -> dict[str, Any] | None:
    """OpenAI's ``usage`` object from the provider's counts (non-counts are ignored), or ``None``."""
    prompt, completion, total = count(prompt), count(completion), count(total)
    cached, reasoning = count(cached), count(reasoning)
    if prompt is None and completion is None:
        return None
    prompt, completion = prompt or 0, completion or 0
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total if total is not None else prompt + completion,
    }
    if cached is not None:
        out["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return out


def chat_completion(
    completion_id: str | None, model: str, choices: list[dict[str, Any]], usage_obj: dict[str, Any] | None
) -> dict[str, Any]:
    """A ``chat.completion`` object (a fresh ``chatcmpl-`` id when the provider gave none)."""
    out: dict[str, Any] = {
        "id": completion_id or new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "choices": choices,
    }
    if usage_obj is not None:
        out["usage"] = usage_obj
    return out


class ChunkWriter:
    """Writes one OpenAI stream: a role chunk per choice, deltas, finish chunks, usage, ``[DONE]``.

    Set :attr:`id` and :attr:`model` from the provider's first event before writing anything.
    With ``include_usage`` every chunk carries ``"usage": null`` and :meth:`close` adds the final
    chunk with empty ``choices`` and the totals, as OpenAI does.
    """

    def __init__(self, model: str, include_usage: bool) -> None:
        self.id = new_id("chatcmpl-")
        self.model = model
        self.created = now()
        self.include_usage = include_usage
        self.usage: dict[str, Any] | None = None
        self._started: set[int] = set()
        self.finished: set[int] = set()
        self._tool_calls: dict[int, int] = {}

    @property
    def started(self) -> bool:
        """Whether any chunk has been written."""
        return bool(self._started)

    def _chunk(self, choices: list[dict[str, Any]], with_usage: bool = False) -> bytes:
        obj: dict[str, Any] = {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "choices": choices,
        }
        if self.include_usage:
            obj["usage"] = self.usage if with_usage else None
        return encode(obj)

    def _delta(self, index: int, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        out = b""
        if index not in self._started:
            self._started.add(index)
            role = {"role": "assistant", "content": ""}
            out = self._chunk([{"index": index, "delta": role, "logprobs": None, "finish_reason": None}])
        return out + self._chunk([{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])

    def text(self, text: str, index: int = 0) -> bytes:
        """A content delta (nothing for empty text)."""
        return self._delta(index, {"content": text}) if isinstance(text, str) and text else b""

    def tool_call(self, call_id: str, name: str, arguments: str = "", index: int = 0) -> bytes:
        """The first delta of a new tool call of choice ``index``; returns its bytes."""
        position = self._tool_calls.get(index, 0)
        self._tool_calls[index] = position + 1
        call = {"index": position, "id": call_id, "type": "function",
                "function": {"name": name, "arguments": arguments}}
        return self._delta(index, {"tool_calls": [call]})

    def tool_arguments(self, arguments: str, index: int = 0) -> bytes:
        """More argument text for the latest tool call of choice ``index``."""
        if not isinstance(arguments, str) or not arguments or not self._tool_calls.get(index):
            return b""
        call = {"index": self._tool_calls[index] - 1, "function": {"arguments": arguments}}
        return self._delta(index, {"tool_calls": [call]})

    def has_tool_calls(self, index: int = 0) -> bool:
        """Whether choice ``index`` called a tool."""
        return bool(self._tool_calls.get(index))

    def finish(self, finish_reason: str, index: int = 0) -> bytes:
        """The last chunk of choice ``index`` (written once)."""
        if index in self.finished:
            return b""
        self.finished.add(index)
        return self._delta(index, {}, finish_reason)

    def error(self, message: str, status: int, *, type: str | None = None, code: Any = None) -> bytes:
        """An in-stream error event; the ``openai`` SDK raises ``APIError`` when it reads one."""
        return encode(error_body(message, status, type=type, code=code))

    def close(self) -> bytes:
        """The usage chunk (when asked for and known), then ``[DONE]``."""
        tail = self._chunk([], with_usage=True) if self.include_usage and self.usage is not None else b""
        return tail + DONE


class SSEToChunks:
    """A provider's server-sent events turned into OpenAI chunks, one event at a time: subclasses
    write ``_event``; slicing, buffering and the closing usage chunk and ``[DONE]`` are here."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self._sse = SSEDecoder()
        self._out = ChunkWriter(model, include_usage)

    def feed(self, chunk: bytes) -> bytes:
        return b"".join(self._event(e) for e in self._sse.feed(chunk))

    def finish(self) -> bytes:
        return b"".join(self._event(e) for e in self._sse.flush()) + self._out.close()

    def _event(self, event: SSEEvent) -> bytes:
        raise NotImplementedError
