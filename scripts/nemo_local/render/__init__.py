"""Draft -> MP4 rendering as a stack of layers (`compose` explains the design). `Renderer` is the interface the
service's worker calls; `get_renderer` gives the engine, single pass or chunked on a farm (`chunks`)."""

from nemo_local.render.base import Cancelled, Rendered, Renderer, RenderError, RenderJob
from nemo_local.render.chunks import CHUNK_S, Farm
from nemo_local.render.engine import MusicRenderer


def get_renderer(farm: Farm | None = None, chunk_seconds: float = CHUNK_S) -> Renderer:
    """The renderer (there is one engine: the music-synced layer stack); with a farm, long renders are chunked."""
    return MusicRenderer(farm, chunk_seconds)


__all__ = ["Cancelled", "RenderError", "RenderJob", "Rendered", "Renderer", "get_renderer"]
