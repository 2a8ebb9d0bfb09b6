"""The phrase cache: each phrase synthesized once, kept on disk, shared by every process.

An entry is a WAV file whose name is a hash of everything that shapes the sound (engine and
its versions, voice, rate, text). Volume is not in it: an entry is stored at full volume, and
the volume is a gain (so another --volume synthesizes nothing). Beside an entry used at a volume
below 1 the cache keeps a copy at that volume (`copy_key`), made once from the entry: a warm
export or play reads the copy as it is, with no arithmetic (numpy alone takes longer to import
than the rest of a warm export takes to write an hour of WAV). After the
audio comes a small 'vgid' chunk recording that key, the voice, the engine, and the SHA-256 of
the header, the samples, the voice and the engine: every byte of an entry is checked, and a
truncated, corrupt or misplaced one (a folder in its place) is made again. Entries are
written to a temporary name and published with a hard link, which fails if another process got
there first, so a reader never sees half a file and a valid entry never changes under a
running export. Processed chimes are kept here too (`voiceguide.sounds`).

The cache keeps itself under a size limit (the config's `cache_max_size`): after new entries are
written, the least recently used ones go first. Reading an entry marks it used (its access
time, set explicitly: mounts with `noatime` do not do it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from voiceguide.audio import Clip, wav_header
from voiceguide.errors import OutputError, SpeechError

FORMAT = 3  # bump when the processing of stored clips, or the entry's layout, changes
_HEADER = 44


@dataclass(frozen=True)
class Entry:
    """A stored phrase: where its samples are, how many, at what rate."""

    path: Path
    length: int
    sample_rate: int
    voice: str
    # A volume applied as the samples are read: 1 for an entry read as it is (a copy at the
    # session's volume is); below 1 only to make such a copy, or where the cache is read-only.
    gain: float = 1.0

    def describe(self) -> dict:
        """The entry as plain data, to pass between processes; `from_description` rebuilds it."""
        return {
            "path": str(self.path),
            "length": self.length,
            "sample_rate": self.sample_rate,
            "voice": self.voice,
            "gain": self.gain,
        }

    @classmethod
    def from_description(cls, described: dict) -> Entry:
        return cls(
            Path(described["path"]),
            described["length"],
            described["sample_rate"],
            described["voice"],
            described.get("gain", 1.0),
        )

    def read(self) -> bytes:
        with self.path.open("rb") as f:
            f.seek(_HEADER)
            pcm = f.read(self.length * 2)
        if len(pcm) != self.length * 2:
            raise SpeechError(f"the phrase cache entry {self.path} changed while in use; try again")
        return gained(pcm, self.gain)


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


def gained(pcm: bytes, gain: float) -> bytes:
    """16-bit samples times `gain` (at most 1: nothing can clip), rounded."""
    if gain == 1.0 or not pcm:
        return pcm
    import numpy as np  # only where a volume below 1 is heard

    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64) * gain
    return np.rint(x).astype("<i2").tobytes()


class PhraseCache:
    def __init__(self, root: Path | None = None, max_bytes: int | None = None):
        """The cache in `root` (default: `default_cache_dir()`), kept under `max_bytes`
        (default: the config's `cache_max_size`; 0 for no limit)."""
        self.root = Path(root) if root is not None else default_cache_dir()
        self._max_bytes = max_bytes

    @property
    def max_bytes(self) -> int:
        if self._max_bytes is None:
            from voiceguide.config import load_config

            self._max_bytes = load_config().value("cache_max_size")
        return self._max_bytes

    @staticmethod
    def key(identity: str, voice: str, rate: int, text: str) -> str:
        """An entry's name: everything that shapes its sound. Not the volume (a gain)."""
        fields = [FORMAT, identity, voice.strip().lower(), rate, text]
        return hashlib.sha256(json.dumps(fields).encode("utf-8")).hexdigest()

    @staticmethod
    def copy_key(key: str, gain: float) -> str:
        """The name of the copy of entry `key` at `gain` (a volume below 1)."""
        return hashlib.sha256(json.dumps([FORMAT, "at volume", key, gain]).encode()).hexdigest()

    def copy_at(self, key: str, entry: Entry, engine: str) -> Entry:
        """The copy of `entry` (stored under `key`, read at its gain) at that gain, made now
        from the entry's samples; the entry itself if the gain is 1 (nothing to copy)."""
        if entry.gain == 1.0:
            return entry
        clip = Clip(entry.read(), entry.sample_rate)
        try:
            return self.put(self.copy_key(key, entry.gain), clip, entry.voice, engine, entry.gain)
        except OutputError:  # a cache we may read but not write: the gain as it is read
            return entry

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.wav"

    def get(self, key: str) -> Entry | None:
        """The entry for `key` if it is present and intact, else None."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        entry = _verified(path, data, key)
        if entry is not None:
            _mark_used(path)
        return entry

    def put(
        self, key: str, clip: Clip, voice: str, engine: str = "", gain: float | None = None
    ) -> Entry:
        """Store a clip under `key` and return the entry on disk, which is another process's
        if it stored a valid one first. `gain`: the clip is a copy at that volume (its trailer
        says so, for whoever looks into the cache)."""
        path = self.path(key)
        # Named before it exists, so that a Ctrl-C or a full disk at any point still removes it.
        tmp = path.with_name(f".{key[:16]}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            _make_room(path.parent, folder=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as f:
                f.write(_encode(key, clip, voice, engine, gain))
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


def _digest(header: bytes | memoryview, pcm: bytes | memoryview, voice: str, engine: str) -> str:
    """What an entry's checksum covers: everything an Entry is made from, and its engine.
    (Fed piece by piece: joining them first copied every entry's samples once more.)"""
    digest = hashlib.sha256(header)
    digest.update(pcm)
    digest.update(f"{voice}\0{engine}".encode())
    return digest.hexdigest()


def _meta(key: str, digest: str, voice: str, engine: str, gain: float | None = None) -> bytes:
    fields = {"key": key, "sha256": digest, "voice": voice, "engine": engine, "format": FORMAT}
    if gain is not None:
        fields["gain"] = gain
    return json.dumps(fields).encode()


def _encode(key: str, clip: Clip, voice: str, engine: str, gain: float | None = None) -> bytes:
    header = bytearray(wav_header(clip.length, clip.sample_rate))
    # The RIFF size covers the trailing chunk too; players skip chunks they do not know.
    meta_size = len(_meta(key, "0" * 64, voice, engine, gain))
    meta_size += meta_size & 1  # RIFF chunks are word-aligned
    struct.pack_into("<I", header, 4, 36 + len(clip.pcm) + 8 + meta_size)
    digest = _digest(bytes(header), clip.pcm, voice, engine)
    meta = _meta(key, digest, voice, engine, gain)
    meta += b" " * (meta_size - len(meta))
    return bytes(header) + clip.pcm + b"vgid" + struct.pack("<I", len(meta)) + meta


def _verified(path: Path, data: bytes, key: str) -> Entry | None:
    """The entry if every byte of it is as written, else None."""
    try:
        riff, _, wave, fmt, _, tag, channels, rate = struct.unpack_from("<4sI4s4sIHHI", data)
        data_id, size = struct.unpack_from("<4sI", data, 36)
        if (riff, wave, fmt, data_id, tag, channels) != (b"RIFF", b"WAVE", b"fmt ", b"data", 1, 1):
            return None
        pcm = memoryview(data)[_HEADER : _HEADER + size]  # checked where it lies: no copy
        trailer = _HEADER + size
        chunk_id, meta_size = struct.unpack_from("<4sI", data, trailer)
        meta = json.loads(data[trailer + 8 : trailer + 8 + meta_size])
        voice, engine = meta["voice"], meta["engine"]
    except (struct.error, ValueError, KeyError, TypeError):
        return None
    if chunk_id != b"vgid" or size & 1 or len(pcm) != size or len(data) != trailer + 8 + meta_size:
        return None
    if meta.get("key") != key or not isinstance(voice, str) or not isinstance(engine, str):
        return None
    if meta.get("sha256") != _digest(memoryview(data)[:_HEADER], pcm, voice, engine):
        return None
    return Entry(path, size // 2, rate, voice)


def _mark_used(path: Path) -> None:
    """Set the entry's access time to now, its modification time unchanged: least recently
    used goes first in `prune`."""
    with contextlib.suppress(OSError):
        stat = path.stat()
        os.utime(path, ns=(time.time_ns(), stat.st_mtime_ns))


STALE = "(older version)"
_ENTRY_NAME = re.compile(r"[0-9a-f]{64}\.wav")
_FOLDER_NAME = re.compile(r"[0-9a-f]{2}")
_TEMPORARY_NAME = re.compile(r"\.[0-9a-f]{16}\.\d+\.[0-9a-f]{8}\.tmp")


@dataclass(frozen=True)
class StoredEntry:
    """An entry as `size` and `prune` see it: its file, size, last use, engine and voice."""

    path: Path
    size: int
    used: float  # seconds since the epoch
    engine: str  # "(older version)" for an entry this version never reads
    voice: str

    @property
    def stale(self) -> bool:
        return self.engine == STALE


def stored_entries(root: Path) -> list[StoredEntry]:
    """Every entry in the cache at `root`, unverified (only its trailer is read)."""
    found = []
    for path in _own_files(root, _ENTRY_NAME):
        try:
            stat = path.stat()
            engine, voice, format = _trailer(path)
        except OSError:
            continue  # removed meanwhile
        if format != FORMAT:  # its key had another layout: never looked up again
            engine, voice = STALE, ""
        found.append(StoredEntry(path, stat.st_size, stat.st_atime, engine, voice))
    return found


def clear(root: Path) -> tuple[int, int]:
    """Remove every entry (and temporary left by a crash); returns (entries, bytes) removed.
    Only files named as the cache names them are touched, whatever else is in `root`."""
    return _remove(stored_entries(root)) if root.is_dir() else (0, 0)


def prune(root: Path, max_bytes: int, keep: frozenset[Path] = frozenset()) -> tuple[int, int]:
    """Remove the least recently used entries until the cache holds at most `max_bytes`
    (never those in `keep`), those an older version made first; returns (entries, bytes)
    removed."""
    entries = stored_entries(root)
    excess = sum(e.size for e in entries) - max_bytes
    chosen = []
    for entry in sorted(entries, key=lambda e: (not e.stale, e.used)):
        if excess <= 0:
            break
        if entry.path not in keep:
            chosen.append(entry)
            excess -= entry.size
    return _remove(chosen)


def keep_limit(cache: PhraseCache, in_use: frozenset[Path] = frozenset()) -> None:
    """Prune the cache to its limit, if it has one, sparing the entries in use."""
    if cache.max_bytes:
        prune(cache.root, cache.max_bytes, in_use)


def _remove(entries: list[StoredEntry]) -> tuple[int, int]:
    count = size = 0
    for entry in entries:
        with contextlib.suppress(FileNotFoundError):
            entry.path.unlink()
            count, size = count + 1, size + entry.size
    folders = {entry.path.parent for entry in entries}
    for tmp in (t for folder in folders for t in _own_files_in(folder, _TEMPORARY_NAME)):
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > 3600:  # not one being written now
                tmp.unlink()
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty
    return count, size


def _own_files(root: Path, name: re.Pattern) -> list[Path]:
    try:
        folders = [p for p in root.iterdir() if _FOLDER_NAME.fullmatch(p.name) and p.is_dir()]
    except OSError:
        return []
    return [path for folder in sorted(folders) for path in _own_files_in(folder, name)]


def _own_files_in(folder: Path, name: re.Pattern) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if name.fullmatch(p.name))
    except OSError:
        return []


def _trailer(path: Path) -> tuple[str, str, int | None]:
    """The engine, voice and format an entry's 'vgid' chunk names (None: unreadable)."""
    with path.open("rb") as f:
        head = f.read(_HEADER)
        if len(head) < _HEADER:
            return "", "", None
        (size,) = struct.unpack_from("<I", head, 40)
        f.seek(_HEADER + size + 8)
        try:
            meta = json.loads(f.read(4096))
            return str(meta.get("engine", "")), str(meta.get("voice", "")), meta.get("format")
        except (ValueError, AttributeError):
            return "", "", None
