"""How a render is encoded: x264 and AAC settings (a size cap becomes a frame and rates in `destinations.fit_cap`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EncodeSettings:
    """x264 and AAC settings of one render. `video_kbps` caps the video rate (VBV), for a size limit."""

    # The defaults, from bench/encoder_bench.py (BENCHMARKS.md): ultrafast keeps renders fast on 2 cores, CABAC
    # (off in ultrafast) saves 17-25 % of the bytes for 5-10 % more time, and a 10 s keyframe interval suits
    # pictures that stay still between drops. The macroblock tree (off in ultrafast) looks 10 frames ahead, sees
    # that a still background is referenced by every frame after it and spends its bits there once, so the
    # frames after it only carry what moved: 20-55 % fewer bytes for about the same time. CRF 22 (one step finer
    # than before) and the deblocking filter (off in ultrafast; ~8 % more encoder time, fewer bytes) keep the
    # moving graphics at SSIM >= 0.995.
    preset: str = "ultrafast"
    crf: float = 22
    keyint: int = 300
    x264: str = "cabac=1:mbtree=1:rc-lookahead=10:deblock=1"    # further x264 options, "key=value:key=value"
    video_kbps: int | None = None
    audio_kbps: int = 192
    lossless: bool = False            # benchmarks: the reference to measure quality against

    @property
    def audio_channels(self) -> int:
        """Stereo, but mono at the lowest rates (a cap's last resort): 32-48 kbit/s hold one channel well."""
        return 1 if self.audio_kbps <= 48 else 2

    def video_args(self) -> list[str]:
        params = f"colorprim=bt709:transfer=bt709:colormatrix=bt709:keyint={self.keyint}"
        if self.x264:
            params += ":" + self.x264
        args = ["-c:v", "libx264", "-preset", self.preset]
        args += ["-qp", "0"] if self.lossless else ["-crf", f"{self.crf:g}"]
        if self.video_kbps and not self.lossless:
            args += ["-maxrate", f"{self.video_kbps}k", "-bufsize", f"{self.video_kbps * 2}k"]
        return [*args, "-pix_fmt", "yuv420p", "-x264-params", params]
