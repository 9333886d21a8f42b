"""GUI translation: backend text written for a graphical editor ("click the Export button"), rewritten into what
the skill does instead. A sentence that speaks of the editor is replaced whole by the skill's own sentences (one
per thing it mentions), in the sentence's language; other sentences stay as they are. Nothing is ever spliced
into the middle of a sentence. The text stays data: nothing here runs it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SENTENCE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+|(?=\n)|$)[ \t]*|\n")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Rule:
    says: str
    pattern: re.Pattern[str]
    instead: str              # what the skill says in place of an English sentence that matches
    instead_zh: str           # ... of a Chinese one
    action: str               # the command that does it (export, state, chat)


def compile_rules(rows: Iterable[dict[str, Any]]) -> list[Rule]:
    return [Rule(str(r["says"]), re.compile(str(r["pattern"]), re.IGNORECASE), str(r["instead"]),
                 str(r["instead_zh"]), str(r["action"])) for r in rows]


def sentences(text: str) -> list[str]:
    """The text cut into sentences, each with the spaces after it; joined they are the text again."""
    parts = SENTENCE.findall(text)
    return parts if "".join(parts) == text else [text]


def translate(text: str, rules: list[Rule]) -> tuple[str, list[str]]:
    """(rewritten text, the actions it points to, in order)."""
    actions: list[str] = []
    out = []
    for sentence in sentences(text):
        matched = [rule for rule in rules if rule.pattern.search(sentence)]
        if not matched:
            out.append(sentence)
            continue
        chinese = bool(CJK.search(sentence))
        said = list(dict.fromkeys(rule.instead_zh if chinese else rule.instead for rule in matched))
        trailing = sentence[len(sentence.rstrip()):]
        out.append(("" if chinese else " ").join(said) + (trailing or ("" if chinese else " ")))
        actions += [action for action in dict.fromkeys(rule.action for rule in matched) if action not in actions]
    return "".join(out).rstrip() if out and not text.endswith((" ", "\n")) else "".join(out), actions
