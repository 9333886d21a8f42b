"""The skill's small files in its config dir: client id, tokens, sessions and render jobs.

Every file is written atomically (temp file, fsync, rename) with mode 0600, in a 0700 folder.
Tokens are kept per API (cloud URL or "local"), so a local token is never sent to the cloud.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

CONFIG_DIR_ENV = "NEMO_CONFIG_DIR"


def default_config_dir() -> Path:
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nemo-skill"


def write_private(path: Path, text: str) -> None:
    """Replace path with text atomically; the file is 0600 from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Store:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or default_config_dir()

    def _read(self, name: str) -> dict[str, Any]:
        try:
            data = json.loads((self.folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, name: str, data: dict[str, Any]) -> None:
        write_private(self.folder / name, json.dumps(data, indent=1, sort_keys=True))

    # The client id identifies this install to the token endpoint.
    def client_id(self, renew: bool = False) -> str:
        path = self.folder / "client_id"
        if not renew:
            try:
                value = path.read_text(encoding="utf-8").strip()
                if 0 < len(value) <= 64:
                    return value
            except OSError:
                pass
        value = str(uuid.uuid4())
        write_private(path, value + "\n")
        return value

    def token(self, api: str) -> dict[str, Any] | None:
        entry = self._read("tokens.json").get(api)
        if not isinstance(entry, dict) or not entry.get("token"):
            return None
        expires = entry.get("expires_epoch")
        if isinstance(expires, int | float) and expires < time.time() + 60:
            return None
        return entry

    def save_token(self, api: str, token: str, user_id: str, expires_epoch: float | None) -> None:
        data = self._read("tokens.json")
        data[api] = {"token": token, "user_id": user_id, "expires_epoch": expires_epoch}
        self._write("tokens.json", data)

    def forget_token(self, api: str) -> None:
        data = self._read("tokens.json")
        if data.pop(api, None) is not None:
            self._write("tokens.json", data)

    def session(self, api: str) -> dict[str, Any] | None:
        entry = self._read("sessions.json").get(api)
        return entry if isinstance(entry, dict) and entry.get("session_id") else None

    def save_session(self, api: str, session_id: str, user_id: str | None) -> None:
        data = self._read("sessions.json")
        data[api] = {"session_id": session_id, "user_id": user_id, "created": time.time()}
        self._write("sessions.json", data)

    def forget_session(self, api: str) -> None:
        data = self._read("sessions.json")
        if data.pop(api, None) is not None:
            self._write("sessions.json", data)

    # Render jobs are remembered until they end, so a job is never orphaned by an interrupted command.
    def renders(self, api: str) -> list[dict[str, Any]]:
        entries = self._read("renders.json").get(api)
        return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []

    def save_render(self, api: str, entry: dict[str, Any]) -> None:
        data = self._read("renders.json")
        entries = [e for e in data.get(api) or [] if isinstance(e, dict)]
        old = next((e for e in entries if e.get("id") == entry["id"]), {})
        entries = [e for e in entries if e.get("id") != entry["id"]]
        data[api] = ([*entries, {**old, **entry}])[-50:]
        self._write("renders.json", data)
