"""M4B (and M4A, the same file under the name music players list): AAC in MP4 through the
system's ffmpeg, with chapters (a chapter track and Nero 'chpl', both from ffmpeg's metadata
file), tags, and the words as LRC in the lyrics tag.

ffmpeg writes an edit list that skips the AAC encoder's priming samples, so decoders give back
the session's length (within one 1024-sample frame at the end). The MP4 is written straight
into the staged output file (ffmpeg seeks back to finish it), through /dev/fd, so it is
committed or dropped with everything else."""

from __future__ import annotations

import errno
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import BinaryIO

from voiceguide.errors import EncoderMissing
from voiceguide.writers import Program, WriteProgress

BITRATE = "48k"  # AAC-LC, mono: speech clear, about 1.6 MB per 10 minutes of session
INSTALL = "M4B export needs ffmpeg; install it: sudo apt install ffmpeg"


def check() -> None:
    if shutil.which("ffmpeg") is None:
        raise EncoderMissing(INSTALL)


def write(f: BinaryIO, audio: Program, progress: WriteProgress | None = None) -> None:
    check()
    f.flush()
    with tempfile.TemporaryDirectory(prefix="voiceguide-") as folder:
        metadata = Path(folder) / "metadata.txt"
        metadata.write_text(ffmetadata(audio), encoding="utf-8")
        command = [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "s16le", "-ar", str(audio.sample_rate), "-ac", "1", "-i", "pipe:0",
            "-f", "ffmetadata", "-i", str(metadata),
            "-map", "0:a", "-map_metadata", "1", "-map_chapters", "1",
            "-c:a", "aac", "-b:a", BITRATE,
            "-f", "mp4", "-brand", "M4B ",
            f"/dev/fd/{f.fileno()}",
        ]  # fmt: skip
        _run(command, audio, f.fileno(), progress)


def _run(command: list[str], audio: Program, fd: int, progress) -> None:
    zeros = bytes(1 << 16)
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(fd,)
    ) as ffmpeg:
        assert ffmpeg.stdin is not None and ffmpeg.stderr is not None
        try:
            for piece in audio.pieces:
                if isinstance(piece, int):
                    for start in range(0, 2 * piece, len(zeros)):
                        ffmpeg.stdin.write(zeros[: 2 * piece - start])
                else:
                    ffmpeg.stdin.write(piece)
                if progress:
                    progress(piece if isinstance(piece, int) else len(piece) // 2)
            ffmpeg.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg stopped: its exit status and message say why
        except BaseException:
            ffmpeg.kill()
            raise
        message = ffmpeg.stderr.read().decode("utf-8", "replace").strip()
        if ffmpeg.wait() != 0:
            raise _failure(message)


def _failure(message: str) -> OSError:
    """ffmpeg's complaint as the OSError the export reports (a full disk is one)."""
    last = message.splitlines()[-1] if message else "ffmpeg failed"
    if "No space left" in message:
        return OSError(errno.ENOSPC, last)
    return OSError(errno.EIO, f"ffmpeg: {last}")


def ffmetadata(audio: Program) -> str:
    """ffmpeg's metadata file: the tags, then a [CHAPTER] a chapter. In milliseconds rounded
    down: given samples, ffmpeg rounds to its millisecond chapters up, and a chapter would
    start after its step."""
    tags = audio.tags
    lines = [
        ";FFMETADATA1",
        f"title={_escaped(tags.title)}",
        f"artist={_escaped(tags.artist)}",
        f"album={_escaped(tags.album)}",
        f"comment={_escaped(tags.comment)}",
        f"lyrics={_escaped(audio.lrc())}",
    ]
    if tags.track:
        lines.append(f"track={tags.track[0]}/{tags.track[1]}")
    for chapter in audio.chapters:
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={chapter.start * 1000 // audio.sample_rate}",
            f"END={chapter.end * 1000 // audio.sample_rate}",
            f"title={_escaped(chapter.title)}",
        ]
    return "\n".join(lines) + "\n"


def _escaped(text: str) -> str:
    """'=', ';', '#', '\\' and newlines are escaped with a backslash in ffmetadata."""
    for special in ("\\", "=", ";", "#", "\n"):
        text = text.replace(special, "\\" + special)
    return text
