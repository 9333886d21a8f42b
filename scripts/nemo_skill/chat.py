"""One chat turn over `/run_sse`: send the message once, read the ADK event stream, never resend.

Text parts are the reply (after GUI translation); tool calls and results are counted, not shown; empty,
comment, heartbeat, malformed and unknown lines are skipped. A turn without text (or a dropped stream) is
followed by a state read and a summary of what changed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import EventSource

from nemo_skill import errors, gui, timeline
from nemo_skill.api import Api

MAX_REPLY_CHARS = 8000


@dataclass
class Parsed:
    """What one SSE data line holds."""

    kind: str                      # text, tool, heartbeat, error, skip
    texts: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    results: int = 0
    partial: bool = False


def parse_event(data: str) -> Parsed:
    """Classify one `data:` payload. Pure: anything unexpected is 'skip', never an exception."""
    if not data.strip():
        return Parsed("heartbeat")
    try:
        event = json.loads(data)
    except ValueError:
        return Parsed("skip")
    if not isinstance(event, dict):
        return Parsed("skip")
    if event.get("type") in ("heartbeat", "ping", "keepalive"):
        return Parsed("heartbeat")
    if isinstance(event.get("error"), str):
        return Parsed("error", texts=[event["error"]])
    content = event.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return Parsed("skip")
    out = Parsed("skip", partial=bool(event.get("partial")))
    for part in parts:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str) and part["text"]:
            out.texts.append(part["text"])
        elif isinstance(part.get("functionCall"), dict):
            out.calls.append(part["functionCall"])
        elif isinstance(part.get("functionResponse"), dict):
            out.results += 1
    if out.texts and event.get("author") == "system" and out.texts[0].startswith("Error:"):
        return Parsed("error", texts=[out.texts[0][6:].strip()])
    if out.texts:
        out.kind = "text"
    elif out.calls or out.results:
        out.kind = "tool"
    return out


@dataclass
class ChatResult:
    reply: str = ""
    actions: list[str] = field(default_factory=list)
    tool_calls: int = 0
    tool_results: int = 0
    heartbeats: int = 0
    skipped: int = 0
    question: str | None = None
    dropped: bool = False
    timed_out: bool = False
    summary: str | None = None       # set when the turn brought no text: what the timeline looks like now

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def language_of(text: str) -> str | None:
    """The language a message is written in, as the session takes it: "zh" for Chinese characters, "en" for
    other words; None when there are no words to tell by."""
    if CJK.search(text):
        return "zh"
    return "en" if re.search(r"[A-Za-z]{2}", text) else None


def run_turn(api: Api, session_id: str, text: str, rules: list[gui.Rule],
             on_text: Callable[[str], None] = lambda t: None, output: dict[str, Any] | None = None,
             exporting: bool = False) -> ChatResult:
    """Send one message (with the structured output options and, when `exporting`, word that the video is
    rendered right after this turn: the ADK request's `state_delta`) and read the reply to its end."""
    settings = api.settings
    result = ChatResult()
    before = timeline.summarize(api.draft(session_id))
    body: dict[str, Any] = {
        "app_name": settings.config["api"]["app_name"], "user_id": settings.config["api"]["user_id"],
        "session_id": session_id, "new_message": {"role": "user", "parts": [{"text": text}]}, "streaming": False}
    delta = {**({"output": output} if output else {}), **({"next": "export"} if exporting else {})}
    if delta:
        body["state_delta"] = delta
    still_every = settings.timeout("still_working_every")
    start = settings.clock()
    deadline = start + settings.timeout("chat_total")
    last_text = start
    partial: list[str] = []
    texts: list[str] = []
    with api.stream("run_sse", body, read_timeout=max(still_every, settings.timeout("read"))) as resp:
        try:
            for sse in EventSource(resp).iter_sse():
                now = settings.clock()
                parsed = parse_event(sse.data)
                if parsed.kind == "text":
                    if parsed.partial:
                        partial.extend(parsed.texts)
                    else:
                        partial.clear()
                        for chunk in parsed.texts:
                            translated, actions = gui.translate(chunk, rules)
                            texts.append(translated)
                            result.actions += [a for a in actions if a not in result.actions]
                            on_text(translated)
                    last_text = now
                elif parsed.kind == "tool":
                    result.tool_calls += len(parsed.calls)
                    result.tool_results += parsed.results
                    for call in parsed.calls:
                        if call.get("name") == "ask_question":
                            args = call.get("args")
                            args = args if isinstance(args, dict) else {}
                            result.question = str(args.get("question") or args.get("text") or "")[:1000]
                elif parsed.kind == "heartbeat":
                    result.heartbeats += 1
                elif parsed.kind == "error":
                    raise errors.ServerError(f"the agent reported an error: {parsed.texts[0][:300]}",
                                             hint="Rephrase the request or try again.")
                else:
                    result.skipped += 1
                if now - last_text >= still_every:
                    settings.notice("⏳ Still working...")
                    last_text = now
                if now > deadline:
                    result.timed_out = True
                    break
        except httpx.TransportError:
            result.dropped = True  # do not resend: that would run (and charge) the turn twice
    if partial and not texts:
        texts.append(gui.translate("".join(partial), rules)[0])
        on_text(texts[-1])
    result.reply = "\n".join(texts)[:MAX_REPLY_CHARS]
    if not texts:
        after = timeline.summarize(api.draft(session_id))
        result.summary = after if after != before else f"No visible change. {after}"
    return result
