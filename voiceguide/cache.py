"""The phrase cache: each phrase synthesized once, kept on disk, shared by every process.

An entry is a WAV file whose name is a hash of everything that shapes the sound (engine and
its versions, voice, rate, volume, text). After the audio comes a small 'vgid' chunk recording
that key, the voice, and the SHA-256 of the header, the samples and the voice: every byte of an
entry is checked, and a truncated, corrupt or misplaced one (a folder in its place) is made
again. Entries are written to a temporary name and published with a hard link, which
fails if another process got there first, so a reader never sees half a file and a valid entry
never changes under a running export. Processed chimes are kept here too (`voiceguide.sounds`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from voiceguide.audio import Clip, wav_header
from voiceguide.errors import OutputError, SpeechError

FORMAT = 2  # bump when the processing of stored clips, or the entry's layout, changes
_HEADER = 44


@dataclass(frozen=True)
class Entry:
    """A stored phrase: where its samples are, how many, at what rate."""

    path: Path
    length: int
    sample_rate: int
    voice: str

    def describe(self) -> dict:
        """The entry as plain data, to pass between processes; `from_description` rebuilds it."""
        return {
            "path": str(self.path),
            "length": self.length,
            "sample_rate": self.sample_rate,
            "voice": self.voice,
        }

    @classmethod
    def from_description(cls, described: dict) -> Entry:
        return cls(
            Path(described["path"]),
            described["length"],
            described["sample_rate"],
            described["voice"],
        )

    def read(self) -> bytes:
        with self.path.open("rb") as f:
            f.seek(_HEADER)
            pcm = f.read(self.length * 2)
        if len(pcm) != self.length * 2:
            raise SpeechError(f"the phrase cache entry {self.path} changed while in use; try again")
        return pcm


def default_cache_dir() -> Path:
    """$VOICEGUIDE_CACHE, else the platform's user cache folder."""
    if os.environ.get("VOICEGUIDE_CACHE"):
        return Path(os.environ["VOICEGUIDE_CACHE"])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "voiceguide"
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "voiceguide" / "Cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voiceguide"


class PhraseCache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()

    @staticmethod
    def key(identity: str, voice: str, rate: int, volume: float, text: str) -> str:
        fields = [FORMAT, identity, voice.strip().lower(), rate, round(volume, 3), text]
        return hashlib.sha256(json.dumps(fields).encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.wav"

    def get(self, key: str) -> Entry | None:
        """The entry for `key` if it is present and intact, else None."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        return _verified(path, data, key)

    def put(self, key: str, clip: Clip, voice: str) -> Entry:
        """Store a clip under `key` and return the entry on disk, which is another process's
        if it stored a valid one first."""
        path = self.path(key)
        # Named before it exists, so that a Ctrl-C or a full disk at any point still removes it.
        tmp = path.with_name(f".{key[:16]}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            _make_room(path.parent, folder=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as f:
                f.write(_encode(key, clip, voice))
            ours = _publish(tmp, path)
        except OSError as e:
            raise OutputError(
                f"cannot write the phrase cache in {self.root}: {e.strerror}; "
                "set VOICEGUIDE_CACHE to a writable folder"
            ) from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        entry = Entry(path, clip.length, clip.sample_rate, voice) if ours else self.get(key)
        if entry is None:
            raise OutputError(f"the phrase cache entry {path} is unreadable right after writing")
        return entry


def _publish(tmp: Path, path: Path) -> bool:
    """Put the finished file in place; False if a valid entry was already there (it stays)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        if _verified(path, _read_or_empty(path), path.stem) is not None:
            return False
        _make_room(path, folder=False)
        os.replace(tmp, path)  # the entry there is damaged: ours replaces it
    except OSError:
        os.replace(tmp, path)  # no hard links on this file system
    return True


def _make_room(path: Path, folder: bool) -> None:
    """Remove what stands where the cache needs a folder (a file) or a file (a folder)."""
    if folder and path.is_file():
        path.unlink()
    elif not folder and path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)


def _read_or_empty(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _digest(header: bytes, pcm: bytes, voice: str) -> str:
    """What an entry's checksum covers: everything an Entry is made from."""
    return hashlib.sha256(header + pcm + voice.encode("utf-8")).hexdigest()


def _encode(key: str, clip: Clip, voice: str) -> bytes:
    header = bytearray(wav_header(clip.length, clip.sample_rate))
    # The RIFF size covers the trailing chunk too; players skip chunks they do not know.
    meta_size = len(json.dumps({"key": key, "sha256": "0" * 64, "voice": voice}).encode("utf-8"))
    meta_size += meta_size & 1  # RIFF chunks are word-aligned
    struct.pack_into("<I", header, 4, 36 + len(clip.pcm) + 8 + meta_size)
    digest = _digest(bytes(header), clip.pcm, voice)
    meta = json.dumps({"key": key, "sha256": digest, "voice": voice}).encode("utf-8")
    meta += b" " * (meta_size - len(meta))
    return bytes(header) + clip.pcm + b"vgid" + struct.pack("<I", len(meta)) + meta


def _verified(path: Path, data: bytes, key: str) -> Entry | None:
    """The entry if every byte of it is as written, else None."""
    try:
        riff, _, wave, fmt, _, tag, channels, rate = struct.unpack_from("<4sI4s4sIHHI", data)
        data_id, size = struct.unpack_from("<4sI", data, 36)
        if (riff, wave, fmt, data_id, tag, channels) != (b"RIFF", b"WAVE", b"fmt ", b"data", 1, 1):
            return None
        pcm = data[_HEADER : _HEADER + size]
        trailer = _HEADER + size
        chunk_id, meta_size = struct.unpack_from("<4sI", data, trailer)
        meta = json.loads(data[trailer + 8 : trailer + 8 + meta_size])
        voice = meta["voice"]
    except (struct.error, ValueError, KeyError, TypeError):
        return None
    if chunk_id != b"vgid" or size & 1 or len(pcm) != size or len(data) != trailer + 8 + meta_size:
        return None
    if meta.get("key") != key or not isinstance(voice, str):
        return None
    if meta.get("sha256") != _digest(data[:_HEADER], pcm, voice):
        return None
    return Entry(path, size // 2, rate, voice)
