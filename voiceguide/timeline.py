"""The timeline: a session as timed cues on one line. Export writes it; play schedules it.

Times are kept as whole samples at `sample_rate`, so nothing drifts or rounds twice; seconds
appear only at the edges (JSON, display).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Literal

from voiceguide.speech import SpeechSettings


@dataclass(frozen=True)
class Context:
    """Where a cue sits in the routine's repeats and sides, for the display."""

    round: tuple[int, int] | None = None  # (this round, of how many)
    side: str | None = None


@dataclass(frozen=True)
class Cue:
    start: int  # first sample
    length: int  # in samples
    kind: Literal["speech", "chime"]
    step: int  # 1-based index of the top-level step it belongs to
    text: str = ""  # speech: the exact text sent to the engine
    sound: str = ""  # chime: a bundled sound's name or a WAV file's path
    role: str = (
        ""  # instruction, round, side, halfway, countdown; hold-start, hold-end, session-end
    )
    context: Context = Context()

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class Hold:
    """From the start chime's onset to the end chime's onset: exactly the routine's hold."""

    start: int
    length: int
    step: int
    context: Context = Context()

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class StepSpan:
    """A top-level step of the routine; the spans tile the session."""

    index: int
    title: str
    start: int
    length: int

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class Timeline:
    title: str
    sample_rate: int
    length: int
    steps: tuple[StepSpan, ...]
    cues: tuple[Cue, ...]
    holds: tuple[Hold, ...]
    speech: SpeechSettings  # complete: the engine, voice, rate and volume it was made with
    # The titles of the steps not laid out yet: a timeline that is only the session's start,
    # played while the rest of its phrases are made (see `session.Unfolding`).
    to_come: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        return self.length / self.sample_rate

    def seconds(self, samples: int) -> float:
        """Seconds for a sample count, rounded so that round(s * rate) gives the count back."""
        return round(samples / self.sample_rate, 6)

    # Lookups by bisection: the player asks several times a second, and steps, holds and cues
    # are each sorted and never overlap.

    def hold_at(self, sample: int) -> Hold | None:
        i = bisect.bisect_right(self.holds, sample, key=lambda hold: hold.start) - 1
        return self.holds[i] if i >= 0 and sample < self.holds[i].end else None

    def step_at(self, sample: int) -> StepSpan:
        i = bisect.bisect_right(self.steps, sample, key=lambda step: step.start) - 1
        return self.steps[min(max(i, 0), len(self.steps) - 1)]

    def last_said(self, sample: int) -> Cue | None:
        """The last speech cue started by `sample` in the step it falls in."""
        step = self.step_at(sample).index
        i = bisect.bisect_right(self.cues, sample, key=lambda cue: cue.start) - 1
        while i >= 0 and self.cues[i].step == step:
            if self.cues[i].kind == "speech":
                return self.cues[i]
            i -= 1
        return None

    def to_json(self) -> dict[str, Any]:
        """The JSON contract of DESIGN.md, plus 'role', 'round', 'side' and 'holds'."""
        s = self.seconds
        return {
            "title": self.title,
            "duration": s(self.length),
            "sample_rate": self.sample_rate,
            "engine": self.speech.engine,
            "voice": self.speech.voice,
            "rate": self.speech.rate,
            "volume": self.speech.volume,
            "steps": [
                {"index": st.index, "title": st.title, "start": s(st.start), "end": s(st.end)}
                for st in self.steps
            ],
            "cues": [_cue_json(cue, s) for cue in self.cues],
            "holds": [
                {"start": s(h.start), "end": s(h.end), "step": h.step, **_context_json(h.context)}
                for h in self.holds
            ],
        }


def _cue_json(cue: Cue, s) -> dict[str, Any]:
    what = {"text": cue.text} if cue.kind == "speech" else {"sound": cue.sound}
    return {
        "start": s(cue.start),
        "end": s(cue.end),
        "kind": cue.kind,
        **what,
        "step": cue.step,
        "role": cue.role,
        **_context_json(cue.context),
    }


def _context_json(context: Context) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if context.round:
        found["round"] = list(context.round)
    if context.side:
        found["side"] = context.side
    return found
