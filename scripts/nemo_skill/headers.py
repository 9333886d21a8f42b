"""Attribution headers: which skill, which version, and which platform installed it."""

from __future__ import annotations

from pathlib import Path

from nemo_skill.skill import SkillMeta


def detect_platform(folder: Path) -> str:
    """'clawhub' when installed by ClawHub, 'cursor' under .cursor/skills, else 'unknown'."""
    posix = folder.resolve().as_posix() + "/"
    if "/.clawhub/" in posix or (folder / ".clawhub" / "origin.json").is_file():
        return "clawhub"
    if "/.cursor/skills/" in posix:
        return "cursor"
    return "unknown"


def attribution(meta: SkillMeta) -> dict[str, str]:
    return {
        "X-Skill-Source": meta.name,
        "X-Skill-Version": meta.version,
        "X-Skill-Platform": detect_platform(meta.folder),
    }
