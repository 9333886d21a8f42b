"""The NemoVideo HTTP client: headers, tokens, sessions, envelopes, errors and retries.

Every call goes through `Api.call` (or `Api.stream` for SSE). The token travels only in the Authorization
header of requests to the API base; it is never logged, printed, put in a URL or in an exception text.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from nemo_skill import errors
from nemo_skill.backoff import RetryPolicy, parse_retry_after, retry_wait
from nemo_skill.headers import attribution
from nemo_skill.skill import SkillMeta
from nemo_skill.store import Store

CLOUD_NOTICE = "Connecting to NemoVideo (cloud)..."
LOCAL_NOTICE = "Using the local backend on this machine (offline, no credits)..."
TOKEN_ENV = "NEMO_TOKEN"


@dataclass
class Settings:
    """What the client needs from skill.yaml, plus where it talks to."""

    base_url: str
    api_key: str                                  # "local" or the cloud URL: tokens and sessions are kept per API
    config: dict[str, Any]
    local: bool = False
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rand: Callable[[], float] = random.random
    notice: Callable[[str], None] = field(default=lambda text: None)
    language: str | None = None                   # --lang: the session's language, whatever the words are in

    def endpoint(self, name: str, **params: str) -> str:
        return str(self.config["api"]["endpoints"][name]).format(**params)

    def timeout(self, name: str) -> float:
        return float(self.config["timeouts"][name])

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy.from_config(self.config["retry"])


def _epoch(iso: Any) -> float | None:
    if not isinstance(iso, str):
        return None
    try:
        return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def system_language() -> str:
    """The system's language (LANG, LC_ALL) as two letters; English when it names none ("C", "POSIX")."""
    for name in ("LC_ALL", "LANG"):
        code = os.environ.get(name, "")[:2].lower()
        if len(code) == 2 and code.isalpha() and code.isascii():
            return code
    return "en"


@dataclass
class _Tries:
    """What one request has used of its retries."""

    attempt: int = 0              # connection errors and 5xx answers so far
    rate_waited: bool = False     # the one wait after HTTP 429
    renewed: bool = False         # the one new token after a refusal
    kept_old: bool = False        # ... which could not be had, so the old token was kept


def _request_id(resp: httpx.Response) -> str | None:
    for name in ("x-request-id", "request-id", "x-amzn-requestid", "x-trace-id"):
        if name in resp.headers:
            return resp.headers[name][:80]
    return None


class Api:
    def __init__(self, settings: Settings, meta: SkillMeta, store: Store,
                 transport: httpx.BaseTransport | None = None, server_key: str | None = None) -> None:
        self.settings = settings
        self.store = store
        self.env_token = os.environ.get(TOKEN_ENV, "").strip() or None
        self.user_id: str | None = None
        self._token: str | None = None
        self._announced = False
        s = settings
        self.timeout = httpx.Timeout(connect=s.timeout("connect"), read=s.timeout("read"),
                                     write=s.timeout("write"), pool=s.timeout("connect"))
        headers = attribution(meta)
        if server_key:   # a self-hosted local backend beyond loopback (NEMO_SERVER_KEY); never the cloud's
            headers["X-Server-Key"] = server_key
        self.http = httpx.Client(base_url=s.base_url, headers=headers, timeout=self.timeout,
                                 transport=transport, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    # -- tokens and sessions ----------------------------------------------------------------------

    @property
    def anonymous(self) -> bool:
        return self.env_token is None and (self.user_id or "anon_").startswith("anon_")

    def token(self) -> str:
        if self.env_token:
            return self.env_token
        if self._token is None:
            cached = self.store.token(self.settings.api_key)
            if cached:
                self._token, self.user_id = str(cached["token"]), cached.get("user_id")
            else:
                self._token = self._acquire()
        return self._token

    def _acquire(self) -> str:
        """A free anonymous token for this install's client id (a new id once if the backend rejects it)."""
        renew = False
        for _ in range(2):
            client_id = self.store.client_id(renew=renew)
            try:
                data = self.call("POST", "anonymous_token", auth=False, headers={"X-Client-Id": client_id})
            except errors.BadRequest as exc:   # HTTP 400 here: the client id was rejected
                if renew:
                    raise errors.ClientIdRejected(exc.message, status=exc.status, request_id=exc.request_id,
                                                  hint="Set NEMO_TOKEN to a token from your NemoVideo account, "
                                                       "or try again later.") from None
                renew = True
                continue
            except errors.RateLimited as exc:
                raise errors.AuthError("this install already had its free token in the last 7 days",
                                       status=exc.status, request_id=exc.request_id,
                                       hint="Set NEMO_TOKEN to a token from your NemoVideo account, or try "
                                            "again later.") from None
            token = data.get("token") if isinstance(data, dict) else None
            if not isinstance(token, str) or not token:
                raise errors.AuthError("the backend gave no token", hint="Try again later.")
            self.user_id = str(data.get("user_id") or "") or None
            self.store.save_token(self.settings.api_key, token, self.user_id or "", _epoch(data.get("expires_at")))
            return token
        raise errors.AuthError("no token could be obtained", hint="Try again later.")

    def session_id(self, new: bool = False, language: str | None = None) -> str:
        """The current editing session, or a new one (in `language`: the user's words' language when known,
        else the system's, else English)."""
        key = self.settings.api_key
        self.token()
        cached = None if new else self.store.session(key)
        if cached and (self.user_id is None or cached.get("user_id") in (None, self.user_id)):
            return str(cached["session_id"])
        data = self.call("POST", "create_session", json={"task_name": "project",
                                                         "language": self.settings.language or language or
                                                                     system_language()})
        self.user_id = str(data.get("user_id") or self.user_id or "") or None
        session_id = str(data["session_id"])
        self.store.save_session(key, session_id, self.user_id)
        return session_id

    def with_session(self, action: Callable[[str], Any], language: str | None = None) -> Any:
        """Run action(session_id); when the session is gone (1002), start a new one, say so, and run it again.
        A session started here speaks `language` (see `session_id`)."""
        try:
            return action(self.session_id(language=language))
        except errors.SessionNotFound:
            self.store.forget_session(self.settings.api_key)
            self.settings.notice("The previous editing session is gone (code 1002); started a new one. "
                                 "Upload your files again if the video needs them.")
            return action(self.session_id(new=True, language=language))

    def draft(self, session_id: str) -> Any:
        """The session's current draft (None when the state holds none)."""
        data = self.call("GET", "state", params={"session_id": session_id})
        state = data.get("state") if isinstance(data, dict) else None
        return state.get("draft") if isinstance(state, dict) else None

    # -- requests ---------------------------------------------------------------------------------

    def _announce(self) -> None:
        if not self._announced:
            self._announced = True
            self.settings.notice(LOCAL_NOTICE if self.settings.local else CLOUD_NOTICE)

    def _error(self, resp: httpx.Response, body: Any, render: bool) -> errors.APIError | None:
        retry_after = parse_retry_after(resp.headers.get("retry-after"), time.time())
        failed = resp.status_code >= 400
        if isinstance(body, dict) and not failed:
            if render and body.get("success") is False:
                failed = True
            code = body.get("code")
            if code not in (None, 0, "0", 200) and not (render and body.get("success") is True):
                failed = True
        if failed:
            return errors.error_from(resp.status_code, body, _request_id(resp), retry_after)
        return None

    def _send(self, method: str, url: str, *, auth: bool, render: bool, stream: bool, json: Any,
              files: Callable[[], Any] | None, headers: dict[str, str] | None,
              timeout: httpx.Timeout | None) -> tuple[httpx.Response, Any]:
        """One attempt: the open response and its parsed body (None for a stream), or the error it stands for
        (httpx.TransportError, or an APIError from the answer)."""
        request_headers = dict(headers or {})
        if auth:
            request_headers["Authorization"] = f"Bearer {self.token()}"
        request = self.http.build_request(method, url, json=json, files=files() if files else None,
                                          headers=request_headers, timeout=timeout or self.timeout)
        resp = self.http.send(request, stream=stream)
        try:
            body: Any = None
            if not (stream and resp.headers.get("content-type", "").startswith("text/event-stream")
                    and resp.status_code < 400):
                resp.read()
                try:
                    body = resp.json()
                except ValueError:
                    body = None
            error = self._error(resp, body, render)
            if error is None and not stream and not isinstance(body, dict):
                error = errors.ServerError(f"unexpected answer from the backend (HTTP {resp.status_code})",
                                           status=resp.status_code, request_id=_request_id(resp),
                                           hint="Try again in a minute.")
        except BaseException:
            resp.close()
            raise
        if error is not None:
            resp.close()
            raise error
        return resp, body

    def _refused(self, error: errors.AuthError, tries: _Tries) -> None:
        """A refused token (1001/401): a new anonymous token once, then the call once more; raises when that is
        not possible. Until a new token is had the old one is kept: a refusal may be spurious, and deleting a valid
        token when the token route then answers 429 would lock the install out."""
        if self.env_token:
            raise errors.AuthError("NEMO_TOKEN is invalid or expired", code=error.code, status=error.status,
                                   request_id=error.request_id,
                                   hint="Set a valid token, or unset NEMO_TOKEN to use a free one.")
        if tries.renewed:
            if tries.kept_old:
                raise errors.AuthError("the token was refused and no new one can be had now", code=error.code,
                                       status=error.status, request_id=error.request_id,
                                       hint="The current token is kept: try again in a few minutes, or set "
                                            "NEMO_TOKEN to a token from your NemoVideo account.")
            raise error
        tries.renewed = True
        self.settings.notice("The token was refused (code 1001); getting a new one...")
        old = self._token
        try:
            self._token = self._acquire()
        except errors.AuthError as exc:
            self._token, tries.kept_old = old, True
            self.settings.notice(f"No new token could be had ({exc.message}); trying once more with the current "
                                 "one...")

    def _unreachable(self, exc: httpx.TransportError) -> errors.NetworkError:
        what = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not be reached"
        where = "the local backend" if self.settings.local else "NemoVideo"
        return errors.NetworkError(f"{where} {what} ({type(exc).__name__})",
                                   hint="Check the connection and try again, or use --local.")

    @contextmanager
    def _exchange(self, method: str, name: str, *, params: dict[str, str] | None = None, auth: bool = True,
                  render: bool = False, stream: bool = False, json: Any = None,
                  files: Callable[[], Any] | None = None, headers: dict[str, str] | None = None,
                  timeout: httpx.Timeout | None = None) -> Iterator[tuple[httpx.Response, Any]]:
        """Send a request until it succeeds or must stop; yield (response, parsed body) of the success.

        What is tried again, and after how long, is `backoff.retry_wait`'s decision; a refused token is renewed
        once (`_refused`)."""
        url = self.settings.endpoint(name, **(params or {}))
        tries = _Tries()
        self._announce()
        while True:
            try:
                resp, body = self._send(method, url, auth=auth, render=render, stream=stream, json=json,
                                        files=files, headers=headers, timeout=timeout)
            except errors.AuthError as error:
                if not auth:
                    raise
                self._refused(error, tries)
                continue
            except (httpx.TransportError, errors.APIError) as error:
                wait = retry_wait(error, idempotent=method == "GET", attempt=tries.attempt,
                                  rate_waited=tries.rate_waited, policy=self.settings.retry, rand=self.settings.rand)
                if wait is None:
                    raise self._unreachable(error) if isinstance(error, httpx.TransportError) else error from None
                if isinstance(error, errors.RateLimited):
                    tries.rate_waited = True
                    self.settings.notice(f"Rate limited (HTTP 429); trying once more in {wait:.0f} s...")
                else:
                    tries.attempt += 1
                self.settings.sleep(wait)
                continue
            try:
                yield resp, body
                return
            finally:
                resp.close()

    def call(self, method: str, name: str, **kwargs: Any) -> Any:
        """One JSON call; returns the envelope's `data` (for render calls, `data` or the body itself)."""
        render = bool(kwargs.get("render"))
        with self._exchange(method, name, **kwargs) as (_, body):
            if render:
                return body.get("data") if isinstance(body.get("data"), dict) else body
            return body.get("data") if "data" in body else body

    @contextmanager
    def stream(self, name: str, json: Any, read_timeout: float) -> Iterator[httpx.Response]:
        """An open SSE response (errors before the stream starts are raised like any call's)."""
        timeout = httpx.Timeout(connect=self.timeout.connect, read=read_timeout, write=self.timeout.write,
                                pool=self.timeout.pool)
        headers = {"Accept": "text/event-stream"}
        with self._exchange("POST", name, json=json, stream=True, headers=headers, timeout=timeout) as (resp, _):
            yield resp
