"""The layer stack: which layers a draft asks for, bottom first (`compose` explains the design)."""

from __future__ import annotations

from nemo_local.draft import Kind
from nemo_local.render.backdrop import Backdrop
from nemo_local.render.captions import Captions
from nemo_local.render.compose import Layer, Scene
from nemo_local.render.layers import Flash, ProgressBar, Sparks, Titles, Visualizer
from nemo_local.render.lyrics import LyricLines
from nemo_local.render.overlays import Logo, LowerThird


def layers_for(scene: Scene) -> list[Layer]:
    """The draft's tracks as layers, bottom first: pictures, the drop's flash, the visualizer (unless
    `m.visualizer` is false), sparks, titles, lower thirds, the logo, captions, the progress bar."""
    visualizer = Visualizer(scene) if scene.meta.get("visualizer", True) is not False else None
    out: list[Layer] = [Backdrop(scene, visualizer.style.stage if visualizer else None), Flash(scene)]
    if visualizer:
        out.append(visualizer)
    out.append(Sparks(scene, on_beats=visualizer is not None and scene.meta.get("style") == "rings"))
    texts = scene.segments(Kind.TEXT)
    if any(seg.get("kind") != "lower_third" for seg in texts):
        out.append(Titles(scene))
    out += [LowerThird(scene, str(seg.get("text") or ""), str(seg.get("sub") or ""), float(seg.get("s", 0)),
                       float(seg.get("d", 6000))) for seg in texts
            if seg.get("kind") == "lower_third" and (seg.get("text") or seg.get("sub"))]
    logo = scene.sources.get(str(scene.meta.get("logo")))
    if logo is not None:
        out.append(Logo(scene, logo))
    if scene.captions:
        lit = scene.meta.get("caption_highlight", True) is not False
        out.append(LyricLines(scene, scene.captions, lit) if scene.meta.get("lyrics") else
                   Captions(scene, scene.captions, lit))
    if scene.meta.get("progress_bar"):
        out.append(ProgressBar(scene))
    return out
