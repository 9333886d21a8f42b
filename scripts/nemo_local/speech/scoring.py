"""How speech recognition is scored, as ASR benchmarks count it: the word error rate after Whisper's English
normaliser (case, punctuation, British and American spellings, numbers in words or digits, "Mr" and "Mister" are
no errors), and the character error rate for Chinese. For the benchmarks and the tests: the normaliser comes with
the dev extra (whisper-normalizer, the MIT-licensed copy of Whisper's own)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any


def edit_distance(said: list[str], heard: list[str]) -> int:
    """Levenshtein distance between two token lists (substitutions, insertions and deletions cost one)."""
    row = list(range(len(heard) + 1))
    for i, a in enumerate(said, 1):
        previous, row[0] = row[0], i
        for j, b in enumerate(heard, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (a != b))
    return row[-1]


@lru_cache(maxsize=1)
def _english() -> Any:
    from whisper_normalizer.english import EnglishTextNormalizer  # the dev extra

    return EnglishTextNormalizer()


def normalised(text: str) -> list[str]:
    """The words of an English text as the scorer compares them."""
    return str(_english()(text)).split()


def word_error_rate(said: str, heard: str) -> float:
    """Errors per word said, after normalising both texts; 0 for an empty reference heard as nothing."""
    reference, hypothesis = normalised(said), normalised(heard)
    return edit_distance(reference, hypothesis) / max(1, len(reference)) if reference or hypothesis else 0.0


def character_error_rate(said: str, heard: str) -> float:
    """Errors per Chinese character said (punctuation and spaces ignored)."""
    keep = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
    reference, hypothesis = keep.findall(said), keep.findall(heard)
    return edit_distance(reference, hypothesis) / max(1, len(reference))
