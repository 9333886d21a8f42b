#!/usr/bin/env python3
"""Audio-to-video skill: the one command-line entry. Run `nemo.py --help`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

if sys.version_info < (3, 11):  # noqa: UP036 - say it in one line instead of failing on syntax later
    sys.exit(f"error: this skill needs Python 3.11 or newer (found {sys.version.split()[0]})")

try:
    from nemo_skill.cli import main
except ImportError as exc:  # a dependency is missing: say how to install it, in one line
    folder = Path(__file__).resolve().parents[1]
    print(f"error: missing Python package {exc.name!r}: run  python3 -m pip install -e '{folder}'  "
          f"(add [local] for offline rendering)", file=sys.stderr)
    sys.exit(10)

if __name__ == "__main__":
    sys.exit(main())
