"""Intent routing: a user's words -> one of preview, export, credits, state, upload, chat, by the keyword table in
skill.yaml (the agent may route differently when it understands the words better: the table is a default).

What else the words carry is kept: the files they name (uploaded first; other words then go to the video agent
as they are), and where the video goes and how large it may be ("send it to me for Discord", "under 8 MB")."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemo_skill.destinations import PLACE_WORDS, SIZE_WORDS, place_in, size_in

ACTIONS = ("preview", "export", "credits", "state", "upload", "chat")
FILLER = re.compile(r"\b(?:please|pls|this|that|these|it|my|me|us|the|a|an|file|files|and|then|now|here|is|are|"
                    r"to|of|over|ok|okay|when|ready|as|video|clip|mp4|so)\b|"
                    r"[^\w\u3400-\u9fff]+|请|帮我|一下|这个|文件|视频|吧", re.I)


@dataclass(frozen=True)
class Route:
    action: str
    keyword: str | None = None
    files: list[str] = field(default_factory=list)
    more: bool = False                 # words besides the keyword and the files: they go to the video agent
    place: str | None = None           # where the words say the video goes (a destinations key)
    max_size: str | None = None        # the size cap the words state ("8 MB")

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "keyword": self.keyword, "files": self.files, "more": self.more,
                "place": self.place, "max_size": self.max_size}


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


def _more(text: str, keyword: str | None, files: list[str]) -> bool:
    """Whether the words say more than the keyword and the files (what the video agent should hear)."""
    rest = text
    for name in files:
        rest = rest.replace(name, " ")
    if keyword:
        rest = keyword_pattern(keyword).sub(" ", rest)
    for pattern in [SIZE_WORDS, *(place for place, _ in PLACE_WORDS)]:   # kept as options, not said again
        rest = pattern.sub(" ", rest)
    return bool(FILLER.sub("", rest).strip())


def route(text: str, intents: Iterable[dict[str, Any]],
          exists: Callable[[str], bool] = lambda p: Path(p).is_file()) -> Route:
    """The first table row with a keyword in the text wins; a named existing file with no keyword means upload."""
    files = mentioned_files(text, exists)
    place, size = place_in(text), size_in(text)
    for row in intents:
        action = str(row["action"])
        for keyword in row.get("keywords") or []:
            if keyword_pattern(str(keyword)).search(text):
                return Route(action, str(keyword), files, _more(text, str(keyword), files), place, size)
        if action == "upload" and files:
            return Route("upload", None, files, _more(text, None, files), place, size)
    return Route("chat", None, files, bool(text.strip()), place, size)
