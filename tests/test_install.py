"""The way in: SKILL.md's quick start, run as it stands by `sh` under a system Python that refuses pip installs
(PEP 668), makes a video; and how `setup` chooses to make the skill's environment on other machines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nemo_local.media.ffmpeg import ffmpeg_exe, probe
from nemo_skill import install, variants

SYSTEM_PYTHON = os.environ.get("NEMO_TEST_SYSTEM_PYTHON", "")   # .ci/run: Debian's /usr/bin/python3


def refuses_pip(python: str) -> bool:
    marker = subprocess.run([python, "-c", "import sysconfig, pathlib; print(pathlib.Path(sysconfig.get_path("
                             "'stdlib'), 'EXTERNALLY-MANAGED').is_file())"], capture_output=True, text=True)
    return marker.stdout.strip() == "True"


@pytest.mark.slow
@pytest.mark.skipif(not SYSTEM_PYTHON and not os.environ.get("CI"),
                    reason="NEMO_TEST_SYSTEM_PYTHON is not set (.ci/run installs Debian's python3 and sets it)")
def test_the_quick_start_makes_a_video_under_a_python_that_refuses_pip(tmp_path: Path, wav: Path) -> None:
    assert SYSTEM_PYTHON and Path(SYSTEM_PYTHON).is_file(), "CI must provide a system Python (NEMO_TEST_SYSTEM_PYTHON)"
    assert refuses_pip(SYSTEM_PYTHON), f"{SYSTEM_PYTHON} is not externally managed (PEP 668): the test means nothing"
    folder = variants.build("music-to-video-ai", tmp_path / "skills")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(wav), "-c:a", "libmp3lame", str(workspace / "song.mp3")],
                   check=True)
    text = (folder / "SKILL.md").read_text(encoding="utf-8")
    block = re.search(r"^```sh\n(.*?)^```", text.split("\n---\n", 1)[1], re.S | re.M)
    assert block
    bin_dir = str(Path(SYSTEM_PYTHON).parent)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8"}
    refused = subprocess.run([SYSTEM_PYTHON, "-m", "pip", "install", "--dry-run", "httpx"], capture_output=True,
                             text=True, env=env)
    assert refused.returncode != 0              # pip into this Python is refused, so the quick start must not use it
    ran = subprocess.run(["sh", "-c", block[1].replace("{baseDir}", str(folder))], cwd=workspace, env=env,
                         capture_output=True, text=True, timeout=1200)
    assert ran.returncode == 0, ran.stderr[-3000:]
    video = workspace / "song.mp4"
    assert ran.stdout.strip().splitlines()[-1] == f"MEDIA:{video}"
    info = probe(video)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert info.duration == pytest.approx(probe(wav).duration, abs=0.1)
    assert install.ready(folder / ".venv")        # the environment the script then runs itself with


class TestChoosingHowToMakeTheEnvironment:
    venv = Path("/skill/.venv")

    def test_the_standard_librarys_venv_when_it_can(self) -> None:
        method = install.choose("/usr/bin/python3", self.venv, True, "/usr/bin/uv", True)
        assert method.name == "venv" and method.create == ["/usr/bin/python3", "-m", "venv", str(self.venv)]
        assert method.install[:4] == [str(self.venv / "bin/python"), "-m", "pip", "install"]

    def test_uv_when_there_is_no_ensurepip(self) -> None:
        method = install.choose("/usr/bin/python3", self.venv, False, "/usr/bin/uv", True)
        assert method.name == "uv" and method.install[:3] == ["/usr/bin/uv", "pip", "install"]
        assert method.install[-2:] == ["--python", str(self.venv / "bin/python")]

    def test_the_systems_pip_aimed_at_a_bare_venv_otherwise(self) -> None:
        method = install.choose("/usr/bin/python3", self.venv, False, None, True)
        assert "--without-pip" in method.create
        assert method.install[:5] == ["/usr/bin/python3", "-m", "pip", "--python", str(self.venv / "bin/python")]

    def test_with_none_of_them_it_says_what_to_install(self) -> None:
        with pytest.raises(install.SetupFailed, match=r"install python3-venv \(Debian, Ubuntu: sudo apt install "
                                                      r"python3-venv\) or uv"):
            install.choose("/usr/bin/python3", self.venv, False, None, False)


def test_the_packages_come_from_pyproject_with_the_extras_they_name() -> None:
    local = install.requirements(["local"])
    assert "numpy>=1.26" in local and "httpx>=0.27,<1" in local and not any("whisper" in p for p in local)
    chinese = install.requirements(["local", "captions-zh"])
    assert set(install.requirements(["local", "captions"])) < set(chinese)    # captions-zh names captions
    with pytest.raises(install.SetupFailed, match="unknown extra"):
        install.requirements(["gpu"])


def test_nemo_py_runs_itself_with_the_skills_environment_once_it_is_ready(tmp_path: Path) -> None:
    """A stand-in environment (its Python a script that says who it is) is used only once setup stamped it."""
    folder = variants.build("video-a2e", tmp_path / "skills")
    fake = folder / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho \"venv python: $NEMO_SKILL_IN_VENV $*\"\n")
    fake.chmod(0o755)
    script = str(folder / "scripts" / "nemo.py")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    before = subprocess.run([sys.executable, script, "route", "export"], capture_output=True, text=True, env=env)
    assert before.stdout.strip() == "export"                       # not ready: the Python that started it runs
    (folder / ".venv" / install.STAMP).write_text("{}")
    after = subprocess.run([sys.executable, script, "route", "export"], capture_output=True, text=True, env=env)
    assert after.stdout.strip() == f"venv python: 1 {script} route export"
    escape = subprocess.run([sys.executable, script, "route", "export"], capture_output=True, text=True,
                            env={**env, "NEMO_NO_VENV": "1"})
    assert escape.stdout.strip() == "export"
