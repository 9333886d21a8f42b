"""The director's rules for words on screen that the user writes: the title and the lower third (speaker or
show name and the episode). Part of the director (the only place words become a draft).

Text track (tt=7) segments: `t1` the title (`text`, `s`, `d`), `l1` the lower third (`kind: lower_third`, `text`,
`sub`, `s`, `d`).
"""

from __future__ import annotations

import re
from typing import Any


def _find_title(text: str) -> tuple[str, float | None] | None:
    m = re.search(r"(?:title[ds]?|headline|标题)\s*(?:is|to|of|:|为)?\s*[\"“'「](.+?)[\"”'」]"
                  r"(?:[^.\n]*?\bfor\s+(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)\b)?", text, re.I)
    if not m:
        return None
    return m[1].strip(), float(m[2]) if m[2] else None


QUOTE = r"(?:\s*(?:is|:|=))?\s+[\"“'「](.+?)[\"”'」]"     # a space before the quote: never inside a quoted word
NAME = re.compile(r"\b(?:speaker|host|guest|presenter|hosted by|lower third)" + QUOTE, re.I)
SUBTITLE = re.compile(r"\b(?:show|podcast|episode(?: title)?|subtitle|role)" + QUOTE, re.I)
NO_LOWER_THIRD = re.compile(r"\b(?:no|remove|without|drop)(?: the)? (?:lower third|name tag|speaker name)\b", re.I)
LOWER_THIRD_FROM_MS, LOWER_THIRD_MS = 500, 6000


def _lower_third(text: str, texts: dict[str, dict[str, Any]], duration: int, changes: list[str]) -> str:
    """Speaker or show name and the episode as a lower third (text segment `l1`, kind `lower_third`); returns
    the text without those phrases, so "episode title 'X'" does not also become the title."""
    if NO_LOWER_THIRD.search(text):
        if texts.pop("l1", None):
            changes.append("lower third removed")
        return text
    name, sub = NAME.search(text), SUBTITLE.search(text)
    if not name and not sub:
        return text
    old = texts.get("l1", {})
    segment = {"id": "l1", "kind": "lower_third", "text": name[1].strip() if name else old.get("text", ""),
               "sub": sub[1].strip() if sub else old.get("sub", ""), "s": LOWER_THIRD_FROM_MS,
               "d": max(0, min(LOWER_THIRD_MS, duration - LOWER_THIRD_FROM_MS))}
    texts["l1"] = segment
    changes.append("lower third " + " / ".join(f'"{t}"' for t in (segment["text"], segment["sub"]) if t))
    for found in (name, sub):
        if found:
            text = text.replace(found[0], " ")
    return text




def ms(seconds: float) -> int:
    return round(seconds * 1000)


def text_segments(text: str, lowered: str, texts: dict[str, dict[str, Any]], duration: int,
                  changes: list[str]) -> dict[str, dict[str, Any]]:
    """The text track's segments by id after this message (the title from quoted words after "title")."""
    rest = _lower_third(text, texts, duration, changes)
    title = _find_title(rest)
    if title:
        seconds = title[1] if title[1] is not None else 3.0
        texts["t1"] = {"id": "t1", "text": title[0], "s": 0, "d": min(ms(seconds), duration or ms(seconds))}
        changes.append(f'title "{title[0]}"')
    elif re.search(r"\b(?:remove|delete|drop|no)\b[^.]*\btitle\b|去掉标题|删除标题", lowered) and "t1" in texts:
        del texts["t1"]
        changes.append("title removed")
    return texts
