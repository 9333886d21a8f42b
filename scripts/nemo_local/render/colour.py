"""Colours: hex strings to RGB and to limited-range BT.709 YUV, the way the encoder tags its output."""

from __future__ import annotations

import numpy as np


def hex_rgb(value: str, default: tuple[int, int, int] = (54, 197, 240)) -> tuple[int, int, int]:
    value = value.strip().lstrip("#")
    if len(value) != 6:
        return default
    try:
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except ValueError:
        return default


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """RGB (..., 3) in 0-255 -> YUV (..., 3) in limited range, BT.709, as float32."""
    r, g, b = (rgb[..., i].astype(np.float32) / 255.0 for i in range(3))
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    u = (b - y) / 1.8556
    v = (r - y) / 1.5748
    return np.stack([16 + 219 * y, 128 + 224 * u, 128 + 224 * v], axis=-1)


def yuv(value: str) -> tuple[float, float, float]:
    out = rgb_to_yuv(np.array(hex_rgb(value), dtype=np.float32))
    return float(out[0]), float(out[1]), float(out[2])
