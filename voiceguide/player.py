"""Live playback: the timeline scheduled against a clock, with pause, skip and back.

Each cue starts at `origin + start / rate` on a monotonic clock: error never accumulates, because
nothing adds up sleeps. The player owns no clock, no keyboard and no sound card: it is given
`clock`, a `wait_until` that returns early with a command, and an `AudioSink`, so tests can run a
two-hour session in an instant with fakes, and the real ones are tested for real.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from voiceguide import wording
from voiceguide.timeline import Context, Cue, Hold, StepSpan, Timeline

PAUSE, NEXT, BACK, QUIT = "pause", "next", "back", "quit"
COMMANDS = (PAUSE, NEXT, BACK, QUIT)
LEAD_IN = 0.15  # seconds from (re)starting to the first cue: time to prepare it
RESUME_GAP = 0.5  # seconds between the re-orienting words and the session going on
STATUS_EVERY = 0.25  # seconds between status updates
BACK_TWICE = 2.0  # within this many seconds of a step's start, 'back' goes to the step before
INSTRUCTION_ROLES = ("instruction", "round", "side")


class AudioSink(Protocol):
    def play(self, pcm: bytes, sample_rate: int) -> None:
        """Start playing at once and return; sounds may overlap."""

    def stop(self) -> None:
        """Silence everything playing."""


WaitUntil = Callable[[float], str | None]  # block until a clock time; a command ends it early


@dataclass(frozen=True)
class Status:
    """Where the session stands, for a display."""

    position: int  # samples into the session
    step: StepSpan
    steps: int
    context: Context
    hold: Hold | None
    next_title: str | None
    sample_rate: int
    length: int
    paused: bool = False
    finished: bool = False

    @property
    def left(self) -> float:
        return (self.length - self.position) / self.sample_rate

    @property
    def hold_left(self) -> float:
        return (self.hold.end - self.position) / self.sample_rate if self.hold else 0.0


def status_at(timeline: Timeline, position: int, paused: bool = False) -> Status:
    position = min(max(position, 0), timeline.length)
    step = timeline.step_at(position)
    hold = next((h for h in timeline.holds if h.start <= position < h.end), None)
    said = (
        c
        for c in timeline.cues
        if c.step == step.index and c.start <= position and c.kind == "speech"
    )
    before = list(said)
    context = hold.context if hold else (before[-1].context if before else Context())
    following = timeline.steps[step.index] if step.index < len(timeline.steps) else None
    return Status(
        position,
        step,
        len(timeline.steps),
        context,
        hold,
        following.title if following else None,
        timeline.sample_rate,
        timeline.length,
        paused,
        finished=position >= timeline.length,
    )


def reorientation(status: Status) -> str:
    """The few words said on resuming: the step, and the time its hold has left."""
    words = f"Resuming. {status.step.title}."
    if status.hold:
        words += f" Hold, {wording.seconds_in_words(status.hold_left)} left."
    return words


@dataclass
class Outcome:
    """How a session ended: played to the end, or stopped ('quit') at a position."""

    finished: bool
    position: int
    played: list[tuple[float, Cue]] = field(default_factory=list)  # (clock time, cue) per start


class Player:
    def __init__(
        self,
        timeline: Timeline,
        cue_pcm: Callable[[Cue], bytes],
        sink: AudioSink,
        clock: Callable[[], float],
        wait_until: WaitUntil,
        on_status: Callable[[Status], None] = lambda status: None,
        say_now: Callable[[str], bytes] | None = None,
    ):
        self.timeline = timeline
        self.cue_pcm = cue_pcm
        self.sink = sink
        self.clock = clock
        self.wait_until = wait_until
        self.on_status = on_status
        self.say_now = say_now  # synthesizes the words said on resuming; None: say nothing
        self.rate = timeline.sample_rate
        self.starts = [cue.start for cue in timeline.cues]
        self.prepared: dict[int, bytes] = {}
        self.origin = 0.0
        self._paused_at: int | None = None

    # -- the clock and the session's position

    def _time_of(self, sample: int) -> float:
        return self.origin + sample / self.rate

    def _position(self) -> int:
        return round((self.clock() - self.origin) * self.rate)

    def _start_from(self, sample: int, delay: float = LEAD_IN) -> None:
        """Continue the session at `sample`, `delay` seconds from now."""
        self.origin = self.clock() + delay - sample / self.rate
        self.next_cue = bisect.bisect_left(self.starts, sample)

    # -- running

    def run(self, start: int = 0) -> Outcome:
        """Play from sample `start` until the session ends or a 'quit' command."""
        self.outcome = Outcome(False, start)
        self._start_from(start)
        self._prepare()
        next_status = self.clock()
        while True:
            cues = self.timeline.cues
            due = self._time_of(cues[self.next_cue].start) if self.next_cue < len(cues) else None
            end = self._time_of(self.timeline.length)
            command = self.wait_until(min(t for t in (due, end, next_status) if t is not None))
            if command is not None:
                stopped = self._obey(command)
                if stopped is not None:
                    self.outcome.position = stopped
                    return self.outcome
                next_status = self.clock()
                continue
            now = self.clock()
            if due is not None and now >= due:
                self.sink.play(self._pcm(self.next_cue), self.rate)
                self.outcome.played.append((now, cues[self.next_cue]))
                self.next_cue += 1
                self._prepare()
            elif now >= end:
                self.on_status(status_at(self.timeline, self.timeline.length))
                self.outcome.finished, self.outcome.position = True, self.timeline.length
                return self.outcome
            if now >= next_status:
                self.on_status(status_at(self.timeline, self._position()))
                next_status = now + STATUS_EVERY

    def _pcm(self, index: int) -> bytes:
        pcm = self.prepared.pop(index, None)
        return pcm if pcm is not None else self.cue_pcm(self.timeline.cues[index])

    def _prepare(self) -> None:
        """Read the next two cues' samples now, so that reading never delays a cue."""
        for index in range(self.next_cue, min(self.next_cue + 2, len(self.timeline.cues))):
            if index not in self.prepared:
                self.prepared[index] = self.cue_pcm(self.timeline.cues[index])

    def _here(self) -> int:
        return max(0, min(self._position(), self.timeline.length))

    def position(self) -> int:
        """Where the session is now (paused or not), in samples."""
        return self._paused_at if self._paused_at is not None else self._here()

    # -- commands: each returns the position where the session stopped, or None to go on

    def _obey(self, command: str) -> int | None:
        if command == QUIT:
            self.sink.stop()
            return self._here()
        if command == PAUSE:
            return self._pause()
        if command in (NEXT, BACK):
            self.sink.stop()
            self._go_on_from(self._skip(command, self._here()), LEAD_IN)
        return None

    def _skip(self, command: str, position: int) -> int:
        step = self.timeline.step_at(min(position, self.timeline.length - 1))
        if command == NEXT:
            if step.index < len(self.timeline.steps):
                return step.end
            return self.timeline.cues[-1].start  # the last step: on to the closing chime
        if position - step.start < BACK_TWICE * self.rate and step.index > 1:
            return self.timeline.steps[step.index - 2].start
        return step.start

    def _pause(self) -> int | None:
        self.sink.stop()
        self._paused_at = self._here()
        while True:
            self.on_status(status_at(self.timeline, self._paused_at, paused=True))
            command = self.wait_until(math.inf)
            if command == QUIT:
                return self._paused_at
            if command in (NEXT, BACK):
                self._paused_at = self._skip(command, self._paused_at)
            elif command == PAUSE:
                break
        position, self._paused_at = self._paused_at, None
        position = self._resume_point(position)
        delay = LEAD_IN
        if self.say_now is not None and position < self.timeline.length:
            words = self.say_now(reorientation(status_at(self.timeline, position)))
            if words:
                self.sink.play(words, self.rate)
                delay = len(words) / 2 / self.rate + RESUME_GAP
        self._go_on_from(position, delay)
        return None

    def _resume_point(self, position: int) -> int:
        """Where to go on from: an interrupted instruction is said again from its start; a
        hold goes on with exactly the time it had left."""
        index = bisect.bisect_right(self.starts, position) - 1
        if index >= 0:
            cue = self.timeline.cues[index]
            in_hold = any(h.start <= position < h.end for h in self.timeline.holds)
            if cue.start <= position < cue.end and cue.role in INSTRUCTION_ROLES and not in_hold:
                return cue.start
        return position

    def _go_on_from(self, position: int, delay: float) -> None:
        self._start_from(position, delay)
        self.prepared.clear()
        self._prepare()
