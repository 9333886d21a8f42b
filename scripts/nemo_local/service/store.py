"""SQLite records of the local backend: users, tokens, sessions, files and renders.

Tokens are stored only as SHA-256 hashes, so the database never holds a usable token.
Every write is one transaction; a restarted server sees exactly what was committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY, kind TEXT NOT NULL, available INTEGER NOT NULL,
    frozen INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, issued_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, task_id TEXT NOT NULL, task_name TEXT NOT NULL,
    language TEXT NOT NULL, state TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    file_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, session_id TEXT NOT NULL, filename TEXT NOT NULL,
    kind TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, info TEXT NOT NULL, access_key TEXT NOT NULL,
    created REAL NOT NULL, sha256 TEXT);
CREATE TABLE IF NOT EXISTS word_fixes (
    user_id TEXT NOT NULL, sha256 TEXT NOT NULL, wrong TEXT NOT NULL, right TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (user_id, sha256, wrong));
CREATE TABLE IF NOT EXISTS renders (
    render_id TEXT NOT NULL, user_id TEXT NOT NULL, session_id TEXT NOT NULL, status TEXT NOT NULL,
    progress INTEGER NOT NULL, draft TEXT NOT NULL, cost INTEGER NOT NULL, output_path TEXT,
    access_key TEXT NOT NULL, error TEXT, created REAL NOT NULL, completed REAL, cancel INTEGER NOT NULL DEFAULT 0,
    settings TEXT, PRIMARY KEY (user_id, render_id));
"""
# Columns added since a table was first made: (table, column, declaration). A database from an older version gets
# them when it is opened.
ADDED = [("renders", "settings", "TEXT"), ("files", "sha256", "TEXT")]

EMPTY_STATE: dict[str, Any] = {
    "draft": {"t": [], "d": 0, "m": {}},
    "video_infos": [],
    "generated_media": [],
    "canvas_config": {},
    "video_analyses": [],
}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """Thread-safe access to the backend database (one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        if not path.exists():  # private from the first byte; SQLite gives its -wal/-shm files the same mode
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        for table, column, declaration in ADDED:
            if column not in {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    # -- users and tokens -------------------------------------------------------------------------

    def client_issued_at(self, client_id: str) -> float | None:
        row = self.one("SELECT issued_at FROM clients WHERE client_id=?", client_id)
        return float(row["issued_at"]) if row else None

    def create_user(self, kind: str, credits: int, ttl: float, client_id: str | None = None) -> tuple[str, str, float]:
        """Make a user with a fresh token; returns (token, user_id, expires_at)."""
        prefix = "anon_" if kind == "anon" else "user_"
        user_id = prefix + secrets.token_hex(8)
        token = "nmv_usr_" + secrets.token_urlsafe(32)
        now = time.time()
        with self.tx() as db:
            db.execute("INSERT INTO users VALUES (?,?,?,0,?)", (user_id, kind, credits, now))
            db.execute("INSERT INTO tokens VALUES (?,?,?)", (hash_token(token), user_id, now + ttl))
            if client_id is not None:
                db.execute("INSERT OR REPLACE INTO clients VALUES (?,?,?)", (client_id, user_id, now))
        return token, user_id, now + ttl

    def user_for_token(self, token: str) -> sqlite3.Row | None:
        """The user a live token belongs to, or None for an unknown or expired token."""
        return self.one(
            "SELECT u.* FROM tokens t JOIN users u ON u.user_id=t.user_id WHERE t.token_hash=? AND t.expires_at>?",
            hash_token(token), time.time(),
        )

    def expire_tokens(self, user_id: str | None = None) -> int:
        """As if the tokens' lifetime had passed: they stop working and their clients may ask again."""
        where, args = ("WHERE user_id=?", (user_id,)) if user_id else ("", ())
        with self.tx() as db:
            count = db.execute(f"UPDATE tokens SET expires_at=0 {where}", args).rowcount
            db.execute(f"UPDATE clients SET issued_at=0 {where}", args)
            return count

    def set_credits(self, user_id: str | None, available: int) -> None:
        with self.tx() as db:
            if user_id:
                db.execute("UPDATE users SET available=? WHERE user_id=?", (available, user_id))
            else:
                db.execute("UPDATE users SET available=?", (available,))

    # -- sessions ---------------------------------------------------------------------------------

    def create_session(self, user_id: str, task_name: str, language: str, task_id: str) -> str:
        session_id = str(secrets.randbelow(9 * 10**15) + 10**15)
        now = time.time()
        with self.tx() as db:
            db.execute(
                "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?)",
                (session_id, user_id, task_id, task_name, language, json.dumps(EMPTY_STATE), now, now),
            )
        return session_id

    def session(self, user_id: str, session_id: str) -> sqlite3.Row | None:
        """A session of this user; another user's session is indistinguishable from a missing one."""
        return self.one("SELECT * FROM sessions WHERE session_id=? AND user_id=?", session_id, user_id)

    def save_state(self, session_id: str, state: dict[str, Any]) -> None:
        with self.tx() as db:
            db.execute(
                "UPDATE sessions SET state=?, updated=? WHERE session_id=?",
                (json.dumps(state, ensure_ascii=False), time.time(), session_id),
            )

    def drop_sessions(self, session_id: str | None = None) -> int:
        with self.tx() as db:
            if session_id:
                return db.execute("DELETE FROM sessions WHERE session_id=?", (session_id,)).rowcount
            return db.execute("DELETE FROM sessions").rowcount

    # -- files ------------------------------------------------------------------------------------

    def add_file(self, file_id: str, user_id: str, session_id: str, filename: str, kind: str, path: Path,
                 size: int, info: dict[str, Any], access_key: str, sha256: str | None = None) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT INTO files (file_id,user_id,session_id,filename,kind,path,size,info,access_key,created,sha256)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (file_id, user_id, session_id, filename, kind, str(path), size, json.dumps(info), access_key,
                 time.time(), sha256),
            )

    # -- the user's corrections of what the recogniser heard, kept per recording ---------------------------------

    def word_fixes(self, user_id: str, sha256: str) -> list[list[str]]:
        """The (wrong, right) corrections this user made to a recording (by its content), oldest first."""
        rows = self.all("SELECT wrong, right FROM word_fixes WHERE user_id=? AND sha256=? ORDER BY created",
                        user_id, sha256)
        return [[row["wrong"], row["right"]] for row in rows]

    def save_word_fixes(self, user_id: str, sha256: str, fixes: list[list[str]]) -> None:
        """Keep a recording's corrections for every later render of it (the same content, any session)."""
        with self.tx() as db:
            for wrong, right in fixes[-50:]:
                db.execute("INSERT OR REPLACE INTO word_fixes VALUES (?,?,?,?,?)",
                           (user_id, sha256, wrong, right, time.time()))

    def files(self, session_id: str) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM files WHERE session_id=? ORDER BY created", session_id)

    def file(self, file_id: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM files WHERE file_id=?", file_id)

    # -- renders and credits ----------------------------------------------------------------------

    def start_render(self, render_id: str, user_id: str, session_id: str, draft: dict[str, Any], cost: int,
                     access_key: str) -> str | None:
        """Queue a render and freeze its cost. Returns None, or why it cannot start ("exists", "credits")."""
        with self.tx() as db:
            if db.execute("SELECT 1 FROM renders WHERE user_id=? AND render_id=?", (user_id, render_id)).fetchone():
                return "exists"
            user = db.execute("SELECT available FROM users WHERE user_id=?", (user_id,)).fetchone()
            if user is None or user["available"] < cost:
                return "credits"
            db.execute("UPDATE users SET available=available-?, frozen=frozen+? WHERE user_id=?",
                       (cost, cost, user_id))
            db.execute(
                "INSERT INTO renders (render_id,user_id,session_id,status,progress,draft,cost,access_key,created)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (render_id, user_id, session_id, "pending", 5, json.dumps(draft), cost, access_key, time.time()),
            )
        return None

    def queued_renders(self, user_id: str) -> int:
        row = self.one("SELECT COUNT(*) AS n FROM renders WHERE user_id=? AND status IN ('pending','processing')",
                       user_id)
        return int(row["n"]) if row else 0

    def render(self, user_id: str, render_id: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM renders WHERE user_id=? AND render_id=?", user_id, render_id)

    def set_progress(self, user_id: str, render_id: str, status: str, progress: int) -> None:
        with self.tx() as db:
            db.execute("UPDATE renders SET status=?, progress=? WHERE user_id=? AND render_id=? AND status IN "
                       "('pending','processing')", (status, progress, user_id, render_id))

    def finish_render(self, user_id: str, render_id: str, status: str, output_path: str | None = None,
                      error: str | None = None, settings: dict[str, Any] | None = None) -> None:
        """End a render: charge its frozen credits when completed, give them back otherwise. `settings` are what
        a completed render was encoded at."""
        with self.tx() as db:
            row = db.execute("SELECT cost, status FROM renders WHERE user_id=? AND render_id=?",
                             (user_id, render_id)).fetchone()
            if row is None or row["status"] not in ("pending", "processing"):
                return
            cost = row["cost"]
            if status == "completed":
                db.execute("UPDATE users SET frozen=frozen-? WHERE user_id=?", (cost, user_id))
            else:
                db.execute("UPDATE users SET frozen=frozen-?, available=available+? WHERE user_id=?",
                           (cost, cost, user_id))
            db.execute(
                "UPDATE renders SET status=?, progress=?, output_path=?, error=?, completed=?, settings=? "
                "WHERE user_id=? AND render_id=?",
                (status, 100 if status == "completed" else row_progress(db, user_id, render_id), output_path,
                 error, time.time(), json.dumps(settings) if settings else None, user_id, render_id),
            )

    def request_cancel(self, user_id: str, render_id: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE renders SET cancel=1 WHERE user_id=? AND render_id=?", (user_id, render_id))

    def unfinished_renders(self) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM renders WHERE status IN ('pending','processing') ORDER BY created")


def row_progress(db: sqlite3.Connection, user_id: str, render_id: str) -> int:
    row = db.execute("SELECT progress FROM renders WHERE user_id=? AND render_id=?", (user_id, render_id)).fetchone()
    return int(row["progress"]) if row else 0
