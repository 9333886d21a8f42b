"""Word times to the frame: the recogniser's words aligned to the audio by pocketsphinx (forced alignment of a
known text; in the `[captions]` extra). Whisper's own word times are loose by 60-200 ms, which shows as a
highlight that runs early or late; the aligner places a word's start within a frame or two.

The aligner's en-us model ships inside the official pocketsphinx wheel; every file it loads is checked against
the SHA-256 of the same file in cmusphinx/pocketsphinx (release v5.1.1) before use. Without pocketsphinx, or if
a check or the alignment fails, the words keep the recogniser's times.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from nemo_local.speech.models import sha256
from nemo_local.speech.words import RATE, Word

log = logging.getLogger("nemo_local")

MODEL_PINS = {   # model/en-us/... in cmusphinx/pocketsphinx v5.1.1
    "cmudict-en-us.dict": "20b5c293e1f311fb375fe067e500ec5636f4fc7af5594967263696def9b23bfe",
    "en-us/mdef": "2360f9a86889c1cfee8bd618a0269387911e5fb2920a594f506b18b8c79683b0",
    "en-us/means": "832019e32cac12eb318964f96f469034acb12d0348eeddc3831831a100cb4dd4",
    "en-us/variances": "b00d696f85e96834fc10f8e5f06428d8c4db6bffdbe5845b6f69bf6efbc48fa5",
    "en-us/sendump": "8c9564c0d5bef69ca9d9bf1014abe162f071644cf02cf1fa8a483c3dc165a7a8",
    "en-us/transition_matrices": "c1f7f28ea43177be734be1f88bd7f1b9a853d0e660f8599c67c6eaeca8bb539a",
    "en-us/feat.params": "c982c5f75e2a30c34d2c9ef1f6b129a5a00e67e3e927565076b58664cc2404c9",
    "en-us/noisedict": "7295b07df2c204c4f87c6782b6be1a3859d7006d4e3864181c955d6dab105a33",
}
FRAMES_PER_S = 100
BEAMS = {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80}   # wide: the default beams lose long utterances


@lru_cache(maxsize=1)
def model_folder() -> Path | None:
    """The pinned en-us model folder, or None (not installed, or its files differ from upstream)."""
    if importlib.util.find_spec("pocketsphinx") is None:
        return None
    from pocketsphinx import get_model_path  # the [captions] extra (checked just above)

    folder = Path(get_model_path()) / "en-us"
    for name, digest in MODEL_PINS.items():
        path = folder / name
        if not path.is_file() or sha256(path) != digest:
            log.warning("pocketsphinx model file %s differs from upstream; word times stay the recogniser's", name)
            return None
    return folder


def _key(text: str) -> str:
    return re.sub(r"[^a-z']", "", text.lower()).strip("'")


def align(words: list[Word], samples: np.ndarray) -> list[Word]:
    """`words` (times relative to `samples`, 16 kHz mono float) with the aligner's times where it placed them."""
    folder = model_folder()
    if folder is None or not words or len(samples) < RATE // 10:
        return words
    from pocketsphinx import Decoder  # the [captions] extra (model_folder found it)

    decoder = Decoder(hmm=str(folder / "en-us"), dict=str(folder / "cmudict-en-us.dict"), lm=None, samprate=RATE,
                      loglevel="FATAL", **BEAMS)
    tokens = [(i, key) for i, w in enumerate(words) if (key := _key(w.text)) and decoder.lookup_word(key)]
    if not tokens:
        return words
    try:
        decoder.set_align_text(" ".join(key for _, key in tokens))
        decoder.start_utt()
        decoder.process_raw((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes(), full_utt=True)
        decoder.end_utt()
        segments = decoder.seg()
    except RuntimeError:
        return words
    if segments is None:
        return words
    placed = [(s.word.split("(")[0], s.start_frame, s.end_frame) for s in segments
              if s.word not in ("<s>", "</s>", "<sil>") and not s.word.startswith(("[", "+"))]
    out, j = list(words), 0
    for name, start, end in placed:
        while j < len(tokens) and tokens[j][1] != name:
            j += 1
        if j == len(tokens):
            break
        i = tokens[j][0]
        out[i] = Word(start / FRAMES_PER_S, (end + 1) / FRAMES_PER_S, words[i].text, words[i].probability)
        j += 1
    return out
