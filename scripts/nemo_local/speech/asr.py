"""Speech recognition on this machine: faster-whisper, with a model from `models` (never fetched from a
hub at run time unless the user allows it). Audio is decoded by ffmpeg and transcribed in windows of WINDOW_S, so
memory does not grow with its length; the words are cached beside the audio.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from nemo_local.media.ffmpeg import decode_pcm
from nemo_local.speech.align import align
from nemo_local.speech.models import Model, Source, SpeechUnavailable, available, model_source
from nemo_local.speech.words import RATE, Word, characters, tighten

# `available` and `SpeechUnavailable` are the callers' way to ask before transcribing (asr.available(...)).
__all__ = ["SpeechUnavailable", "available", "caption_language", "transcribe"]

# Whisper writes Mandarin in traditional characters as often as not. A prompt in simplified characters steers it,
# but on unclear speech Whisper repeats the prompt as if it were heard; so the words are converted instead (OpenCC,
# in the [captions-zh] extra): "zh" is simplified Chinese, "zh-Hant" traditional.
CONVERSIONS = {"zh": "t2s", "zh-Hant": "s2t"}
WINDOW_S = 120.0          # audio transcribed at once
TAIL_S = 3.0              # words ending this close to a window's end are heard again in the next window
CACHE_VERSION = 3


def caption_language(value: object) -> str | None:
    """A draft's `m.caption_language` as a language to transcribe in: "zh" or "zh-Hant", else None (English). The
    draft is client data: anything else is not passed on to the recogniser."""
    return value if isinstance(value, str) and value in CONVERSIONS else None


def _model(source: Source) -> Any:
    return _load(tuple(sorted(source.files.items())), source.model)


@lru_cache(maxsize=1)
def _load(files: tuple[tuple[str, tuple[Path, ...]], ...], model: Model | None) -> Any:
    from faster_whisper import WhisperModel  # the [captions] extra, loaded when captions are asked for

    options: dict[str, Any] = {"device": "cpu", "compute_type": "int8", "cpu_threads": min(4, os.cpu_count() or 2),
                               "local_files_only": True}
    if all(len(parts) == 1 for _, parts in files):
        return WhisperModel(str(files[0][1][0].parent), **options)
    # A model split across packages is loaded from memory, joined, without writing a copy. Its parts were checked
    # against the pins when they were found (matches()); the joined bytes are checked again as they are loaded.
    joined = {name: b"".join(p.read_bytes() for p in parts) for name, parts in files}
    if model is None or any(hashlib.sha256(data).hexdigest() != model.pins[name] for name, data in joined.items()):
        raise SpeechUnavailable("the speech model's files changed while loading; reinstall them")
    return WhisperModel(model.name, files=joined, **options)


def _cache_path(audio: Path, name: str, language: str | None) -> Path:
    stat = audio.stat()
    return audio.with_name(f".{audio.name}.transcript-v{CACHE_VERSION}-{name}{'-' + language if language else ''}-"
                           f"{stat.st_size}-{int(stat.st_mtime)}.json")


def transcribe(audio: Path, progress: Callable[[float], None] = lambda f: None,
               duration: float | None = None, language: str | None = None, accurate: bool = False) -> list[Word]:
    """The words spoken in the file, with times; cached next to it (per model). `language` "zh" asks for Chinese
    in simplified characters, "zh-Hant" in traditional ones (the multilingual model, a word per character); None
    is English, or what a configured multilingual model hears. `accurate`: the most accurate installed model."""
    source = model_source(language, accurate)
    target = _cache_path(audio, source.name, language)
    if target.exists():
        try:
            return [Word(*w) for w in json.loads(target.read_text())["words"]]
        except (OSError, ValueError, KeyError, TypeError):
            target.unlink(missing_ok=True)
    model = _model(source)
    words: list[Word] = []
    proc = decode_pcm(audio, RATE)
    assert proc.stdout is not None
    carry = np.zeros(0, np.float32)
    offset = 0.0
    try:
        while True:
            raw = proc.stdout.read(int((WINDOW_S - len(carry) / RATE) * RATE) * 2)
            fresh = np.frombuffer(raw[: len(raw) - len(raw) % 2], "<i2").astype(np.float32) / 32768.0
            block = np.concatenate([carry, fresh])
            last = len(fresh) == 0 or len(block) < WINDOW_S * RATE - RATE
            if len(block) < RATE // 10:
                break
            heard = _words(model, block, offset, language)
            end = offset + len(block) / RATE
            keep = heard if last else [w for w in heard if w.end <= end - TAIL_S]
            words += keep
            if last:
                break
            cut = keep[-1].end if keep else end - TAIL_S
            carry = block[int((cut - offset) * RATE):]
            offset = cut
            if duration:
                progress(min(1.0, offset / duration))
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
    _save(target, source.name, words)
    return words


def _words(model: Any, samples: np.ndarray, offset: float, language: str | None = None) -> list[Word]:
    multilingual = bool(getattr(getattr(model, "model", None), "is_multilingual", False))
    spoken = language.split("-")[0] if language else None
    segments, _ = model.transcribe(samples, language=spoken or (None if multilingual else "en"), beam_size=5,
                                   word_timestamps=True, condition_on_previous_text=False, vad_filter=False)
    convert = _converter(CONVERSIONS.get(language or ""))
    heard = characters([Word(w.start, w.end, convert(w.word.strip()), round(float(w.probability), 3))
                        for segment in segments for w in segment.words or [] if w.word.strip()])
    return [Word(round(offset + w.start, 3), round(offset + w.end, 3), w.text, w.probability)
            for w in align(tighten(heard, samples), samples)]


@lru_cache(maxsize=2)
def _converter(config: str | None) -> Callable[[str], str]:
    """Simplified <-> traditional Chinese (OpenCC); text as it is without a conversion or without OpenCC."""
    if config is None or importlib.util.find_spec("opencc") is None:
        return str
    import opencc  # the [captions-zh] extra (checked just above)

    return opencc.OpenCC(config).convert


def _save(target: Path, name: str, words: list[Word]) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-transcript-", suffix=".part")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump({"model": name, "words": [[w.start, w.end, w.text, w.probability] for w in words]}, handle)
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
