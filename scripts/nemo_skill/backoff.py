"""Retry timing, as pure functions (the clock and the random source passed in): which failures are tried again,
and how long to wait first. The send loop in `api` asks `retry_wait` after every failed attempt."""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from nemo_skill import errors


@dataclass(frozen=True)
class RetryPolicy:
    """skill.yaml's `retry` section."""

    network_attempts: int = 3        # tries of an idempotent request on connection errors and 5xx answers
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    rate_limit_wait: float = 30.0    # after HTTP 429 without Retry-After
    longest_wait: float = 120.0      # a Retry-After longer than this is not waited for

    @classmethod
    def from_config(cls, retry: Mapping[str, Any]) -> RetryPolicy:
        return cls(int(retry["network_attempts"]), float(retry["backoff_base"]), float(retry["backoff_max"]),
                   float(retry["rate_limit_wait"]))


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 8.0,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (0-based): base*2^attempt capped, jittered to 50-100 %."""
    ceiling = min(cap, base * (2 ** max(0, attempt)))
    return ceiling * (0.5 + 0.5 * rand())


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header (delta seconds or HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def rate_limit_wait(retry_after: float | None, default: float, longest: float) -> float | None:
    """How long to wait before the one retry after HTTP 429; None when the server asks for longer than `longest`."""
    if retry_after is None:
        return default
    if retry_after > longest:
        return None
    return retry_after


def retry_wait(error: Exception, *, idempotent: bool, attempt: int, rate_waited: bool, policy: RetryPolicy,
               rand: Callable[[], float] = random.random) -> float | None:
    """Seconds to wait before sending the same request again, or None when it must not be sent again.

    A connection error or a 5xx answer: again only for an idempotent request (GET), with exponential backoff,
    `policy.network_attempts` tries in all (`attempt` counts those made, from 0). HTTP 429: once, after
    Retry-After or the policy's wait. Anything else is final (token refusals are the caller's: they need a
    new token, not a wait)."""
    if isinstance(error, httpx.TransportError | errors.ServerError):
        if idempotent and attempt + 1 < policy.network_attempts:
            return backoff_delay(attempt, policy.backoff_base, policy.backoff_max, rand)
        return None
    if isinstance(error, errors.RateLimited) and not rate_waited:
        return rate_limit_wait(error.retry_after, policy.rate_limit_wait, policy.longest_wait)
    return None
