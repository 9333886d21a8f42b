"""`nemo.py setup`: the skill's own Python environment, `{baseDir}/.venv`, made with the standard library and filled
from the package index, so the skill runs on a system Python that refuses pip installs (PEP 668: Debian 12, Ubuntu
24.04, Homebrew, Fedora) without touching it. `scripts/nemo.py` then runs itself with that environment's Python.

Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SKILL_DIR = Path(__file__).resolve().parents[2]
VENV = SKILL_DIR / ".venv"
STAMP = "nemo-setup.json"          # written last: an environment without it is not ready, and is not used
BEAT_MODEL = "BeatNet==1.1.3"      # the beat network's weights only (checked by SHA-256 before use): --no-deps
EXTRAS = ("local", "captions", "captions-zh", "cluster", "dev")
REEXEC_GUARD = "NEMO_SKILL_IN_VENV"
NO_VENV = "NEMO_NO_VENV"           # set to run with the Python that started the script, .venv or not


class SetupFailed(Exception):
    """Setup cannot go on; the message says what to install or do."""


def venv_python(venv: Path = VENV) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ready(venv: Path = VENV) -> bool:
    return venv_python(venv).is_file() and (venv / STAMP).is_file()


def reexec(argv: list[str]) -> None:
    """Run this command again with `{baseDir}/.venv`'s Python when it is ready and is not the one running."""
    if os.environ.get(REEXEC_GUARD) or os.environ.get(NO_VENV) or not ready():
        return
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    python = str(venv_python())
    env = {**os.environ, REEXEC_GUARD: "1"}
    if os.name == "nt":   # no exec on Windows: run it and pass its exit code on
        sys.exit(subprocess.run([python, *argv], env=env).returncode)
    os.execve(python, [python, *argv], env)


def requirements(extras: list[str], pyproject: Path = SKILL_DIR / "pyproject.toml") -> list[str]:
    """The packages the skill needs with these extras, read from its pyproject.toml (an extra may name others)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    name = project["name"]
    found: list[str] = list(project.get("dependencies", []))
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in optional:
            raise SetupFailed(f"unknown extra {extra!r}: choose from {', '.join(sorted(optional))}")
        for item in optional[extra]:
            if item.startswith(f"{name}["):
                todo += item[len(name) + 1:].rstrip("]").split(",")
            elif item not in found:
                found.append(item)
    return found


@dataclass(frozen=True)
class Method:
    """How the environment is made and filled on this machine."""

    name: str                      # "venv", "uv" or "pip --python"
    create: list[str]
    install: list[str]             # the packages are appended


def choose(python: str, venv: Path, has_ensurepip: bool, uv: str | None, has_pip: bool) -> Method:
    """The standard library's venv with pip; else uv; else venv without pip, filled by the system's pip aimed at
    it (pip 22.3+); else SetupFailed naming what to install. Pure: what this machine has is passed in."""
    target = str(venv_python(venv))
    if has_ensurepip:
        return Method("venv", [python, "-m", "venv", str(venv)],
                      [target, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"])
    if uv:
        return Method("uv", [uv, "venv", "--quiet", "--python", python, str(venv)],
                      [uv, "pip", "install", "--quiet", "--python", target])
    if has_pip:
        return Method("pip --python", [python, "-m", "venv", "--without-pip", str(venv)],
                      [python, "-m", "pip", "--python", target, "install", "--disable-pip-version-check", "--quiet"])
    raise SetupFailed("this Python cannot make a virtual environment (no ensurepip) and there is no uv or pip to "
                      "use instead: install python3-venv (Debian, Ubuntu: sudo apt install python3-venv) or uv "
                      "(https://docs.astral.sh/uv/), then run setup again")


def _has_pip(python: str) -> bool:
    probe = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True)
    return probe.returncode == 0


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        last = [line for line in done.stderr.strip().splitlines() if line.strip()][-3:]
        raise SetupFailed(f"{what} failed: {' / '.join(last) or f'exit {done.returncode}'}")


def setup(extras: list[str], say: Callable[[str], None] = print) -> Path:
    """Make (or bring up to date) `{baseDir}/.venv` with the extras' packages and the beat model."""
    packages = requirements(extras)
    digest = hashlib.sha256("\n".join([*packages, BEAT_MODEL]).encode()).hexdigest()[:16]
    stamp = VENV / STAMP
    if ready() and json.loads(stamp.read_text()).get("packages") == digest:
        say(f"Already set up ({', '.join(extras)}): {VENV}")
        return VENV
    method = choose(sys.executable, VENV, importlib.util.find_spec("ensurepip") is not None, shutil.which("uv"),
                    _has_pip(sys.executable))
    stamp.unlink(missing_ok=True)
    if not venv_python().is_file():
        say(f"Making the skill's environment in {VENV} ({method.name})...")
        _run(method.create, "making the environment")
    say(f"Installing {len(packages)} packages and the beat model (a few minutes the first time)...")
    _run([*method.install, *packages], "installing the packages")
    _run([*method.install, "--no-deps", BEAT_MODEL], "installing the beat model")
    check = "import numpy, httpx, yaml; from nemo_local.analysis import beat_model; print(beat_model.available())"
    done = subprocess.run([str(venv_python()), "-c", check], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(SKILL_DIR / "scripts")})
    if done.returncode != 0:
        raise SetupFailed("the environment was made but its packages do not import; run setup again")
    stamp.write_text(json.dumps({"extras": extras, "packages": digest, "python": sys.version.split()[0],
                                 "beat_model": done.stdout.strip() == "True"}))
    say(f"Ready: {VENV}")
    return VENV


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nemo.py setup", description="Make the skill's own Python environment "
                                     "({baseDir}/.venv) and install what it needs there; the system Python is "
                                     "not touched.", epilog="example:\n  nemo.py setup --with captions",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--with", dest="extras", action="append", default=[], choices=[e for e in EXTRAS
                                                                                          if e != "local"],
                        help="also speech recognition for captions (captions; captions-zh for Chinese too), Dask "
                             "for renders across machines (cluster), or what the tests need (dev)")
    args = parser.parse_args(argv)
    try:
        setup(["local", *args.extras], say=lambda text: print(text, file=sys.stderr, flush=True))
    except SetupFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 10
    except KeyboardInterrupt:
        print("interrupted: run setup again to finish", file=sys.stderr)
        return 130
    print(str(venv_python()))
    return 0
