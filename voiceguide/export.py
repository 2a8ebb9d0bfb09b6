"""Export: the session as an audio file (WAV, MP3, Opus or M4B) or one a step, with JSON, SRT,
VTT, LRC and CUE files beside it, or an M3U8 playlist beside the tracks.

`plan_export` decides every file name and the format, and refuses existing files, unwritable
places and missing encoders before any work starts. `write_export` hands each audio file's
span of the timeline, rendered, to the format's writer (voiceguide.writers), through temporary
files renamed only when everything is complete: an interrupted or failed export leaves nothing
behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from voiceguide import sidecars, writers
from voiceguide.durations import format_clock
from voiceguide.errors import OutputError
from voiceguide.files import AtomicFiles, recover
from voiceguide.render import CuePcm, pieces
from voiceguide.timeline import Timeline
from voiceguide.writers import Chapter, Program, Tags, Words, WriteProgress

SIDECARS = (".json", ".srt", ".vtt", ".lrc", ".cue")
PLAYLIST = "playlist.m3u8"
ARTIST = "voiceguide"


@dataclass(frozen=True)
class ExportPlan:
    name: str  # the routine's, for tags
    format: str  # a key of writers.FORMATS
    audio: Path | None = None
    sidecars: tuple[Path, ...] = ()
    tracks_dir: Path | None = None
    tracks: tuple[Path, ...] = ()
    titles: tuple[str, ...] = ()  # the tracks' step titles
    playlist: Path | None = None
    force: bool = False  # replace files that exist; without it, even one that appears later stays

    @property
    def files(self) -> list[Path]:
        single = [self.audio, *self.sidecars] if self.audio else []
        return [*single, *self.tracks, *([self.playlist] if self.playlist else [])]


def plan_export(
    name: str,
    step_titles: Iterable[str],
    output: Path | None = None,
    tracks_dir: Path | None = None,
    format: str | None = None,
    with_sidecars: bool = True,
    force: bool = False,
) -> ExportPlan:
    """Every file the export will write, for a routine called `name` whose top-level steps have
    these titles. The format is `output`'s extension, else `format`, else WAV. Raises
    FormatError for a format there is no writer for, EncoderMissing if its encoder is not
    installed, OutputError if a file exists (without `force`) or a folder cannot be written."""
    if output is None and tracks_dir is None:
        output = Path(f"{name}.{format or 'wav'}")
    if output is not None:
        format = writers.format_for(output.suffix)
    format = format or "wav"
    writers.writer(format).check()
    beside = tuple(output.with_suffix(s) for s in SIDECARS) if output and with_sidecars else ()
    titles = tuple(step_titles) if tracks_dir is not None else ()
    tracks = tuple(tracks_dir / t for t in track_names(titles, writers.FORMATS[format][0]))
    playlist = tracks_dir / PLAYLIST if tracks_dir is not None else None
    plan = ExportPlan(name, format, output, beside, tracks_dir, tracks, titles, playlist, force)
    try:
        _check_names(plan.files)
        recover(plan.files)  # a commit a crash cut short: whole again, old or new, before we look
        for path in plan.files:
            if path.is_dir():
                raise OutputError(f"{path} is a folder; give a file name")
            if path.exists() and not force:
                raise OutputError(f"{path} exists; use --force to overwrite it")
    except OSError as e:
        raise OutputError(f"cannot write {e.filename or plan.files[0]}: {_reason(e)}") from None
    for folder in {path.parent for path in plan.files}:
        _check_writable(folder)
    return plan


def _check_names(paths: list[Path]) -> None:
    """Names a playlist or a cue sheet can hold, each file written once."""
    seen: dict[str, Path] = {}
    for path in paths:
        if any(ord(c) < 32 or ord(c) == 127 for c in str(path)):
            raise OutputError(f"{str(path)!r}: a file name cannot hold control characters")
        same = os.path.normcase(os.path.abspath(path))
        if same in seen:
            raise OutputError(f"{path} would be written twice; give -o a name no track has")
        seen[same] = path


def track_names(titles: Iterable[str], extension: str = ".wav") -> list[str]:
    """'01 - Find the spot.wav': numbered, and safe on every file system and phone."""
    titles = list(titles)
    width = max(2, len(str(len(titles))))
    return [f"{i:0{width}d} - {_safe_name(t)}{extension}" for i, t in enumerate(titles, 1)]


def _safe_name(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r'[<>:"/\\|?*\x00-\x1f]', " ", ascii_title)
    cleaned = " ".join(cleaned.split()).strip(" .")[:60].strip(" .")
    return cleaned or "step"


def _check_writable(folder: Path) -> None:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write to {folder}: {existing} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise OutputError(f"cannot write to {folder}: {_reason(e)}") from None


def _make_folders(plan: ExportPlan) -> list[Path]:
    """Create the missing output folders; the list says which, so a failure can remove them."""
    created = []
    for folder in sorted({path.parent for path in plan.files}):
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        created += reversed(missing)
    return created


def _reason(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    if error.errno == errno.EROFS:
        return "the file system is read-only"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno == errno.ENOENT and error.filename is None:
        return "the current folder no longer exists"
    return error.strerror or str(error)


def write_export(
    timeline: Timeline, cue_pcm: CuePcm, plan: ExportPlan, progress: WriteProgress | None = None
) -> list[Path]:
    """Write every planned file from the timeline and its cues' samples; all of them appear
    together, or none does."""
    if plan.tracks_dir and tuple(s.title for s in timeline.steps) != plan.titles:
        raise AssertionError("the timeline's steps are not the planned tracks")
    write = writers.writer(plan.format).write
    staging = AtomicFiles(overwrite=plan.force)
    created: list[Path] = []
    try:
        created = _make_folders(plan)
        with staging:
            if plan.audio:
                texts: dict[str, bytes] = {}

                def make_sidecars() -> None:  # while the audio is synced (an hour's: 15 ms)
                    texts.update(_sidecar_texts(timeline, plan))

                with staging.open(plan.audio, meanwhile=make_sidecars) as f:
                    write(f, _whole(timeline, cue_pcm, plan.name), progress)
                _write_sidecars(texts, plan, staging)
            if plan.tracks_dir:
                _write_tracks(timeline, cue_pcm, plan, staging, write, progress)
            staging.commit()
    except OSError as e:
        _remove_folders(created)
        where = staging.current or plan.files[0].parent
        raise OutputError(f"cannot write {where}: {_reason(e)}; nothing was written") from None
    except BaseException:
        _remove_folders(created)
        raise
    return plan.files


def _whole(timeline: Timeline, cue_pcm: CuePcm, name: str) -> Program:
    chapters = tuple(Chapter(s.start, s.end, s.title) for s in timeline.steps)
    return _program(timeline, cue_pcm, 0, timeline.length, chapters, _tags(timeline, name))


def _program(
    timeline: Timeline,
    cue_pcm: CuePcm,
    start: int,
    end: int,
    chapters: tuple[Chapter, ...],
    tags: Tags,
) -> Program:
    """Samples [start, end) of the session, with times counted from `start`."""
    words = tuple(
        Words(c.start - start, c.end - start, c.text)
        for c in timeline.cues
        if c.kind == "speech" and start <= c.start < end
    )
    span = pieces(timeline, cue_pcm, start, end)
    return Program(timeline.sample_rate, end - start, span, chapters, words, tags)


def _tags(timeline: Timeline, name: str, step: int | None = None) -> Tags:
    comment = f"voiceguide routine '{name}', {format_clock(timeline.duration)}"
    if step is None:
        return Tags(timeline.title, ARTIST, timeline.title, comment)
    title = timeline.steps[step - 1].title
    return Tags(title, ARTIST, timeline.title, comment, (step, len(timeline.steps)))


def _sidecar_texts(timeline: Timeline, plan: ExportPlan) -> dict[str, bytes]:
    """The planned sidecars' contents, by extension."""
    assert plan.audio is not None
    audio = plan.audio.name
    makers = {
        ".json": sidecars.timeline_json,
        ".srt": sidecars.srt,
        ".vtt": sidecars.vtt,
        ".lrc": sidecars.lrc,
        ".cue": lambda timeline: sidecars.cue_sheet(timeline, audio, plan.format),
    }
    return {p.suffix: makers[p.suffix](timeline).encode("utf-8") for p in plan.sidecars}


def _write_sidecars(texts: dict[str, bytes], plan: ExportPlan, staging: AtomicFiles) -> None:
    for path in plan.sidecars:
        with staging.open(path) as f:
            f.write(texts[path.suffix])


def _write_tracks(timeline, cue_pcm, plan: ExportPlan, staging, write, progress) -> None:
    for step, path in zip(timeline.steps, plan.tracks, strict=True):
        chapter = (Chapter(0, step.length, step.title),)
        tags = _tags(timeline, plan.name, step.index)
        with staging.open(path) as f:
            write(f, _program(timeline, cue_pcm, step.start, step.end, chapter, tags), progress)
    assert plan.playlist is not None
    with staging.open(plan.playlist) as f:
        f.write(sidecars.m3u(timeline, [p.name for p in plan.tracks]).encode("utf-8"))


def _remove_folders(folders: list[Path]) -> None:
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if still empty


def write_stream(
    timeline: Timeline,
    cue_pcm: CuePcm,
    name: str,
    format: str,
    stream,
    progress: WriteProgress | None = None,
) -> None:
    """The whole session in `format`, written to `stream` (standard output: `-o -`). Writers
    need a file they can seek in (headers are completed at the end), so the audio is made in
    an unnamed temporary file first, then copied: a failure writes nothing to `stream`."""
    with tempfile.TemporaryFile() as f:
        writers.writer(format).write(f, _whole(timeline, cue_pcm, name), progress)
        f.seek(0)
        while chunk := f.read(1 << 16):
            stream.write(chunk)
