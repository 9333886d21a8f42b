"""The beat and downbeat network's weights: which we accept, where they are found, and how they are read.

The network is BeatNet's CRNN (Heydari, Cwitkowitz and Duan, "BeatNet: CRNN and particle filtering for online
joint beat downbeat and meter tracking", ISMIR 2021; https://github.com/mjhydri/BeatNet, CC BY 4.0). Its three
trained models (one each held out from GTZAN, Ballroom and the Rock corpus) ship in the `BeatNet` wheel on PyPI,
1.6 MB each. Only the weight files are used, never BeatNet's code (its pinned dependencies do not install on
Python 3.11), so it is installed without them:

    python3 -m pip install --no-deps BeatNet==1.1.3

A folder holding the same three files (downloaded from the repository, say) can be named in `NEMO_BEAT_MODELS`
instead. Either way each file is accepted only when its SHA-256 equals the upstream file's at commit
ab5f986 (checked before it is read), and it is read as data: the tensors are taken out of PyTorch's zip format
by a reader that builds nothing but numpy arrays (no pickle code runs). Without the weights the analysis falls
back to the signal-processing tracker (`beats.py`, `downbeats.py`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import pickle
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

UPSTREAM = "https://github.com/mjhydri/BeatNet/tree/ab5f986/src/BeatNet/models"
INSTALL = "python3 -m pip install --no-deps BeatNet==1.1.3"
ENV = "NEMO_BEAT_MODELS"
PINS = {   # SHA-256 of the upstream files (equal to those in the BeatNet 1.1.3 wheel)
    "model_1_weights.pt": "619091bc317ca3e83b45591d46f6de3d5a41588bcb39fe9fe7be30cffa6aca84",
    "model_2_weights.pt": "5878a18c079fa0b0139879b14ed2b5b7595faef8c3d16210aed141fd00fa2d58",
    "model_3_weights.pt": "0c52a074ea38e8cb4a760ecfa3747c9cf91a1e3cd19f238eed80b0de763989ca",
}
SHAPES = {
    "conv1.weight": (2, 1, 10), "conv1.bias": (2,), "linear0.weight": (150, 262), "linear0.bias": (150,),
    **{f"lstm.{kind}_l{layer}": shape for layer in (0, 1)
       for kind, shape in (("weight_ih", (600, 150)), ("weight_hh", (600, 150)), ("bias_ih", (600,)),
                           ("bias_hh", (600,)))},
    "linear.weight": (3, 150), "linear.bias": (3,),
}
Weights = dict[str, np.ndarray]


class ModelRejected(Exception):
    """A weight file is there but is not the upstream file, or cannot be read."""


def folder() -> Path | None:
    """Where the weight files are: `NEMO_BEAT_MODELS`, else the installed BeatNet package (never imported)."""
    configured = os.environ.get(ENV)
    if configured:
        return Path(configured).expanduser()
    spec = importlib.util.find_spec("BeatNet")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def available() -> bool:
    where = folder()
    return where is not None and all((where / name).is_file() for name in PINS)


class _Storage:
    def __init__(self, key: str, dtype: np.dtype) -> None:
        self.key, self.dtype = key, dtype


_DTYPES: dict[str, np.dtype] = {"FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"),
                                 "LongStorage": np.dtype("<i8")}


class _StateDict(dict[str, Any]):
    """A state dict; PyTorch also pickles its `_metadata` (module versions), which is set here and ignored."""


class _Reader(pickle.Unpickler):
    """Unpickles a PyTorch state dict into placeholders; any class outside this short list is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return _StateDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild
        if module == "torch" and name in _DTYPES:
            return name
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a weight file")

    def persistent_load(self, pid: Any) -> _Storage:
        kind, storage_type, key = pid[0], pid[1], pid[2]
        if kind != "storage" or storage_type not in _DTYPES:
            raise pickle.UnpicklingError("unexpected storage in a weight file")
        return _Storage(str(key), _DTYPES[storage_type])


def _rebuild(storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any) -> tuple:
    return (storage, int(offset), tuple(size), tuple(stride))


def read_weights(data: bytes) -> Weights:
    """The tensors of a PyTorch (zip format) state dict as float32 arrays, by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        root = names[0].split("/")[0]
        tensors = _Reader(io.BytesIO(archive.read(f"{root}/data.pkl"))).load()
        out: Weights = {}
        for name, (storage, offset, size, stride) in tensors.items():
            flat = np.frombuffer(archive.read(f"{root}/data/{storage.key}"), dtype=storage.dtype)
            item = storage.dtype.itemsize
            view = np.lib.stride_tricks.as_strided(flat[offset:], size, tuple(s * item for s in stride))
            out[name] = np.array(view, dtype=np.float32)
    return out


@lru_cache(maxsize=1)
def load() -> tuple[Weights, ...]:
    """The three models' weights, each checked against its pin first; raises ModelRejected otherwise."""
    where = folder()
    if where is None:
        raise ModelRejected(f"no beat model installed: {INSTALL}")
    models = []
    for name, pin in PINS.items():
        path = where / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelRejected(f"cannot read {path}: {exc.strerror or exc}") from None
        if hashlib.sha256(data).hexdigest() != pin:
            raise ModelRejected(f"{path} is not the upstream BeatNet file (SHA-256 differs); reinstall: {INSTALL}")
        try:
            weights = read_weights(data)
        except (zipfile.BadZipFile, pickle.UnpicklingError, KeyError, ValueError, EOFError) as exc:
            raise ModelRejected(f"cannot read {path}: {exc}") from None
        if {k: v.shape for k, v in weights.items()} != SHAPES:
            raise ModelRejected(f"{path} does not hold the network this code runs")
        models.append(weights)
    return tuple(models)
