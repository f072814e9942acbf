"""The answers of a log and of its replay side by side, with tokens, cost and duration for each.

Opened from Logs (``R``, then the :class:`~console.replay_dialog.ReplayDialog`): a worker sends the
replay through the gateway (``services.replay.send``), then waits for the replay's log to reach
the store (``services.replay.wait_for_log``), posting a message at each step; the status line says
where it is and, when the replay fails, how (an upstream error, a guardrail's refusal, the rate
limit). Keyboard only: ``tab`` moves between the sides, ``j``/``k`` (and the arrows, page keys)
scroll the side in focus, ``g``/``G`` jump to its top or end, ``q``/``escape`` go back. The replay
is audited and logged whether or not the operator waits for it.
"""

from __future__ import annotations

from typing import Any, ClassVar, MutableMapping

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from console.replay_dialog import ReplayDialog, ReplayOrder
from console.safe_text import clean, clean_line
from console.store_calls import describe_error, finish, report_failure
from console.units import format_cost, format_duration, format_tokens
from console.widgets.key_footer import KeyFooter
from proxy_core.services import Actor, LogDetail, LogRecord, ReplaySent, Services

__all__ = ["CompareScreen", "MAX_ANSWER_CHARS", "replay_and_compare"]

MAX_ANSWER_CHARS = 50_000
"""An answer longer than this is cut (a 10 MB body must not freeze the console)."""
CONSOLE_ACTOR = Actor("operator", "console")


def _summary(detail: LogDetail) -> str:
    """``HTTP 200 · 12/40 tok · $0.00052 · 850ms`` and what set the log apart (cached, an error)."""
    log = detail.log
    parts = [f"HTTP {log.status_code}", f"{format_tokens(log.tokens_in, log.tokens_out)} tok",
             format_cost(log.cost) + (" custom" if log.custom_cost else ""), format_duration(log.duration)]  # fmt: skip
    if log.cached:
        parts.append("cached")
    verdict = (log.guardrails or {}).get("action")
    if verdict in ("blocked", "flagged"):
        categories = ",".join((log.guardrails or {}).get("categories") or [])
        parts.append(f"{verdict} {categories}".strip())
    return " · ".join(parts)


class ComparePane(Vertical):
    """One side: who answered, the numbers, and the answer in a scrollable box."""

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(id=id, classes="compare-pane")
        self._title = title

    def compose(self) -> ComposeResult:
        yield Static(self._title, classes="compare-title", markup=False)
        yield Static("", classes="compare-numbers", markup=False)
        with VerticalScroll(classes="compare-answer"):
            yield Static("", classes="compare-text", markup=False)

    @property
    def scroller(self) -> VerticalScroll:
        return self.query_one(VerticalScroll)

    def set_title(self, text: str) -> None:
        self.query_one(".compare-title", Static).update(Text(clean_line(text)))  # wraps: the model must read whole

    def show_numbers(self, text: str, *, failed: bool = False) -> None:
        numbers = self.query_one(".compare-numbers", Static)
        numbers.update(Text(clean_line(text)))
        numbers.set_class(failed, "-failed")

    def show_text(self, text: str, *, muted: bool = False) -> None:
        if len(text) > MAX_ANSWER_CHARS:
            text = text[:MAX_ANSWER_CHARS] + f"\n… cut at {MAX_ANSWER_CHARS:,} characters"
        body = self.query_one(".compare-text", Static)
        body.update(Text(clean(text)))
        body.set_class(muted, "-muted")

    def show_log(self, detail: LogDetail, answer: str | None) -> None:
        log = detail.log
        self.show_numbers(_summary(detail), failed=not log.success)
        if answer:
            self.show_text(answer)
            return
        if not log.success:
            raw = (detail.response_body or b"").decode("utf-8", "replace").strip()
            self.show_text(f"{log.error or 'failed'}\n\n{raw}".strip(), muted=True)
        elif detail.response_body is None:
            self.show_text("(the response body was not stored)", muted=True)
        else:
            self.show_text("(no text in the response: " + (log.response_content_type or "unknown type") + ")", muted=True)


class CompareScreen(Screen[None]):
    """Replay log ``original_id`` of ``gateway_id`` as ``order`` says and compare the two answers."""

    CSS_PATH = "replay.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", id="compare.back", tooltip="Back to the logs (the replay stays logged)"),
        Binding("tab,shift+tab", "switch_side", "Other side", id="compare.switch",
                tooltip="Move between the original's answer and the replay's"),
        Binding("j", "scroll(1)", "Down", show=False, id="compare.down", tooltip="Scroll the side in focus down"),
        Binding("k", "scroll(-1)", "Up", show=False, id="compare.up", tooltip="Scroll the side in focus up"),
        Binding("g", "edge(False)", "Top", show=False, id="compare.top", tooltip="The start of the side in focus"),
        Binding("G", "edge(True)", "End", show=False, id="compare.end", tooltip="The end of the side in focus"),
    ]  # fmt: skip

    class OriginalLoaded(Message):
        def __init__(self, detail: LogDetail, answer: str | None) -> None:
            super().__init__()
            self.detail, self.answer = detail, answer

    class ReplayAnswered(Message):
        def __init__(self, sent: ReplaySent) -> None:
            super().__init__()
            self.sent = sent

    class ReplayLogged(Message):
        def __init__(self, detail: LogDetail, answer: str | None) -> None:
            super().__init__()
            self.detail, self.answer = detail, answer

    class ReplayFailed(Message):
        def __init__(self, what: str, error: BaseException) -> None:
            super().__init__()
            self.what, self.error = what, error

    def __init__(self, services: Services, gateway_id: str, original_id: str, order: ReplayOrder) -> None:
        super().__init__(id="compare-screen")
        self.services = services
        self.gateway_id = gateway_id
        self.original_id = original_id
        self.order = order
        self.original: LogDetail | None = None
        self.sent: ReplaySent | None = None
        self.replay: LogDetail | None = None
        self.state = "sending"
        """``sending``, ``waiting`` (for the log row), ``done`` or ``failed``."""

    def compose(self) -> ComposeResult:
        target = self.order.target
        yield Static(Text(clean_line(f"Replay of log {self.original_id} → {target.provider} · {target.model}"),
                          no_wrap=True, overflow="ellipsis"), id="compare-heading")  # fmt: skip
        yield Static("", id="compare-status", markup=False)
        with Horizontal(id="compare-sides"):
            yield ComparePane("Original", id="compare-original")
            yield ComparePane(f"Replay  {target.provider} · {target.model}", id="compare-replay")
        yield KeyFooter()

    def pane(self, side: str) -> ComparePane:
        return self.query_one(f"#compare-{side}", ComparePane)

    def on_mount(self) -> None:
        self._status(f"Sending the replay to {self.order.target.provider} through the gateway…")
        self.pane("original").show_text("loading…", muted=True)
        self.pane("replay").show_text("waiting for the answer…", muted=True)
        self.pane("original").scroller.focus()
        self._load_original()
        self._run_replay()

    def _status(self, text: str, *, failed: bool = False) -> None:
        status = self.query_one("#compare-status", Static)
        status.update(Text(clean_line(text)))  # wraps (up to three lines): an error must read whole
        status.set_class(failed, "-failed")

    # -- workers ---------------------------------------------------------------------------------

    @work(group="compare-original", exit_on_error=False)
    async def _load_original(self) -> None:
        try:
            detail = await finish(self.services.logs.detail(self.gateway_id, self.original_id))
        except Exception as exc:
            self.post_message(self.ReplayFailed("read the original log", exc))
            return
        self.post_message(self.OriginalLoaded(detail, self.services.replay.answer(detail)))

    @work(group="compare-replay", exit_on_error=False)
    async def _run_replay(self) -> None:
        order = self.order
        try:
            sent = await finish(self.services.replay.send(
                self.gateway_id, self.original_id, order.target, CONSOLE_ACTOR, api_key=order.api_key, fresh=order.fresh,
            ))  # fmt: skip
        except Exception as exc:
            self.post_message(self.ReplayFailed("replay the request", exc))
            return
        self.post_message(self.ReplayAnswered(sent))
        if not sent.logged or sent.log_id is None:
            return
        try:
            detail = await finish(self.services.replay.wait_for_log(self.gateway_id, sent.log_id))
        except Exception as exc:
            self.post_message(self.ReplayFailed("read the replay's log", exc))
            return
        self.post_message(self.ReplayLogged(detail, self.services.replay.answer(detail)))

    # -- what the workers found ------------------------------------------------------------------

    @on(OriginalLoaded)
    def _original_loaded(self, message: OriginalLoaded) -> None:
        self.original = message.detail
        log = message.detail.log
        self.pane("original").set_title(f"Original  {log.provider} · {log.model or '?'}")
        self.pane("original").show_log(message.detail, message.answer)

    @on(ReplayAnswered)
    def _replay_answered(self, message: ReplayAnswered) -> None:
        sent = self.sent = message.sent
        route = "same provider path" if sent.route == "provider" else "compat endpoint"
        failed = sent.status >= 400
        if not sent.logged:
            self.state = "failed"
            self._status(f"The gateway refused the replay without logging it: {sent.verdict}", failed=True)
            self.pane("replay").show_text(sent.error or sent.verdict, muted=True)
            return
        self.state = "waiting"
        self._status(f"{sent.verdict[:1].upper()}{sent.verdict[1:]} ({route}); waiting for log {sent.log_id}…",
                     failed=failed)  # fmt: skip

    @on(ReplayLogged)
    def _replay_logged(self, message: ReplayLogged) -> None:
        self.replay = message.detail
        self.state = "done" if message.detail.log.success else "failed"
        sent = self.sent
        verdict = sent.verdict if sent is not None else f"HTTP {message.detail.log.status_code}"
        self._status(f"Replay logged as {message.detail.log.id}: {verdict}", failed=not message.detail.log.success)
        self.pane("replay").show_log(message.detail, message.answer)

    @on(ReplayFailed)
    def _replay_failed(self, message: ReplayFailed) -> None:
        if message.what != "read the original log":
            self.state = "failed"
            self.pane("replay").show_text("no answer", muted=True)
        else:
            self.pane("original").show_text(describe_error(message.error), muted=True)
        self._status(f"Could not {message.what}: {describe_error(message.error)}", failed=True)

    # -- keys ------------------------------------------------------------------------------------

    def _focused_scroller(self) -> VerticalScroll:
        focused = self.focused
        for side in ("original", "replay"):
            scroller = self.pane(side).scroller
            if focused is scroller:
                return scroller
        return self.pane("original").scroller

    def action_switch_side(self) -> None:
        current = self._focused_scroller()
        other = "replay" if current is self.pane("original").scroller else "original"
        self.pane(other).scroller.focus()

    def action_scroll(self, lines: int) -> None:
        self._focused_scroller().scroll_relative(y=lines, animate=False)

    def action_edge(self, end: bool) -> None:
        scroller = self._focused_scroller()
        if end:
            scroller.scroll_end(animate=False)
        else:
            scroller.scroll_home(animate=False)

    def action_close(self) -> None:
        self.dismiss()


def replay_and_compare(
    app: Any, services: Services, gateway_id: str, record: LogRecord, api_keys: MutableMapping[str, str]
) -> None:
    """The ``R`` flow wherever a log is shown (the Logs table, a log pager): ask where to replay
    ``record`` (:class:`ReplayDialog`), then open the :class:`CompareScreen`. ``api_keys`` holds the
    keys typed so far by provider (the caller's, in memory): the dialog offers them again."""
    try:
        choices = services.replay.choices(record.provider)
    except Exception as exc:  # no gateway URL known here: say so
        report_failure(app, "Cannot replay", exc)
        return

    def ordered(order: ReplayOrder | None) -> None:
        if order is None:
            return
        if order.api_key:
            api_keys[order.target.provider] = order.api_key
        app.push_screen(CompareScreen(services, gateway_id, record.id, order))

    app.push_screen(ReplayDialog(record, choices, api_keys=api_keys), ordered)
