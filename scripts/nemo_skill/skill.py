"""The skill's own files: its folder (found from __file__), SKILL.md frontmatter and skill.yaml."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nemo_skill.errors import NemoError

SKILL_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class SkillMeta:
    name: str
    version: str
    folder: Path


def split_frontmatter(text: str) -> tuple[dict[str, Any], str]:
    """(frontmatter mapping, body) of a SKILL.md text; an absent frontmatter is an empty mapping."""
    if not text.startswith("---"):
        return {}, text
    end = text.find("\n---", 3)
    if end < 0:
        raise NemoError("SKILL.md frontmatter is not closed with '---'")
    data = yaml.safe_load(text[3:end]) or {}
    if not isinstance(data, dict):
        raise NemoError("SKILL.md frontmatter is not a mapping")
    return data, text[end + 4:].lstrip("\n")


def version_of(front: dict[str, Any]) -> str:
    """metadata.version, else a top-level version, else 'unknown'."""
    meta = front.get("metadata")
    if isinstance(meta, dict) and meta.get("version") is not None:
        return str(meta["version"])
    return str(front.get("version", "unknown"))


@functools.lru_cache(maxsize=4)
def meta(folder: Path = SKILL_DIR) -> SkillMeta:
    path = folder / "SKILL.md"
    try:
        front, _ = split_frontmatter(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NemoError(f"cannot read {path}: {exc.strerror}", hint="Reinstall the skill.") from None
    return SkillMeta(str(front.get("name") or folder.name), version_of(front), folder)


@functools.lru_cache(maxsize=4)
def config(folder: Path = SKILL_DIR) -> dict[str, Any]:
    """skill.yaml as a mapping."""
    path = folder / "skill.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NemoError(f"cannot read {path}: {exc.strerror}", hint="Reinstall the skill.") from None
    if not isinstance(data, dict):
        raise NemoError(f"{path} is not a mapping", hint="Reinstall the skill.")
    return data
