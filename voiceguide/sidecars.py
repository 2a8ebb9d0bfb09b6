"""The text files that travel with an export: timeline JSON, SRT and VTT subtitles, LRC synced
words, a CUE sheet, an M3U8 playlist. Pure functions: timeline in, text out."""

from __future__ import annotations

import json

from voiceguide.timeline import Timeline


def timeline_json(timeline: Timeline) -> str:
    return json.dumps(timeline.to_json(), indent=1, ensure_ascii=False) + "\n"


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    whole, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{separator}{millis:03d}"


def _speech(timeline: Timeline):
    for cue in timeline.cues:
        if cue.kind == "speech":
            yield timeline.seconds(cue.start), timeline.seconds(cue.end), cue.text


def srt(timeline: Timeline) -> str:
    """SubRip: one numbered subtitle per speech cue."""
    blocks = [
        f"{n}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{text}\n"
        for n, (start, end, text) in enumerate(_speech(timeline), 1)
    ]
    return "\n".join(blocks)


def vtt(timeline: Timeline) -> str:
    """WebVTT: one cue per speech cue; '&', '<' and '>' escaped as the format requires."""
    blocks = ["WEBVTT\n"]
    for start, end, text in _speech(timeline):
        safe = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{_clock(start, '.')} --> {_clock(end, '.')}\n{safe}\n")
    return "\n".join(blocks)


def lrc(timeline: Timeline) -> str:
    """LRC: each speech cue's words at its start, which phone music players show line by line."""
    return lrc_text(timeline.title, [(start, text) for start, _, text in _speech(timeline)])


def lrc_text(title: str, lines: list[tuple[float, str]]) -> str:
    """[mm:ss.xx] before each line; hundredths rounded down, so a line never shows late."""
    found = [f"[ti:{_one_line(title)}]"]
    for seconds, text in lines:
        hundredths = int(seconds * 100 + 1e-6)
        minutes, hundredths = divmod(hundredths, 6000)
        found.append(
            f"[{minutes:02d}:{hundredths // 100:02d}.{hundredths % 100:02d}]{_one_line(text)}"
        )
    return "\n".join(found) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# The CUE sheet's file types: MP3 and WAVE are the sheet's own; players take WAVE for any
# audio file they can decode.
CUE_FILE_TYPES = {"mp3": "MP3"}


def cue_sheet(timeline: Timeline, audio_name: str, format: str = "wav") -> str:
    """A CUE sheet: a track a top-level step, INDEX 01 at its start (75 frames a second)."""
    lines = [
        f'TITLE "{_quoted(timeline.title)}"',
        'PERFORMER "voiceguide"',
        f'FILE "{_quoted(audio_name)}" {CUE_FILE_TYPES.get(format, "WAVE")}',
    ]
    for step in timeline.steps:
        frames = round(step.start * 75 / timeline.sample_rate)
        minutes, frames = divmod(frames, 75 * 60)
        seconds, frames = divmod(frames, 75)
        lines += [
            f"  TRACK {step.index:02d} AUDIO",
            f'    TITLE "{_quoted(step.title)}"',
            f"    INDEX 01 {minutes:02d}:{seconds:02d}:{frames:02d}",
        ]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    # CUE sheets have no escape for a double quote.
    return text.replace('"', "'")


def m3u(timeline: Timeline, track_names: list[str]) -> str:
    """An extended M3U playlist of the tracks (UTF-8, names relative to it), in order, with
    their lengths in whole seconds and their titles."""
    lines = ["#EXTM3U", f"#PLAYLIST:{timeline.title}"]
    for step, name in zip(timeline.steps, track_names, strict=True):
        lines += [f"#EXTINF:{round(step.length / timeline.sample_rate)},{step.title}", name]
    return "\n".join(lines) + "\n"
