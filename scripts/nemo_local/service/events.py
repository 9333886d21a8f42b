"""Google ADK events, as `/run_sse` sends them: one `data: <camelCase Event JSON>` per event."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from typing import Any

AUTHOR = "nemo_agent"


class EventFactory:
    """Builds the events of one invocation (one user turn)."""

    def __init__(self) -> None:
        self.invocation_id = f"e-{uuid.uuid4()}"

    def _event(self, parts: list[dict[str, Any]], *, state_delta: dict[str, Any] | None = None,
               turn_complete: bool = False, author: str = AUTHOR) -> dict[str, Any]:
        event: dict[str, Any] = {
            "id": secrets.token_urlsafe(6),
            "invocationId": self.invocation_id,
            "author": author,
            "timestamp": time.time(),
            "content": {"role": "model", "parts": parts},
            "actions": {"stateDelta": state_delta or {}, "artifactDelta": {}},
            "partial": False,
        }
        if turn_complete:
            event["turnComplete"] = True
        return event

    def call(self, name: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        call_id = f"adk-{uuid.uuid4()}"
        return call_id, self._event([{"functionCall": {"id": call_id, "name": name, "args": args}}])

    def response(self, call_id: str, name: str, response: dict[str, Any],
                 state_delta: dict[str, Any] | None = None) -> dict[str, Any]:
        part = {"functionResponse": {"id": call_id, "name": name, "response": response}}
        return self._event([part], state_delta=state_delta)

    def text(self, text: str, *, final: bool = True) -> dict[str, Any]:
        return self._event([{"text": text}], turn_complete=final)

    def error(self, message: str) -> dict[str, Any]:
        return self._event([{"text": f"Error: {message}"}], turn_complete=True, author="system")


def sse(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


HEARTBEAT = b'data: {"type":"heartbeat"}\n\n'
MALFORMED = [b"data: {not json\n\n", b": ping\n\n", b"data:\n\n", b'data: {"type":"mystery","x":1}\n\n',
             b"garbage line without a field\n\n"]
