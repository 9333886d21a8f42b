"""The skill as a package: SKILL.md and skill.yaml agree, both variants build, validate and attribute."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import yaml

from conftest import serving
from nemo_local.service.config import CLOUD_MAX_UPLOAD_BYTES, ServerConfig
from nemo_skill import errors, filetypes, install, skill, variants

ROOT = Path(__file__).resolve().parents[1]
SKILL_MD = (ROOT / "SKILL.md").read_text(encoding="utf-8")
CONFIG = skill.config()


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The body rows of the first table after a heading, as lists of cell texts."""
    lines = markdown.split(f"## {heading}", 1)[1].splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    block = list(itertools.takewhile(lambda line: line.startswith("|"), lines[first:]))
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in block[2:]]


REFERENCES = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "references").glob("*.md")}
BASE_DIR = "{baseDir}"
COMMAND = re.compile(r"python3 \{baseDir\}/scripts/nemo\.py[^`\n]*")


def body(text: str) -> str:
    """A SKILL.md without its frontmatter."""
    return text.split("\n---\n", 1)[1]


def first_code_block(text: str) -> str:
    found = re.search(r"^```\w*\n(.*?)^```", body(text), re.S | re.M)
    assert found, "no fenced code block"
    return found[1]


def documented_commands() -> list[tuple[str, str]]:
    """(file, command) for every `python3 {baseDir}/scripts/nemo.py ...` written in SKILL.md and references/, in
    code blocks and inline code alike."""
    out = []
    for name, text in [("SKILL.md", SKILL_MD), *sorted(REFERENCES.items())]:
        out += [(name, found.group(0).strip()) for found in COMMAND.finditer(text)
                if found.group(0).strip() != "python3 {baseDir}/scripts/nemo.py"]   # the prefix alone, in prose
    return out


class TestSkillMdMatchesSkillYaml:
    def test_root_skill_md_is_the_built_music_variant(self) -> None:
        assert variants.render_skill_md("music-to-video-ai") == SKILL_MD, \
            "SKILL.md is generated: edit templates/SKILL.md.in or skill.yaml, then run nemo.py build-variant"

    def test_about_a_hundred_lines_the_rest_in_references(self) -> None:
        assert len(body(SKILL_MD).splitlines()) <= 110
        for name in REFERENCES:
            assert f"{BASE_DIR}/references/{name}" in SKILL_MD

    def test_the_first_code_block_is_the_quick_start(self) -> None:
        assert SKILL_MD.index("```") < SKILL_MD.index("\n## "), "the quick start comes before any section"
        for name, variant in CONFIG["variants"].items():
            lines = first_code_block(variants.render_skill_md(name)).strip().splitlines()
            assert lines == [f"python3 {BASE_DIR}/scripts/nemo.py {variant['setup']}",
                             f"python3 {BASE_DIR}/scripts/nemo.py --local make song.mp3 -o song.mp4"]

    def test_routing_table(self) -> None:
        rows = table_rows(SKILL_MD, "Routing the user's words")
        documented = {row[1].split()[0]: re.findall(r'"([^"]+)"', row[0]) for row in rows}
        for intent in CONFIG["intents"]:
            assert documented[intent["action"]] == intent["keywords"]
        assert list(documented) == [i["action"] for i in CONFIG["intents"]]
        assert "preview (local only)" in [row[1] for row in rows]

    def test_error_table(self) -> None:
        rows = {row[0]: row for row in table_rows(REFERENCES["service.md"], "Errors from the service")}
        for entry in CONFIG["errors"]:
            if entry["code"] == 0:
                continue
            label = str(entry["code"]).replace("http-", "HTTP ")
            assert rows[label][1] == entry["meaning"]
            code = str(entry["code"])
            mapped = errors.error_from(int(code[5:]), {}) if code.startswith("http-") else \
                errors.error_from(200, {"code": int(code)})
            assert mapped.exit_code == entry["exit"], code

    def test_exit_code_table_says_what_to_do_next(self) -> None:
        rows = table_rows(SKILL_MD, "Exit codes: what to do next")
        assert {int(r[0]): (r[1], r[2]) for r in rows} == errors.EXIT_CODES
        assert {int(r[0]): r[3] for r in rows} == errors.NEXT

    def test_gui_table(self) -> None:
        rows = table_rows(REFERENCES["service.md"], "Editor language")
        documented = [re.findall(r'"([^"]+)"', row[0])[0] for row in rows]
        assert documented == [rule["says"] for rule in CONFIG["gui_translations"]]
        assert [row[2] for row in rows] == [rule["action"] for rule in CONFIG["gui_translations"]]

    def test_formats_and_limits(self) -> None:
        formats = CONFIG["formats"]
        assert set(formats["audio"]) == filetypes.AUDIO and set(formats["video"]) == filetypes.VIDEO
        assert set(formats["image"]) == filetypes.IMAGE
        assert CONFIG["limits"]["max_upload_bytes"] == CLOUD_MAX_UPLOAD_BYTES == 200 * 1024 * 1024
        assert ServerConfig().max_upload_bytes is None   # local: what the disk allows

    def test_every_endpoint_is_served_by_the_local_backend(self, tmp_path: Path) -> None:
        from nemo_local.service.app import create_app
        app = create_app(ServerConfig(data_dir=tmp_path))
        served = {getattr(r, "path", "") for r in app.routes}
        for path in CONFIG["api"]["endpoints"].values():
            assert path in served, path

    def test_skill_yaml_names_files_that_exist(self) -> None:
        text = (ROOT / "skill.yaml").read_text(encoding="utf-8")
        for name in re.findall(r"\b(tests/[\w/]+\.py)\b", text):
            assert (ROOT / name).is_file(), name


@pytest.mark.parametrize(("where", "command"), documented_commands())
def test_every_documented_command_parses_with_the_real_parser(where: str, command: str) -> None:
    from nemo_skill import cli
    words = shlex.split(command.replace(BASE_DIR, "/skill"))
    assert words[:2] == ["python3", "/skill/scripts/nemo.py"], command
    if words[2:3] == ["setup"]:        # nemo.py hands `setup` to the installer before the CLI loads
        assert set(words[3:]) <= {"--with", "captions", "captions-zh", "cluster"}, command
    cli.build_parser().parse_args(words[2:])


def test_the_documented_commands_cover_every_command() -> None:
    from nemo_skill import cli
    used = {shlex.split(c)[2 + (shlex.split(c)[2] == "--local")] for _, c in documented_commands()}
    choices = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert used >= set(choices) - {"serve", "build-variant", "demo-track", "route", "session", "credits"}


def test_nemo_py_declares_the_packages_uv_needs() -> None:
    """`uv run scripts/nemo.py` reads its inline metadata (PEP 723): the client's and the local backend's
    packages, as pyproject.toml names them."""
    text = (ROOT / "scripts" / "nemo.py").read_text(encoding="utf-8")
    block = re.search(r"^# /// script\n(.*?)^# ///$", text, re.S | re.M)
    assert block
    metadata = tomllib.loads("\n".join(line[2:] for line in block[1].splitlines()))
    assert metadata["dependencies"] == install.requirements(["local"])
    assert metadata["requires-python"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "requires-python"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    for name in CONFIG["variants"]:
        variants.build(name, out)
    return out


class TestVariants:
    @pytest.mark.parametrize("name", list(CONFIG["variants"]))
    def test_agentskills_validate_passes(self, built: Path, name: str) -> None:
        beside = Path(sys.executable).parent / "agentskills"       # the venv's, when it is not activated
        tool = str(beside) if beside.exists() else shutil.which("agentskills")
        assert tool, "agentskills (pip package skills-ref) is a dev dependency"
        result = subprocess.run([tool, "validate", str(built / name)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr

    @pytest.mark.parametrize("name", list(CONFIG["variants"]))
    def test_frontmatter(self, built: Path, name: str) -> None:
        text = (built / name / "SKILL.md").read_text(encoding="utf-8")
        head = text.split("---", 2)[1]
        front = yaml.safe_load(head)
        assert front["name"] == name and front["metadata"]["version"]
        claw = front["metadata"]["openclaw"]
        assert claw["primaryEnv"] == "NEMO_TOKEN" and claw["requires"] == {"anyBins": ["python3", "uv"]}
        assert {entry["kind"] for entry in claw["install"]} <= {"brew", "node", "go", "uv", "download"}
        assert all(entry["bins"] and entry["label"] and entry.get("formula") for entry in claw["install"])
        assert not re.search(r":\s*[\[{]", head), "block style only"
        assert CONFIG["variants"][name]["example_prompt"] in text

    def test_folder_is_complete_and_clean(self, built: Path) -> None:
        folder = built / "video-a2e"
        assert {p.name for p in folder.iterdir()} == {"SKILL.md", "skill.yaml", "scripts", "references",
                                                      "pyproject.toml", "README.md"}
        assert not list(folder.rglob("__pycache__"))

    def test_existing_folder_needs_force(self, built: Path) -> None:
        with pytest.raises(errors.InputError):
            variants.build("video-a2e", built)
        assert variants.build("video-a2e", built, force=True).is_dir()


class Recorder(BaseHTTPRequestHandler):
    """A recording proxy in front of the real backend: every request is passed on as it came, and its headers
    are kept, so a test sees what the client sent and the backend answers as it would."""

    upstream: ClassVar[str] = ""
    seen: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def _forward(self) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        Recorder.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        answer = httpx.request(self.command, Recorder.upstream + self.path, headers=headers, content=body,
                               timeout=30)
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = _forward

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder(server: Any) -> Iterator[str]:
    Recorder.seen, Recorder.upstream = [], server.url
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.parametrize(("name", "where", "platform"), [
    ("music-to-video-ai", "plain", "unknown"), ("video-a2e", "plain", "unknown"),
    ("video-a2e", ".cursor/skills", "cursor"), ("music-to-video-ai", "clawhub-origin", "clawhub"),
])
def test_built_variants_send_their_own_attribution(built: Path, tmp_path: Path, recorder: str, name: str,
                                                   where: str, platform: str) -> None:
    parent = tmp_path / (where if where != "clawhub-origin" else "skills")
    parent.mkdir(parents=True)
    folder = Path(shutil.copytree(built / name, parent / name))
    if where == "clawhub-origin":
        (folder / ".clawhub").mkdir()
        (folder / ".clawhub" / "origin.json").write_text("{}")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "NEMO_CONFIG_DIR": str(tmp_path / "cfg"),
           "NEMO_API_URL": recorder, "PYTHONPATH": ""}
    result = subprocess.run([sys.executable, str(folder / "scripts" / "nemo.py"), "credits", "--json"],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["available"] == ServerConfig().initial_credits   # the real backend's answer
    version = yaml.safe_load((folder / "SKILL.md").read_text().split("---", 2)[1])["metadata"]["version"]
    calls = [(method, path, headers) for method, path, headers in Recorder.seen if path.startswith("/api/")]
    assert [(method, path) for method, path, _ in calls] == [
        ("POST", CONFIG["api"]["endpoints"]["anonymous_token"]), ("GET", CONFIG["api"]["endpoints"]["credits"])]
    for _, _, headers in calls:
        assert (headers["x-skill-source"], headers["x-skill-version"], headers["x-skill-platform"]) == \
            (name, str(version), platform)
    token = json.loads((tmp_path / "cfg" / "tokens.json").read_text())[recorder]["token"]
    assert "authorization" not in calls[0][2] and calls[1][2]["authorization"] == f"Bearer {token}"
    assert token not in result.stdout + result.stderr


def test_missing_dependency_is_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "fake" / "httpx"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'httpx'\", name='httpx')\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(tmp_path / "fake")}
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "nemo.py"), "credits"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 10
    assert result.stderr.count("\n") == 1 and "missing Python package 'httpx'" in result.stderr
    assert f"python3 {ROOT / 'scripts' / 'nemo.py'} setup" in result.stderr


def test_serve_runs_as_documented_and_logs_no_tokens(tmp_path: Path) -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "nemo.py"), "serve", "--port", str(port),
                             "--data-dir", str(tmp_path / "data")], stderr=subprocess.PIPE, text=True, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        serving(base)
        token = httpx.post(f"{base}/api/auth/anonymous-token", headers={"X-Client-Id": "x"}).json()["data"]["token"]
        assert httpx.get(f"{base}/api/credits/balance/simple",
                         headers={"Authorization": f"Bearer {token}"}).json()["data"]["available"] == 100
        busy = subprocess.run([sys.executable, str(ROOT / "scripts" / "nemo.py"), "serve", "--port", str(port),
                               "--data-dir", str(tmp_path / "other")], capture_output=True, text=True, env=env,
                              timeout=60)
        assert busy.returncode == 2 and busy.stderr.strip() == \
            f"error: port {port} is already in use. Choose another with --port."
    finally:
        proc.terminate()
        _, log = proc.communicate(timeout=30)
    assert "GET /api/credits/balance/simple 200" in log and token not in log
    assert "serving on http://127.0.0.1:" in log
