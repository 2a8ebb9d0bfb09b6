"""Audio files and values, on tiny sounds built byte by byte (every header field explained)."""

from __future__ import annotations

import math
import struct
from array import array
from itertools import pairwise

import pytest

from voiceguide.audio import (
    AudioFormatError,
    Clip,
    decode_sound,
    fade,
    loudness_dbfs,
    peak_dbfs,
    resample,
    trim_silence,
    wav_header,
)


def u32(n: int) -> bytes:
    return struct.pack("<I", n)


def u16(n: int) -> bytes:
    return struct.pack("<H", n)


def wav(fmt: bytes, data: bytes) -> bytes:
    """RIFF, its size (everything after this field), WAVE, the 'fmt ' chunk, the 'data' chunk."""
    body = b"WAVE" + b"fmt " + u32(len(fmt)) + fmt + b"data" + u32(len(data)) + data
    return b"RIFF" + u32(len(body)) + body


def pcm_fmt(channels: int, rate: int, bits: int, tag: int = 1) -> bytes:
    frame = channels * bits // 8
    return (
        u16(tag)  # 1: integer PCM, 3: IEEE float
        + u16(channels)
        + u32(rate)
        + u32(rate * frame)  # bytes a second
        + u16(frame)  # bytes a frame
        + u16(bits)  # bits a sample
    )


def samples(clip: Clip) -> list[int]:
    return array("h", clip.pcm).tolist()


def test_mono_16_bit():
    data = struct.pack("<5h", 0, 1, 2, -2, -32768)
    clip = decode_sound(wav(pcm_fmt(1, 22050, 16), data))
    assert (clip.sample_rate, samples(clip)) == (22050, [0, 1, 2, -2, -32768])


def test_stereo_16_bit_is_mixed_down():
    data = struct.pack("<6h", 100, 300, -100, -300, 32767, 32767)  # L, R pairs
    clip = decode_sound(wav(pcm_fmt(2, 44100, 16), data))
    assert (clip.sample_rate, samples(clip)) == (44100, [200, -200, 32767])


def test_8_bit_is_unsigned_in_wav():
    data = bytes([128, 255, 0])  # silence, almost full positive, full negative
    assert samples(decode_sound(wav(pcm_fmt(1, 8000, 8), data))) == [0, 127 << 8, -32768]


def test_24_bit_keeps_the_top_16_bits():
    data = b"\x00\x00\x00" + b"\xff\x34\x12" + b"\x00\x00\x80"  # 0, 0x1234ff, -8388608
    assert samples(decode_sound(wav(pcm_fmt(1, 48000, 24), data))) == [0, 0x1234, -32768]


def test_32_bit_float():
    data = struct.pack("<3f", 0.0, 0.5, -1.0)
    clip = decode_sound(wav(pcm_fmt(1, 16000, 32, tag=3), data))
    assert samples(clip) == [0, 16384, -32767]


def test_extensible_format_uses_its_sub_format():
    fmt = pcm_fmt(1, 22050, 16, tag=0xFFFE) + u16(22) + u16(16) + u32(4)  # cbSize, valid bits, mask
    fmt += u16(1) + bytes(14)  # the sub-format GUID starts with the PCM tag
    assert samples(decode_sound(wav(fmt, struct.pack("<2h", 7, -7)))) == [7, -7]


def test_aiff_is_big_endian_with_an_80_bit_rate():
    rate = b"\x40\x0d\xac\x44" + bytes(6)  # 22050.0 as an 80-bit extended float
    comm = struct.pack(">hIh", 1, 3, 16) + rate  # channels, frames, bits
    ssnd = struct.pack(">II", 0, 0) + struct.pack(">3h", 1, -2, 300)  # offset, block size
    body = b"AIFF" + b"COMM" + struct.pack(">I", len(comm)) + comm
    body += b"SSND" + struct.pack(">I", len(ssnd)) + ssnd
    clip = decode_sound(b"FORM" + struct.pack(">I", len(body)) + body)
    assert (clip.sample_rate, samples(clip)) == (22050, [1, -2, 300])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello, not a sound", "not a WAV or AIFF file"),
        (b"RIFF" + u32(4) + b"WAVE", "a WAV file without its 'fmt ' or 'data' chunk"),
        (wav(pcm_fmt(1, 22050, 16, tag=85), b"\0\0"), "WAV encoding 85 (16 bits) is not PCM"),
        (wav(pcm_fmt(1, 22050, 12), b"\0\0"), "12-bit samples are not supported"),
        (wav(pcm_fmt(1, 7, 16), b"\0\0"), "1 channels at 7 Hz is not a sound I can use"),
    ],
)
def test_files_that_cannot_be_read_say_why(data, message):
    with pytest.raises(
        AudioFormatError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
    ):
        decode_sound(data)


def test_wav_header_fields():
    header = wav_header(frames=1000, sample_rate=22050)
    assert len(header) == 44
    fields = struct.unpack("<4sI4s4sIHHIIHH4sI", header)
    assert fields == (
        b"RIFF",
        36 + 2000,
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        22050,
        44100,
        2,
        16,
        b"data",
        2000,
    )


def test_trim_silence_drops_exact_zeros_at_both_ends_only():
    pcm = struct.pack("<7h", 0, 0, 256, 0, -1, 0, 0)
    assert trim_silence(pcm) == struct.pack("<3h", 256, 0, -1)
    assert trim_silence(bytes(10)) == b""


def test_fade_starts_and_ends_at_zero_and_leaves_the_middle():
    clip = Clip(struct.pack("<100h", *([1000] * 100)), 1000)
    faded = samples(fade(clip, seconds=0.01))  # 10 samples each end
    assert faded[0] == 0 and faded[-1] == 0
    assert faded[1:10] == sorted(faded[1:10]) and faded[10:90] == [1000] * 80


def tone(frequency: float, rate: int, seconds: float, amplitude: float = 0.5) -> Clip:
    count = round(rate * seconds)
    values = array(
        "h",
        (
            round(amplitude * 32767 * math.sin(2 * math.pi * frequency * i / rate))
            for i in range(count)
        ),
    )
    return Clip(values.tobytes(), rate)


def zero_crossings(clip: Clip) -> int:
    values = samples(clip)
    return sum(1 for a, b in pairwise(values) if (a < 0) != (b < 0))


def test_resampling_keeps_length_in_seconds_and_pitch():
    source = tone(440, 48000, 1.0)
    converted = resample(source, 22050)
    assert converted.sample_rate == 22050
    assert abs(converted.length - 22050) <= 1
    assert abs(zero_crossings(converted) - 880) <= 2  # still 440 Hz


def test_levels_of_a_known_sine():
    half = tone(1000, 22050, 1.0, amplitude=0.5)
    assert peak_dbfs(half.pcm) == pytest.approx(20 * math.log10(0.5 * 32767 / 32768), abs=0.01)
    # A sine's RMS is its peak over the square root of two: -3.01 dB below it.
    assert loudness_dbfs(half.pcm, 22050) == pytest.approx(-6.02 - 3.01, abs=0.05)
    padded = Clip(half.pcm + bytes(22050 * 2 * 3), 22050)  # silence does not lower the loudness
    assert loudness_dbfs(padded.pcm, 22050) == pytest.approx(-9.03, abs=0.05)


SHORT_COMM = (
    b"AIFFCOMM" + struct.pack(">I", 4) + b"\0\1\0\0"  # 4 bytes where 18 belong
    + b"SSND" + struct.pack(">I", 8) + bytes(8)
)  # fmt: skip
HUGE_RATE = (
    b"AIFFCOMM"
    + struct.pack(">I", 18)
    + struct.pack(">hIh", 1, 3, 16)
    + b"\x7f\xff"  # the largest exponent: a rate beyond any float
    + b"\xff" * 8
    + b"SSND"
    + struct.pack(">I", 8)
    + bytes(8)
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"FORM" + struct.pack(">I", len(SHORT_COMM)) + SHORT_COMM, "a damaged AIFF file"),
        (b"FORM" + struct.pack(">I", len(HUGE_RATE)) + HUGE_RATE, "a damaged AIFF file"),
        (
            b"RIFF" + u32(20) + b"WAVEfmt " + u32(2) + b"\1\0" + b"data" + u32(0),
            "a WAV file with a short 'fmt '",
        ),
    ],
)
def test_a_damaged_file_is_an_error_not_a_crash(data, message):
    with pytest.raises(AudioFormatError) as caught:
        decode_sound(data)
    assert str(caught.value).startswith(message)
