"""Draft -> MP4 rendering as a stack of layers (`compose` explains the design). `Renderer` is the interface the
service's worker calls; `get_renderer` gives the engine."""

from nemo_local.render.base import Cancelled, Rendered, Renderer, RenderError, RenderJob
from nemo_local.render.engine import MusicRenderer


def get_renderer(name: str = "default") -> Renderer:
    """The renderer (there is one engine: the music-synced layer stack)."""
    return MusicRenderer()


__all__ = ["Cancelled", "RenderError", "RenderJob", "Rendered", "Renderer", "get_renderer"]
