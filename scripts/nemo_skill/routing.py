"""Intent routing: a user's words -> one of export, credits, state, upload, chat, by the keyword table."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACTIONS = ("export", "credits", "state", "upload", "chat")


@dataclass(frozen=True)
class Route:
    action: str
    keyword: str | None = None
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "keyword": self.keyword, "files": self.files}


def keyword_pattern(keyword: str) -> re.Pattern[str]:
    """Latin keywords match as whole words (any case, any spacing); others, such as Chinese, anywhere."""
    words = [re.escape(w) for w in keyword.split()]
    body = r"\s+".join(words)
    if keyword.isascii():
        return re.compile(rf"(?<![\w]){body}(?![\w])", re.IGNORECASE)
    return re.compile(body, re.IGNORECASE)


def mentioned_files(text: str, exists: Callable[[str], bool]) -> list[str]:
    """Words of the text (quoted or not) that name an existing file."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    found: list[str] = []
    for word in words:
        candidate = word.strip("'\"“”,;()[]")
        if candidate and ("/" in candidate or "." in candidate or "\\" in candidate) \
                and exists(str(Path(candidate).expanduser())) and candidate not in found:
            found.append(candidate)
    return found


def route(text: str, intents: Iterable[dict[str, Any]],
          exists: Callable[[str], bool] = lambda p: Path(p).is_file()) -> Route:
    """The first table row with a keyword in the text wins; a named existing file means upload."""
    files = mentioned_files(text, exists)
    for row in intents:
        action = str(row["action"])
        for keyword in row.get("keywords") or []:
            if keyword_pattern(str(keyword)).search(text):
                return Route(action, str(keyword), files)
        if action == "upload" and files:
            return Route("upload", None, files)
    return Route("chat", None, files)
