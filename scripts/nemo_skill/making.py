"""`make`, the quick flow as one library call. `plan` checks everything before anything is sent: which files are
the audio and which the pictures, the frame sizes, and where each video goes (one per audio file and size).
`make` then starts a session, uploads once, sends one chat turn per track (the user's words, with the
structured output options as data) and exports each track in each size. When the video agent answers with a
question, it stops before anything is rendered (AgentAsks), so the user can answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nemo_local.draft import ASPECTS
from nemo_skill import errors, filetypes, gui, skill
from nemo_skill.api import Api
from nemo_skill.chat import ChatResult, language_of, run_turn
from nemo_skill.destinations import AS_ASKED, Output
from nemo_skill.download import target_path
from nemo_skill.export import Exported, Watch, export
from nemo_skill.upload import check_files, upload_files

ALL_SIZES = re.compile(r"\ball (?:the )?(?:sizes|aspect ratios|aspects|formats)\b|\bevery (?:size|format|aspect)\b|"
                       r"\bin all three\b", re.I)


@dataclass
class Plan:
    audio: list[Path]
    pictures: list[Path]
    prompt: str
    sizes: list[str | None]            # None: the frame the words choose
    targets: list[list[Path]]          # per audio file, one path per size
    output: Output = AS_ASKED
    force: bool = False


@dataclass
class Made:
    audio: str
    aspect: str | None
    video: Exported

    def as_dict(self) -> dict[str, Any]:
        return {"audio": self.audio, "aspect": self.aspect, **self.video.as_dict()}


@dataclass
class Reporter:
    """What `make` tells its caller as it goes."""

    text: Callable[[str], None] = lambda text: None            # the agent's words, as they arrive
    turn: Callable[[ChatResult], None] = lambda result: None   # a finished chat turn
    watch: Watch = lambda render_id, status: None              # render progress
    done: Callable[[Made], None] = lambda made: None            # a video on disk
    turns: list[ChatResult] = field(default_factory=list)


def ordinal(n: int) -> str:
    """1 -> '1st', 2 -> '2nd', 11 -> '11th': how `make` names a track to the director."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _kind(path: Path, local: bool) -> str | None:
    return filetypes.kind_of(filetypes.extension(path.name), local)


def split_inputs(paths: list[Path], local: bool) -> tuple[list[Path], list[Path]]:
    """`make`'s files as (audio, pictures): audio by extension; images and clips are pictures. A video is the
    sound source only when no audio file is named."""
    audio = [p for p in paths if _kind(p, local) == "audio"]
    pictures = [p for p in paths if p not in audio]
    if not audio:
        videos = [p for p in pictures if _kind(p, local) == "video"]
        if not videos:
            raise errors.UsageError("name an audio file (or a video with sound) first, e.g. "
                                    "nemo.py make song.mp3 photo1.jpg photo2.jpg")
        audio, pictures = videos[:1], [p for p in pictures if p != videos[0]]
    return audio, pictures


def make_targets(audio: list[Path], sizes: list[str | None], output: Path | None, force: bool) -> list[list[Path]]:
    """Where each video goes: per audio file, one path per frame size (NAME-9x16.mp4 when there are several).
    Several audio files: one video each, named after it, in the folder -o names (else the current folder)."""
    batch = len(audio) > 1
    if batch and output is not None and (output.suffix or output.is_file()) and not output.is_dir():
        raise errors.UsageError("with several audio files, -o names a folder: one video per audio file")
    if batch and output is not None:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.InputError(f"cannot create the folder {output}: {exc.strerror}") from None
    targets = []
    for track in audio:
        named = Path(track.stem + ".mp4")
        if named.absolute() == track.absolute():     # a clip as the sound source: never its own output
            named = Path(track.stem + "-video.mp4")
        base = output if output is not None and not batch else named
        if output is not None and (batch or output.is_dir()):
            base = output / named.name
        targets.append([target_path(base if size is None or len(sizes) == 1 else
                                    base.with_name(f"{base.stem}-{size.replace(':', 'x')}.mp4"), "video.mp4", force)
                        for size in sizes])
    return targets


def plan(inputs: list[Path], *, image: Path | None = None, aspect: str | None = None, prompt: str | None = None,
         output_path: Path | None = None, output: Output = AS_ASKED, force: bool = False, local: bool = False,
         limit: int | None = None) -> Plan:
    """Everything `make` will do, checked before anything is sent: files that exist and are what they say,
    `--image` a picture, one frame or all three, and output paths that can be written and hold no video yet.
    `limit` is the largest upload the backend takes (the cloud's by default; the local backend checks its disk)."""
    if image is not None and _kind(image, local) not in ("image", "video"):
        raise errors.UsageError(f"--image needs a picture (JPG, PNG, GIF, WEBP) or a video clip; {image.name} is "
                                f"{_kind(image, local) or 'not a file type this skill takes'}")
    audio, pictures = split_inputs([*inputs, *([image] if image else [])], local)
    check_files(audio + pictures, int(skill.config()["limits"]["max_upload_bytes"]) if limit is None else limit,
                local)
    words = prompt or str(skill.config()["variants"][skill.meta().name]["example_prompt"])
    every = aspect == "all" or (aspect is None and ALL_SIZES.search(words) is not None)
    if every and output.destination:
        raise errors.UsageError("--for sets the frame size; use it without --aspect all")
    sizes: list[str | None] = list(ASPECTS) if every else [aspect]
    single = replace(output, aspect=None if every else aspect)
    return Plan(audio, pictures, words, sizes, make_targets(audio, sizes, output_path, force), single, force)


def make(api: Api, plan: Plan, report: Reporter | None = None) -> list[Made]:
    """Run a plan: new session, one upload, a chat turn and the exports for each audio file. Returns the videos;
    raises errors.AgentAsks (nothing rendered for that track) when the agent asks a question."""
    report = report or Reporter()
    rules = gui.compile_rules(skill.config()["gui_translations"])
    api.session_id(new=True, language=language_of(plan.prompt))
    api.settings.notice("Started a new editing session.")
    uploaded = api.with_session(lambda session_id: upload_files(api, session_id, plan.audio + plan.pictures,
                                                                progress=False))
    for track, item in zip(plan.audio, uploaded, strict=False):
        if item.get("has_audio") is False:     # the backend heard no sound in it (the cloud may not say)
            raise errors.InputError(f"{track.name} has no sound track",
                                    hint="Name an audio file (MP3, WAV, ...) or a video with sound first.")
    api.settings.notice(f"Uploaded {len(plan.audio) + len(plan.pictures)} file(s); asking for: {plan.prompt}")
    made = []
    batch = len(plan.audio) > 1
    for number, (track, targets) in enumerate(zip(plan.audio, plan.targets, strict=True), 1):
        words = " ".join([plan.prompt] * (number == 1) + [f"Use the {ordinal(number)} track."] * batch)

        def turn(session_id: str, words: str = words) -> ChatResult:
            return run_turn(api, session_id, words, rules, report.text, plan.output.state(), exporting=True)
        result: ChatResult = api.with_session(turn)
        report.turns.append(result)
        report.turn(result)
        if result.question:
            raise errors.AgentAsks(result.question, track=track.name)
        for size, target in zip(plan.sizes, targets, strict=True):   # analysed and transcribed once
            video = export(api, target, replace(plan.output, aspect=size or plan.output.aspect), force=plan.force,
                           watch=report.watch)
            made.append(Made(track.name, size, video))
            report.done(made[-1])
    return made
