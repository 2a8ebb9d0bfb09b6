"""Audio values and files: mono 16-bit PCM clips, WAV and AIFF reading, WAV headers, levels.

Every clip is converted to one format (mono, 16-bit, the session's rate) before it is joined to
anything else. No audioop (gone in Python 3.13): byte slicing and `array` do the work.
"""

from __future__ import annotations

import math
import operator
import struct
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

MAX_SOUND_BYTES = 20_000_000

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


class AudioFormatError(ValueError):
    """A sound file this program cannot read; the message says why."""


@dataclass(frozen=True)
class Clip:
    """Mono 16-bit little-endian PCM at a sample rate. Immutable."""

    pcm: bytes
    sample_rate: int

    @property
    def length(self) -> int:
        return len(self.pcm) // 2

    @property
    def seconds(self) -> float:
        return self.length / self.sample_rate


def _samples(pcm: bytes) -> array:
    values = array("h", pcm)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def _pcm(values: array) -> bytes:
    if sys.byteorder == "big":
        values = array("h", values)
        values.byteswap()
    return values.tobytes()


# -- reading


def read_sound(path: Path) -> Clip:
    """A WAV or AIFF file as a mono 16-bit clip at the file's own rate."""
    return decode_sound(read_sound_bytes(path))


def read_sound_bytes(path: Path) -> bytes:
    """A sound file's bytes, refused past 20 MB (a device that never ends included)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_SOUND_BYTES + 1)
    except OSError as e:
        raise AudioFormatError(e.strerror or str(e)) from None
    if len(data) > MAX_SOUND_BYTES:
        raise AudioFormatError(f"too large (more than {MAX_SOUND_BYTES // 1_000_000} MB)")
    return data


def decode_sound(data: bytes) -> Clip:
    """WAV or AIFF bytes as a mono 16-bit clip at their own rate."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        kind, read = "WAV", _read_wav
    elif data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        kind, read = "AIFF", _read_aiff
    else:
        raise AudioFormatError("not a WAV or AIFF file")
    try:
        return read(data)
    except AudioFormatError:
        raise
    except (struct.error, OverflowError, ValueError):  # sizes and fields that do not add up
        raise AudioFormatError(f"a damaged {kind} file") from None


def _chunks(data: bytes, start: int, big_endian: bool) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    fmt = ">4sI" if big_endian else "<4sI"
    position = start
    while position + 8 <= len(data):
        name, size = struct.unpack_from(fmt, data, position)
        body = data[position + 8 : position + 8 + size]
        found.setdefault(name, body)
        position += 8 + size + (size & 1)
    return found


def _read_wav(data: bytes) -> Clip:
    chunks = _chunks(data, 12, big_endian=False)
    if b"fmt " not in chunks or b"data" not in chunks:
        raise AudioFormatError("a WAV file without its 'fmt ' or 'data' chunk")
    fmt = chunks[b"fmt "]
    if len(fmt) < 16:
        raise AudioFormatError("a WAV file with a short 'fmt ' chunk")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]
    if tag not in (_PCM, _FLOAT) or (tag == _FLOAT and bits != 32):
        raise AudioFormatError(f"WAV encoding {tag} ({bits} bits) is not PCM or 32-bit float")
    return _to_clip(chunks[b"data"], channels, rate, bits, tag == _FLOAT, big_endian=False)


def _read_aiff(data: bytes) -> Clip:
    chunks = _chunks(data, 12, big_endian=True)
    if b"COMM" not in chunks or b"SSND" not in chunks:
        raise AudioFormatError("an AIFF file without its COMM or SSND chunk")
    comm = chunks[b"COMM"]
    channels, _, bits = struct.unpack_from(">hIh", comm)
    rate = _extended_float(comm[8:18])
    if data[8:12] == b"AIFC" and comm[18:22] not in (b"NONE", b"twos"):
        raise AudioFormatError(f"compressed AIFF ({comm[18:22].decode('latin-1')})")
    offset = struct.unpack_from(">I", chunks[b"SSND"])[0]
    return _to_clip(
        chunks[b"SSND"][8 + offset :], channels, round(rate), bits, False, big_endian=True
    )


def _extended_float(raw: bytes) -> float:
    """The 80-bit IEEE float AIFF uses for its sample rate."""
    exponent, mantissa = struct.unpack(">HQ", raw)
    sign = -1 if exponent & 0x8000 else 1
    exponent &= 0x7FFF
    return (
        0.0 if exponent == 0 and mantissa == 0 else sign * mantissa * 2.0 ** (exponent - 16383 - 63)
    )


def _to_clip(
    raw: bytes, channels: int, rate: int, bits: int, is_float: bool, big_endian: bool
) -> Clip:
    if channels < 1 or not 1000 <= rate <= 384_000:
        raise AudioFormatError(f"{channels} channels at {rate} Hz is not a sound I can use")
    width = bits // 8
    if bits not in (8, 16, 24, 32):
        raise AudioFormatError(f"{bits}-bit samples are not supported")
    frames = len(raw) // (width * channels)
    raw = raw[: frames * width * channels]
    pcm = _float_to_16(raw) if is_float else _int_to_16(raw, width, big_endian, signed_8=big_endian)
    if channels > 1:
        pcm = _mix_down(pcm, channels)
    return Clip(pcm, rate)


def _int_to_16(raw: bytes, width: int, big_endian: bool, signed_8: bool) -> bytes:
    """Keep the top 16 bits of each sample, as little-endian bytes."""
    out = bytearray(len(raw) // width * 2)
    if width == 1:
        # WAV's 8-bit samples are unsigned; AIFF's are signed.
        table = bytes(range(256)) if signed_8 else bytes((b - 128) & 0xFF for b in range(256))
        out[1::2] = raw.translate(table)
        return bytes(out)
    high, low = (0, 1) if big_endian else (width - 1, width - 2)
    out[0::2] = raw[low::width]
    out[1::2] = raw[high::width]
    return bytes(out)


def _float_to_16(raw: bytes) -> bytes:
    values = array("f", raw)
    if sys.byteorder == "big":
        values.byteswap()
    return _pcm(array("h", (_clamp(round(v * 32767)) for v in values)))


def _mix_down(pcm: bytes, channels: int) -> bytes:
    values = _samples(pcm)
    mixed = array(
        "h", (sum(values[i : i + channels]) // channels for i in range(0, len(values), channels))
    )
    return _pcm(mixed)


def _clamp(value: int) -> int:
    return -32768 if value < -32768 else 32767 if value > 32767 else value


# -- changing clips


def resample(clip: Clip, rate: int) -> Clip:
    """The clip at another rate, by linear interpolation (averaged first when going down)."""
    if clip.sample_rate == rate or clip.length == 0:
        return Clip(clip.pcm, rate) if clip.length == 0 else clip
    values = _samples(clip.pcm)
    step = clip.sample_rate / rate
    if step > 1.5:
        values = _box_filter(values, round(step))
    count = max(1, int(len(values) / step))
    last = len(values) - 1
    out = array("h", bytes(2 * count))
    for i in range(count):
        position = i * step
        left = int(position)
        right = left + 1 if left < last else last
        fraction = position - left
        out[i] = round(values[left] + (values[right] - values[left]) * fraction)
    return Clip(_pcm(out), rate)


def _box_filter(values: array, width: int) -> array:
    """A moving average: a cheap low-pass so that decimation does not fold highs into lows."""
    out = array("h", bytes(2 * len(values)))
    total = 0
    for i, value in enumerate(values):
        total += value
        if i >= width:
            total -= values[i - width]
        out[i] = total // min(i + 1, width)
    return out


def scale(clip: Clip, gain: float) -> Clip:
    if gain == 1.0:
        return clip
    values = _samples(clip.pcm)
    if not values or max(max(values), -min(values)) * gain <= 32767:
        # Nothing to clamp: map() over builtins runs several times faster than a generator.
        return Clip(_pcm(array("h", map(round, map(gain.__mul__, values)))), clip.sample_rate)
    return Clip(_pcm(array("h", (_clamp(round(v * gain)) for v in values))), clip.sample_rate)


def fade(clip: Clip, seconds: float = 0.005) -> Clip:
    """Raised-cosine fade in and out, so the clip starts and ends at zero: no click at a join."""
    count = min(round(seconds * clip.sample_rate), clip.length // 2)
    if count < 1:
        return clip
    values = _samples(clip.pcm)
    for i in range(count):
        weight = 0.5 - 0.5 * math.cos(math.pi * i / count)
        values[i] = round(values[i] * weight)
        values[-1 - i] = round(values[-1 - i] * weight)
    return Clip(_pcm(values), clip.sample_rate)


def trim_silence(pcm: bytes) -> bytes:
    """Drop the digital silence (exact zero samples) at both ends. Lossless."""
    start = (len(pcm) - len(pcm.lstrip(b"\0"))) // 2 * 2
    end = len(pcm.rstrip(b"\0"))
    end += end & 1
    return pcm[start:end] if end > start else b""


# -- WAV writing


def wav_header(frames: int, sample_rate: int) -> bytes:
    """The 44-byte header of a mono 16-bit PCM WAV file holding `frames` samples."""
    data_bytes = frames * 2
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,  # the rest of the file after this field
        b"WAVE",
        b"fmt ",
        16,  # fmt chunk size for plain PCM
        _PCM,
        1,  # channels
        sample_rate,
        sample_rate * 2,  # bytes a second
        2,  # bytes a frame
        16,  # bits a sample
        b"data",
        data_bytes,
    )


# -- levels


def peak_dbfs(pcm: bytes) -> float:
    values = _samples(pcm)
    peak = max(max(values), -min(values)) if values else 0
    return 20 * math.log10(peak / 32768) if peak else -math.inf


def loudness_dbfs(pcm: bytes, sample_rate: int, block: float = 0.05, gate: float = 20.0) -> float:
    """RMS over the 50 ms blocks within `gate` dB of the loudest: how loud the sound is while
    it sounds, whatever silence or decay surrounds it."""
    values = _samples(pcm)
    size = max(1, round(block * sample_rate))
    powers = [
        sum(map(operator.mul, block, block)) / size
        for block in (values[i : i + size] for i in range(0, len(values) - size + 1, size))
    ]
    if not powers or max(powers) == 0:
        return -math.inf
    floor = max(powers) * 10 ** (-gate / 10)
    loud = [p for p in powers if p >= floor]
    return 10 * math.log10(sum(loud) / len(loud) / 32768**2)
