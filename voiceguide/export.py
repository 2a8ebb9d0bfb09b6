"""Export: the session as WAV file(s), with JSON, SRT, VTT, CUE and M3U files beside them.

`plan_export` decides every file name and refuses existing files and unwritable places before
any work starts. `write_export` streams the audio into temporary files next to their final
names and renames them only when everything is complete: an interrupted or failed export
leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from voiceguide import sidecars
from voiceguide.audio import wav_header
from voiceguide.compiler import step_title
from voiceguide.errors import OutputError
from voiceguide.files import AtomicFiles, recover
from voiceguide.render import pieces
from voiceguide.routine import Routine
from voiceguide.session import Session

SIDECARS = (".json", ".srt", ".vtt", ".cue")
PLAYLIST = "playlist.m3u"
MAX_WAV_BYTES = 0xFFFFFFFF - 36  # a RIFF size field is 32 bits

WriteProgress = Callable[[int], None]  # samples written since the last call


@dataclass(frozen=True)
class ExportPlan:
    wav: Path | None = None
    sidecars: tuple[Path, ...] = ()
    tracks_dir: Path | None = None
    tracks: tuple[Path, ...] = ()
    playlist: Path | None = None
    force: bool = False  # replace files that existed when planned; never one that appears later

    @property
    def files(self) -> list[Path]:
        single = [self.wav, *self.sidecars] if self.wav else []
        return [*single, *self.tracks, *([self.playlist] if self.playlist else [])]


def plan_export(
    routine: Routine,
    wav: Path | None = None,
    tracks_dir: Path | None = None,
    with_sidecars: bool = True,
    force: bool = False,
) -> ExportPlan:
    """Every file the export will write. Raises OutputError if one exists (without `force`) or
    a folder cannot be written."""
    if wav is None and tracks_dir is None:
        wav = Path(f"{routine.name}.wav")
    if wav is not None and wav.suffix.lower() != ".wav":
        raise OutputError(f"{wav}: the output file's name must end in .wav")
    beside = tuple(wav.with_suffix(s) for s in SIDECARS) if wav and with_sidecars else ()
    tracks: tuple[Path, ...] = ()
    playlist = None
    if tracks_dir is not None:
        names = track_names([step_title(step) for step in routine.steps])
        tracks = tuple(tracks_dir / name for name in names)
        playlist = tracks_dir / PLAYLIST
    plan = ExportPlan(wav, beside, tracks_dir, tracks, playlist, force)
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


def track_names(titles: Iterable[str]) -> list[str]:
    """'01 - Find the spot.wav': numbered, and safe on every file system and phone."""
    titles = list(titles)
    width = max(2, len(str(len(titles))))
    return [f"{i:0{width}d} - {_safe_name(title)}.wav" for i, title in enumerate(titles, 1)]


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
    session: Session, plan: ExportPlan, progress: WriteProgress | None = None
) -> list[Path]:
    """Write every planned file; all of them appear together, or none does."""
    timeline = session.timeline
    if timeline.length * 2 > MAX_WAV_BYTES:
        raise OutputError("the session is too long for a WAV file (4 GB)")
    staging = AtomicFiles(overwrite=plan.force)
    created: list[Path] = []
    try:
        created = _make_folders(plan)
        with staging:
            if plan.wav:
                _write_single(session, plan, staging, progress)
            if plan.tracks_dir:
                _write_tracks(session, plan, staging, progress)
            staging.commit()
    except OSError as e:
        _remove_folders(created)
        where = staging.current or plan.files[0].parent
        raise OutputError(f"cannot write {where}: {_reason(e)}; nothing was written") from None
    except BaseException:
        _remove_folders(created)
        raise
    return plan.files


def _write_single(session: Session, plan: ExportPlan, staging: AtomicFiles, progress) -> None:
    timeline = session.timeline
    assert plan.wav is not None
    with staging.open(plan.wav) as f:
        _write_wav(f, session, 0, timeline.length, progress)
    texts = {
        ".json": sidecars.timeline_json(timeline),
        ".srt": sidecars.srt(timeline),
        ".vtt": sidecars.vtt(timeline),
        ".cue": sidecars.cue_sheet(timeline, plan.wav.name),
    }
    for path in plan.sidecars:
        with staging.open(path) as f:
            f.write(texts[path.suffix].encode("utf-8"))


def _write_tracks(session: Session, plan: ExportPlan, staging: AtomicFiles, progress) -> None:
    timeline = session.timeline
    for step, path in zip(timeline.steps, plan.tracks, strict=True):
        with staging.open(path) as f:
            _write_wav(f, session, step.start, step.end, progress)
    assert plan.playlist is not None
    with staging.open(plan.playlist) as f:
        f.write(sidecars.m3u(timeline, [p.name for p in plan.tracks]).encode("utf-8"))


def _write_wav(f: IO[bytes], session: Session, start: int, end: int, progress) -> None:
    timeline = session.timeline
    f.write(wav_header(end - start, timeline.sample_rate))
    for piece in pieces(timeline, session.cue_pcm, start, end):
        if isinstance(piece, int):
            # Digital silence becomes a hole: it reads back as zeros and costs no writing.
            f.seek(2 * piece, os.SEEK_CUR)
        else:
            f.write(piece)
        if progress:
            progress(piece if isinstance(piece, int) else len(piece) // 2)
    f.truncate()  # the file ends here, even when it ends in a hole


def _remove_folders(folders: list[Path]) -> None:
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if still empty
