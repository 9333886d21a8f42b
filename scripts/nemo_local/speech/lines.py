"""What the captions or the lyrics show, and when: pages (a caption, or a lyric line, each in a row or more)
from the user's own file or from what the recogniser heard, with the user's corrections. Pure.

- Captions of speech: a timed file's cues stay cues (never merged), their words timed by what was heard near
  them; a plain script's words are placed by what was heard, then grouped into captions at pauses and sentences.
- Lyrics: a timed file's lines stay where the user put them (the singing never moves them); plain lyrics are
  placed on the singing (`lyrics.place`); without a file, what was heard, a caption-sized line at a time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nemo_local.analysis import Analysis
from nemo_local.speech import asr
from nemo_local.speech.captions import Page, pages, wrap
from nemo_local.speech.lyrics import Placed, corrected, place, sung_in
from nemo_local.speech.transcripts import Cue, Script, cue_words, read, words
from nemo_local.speech.words import Word


def placed_file(audio: Path, lyrics_file: Path, analysis: Analysis) -> Placed:
    """Plain lyrics in a file placed on a track's singing, as the render will place them (what the recogniser
    hears there, else the sung stretches only)."""
    script = read(lyrics_file)
    heard = asr.transcribe(audio) if asr.available() is None else []
    return place([cue.text for cue in script.cues], heard, sung_in(analysis), analysis.duration)


@dataclass
class Shown:
    pages: list[Page]
    placed: Placed | None = None     # plain lyrics: how they were placed on the singing


def _cue_pages(cues: list[Cue], heard: list[Word] | None, max_chars: int) -> list[Page]:
    out = []
    for cue, timed in zip(cues, cue_words(cues, heard), strict=True):
        if timed and cue.start is not None and cue.end is not None:
            out.append(Page(wrap(timed, max_chars), cue.start, cue.end))
    return out


def captions(script: Script | None, heard: list[Word], max_chars: int) -> Shown:
    """Caption pages of speech."""
    if script is None:
        return Shown(pages(heard, max_chars))
    if script.timed:
        return Shown(_cue_pages(script.cues, heard, max_chars))
    return Shown(pages(words(script.joined(), heard), max_chars))


def lyrics(script: Script | None, heard: list[Word], sung: list[tuple[float, float]], duration: float,
           max_chars: int, starts: list[tuple[int, float]], shift: float) -> Shown:
    """One page per lyric line, with the user's corrections (`starts`: (line number, seconds); `shift`: seconds
    later, negative earlier)."""
    if script is None:
        heard_pages = pages(heard, max_chars)
        cues = [Cue(p.start, p.end, " ".join(w.text for w in p.words)) for p in heard_pages]
        placed = None
    elif script.timed:
        cues, placed = script.cues, None
    else:
        placed = place([c.text for c in script.cues], heard, sung, duration)
        cues = [Cue(a, b, c.text) for c, (a, b) in zip(script.cues, placed.spans, strict=True)]
    if starts or shift:
        spans = corrected([(c.start or 0.0, c.end or 0.0) for c in cues], starts, shift)
        cues = [Cue(a, b, c.text, [s + a - (c.start or 0.0) for s in c.stamps] if c.stamps else None)
                for c, (a, b) in zip(cues, spans, strict=True)]
    return Shown(_cue_pages(cues, None, max_chars), placed)
