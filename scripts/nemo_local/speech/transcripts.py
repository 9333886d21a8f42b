"""The user's own words for the captions and lyrics: an SRT, a WebVTT, an LRC (lyrics, also enhanced LRC with a
time for each word) or a plain text, read line by line as the user wrote them.

A timed file's lines keep their own times: each is its own cue, from its start until the next line starts (an
LRC line with a time and no words is such an end) or after a hold that suits its length, never merged with the
next. Lines that cannot be read (no valid time, an impossible one) are left out and counted; an overlong line is
cut and counted. Words get their times from the file (enhanced LRC, VTT word stamps), else from what the
recogniser heard (for speech; never moving a cue), else an even share of their cue. A plain text gets its times
from the recogniser. Pure functions but for reading the file."""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from nemo_local.speech.words import TOKENS, Word

MAX_BYTES = 1 << 20
MAX_LINE_CHARS = 200      # a longer line is cut (and counted): no caption or lyric line needs more
TIME = r"(?:(\d{1,2}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})"
CUE_TIMES = re.compile(rf"{TIME}\s*-->\s*{TIME}")
LRC_TAG = re.compile(r"\[\s*(-?)(\d{1,3}):(\d{1,2})(?:[.:](\d{1,3}))?\s*\]")
LRC_META = re.compile(r"^\s*\[([a-z#]+):([^\]]*)\]\s*$", re.I)
WORD_TAG = re.compile(r"<\s*(?:(\d{1,2}):)?(\d{1,3}):(\d{2})[.,:](\d{1,3})\s*>")
TAGS = re.compile(r"<[^>]*>|\{\\[^}]*\}")
NEAR_S = 1.0              # a heard word counts for a timed cue when it is this close to the cue
LONG_GAP_S = 8.0          # an LRC line lasts until the next one, unless that is further off: then it is held
MIN_WORD_S = 0.08


def hold(text: str) -> float:
    """How long a line without an end shows when nothing follows soon: long enough to read or sing it."""
    return min(8.0, max(2.5, 1.0 + 0.4 * len(text.split())))


@dataclass
class Cue:
    start: float | None
    end: float | None
    text: str
    stamps: list[float] | None = None     # each word's start, from the file (enhanced LRC, VTT word stamps)


@dataclass
class Script:
    """A file's cues, and what of it could not be used."""

    cues: list[Cue]
    skipped: int = 0          # lines left out: no valid time, an impossible one, an end before the start
    cut: int = 0              # lines cut at MAX_LINE_CHARS
    notes: list[str] = field(default_factory=list)

    @property
    def timed(self) -> bool:
        return bool(self.cues) and all(c.start is not None for c in self.cues)

    def joined(self) -> list[Cue]:
        """An untimed text as one cue (a speech script: its words are placed by the recogniser, its line breaks
        mean nothing); a timed file as it is."""
        return self.cues if self.timed else [Cue(None, None, " ".join(c.text for c in self.cues))]

    def said(self) -> str:
        """What was left out or cut, as the reply says it; "" when everything was used."""
        parts = []
        if self.skipped:
            parts.append(f"{self.skipped} line{'s' if self.skipped != 1 else ''} without a valid time "
                         f"{'were' if self.skipped != 1 else 'was'} left out")
        if self.cut:
            parts.append(f"{self.cut} overlong line{'s were' if self.cut != 1 else ' was'} cut at "
                         f"{MAX_LINE_CHARS} characters")
        return "; ".join(parts)


class ScriptError(ValueError):
    """The file cannot be read as captions; the message says why."""


def _seconds(h: str | None, m: str, s: str, frac: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(frac.ljust(3, "0")[:3]) / 1000


def read(path: Path, name: str | None = None) -> Script:
    """The cues of an .srt, .vtt, .lrc or .txt file (a .txt: a cue without times per line); `name` is what the
    user called it (its type, and what messages say), when the path is not. ScriptError when nothing in it can be
    used."""
    name = name or path.name
    raw = path.read_bytes()[:MAX_BYTES]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScriptError(f"{name} is not UTF-8 text: save it as UTF-8") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    script = _lrc(text) if ext == "lrc" else _blocks(text) if ext in ("srt", "vtt") else \
        Script([Cue(None, None, " ".join(line.split())) for line in text.split("\n") if line.strip()])
    kept = []
    for cue in script.cues:
        if not cue.text:
            continue
        if len(cue.text) > MAX_LINE_CHARS:
            cue.text = cue.text[: MAX_LINE_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;") + "…"
            cue.stamps = cue.stamps[: len(cue.text.split())] if cue.stamps else None
            script.cut += 1
        kept.append(cue)
    script.cues = kept
    if not kept:
        timed = ext in ("lrc", "srt", "vtt")
        raise ScriptError(f"{name}: no line has a valid time" + (
            " (an LRC line needs [mm:ss.xx] before its words)" if ext == "lrc" else
            " (each cue needs a line like 00:00:01,000 --> 00:00:03,000)") if timed else
            f"{name} holds no words")
    return script


def _blocks(text: str) -> Script:
    """SubRip and WebVTT: numbered or named cues, each a line of times and its words."""
    script = Script([])
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.strip().split("\n") if line.strip()]
        found = next(((k, CUE_TIMES.search(line)) for k, line in enumerate(lines) if "-->" in line), None)
        if found is None:
            continue
        k, times = found
        if times is None:
            script.skipped += 1
            continue
        start, end = _seconds(*times.groups()[:4]), _seconds(*times.groups()[4:])
        body = " ".join(lines[k + 1:])
        stamps = [_seconds(*m.groups()) for m in WORD_TAG.finditer(body)]
        words = " ".join(TAGS.sub("", body).split())
        if end <= start:
            script.skipped += 1
            continue
        if len(stamps) == len(words.split()) - 1:    # as this skill writes them: none before the first word
            stamps = [start, *stamps]
        ok = len(stamps) == len(words.split()) and all(start <= s < end for s in stamps) and \
            all(a <= b for a, b in itertools.pairwise(stamps))
        script.cues.append(Cue(start, end, words, stamps if ok else None))
    return script


def _lrc(text: str) -> Script:
    """LRC: `[mm:ss.xx]words` lines (several times a line allowed), `[offset:+ms]`, and enhanced LRC's
    `<mm:ss.xx>` before each word. A time with no words ends the line before it."""
    script, offset = Script([]), 0.0
    starts: list[tuple[float, str, list[float] | None]] = []
    for line in text.split("\n"):
        meta = LRC_META.match(line)
        if meta and not LRC_TAG.match(line):
            if meta[1].lower() == "offset" and re.fullmatch(r"\s*[+-]?\d{1,7}\s*", meta[2]):
                offset = int(meta[2]) / 1000      # + shows the lyrics sooner
            continue
        tags = list(LRC_TAG.finditer(line))
        if not tags:
            script.skipped += bool(line.strip())
            continue
        body = line[tags[-1].end():]
        stamps = [_seconds(*m.groups()) for m in WORD_TAG.finditer(body)]
        words = " ".join(LRC_TAG.sub("", TAGS.sub("", body)).split())
        for tag in tags:
            if tag[1] or int(tag[3]) >= 60:       # a negative or impossible time
                script.skipped += 1
                continue
            starts.append((int(tag[2]) * 60 + int(tag[3]) + int((tag[4] or "0").ljust(3, "0")[:3]) / 1000,
                           words, stamps))
    unique = sorted({(round(s - offset, 3), w): st for s, w, st in starts if s - offset >= 0}.items())
    for k, ((start, words), found) in enumerate(unique):
        if not words:
            continue                              # an end marker: the line before it stops here
        following = next((s for (s, _), _ in unique[k + 1:] if s > start), None)
        end = following if following is not None and following - start <= LONG_GAP_S else start + hold(words)
        script.cues.append(Cue(start, max(end, start + 0.1), words, _stamps(found, offset, start, end, words)))
    return script


def _stamps(stamps: list[float] | None, offset: float, start: float, end: float, words: str) -> list[float] | None:
    """An enhanced LRC line's word times, when there is one per word, in order, inside the line."""
    shifted = [s - offset for s in stamps or []]
    if not shifted or len(shifted) != len(words.split()) or shifted[-1] >= end or shifted[0] < start - 0.05:
        return None
    if any(a > b for a, b in itertools.pairwise(shifted)):
        return None
    return [max(start, s) for s in shifted]


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def words(cues: list[Cue], heard: list[Word] | None) -> list[Word]:
    """Timed words for the cues' text, in one list. Raises ScriptError for a script without times and nothing
    heard."""
    return [w for line in cue_words(cues, heard) for w in line]


def cue_words(cues: list[Cue], heard: list[Word] | None) -> list[list[Word]]:
    """Each cue's words with times: the file's own word stamps, else what was heard near the cue (`heard` None:
    nothing refines them, as on a song, where the singing is no guide to a line the user timed), else an even
    share of the cue. Raises ScriptError for a script without times and nothing heard."""
    tokens = [(k, w) for k, cue in enumerate(cues) for w in TOKENS.findall(cue.text)]
    times: list[tuple[float, float] | None] = [None] * len(tokens)
    at = 0
    for cue in cues:
        count = len(TOKENS.findall(cue.text))
        if cue.stamps and len(cue.stamps) == count and cue.end is not None:
            ends = [*cue.stamps[1:], cue.end]
            for i, (begin, end) in enumerate(zip(cue.stamps, ends, strict=True)):
                times[at + i] = (begin, max(begin + MIN_WORD_S / 2, end - 0.02))
        at += count
    if heard:
        matcher = difflib.SequenceMatcher(a=[_key(w) for _, w in tokens], b=[_key(w.text) for w in heard],
                                          autojunk=False)
        for block in matcher.get_matching_blocks():
            for i in range(block.size):
                k, _ = tokens[block.a + i]
                said = heard[block.b + i]
                cue = cues[k]
                if times[block.a + i] is None and (cue.start is None or (
                        cue.start - NEAR_S <= said.start and cue.end is not None and said.end <= cue.end + NEAR_S)):
                    times[block.a + i] = (said.start, said.end)
    elif any(c.start is None for c in cues):
        raise ScriptError("a script without times needs the speech recogniser to place its words")
    _fill(tokens, times, cues)
    out: list[list[Word]] = [[] for _ in cues]
    for (k, w), span in zip(tokens, times, strict=True):
        if span is not None:
            out[k].append(Word(span[0], span[1], w))
    return out


def _fill(tokens: list[tuple[int, str]], times: list[tuple[float, float] | None], cues: list[Cue]) -> None:
    """Give every word without a heard time one: an even share of the gap its cue (or its neighbours) leave."""
    i = 0
    while i < len(tokens):
        if times[i] is not None:
            i += 1
            continue
        j = i
        while j < len(tokens) and times[j] is None and tokens[j][0] == tokens[i][0]:
            j += 1
        cue = cues[tokens[i][0]]
        prev, nxt = (times[i - 1] if i > 0 else None), (times[j] if j < len(tokens) else None)
        before = prev[1] if prev is not None else None
        after = nxt[0] if nxt is not None else None
        lo = cue.start if cue.start is not None else before
        hi = cue.end if cue.end is not None else after
        if lo is not None and before is not None and tokens[i - 1][0] == tokens[i][0]:
            lo = max(lo, before)
        if hi is not None and after is not None and tokens[j][0] == tokens[i][0]:
            hi = min(hi, after)
        if lo is not None and hi is not None and hi - lo < MIN_WORD_S * (j - i) and (prev or nxt):
            # words the recogniser did not hear between two it did: borrow half of each neighbour's time
            if prev is not None:
                lo = (prev[0] + prev[1]) / 2
                times[i - 1] = (prev[0], lo)
            if nxt is not None:
                hi = (nxt[0] + nxt[1]) / 2
                times[j] = (hi, nxt[1])
        if lo is None or hi is None or hi <= lo:
            i = j
            continue
        weights = [len(tokens[k][1]) + 1 for k in range(i, j)]
        total, at = sum(weights), lo
        for k, weight in zip(range(i, j), weights, strict=True):
            step = (hi - lo) * weight / total
            times[k] = (at, at + step)
            at += step
        i = j
