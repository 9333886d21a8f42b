"""Draft -> MP4 rendering. `Renderer` is the interface the worker calls; `get_renderer` picks the engine."""

from nemo_local.render.base import Cancelled, Renderer, RenderError, RenderJob, get_renderer

__all__ = ["Cancelled", "RenderError", "RenderJob", "Renderer", "get_renderer"]
