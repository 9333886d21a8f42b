"""Skill variants: one codebase, several installable skill folders (music-to-video-ai, video-a2e, ...).

A variant folder holds its own SKILL.md (frontmatter and texts from skill.yaml's `variants`, body from
templates/SKILL.md.in) plus the same scripts, skill.yaml, pyproject.toml and README.md.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from nemo_skill import __version__, errors
from nemo_skill.skill import SKILL_DIR, config

TEMPLATE = Path("templates") / "SKILL.md.in"
COPIED = ("scripts", "references", "skill.yaml", "pyproject.toml", "README.md")
HOMEPAGE = "https://nemovideo.com"
# What OpenClaw offers to install when neither python3 nor uv is found (its installer kinds: brew, node, go, uv,
# download). Everything else the skill installs itself, into its own folder: `nemo.py setup`.
INSTALLERS = [
    {"id": "python", "kind": "brew", "formula": "python@3.12", "bins": ["python3"], "label": "Install Python 3"},
    {"id": "uv", "kind": "brew", "formula": "uv", "bins": ["uv"], "label": "Install uv (runs the skill's scripts)"},
]


def frontmatter(name: str, variant: dict[str, Any], version: str = __version__) -> str:
    data = {
        "name": name,
        "description": " ".join(str(variant["description"]).split()),
        "license": "MIT",
        "metadata": {
            "version": version,
            "openclaw": {
                "emoji": variant["emoji"],
                "homepage": HOMEPAGE,
                "primaryEnv": "NEMO_TOKEN",
                "requires": {"anyBins": ["python3", "uv"]},    # `python3 scripts/nemo.py` or `uv run ...`
                "install": INSTALLERS,
            },
        },
    }
    text = yaml.safe_dump(data, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{text}---\n"


def routing_table(intents: list[dict[str, Any]]) -> str:
    """The routing table as SKILL.md shows it: the keywords of each action, in skill.yaml's order."""
    rows = ["| The words hold | Action |", "|---|---|"]
    for row in intents:
        words = " / ".join(f'"{k}"' for k in row.get("keywords") or []) or "anything else"
        note = " (local only)" if row.get("local_only") else ""
        rows.append(f"| {words} | {row['action']}{note} |")
    return "\n".join(rows)


def exit_code_table() -> str:
    """The exit codes as SKILL.md shows them, with what the agent does next."""
    rows = ["| Exit | Name | Meaning | Next |", "|---|---|---|---|"]
    rows += [f"| {code} | {name} | {meaning} | {errors.NEXT[code]} |"
             for code, (name, meaning) in errors.EXIT_CODES.items()]
    return "\n".join(rows)


def render_skill_md(name: str, folder: Path = SKILL_DIR) -> str:
    variants = config(folder)["variants"]
    if name not in variants:
        raise errors.UsageError(f"unknown variant {name!r}", hint="Choose one of: " + ", ".join(variants))
    variant = variants[name]
    body = (folder / TEMPLATE).read_text(encoding="utf-8")
    values = {
        "name": name, "title": variant["title"], "example_prompt": variant["example_prompt"],
        "audience": variant["audience"], "timing": variant["timing"],
        "preferred_formats": ", ".join(f.upper() for f in variant["preferred_formats"]),
        "routing": routing_table(config(folder)["intents"]), "exit_codes": exit_code_table(),
        "pitch": " ".join(str(variant["pitch"]).split()), "setup": variant["setup"],
    }
    for key, value in values.items():
        body = body.replace("{{" + key + "}}", str(value))
    return frontmatter(name, variant) + "\n" + body


def build(name: str, out_dir: Path, folder: Path = SKILL_DIR, force: bool = False) -> Path:
    """Write out_dir/<name>/ as a complete skill folder; the old one is replaced only with force."""
    text = render_skill_md(name, folder)
    dest = out_dir.expanduser().absolute() / name
    if dest.exists() and not force:
        raise errors.InputError(f"{dest} exists", hint="Pass --force to rebuild it.")
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=dest.parent))
    try:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        for item in COPIED:
            source = folder / item
            if source.is_dir():
                shutil.copytree(source, staging / item, ignore=ignore)
            else:
                shutil.copy2(source, staging / item)
        (staging / "SKILL.md").write_text(text, encoding="utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest
