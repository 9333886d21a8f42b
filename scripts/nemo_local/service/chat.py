"""`POST /run_sse`: one user turn, answered as a stream of ADK events by the rule-based director."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from nemo_local.analysis import FEATURE_RATE, Analysis
from nemo_local.director.montage import Rhythm, rhythm_of
from nemo_local.director.turn import default_style, direct, for_speech
from nemo_local.director.voice import Speech
from nemo_local.draft import Kind, meta_of, segments_of
from nemo_local.service import events
from nemo_local.service.http import Backend, Denied, authenticate, check_fault, json_body
from nemo_local.speech import asr
from nemo_local.speech.lines import placed_file
from nemo_local.speech.lyrics import Placed

log = logging.getLogger("nemo_local")

GUI_REPLY = ("Your video is ready on the canvas. Click the Export button to download it, open the Effects panel "
             "to change the look, or drag and drop more clips; you can also preview in timeline.")


QUESTION = "Which part of the track should the video use: the whole song, or the chorus only?"
MAX_MESSAGE_CHARS = 10_000


class StreamDropped(Exception):
    """Raised inside the stream to cut the connection mid-way (fault injection)."""


def _message_text(body: dict[str, Any]) -> str:
    message = body.get("new_message") or body.get("newMessage") or {}
    parts = message.get("parts") if isinstance(message, dict) else None
    texts = [p.get("text", "") for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "\n".join(texts).strip()


def _session_files(backend: Backend, session_id: str, user_id: str) -> list[dict[str, Any]]:
    """The session's uploads as the director sees them; a recording the user corrected before (the same content,
    in any session) brings its corrections (`fixes`)."""
    out = []
    for f in backend.store.files(session_id):
        known = backend.store.word_fixes(user_id, f["sha256"]) if f["sha256"] and f["kind"] != "image" else []
        out.append({"file_id": f["file_id"], "filename": f["filename"], "kind": f["kind"],
                    "info": json.loads(f["info"]), "path": f["path"], "sha256": f["sha256"], "fixes": known})
    return out


def keep_fixes(backend: Backend, user_id: str, files: list[dict[str, Any]], draft: dict[str, Any]) -> None:
    """The draft's word corrections kept for its recording, for every later render of it."""
    audio = segments_of(draft, Kind.AUDIO)
    source = next((f for f in files if audio and f["file_id"] == audio[0].get("src")), None)
    fixes = meta_of(draft).get("caption_fixes")
    if source is not None and source.get("sha256") and fixes:
        backend.store.save_word_fixes(user_id, source["sha256"], [[str(a), str(b)] for a, b in fixes])


def state_delta(body: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """What the client sends beside the words, in the ADK request's `state_delta`: its structured options for the
    video (`output`: `destination`, `aspect`, `max_bytes`), and whether it exports right after this turn
    (`next`: "export")."""
    delta = body.get("state_delta") or body.get("stateDelta")
    delta = delta if isinstance(delta, dict) else {}
    output = delta.get("output")
    return (output if isinstance(output, dict) and output else None), delta.get("next") == "export"


def _speech(file: dict[str, Any], analyse: Callable[[Path], Analysis]) -> Speech | None:
    """The words of an uploaded audio file and its loudness (dB, FEATURE_RATE steps a second), for "best 45 s"."""
    try:
        path = Path(file["path"])
        analysis = analyse(path)
        words = asr.transcribe(path, language=file.get("language"))
        return words, 20 * np.log10(np.asarray(analysis.rms) + 1e-6), FEATURE_RATE
    except Exception:   # no words: the reply says the best part cannot be picked
        log.warning("cannot transcribe %s for a highlight", file.get("filename"), exc_info=True)
        return None


def _placing(audio: dict[str, Any], lyrics: dict[str, Any], analyse: Callable[[Path], Analysis]) -> Placed | None:
    """Plain lyrics placed on the singing of an uploaded track (what the render will show), for the reply."""
    try:
        return placed_file(Path(audio["path"]), Path(lyrics["path"]), analyse(Path(audio["path"])))
    except Exception:   # the reply then says the lines are spread over the sung parts
        log.warning("cannot place %s on %s", lyrics.get("filename"), audio.get("filename"), exc_info=True)
        return None


def _rhythm(file: dict[str, Any], analyse: Callable[[Path], Analysis]) -> Rhythm | None:
    """The beats, drops and sections of an uploaded audio file (the upload's analysis, handed on)."""
    try:
        return rhythm_of(analyse(Path(file["path"])))
    except Exception:   # a file that cannot be analysed: its pictures are cut at a fixed pace instead
        log.warning("cannot analyse %s for the montage", file.get("filename"), exc_info=True)
        return None


async def run_sse(request: Request, backend: Backend) -> Response:
    user = authenticate(backend, request)
    body = await json_body(request)
    session_id = str(body.get("session_id") or body.get("sessionId") or "")
    session = backend.store.session(user["user_id"], session_id)
    if session is None:
        return JSONResponse({"detail": "Session not found", "code": 1002}, status_code=404)
    fault = check_fault(backend, "chat")
    text = _message_text(body)
    if not text:
        raise Denied(status=400, message="new_message needs a text part")
    if len(text) > MAX_MESSAGE_CHARS:
        raise Denied(status=400, message=f"the message is longer than {MAX_MESSAGE_CHARS} characters")
    mode = fault.sse if fault else None
    interval = backend.config.heartbeat_seconds

    async def stream() -> AsyncIterator[bytes]:
        factory = events.EventFactory()
        if mode == "heartbeats_only":
            assert fault is not None
            loop = asyncio.get_running_loop()
            end = loop.time() + fault.seconds
            while loop.time() < end:
                yield events.HEARTBEAT
                await asyncio.sleep(min(interval, max(0.0, end - loop.time())))
            return
        if mode == "malformed":
            for line in events.MALFORMED:
                yield line
        if mode == "question":   # the agent asks instead of editing: the turn ends waiting for the user
            call_id, call = factory.call("ask_question", {"question": QUESTION})
            yield events.sse(call)
            yield events.sse(factory.text(QUESTION))
            return
        files = _session_files(backend, session_id, user["user_id"])
        state = json.loads(session["state"])
        call_id, call = factory.call("analyze_media", {"files": [f["filename"] for f in files]})
        yield events.sse(call)
        yield events.sse(factory.response(call_id, "analyze_media", {
            "files": [{"name": f["filename"], "kind": f["kind"], "duration": f["info"].get("duration")}
                      for f in files]}))
        skill = request.headers.get("x-skill-source")
        analyse = backend.analyses.get
        output, exporting = state_delta(body)
        work = asyncio.ensure_future(asyncio.to_thread(
            direct, text, state.get("draft") or {}, files, default_style(skill), lambda f: _rhythm(f, analyse),
            for_speech(skill), lambda f: _speech(f, analyse), output, exporting,
            lambda a, t: _placing(a, t, analyse)))
        while not work.done():  # heartbeats while the director works
            done, _ = await asyncio.wait({work}, timeout=interval)
            if not done:
                yield events.HEARTBEAT
        direction = work.result()
        if direction.changes:
            state["draft"] = direction.draft
            await asyncio.to_thread(keep_fixes, backend, user["user_id"], files, direction.draft)
            state["video_infos"] = [{"file_id": f["file_id"], "name": f["filename"], **f["info"]} for f in files]
            await asyncio.to_thread(backend.store.save_state, session_id, state)
            call_id, call = factory.call("update_draft", {"changes": direction.changes})
            yield events.sse(call)
            yield events.sse(factory.response(call_id, "update_draft", {
                "status": "ok", "tracks": len(direction.draft["t"]), "duration_ms": direction.draft["d"]},
                state_delta={"draft_updated": True}))
        if mode == "no_text":
            return
        reply = GUI_REPLY if mode == "gui" else direction.reply
        if mode == "malformed":
            yield events.MALFORMED[0]
        yield events.sse(factory.text(reply))

    async def dropping(after: int) -> AsyncIterator[bytes]:
        """The turn runs to its end on the server, but the client gets only the first `after` events."""
        sent = 0
        async for chunk in stream():
            if sent < after:
                yield chunk
                sent += chunk != events.HEARTBEAT
        raise StreamDropped("fault injection: stream dropped")

    body_iter = dropping(fault.after) if mode == "drop" and fault is not None else stream()
    return StreamingResponse(body_iter, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
