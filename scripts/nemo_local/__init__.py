"""Local NemoVideo backend: the same HTTP API, served on this machine, rendering real MP4s with ffmpeg.

Needs the optional dependencies: ``pip install -e '.[local]'``.
"""

from nemo_local.config import ServerConfig

__all__ = ["ServerConfig"]
