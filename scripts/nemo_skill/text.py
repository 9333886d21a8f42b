"""Backend text made safe to print: it is data for the user, never bytes that drive their terminal."""

from __future__ import annotations

import re

# C0 controls but newline and tab, DEL, C1 controls (0x9b is a one-byte CSI on some terminals) and the
# bidirectional overrides that can make shown text differ from what it is.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """The text without terminal control characters (escape sequences, bell, OSC, C1); newlines stay."""
    return _UNSAFE.sub("", text)


def json_safe(dumped: str) -> str:
    """A json.dumps(ensure_ascii=False) result with the characters JSON leaves raw but terminals act on escaped."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m[0]):04x}", dumped)
