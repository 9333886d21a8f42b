#!/usr/bin/env python3
"""Chinese speech recognition: character error rate and speed of the multilingual model ([captions-zh]) on a
neural Mandarin voice (tests/mandarin_tts.py, run in its own environment with TensorFlow).

    NEMO_TEST_MANDARIN_PYTHON=.ci/mandarin/bin/python python3 bench/chinese_bench.py

The sentences are everyday podcast and music-show speech written for this benchmark. Not a test: BENCHMARKS.md
records the results.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from nemo_local.media.ffmpeg import probe  # noqa: E402
from nemo_local.speech import asr, models  # noqa: E402
from nemo_local.speech.scoring import edit_distance  # noqa: E402

SENTENCES = [
    "今天天气很好，我们去公园散步吧。", "欢迎收听本期节目，我是主持人小明。",
    "这个问题非常重要，我们下次再谈。", "音乐和视频的结合让创作变得更加有趣。",
    "感谢大家的支持，请记得订阅我们的频道。", "这首歌的节奏很快，适合跑步的时候听。",
    "下周我们会邀请一位特别的嘉宾来聊聊电影。", "如果你有任何建议，欢迎在评论区留言。",
]
HAN = re.compile(r"[\u4e00-\u9fff]")


def main() -> None:
    voice = os.environ.get("NEMO_TEST_MANDARIN_PYTHON")
    if not voice:
        raise SystemExit("set NEMO_TEST_MANDARIN_PYTHON to the python of the Mandarin voice's environment "
                         "(.ci/run makes .ci/mandarin)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "zh.wav"
        made = subprocess.run([voice, str(ROOT / "tests" / "mandarin_tts.py"), str(path), "0.6", *SENTENCES],
                              capture_output=True, text=True, check=True)
        onsets = json.loads(made.stdout.strip().splitlines()[-1])
        duration = probe(path).duration or 0.0
        models.model_source("zh")   # its files found and hashed before the clock starts; loading is timed
        started = time.perf_counter()
        heard = asr.transcribe(path, language="zh")
        seconds = time.perf_counter() - started
    said, got = HAN.findall("".join(SENTENCES)), HAN.findall("".join(w.text for w in heard))
    errors = edit_distance(said, got)
    firsts = [min((w.start for w in heard if w.start >= t - 0.5), default=float("nan")) for t in onsets]
    print("| audio s | characters said | character errors | CER | transcription s (model load included) | "
          "x realtime | worst sentence-start error s |")
    print("|---|---|---|---|---|---|---|")
    worst = max(abs(f - t) for f, t in zip(firsts, onsets, strict=True))
    print(f"| {duration:.1f} | {len(said)} | {errors} | {errors / len(said):.3f} | {seconds:.1f} | "
          f"{duration / seconds:.1f} | {worst:.2f} |")
    print("heard:", "".join(w.text for w in heard))


if __name__ == "__main__":
    main()
