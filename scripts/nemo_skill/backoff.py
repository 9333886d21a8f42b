"""Retry timing: exponential backoff with jitter, and the Retry-After header. Pure; clock passed in."""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable


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
