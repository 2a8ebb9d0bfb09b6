"""Timeline + clips -> PCM, streamed a piece at a time: silence between cues, cue samples at
exactly their first sample. Any span of the session can be rendered on its own, and spans
joined end to end give exactly the whole. Silence is handed out as a count of samples, so a
writer can leave a hole instead of writing zeros."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator

from voiceguide.timeline import Cue, Timeline

CuePcm = Callable[[Cue], bytes]


def pieces(
    timeline: Timeline, cue_pcm: CuePcm, start: int = 0, end: int | None = None
) -> Iterator[bytes | int]:
    """Samples [start, end) of the session: bytes of 16-bit PCM for cues, and for the digital
    silence between them just its length in samples (a writer may leave a hole)."""
    end = timeline.length if end is None else end
    cues = timeline.cues
    position = start
    # Cues never overlap, so their ends are sorted too: skip those over before `start`.
    for cue in cues[bisect.bisect_right(cues, start, key=lambda c: c.end) :]:
        if cue.start >= end:
            break
        if cue.start < position and position > start:
            raise AssertionError(f"cues overlap at sample {cue.start}")
        if cue.start > position:
            yield cue.start - position
        pcm = cue_pcm(cue)
        if len(pcm) != 2 * cue.length:
            got = len(pcm) // 2
            raise AssertionError(f"cue at sample {cue.start} has {got} samples, not {cue.length}")
        clip_from = max(start, cue.start) - cue.start
        clip_to = min(end, cue.end) - cue.start
        yield pcm[2 * clip_from : 2 * clip_to]
        position = cue.start + clip_to
    if end > position:
        yield end - position
