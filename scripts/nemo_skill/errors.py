"""One error tree, one mapping from backend answers to it, one exit-code table.

Every message says what went wrong and what to do. No message ever contains a token.
"""

from __future__ import annotations

from typing import Any

# exit code -> (name, meaning). Printed by `--help` and documented in SKILL.md with NEXT (tests keep them equal).
EXIT_CODES: dict[int, tuple[str, str]] = {
    0: ("ok", "done"),
    1: ("internal", "unexpected error (a bug): rerun with --debug and report it"),
    2: ("usage", "bad command-line arguments"),
    3: ("auth", "token invalid or expired, or no token could be obtained"),
    4: ("session", "the editing session is gone"),
    5: ("credits", "out of credits (code 2001)"),
    6: ("plan", "export needs a registered or upgraded plan (HTTP 402)"),
    7: ("input", "input file or output path rejected (4001, 4002, missing file, existing output)"),
    8: ("network", "backend unreachable, timed out, rate limited (429) or failing (5xx)"),
    9: ("render", "the render failed or was cancelled"),
    10: ("setup", "a dependency is missing"),
    11: ("question", "the video agent asked a question: ask the user, answer with chat, then export"),
    130: ("interrupted", "stopped by Ctrl-C"),
}
# exit code -> what the agent does next.
NEXT: dict[int, str] = {
    0: "Pass the MEDIA: line on (its own line, plain text) and say what was made.",
    1: "Tell the user it failed; run the same command with --debug and report the traceback.",
    2: "Fix the command as the message says; the words were not sent.",
    3: "Unset NEMO_TOKEN or set a valid one, or add --local.",
    4: "The files must be uploaded again: run make again with them.",
    5: "Share the registration link it printed (or top up), or add --local (free).",
    6: "Tell the user export needs a registered or upgraded plan (not credits), or add --local.",
    7: "Tell the user what was wrong with which file (the message says) and ask for another, or choose another -o.",
    8: "Wait a minute and run the same command again; for a render that was running: export --resume.",
    9: "Tell the user why (the message); change the request with chat and export again.",
    10: "Run setup (the message names what to add), then the same command again.",
    11: "Ask the user the question it printed, send the answer with chat, then export.",
    130: "Run export --resume (or state); never make again.",
}


class NemoError(Exception):
    """Base of every error this skill raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if not self.hint:
            return self.message
        return f"{self.message}{' ' if self.message.endswith(('.', '!', '?', ':')) else '. '}{self.hint}"


class UsageError(NemoError):
    exit_code = 2


class InputError(NemoError):
    """A local file or path the user named cannot be used."""

    exit_code = 7


class DependencyError(NemoError):
    exit_code = 10


class NetworkError(NemoError):
    """The backend could not be reached or did not answer in time."""

    exit_code = 8


class RenderFailed(NemoError):
    exit_code = 9


class AgentAsks(NemoError):
    """The video agent answered with a question: nothing was rendered, the user's answer is needed first."""

    exit_code = 11

    def __init__(self, question: str, track: str | None = None) -> None:
        super().__init__(f"the video agent asks: {question}",
                         hint='Ask the user, send the answer with nemo.py chat "...", then run nemo.py export.')
        self.question = question
        self.track = track


class APIError(NemoError):
    """The backend answered with an error: its code (or HTTP status), the status and the request id."""

    exit_code = 8

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None,
                 request_id: str | None = None, hint: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        ref = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.message}{ref}. {self.hint}".strip()


class AuthError(APIError):
    exit_code = 3


class BadRequest(APIError):
    """HTTP 400: the backend found the request malformed (on the token route: the client id was rejected)."""

    exit_code = 2


class ClientIdRejected(APIError):
    exit_code = 3


class RateLimited(APIError):
    exit_code = 8


class SessionNotFound(APIError):
    exit_code = 4


class NoCredits(APIError):
    exit_code = 5


class PlanRequired(APIError):
    exit_code = 6


class UnsupportedFile(APIError):
    exit_code = 7


class FileTooLarge(APIError):
    exit_code = 7


class ServerError(APIError):
    exit_code = 8


_BY_CODE: dict[int, tuple[type[APIError], str]] = {
    1001: (AuthError, "Set a valid NEMO_TOKEN, or unset it so the skill fetches a free token."),
    1002: (SessionNotFound, "Start a new session (the skill does this itself) and upload the files again."),
    2001: (NoCredits, "Register for more credits, or top up credits in your account."),
    4001: (UnsupportedFile, "Use MP3, WAV, AAC, FLAC, M4A, MP4, MOV, AVI, WEBM, MKV, JPG, PNG, GIF or WEBP."),
    4002: (FileTooLarge, "The file is over the backend's size limit: compress or trim it (the cloud takes 200 MB "
                         "at most; --local takes larger files)."),
}
_BY_STATUS: dict[int, tuple[type[APIError], str]] = {
    400: (BadRequest, "Check the command's arguments and message, then try again."),
    401: (AuthError, "Set a valid NEMO_TOKEN, or unset it so the skill fetches a free token."),
    402: (PlanRequired, "Register or upgrade your plan to unlock export (this is not about credits)."),
    429: (RateLimited, "Wait a little and try again."),
}


def message_of(body: Any) -> str:
    """The backend's message from any of the envelopes it uses (message, msg, error, FastAPI detail)."""
    if not isinstance(body, dict):
        return ""
    for key in ("message", "msg", "error", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value and value.lower() != "success":
            return value
        if isinstance(value, list) and value:  # FastAPI validation errors
            return "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in value)
    return ""


def error_from(status: int, body: Any, request_id: str | None = None,
               retry_after: float | None = None) -> APIError:
    """Map an error answer to its exception: the envelope's code first, then the HTTP status."""
    code = body.get("code") if isinstance(body, dict) else None
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    text = message_of(body)
    if isinstance(code, int) and code in _BY_CODE:
        cls, hint = _BY_CODE[code]
        return cls(text or cls.__name__, code=code, status=status, request_id=request_id, hint=hint,
                   retry_after=retry_after)
    if status == 404 and "session" in text.lower():
        cls, hint = _BY_CODE[1002]
        return cls(text, code=1002, status=status, request_id=request_id, hint=hint)
    if status in _BY_STATUS:
        cls, hint = _BY_STATUS[status]
        return cls(text or f"HTTP {status}", code=code if isinstance(code, int) else None, status=status,
                   request_id=request_id, hint=hint, retry_after=retry_after)
    if status >= 500:
        return ServerError(text or f"the backend failed with HTTP {status}", code=code if isinstance(code, int)
                           else None, status=status, request_id=request_id, hint="Try again in a minute.")
    return APIError(text or f"the backend refused the request (HTTP {status}, code {code})",
                    code=code if isinstance(code, int) else None, status=status, request_id=request_id,
                    hint="Check the command and try again.")
