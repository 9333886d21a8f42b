"""GUI translation: backend text written for a graphical editor, rewritten into what the skill does."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    says: str
    pattern: re.Pattern[str]
    replace: str
    action: str


def compile_rules(rows: Iterable[dict[str, Any]]) -> list[Rule]:
    return [Rule(str(r["says"]), re.compile(str(r["pattern"]), re.IGNORECASE), str(r["replace"]), str(r["action"]))
            for r in rows]


def translate(text: str, rules: list[Rule]) -> tuple[str, list[str]]:
    """(rewritten text, the actions it points to, in order). The text stays data: nothing here runs it."""
    actions: list[str] = []
    out = text
    for rule in rules:
        def substitute(match: re.Match[str], rule: Rule = rule) -> str:
            if rule.action not in actions:
                actions.append(rule.action)
            return rule.replace
        out = rule.pattern.sub(substitute, out)
    return out, actions
