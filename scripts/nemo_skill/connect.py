"""Which backend a command talks to, and the client for it: the local renderer started in this process
(`--local`, or NEMO_API_URL=local), a server named by NEMO_API_URL, or the NemoVideo cloud.

A loopback URL is the local renderer unless its server says it behaves like the cloud (`serve
--cloud-emulation`, the way tests run the client's cloud path end to end) or is not this project's server at all
(a tunnel to the cloud, say): the client then follows the cloud's rules (its formats, its 200 MB, no preview).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from nemo_skill import errors, hosts, local, skill
from nemo_skill.api import Api, Settings
from nemo_skill.output import notice
from nemo_skill.store import Store

API_URL_ENV = "NEMO_API_URL"
SERVER_KEY_ENV = "NEMO_SERVER_KEY"
SLEEP: Callable[[float], None] = time.sleep   # tests replace this to skip real waits


def api_base(value: str) -> str:
    """A backend URL from NEMO_API_URL or skill.yaml, checked: one clear error instead of a traceback later."""
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, ValueError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise errors.UsageError(f"{API_URL_ENV}={value[:100]!r} is not an http(s) URL",
                                hint="Use e.g. http://127.0.0.1:8765, or local, or unset it for the cloud.")
    return value.rstrip("/")


def renders_locally(base: str) -> bool:
    """Whether a loopback URL is the local renderer (free, its formats, previews): its /healthz says so. One
    that cannot be reached counts as local: the first real call then says it cannot be reached."""
    try:
        data = httpx.get(f"{base}/healthz", timeout=3, follow_redirects=False).json()
    except httpx.TransportError:
        return True
    except (httpx.HTTPError, ValueError):
        return False
    return isinstance(data, dict) and data.get("service") == "nemo-local" and not data.get("cloud_emulation")


@contextmanager
def connect(use_local: bool, language: str | None = None, jobs: int = 0, chunk_seconds: float = 30.0
            ) -> Iterator[Api]:
    """An Api for the backend this command talks to (sessions it starts speak `language` when given); the
    in-process local backend (long renders chunked over `jobs` processes when > 1) is stopped afterwards."""
    cfg = skill.config()
    env_url = os.environ.get(API_URL_ENV, "").strip()
    server = None
    if use_local or env_url.lower() == "local":
        server = local.start(skill.SKILL_DIR, jobs=jobs, chunk_seconds=chunk_seconds)
        base, key, is_local = server.url, "local", True
    else:
        base = api_base(env_url or str(cfg["api"]["base_url"]))
        key, is_local = base, hosts.is_loopback(base) and renders_locally(base)
    try:
        store = Store()
        if store.folder.exists() and not store.folder.is_dir():
            raise errors.InputError(f"the config folder {store.folder} is a file",
                                    hint="Point NEMO_CONFIG_DIR at a folder (it is created if missing).")
        settings = Settings(base_url=base, api_key=key, config=cfg, local=is_local, sleep=SLEEP, notice=notice,
                            language=language)
        api = Api(settings, skill.meta(), store, server_key=os.environ.get(SERVER_KEY_ENV) if env_url else None)
        try:
            yield api
        except errors.NoCredits as exc:
            exc.user_id, exc.anonymous = api.user_id, api.anonymous  # type: ignore[attr-defined]
            raise
        finally:
            api.close()
    finally:
        if server is not None:
            server.stop()
