#!/usr/bin/env python3
# /// script
# requires-python = ">=3.11"
# dependencies = [
#     "httpx>=0.27,<1",
#     "httpx-sse>=0.4,<1",
#     "pyyaml>=6",
#     "starlette>=0.37",
#     "uvicorn>=0.29",
#     "python-multipart>=0.0.18",
#     "numpy>=1.26",
#     "imageio-ffmpeg>=0.5",
#     "pillow>=10.1",
# ]
# ///
"""Audio-to-video skill: the one command-line entry. Run `nemo.py --help`.

Run it with python3 after `nemo.py setup` (which makes {baseDir}/.venv; this script then runs itself with that
environment's Python), or with `uv run` (the dependencies above; `uv run nemo.py setup` adds the beat model)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

if sys.version_info < (3, 11):  # noqa: UP036 - say it in one line instead of failing on syntax later
    sys.exit(f"error: this skill needs Python 3.11 or newer (found {sys.version.split()[0]})")

from nemo_skill import install

install.reexec(sys.argv)
if sys.argv[1:2] == ["setup"]:
    sys.exit(install.main(sys.argv[2:]))

try:
    from nemo_skill.cli import main
except ImportError as exc:  # a dependency is missing: say how to install it, in one line
    print(f"error: missing Python package {exc.name!r}: run  python3 {Path(__file__).resolve()} setup  (it "
          "installs what the skill needs in its own folder, not in the system Python)", file=sys.stderr)
    sys.exit(10)

if __name__ == "__main__":
    sys.exit(main())
