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
from dataclasses import dataclass
from typing import Protocol

from voiceguide.errors import VoiceguideError
from voiceguide.timeline import Context, Cue, Hold, StepSpan, Timeline
from voiceguide.wording import ENGLISH, Wording

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
    hold = timeline.hold_at(position)
    said = timeline.last_said(position)
    context = hold.context if hold else (said.context if said else Context())
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


def reorientation(status: Status, words: Wording = ENGLISH) -> str:
    """The few words said on resuming: the step, and the time its hold has left."""
    said = words.sentence("resuming", step=status.step.title.rstrip("."))
    if status.hold:
        said += " " + words.sentence("hold_left", time=words.seconds_in_words(status.hold_left))
    return said


@dataclass
class Outcome:
    """How a session ended: played to the end, or stopped ('quit') at a position."""

    finished: bool
    position: int


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
        words: Wording = ENGLISH,  # the routine's language, for the words said on resuming
    ):
        self.timeline = timeline
        self.cue_pcm = cue_pcm
        self.sink = sink
        self.clock = clock
        self.wait_until = wait_until
        self.on_status = on_status
        self.say_now = say_now  # synthesizes the words said on resuming; None: say nothing
        self.words = words
        self.rate = timeline.sample_rate
        self.starts = [cue.start for cue in timeline.cues]
        self.prepared: dict[int, bytes] = {}
        self.origin = 0.0  # the clock time of the session's sample 0
        self.floor = 0  # where the session (re)started: not before, whatever the clock says
        self.next_cue = 0
        self.paused_at: int | None = None

    # -- the clock and the session's position

    def _time_of(self, sample: int) -> float:
        return self.origin + sample / self.rate

    def position(self) -> int:
        """Where the session is now, in samples: paused, (re)starting, or playing."""
        if self.paused_at is not None:
            return self.paused_at
        here = round((self.clock() - self.origin) * self.rate)
        return max(self.floor, min(here, self.timeline.length))

    def _go_on_from(self, sample: int, delay: float = LEAD_IN) -> None:
        """Continue the session at `sample`, `delay` seconds from now."""
        self.origin = self.clock() + delay - sample / self.rate
        self.floor = sample
        self.next_cue = bisect.bisect_left(self.starts, sample)
        self.prepared.clear()
        self._prepare()

    # -- running

    def run(self, start: int = 0) -> Outcome:
        """Play from sample `start` until the session ends or a 'quit' command."""
        self._go_on_from(start)
        next_status = self.clock()
        cues = self.timeline.cues
        while True:
            due = self._time_of(cues[self.next_cue].start) if self.next_cue < len(cues) else None
            end = self._time_of(self.timeline.length)
            command = self.wait_until(min(t for t in (due, end, next_status) if t is not None))
            if command is not None:
                stopped = self._obey(command)
                if stopped is not None:
                    return Outcome(False, stopped)
                next_status = self.clock()
                continue
            now = self.clock()
            if due is not None and now >= due:
                self.sink.play(self._pcm(self.next_cue), self.rate)
                self.next_cue += 1
                self._prepare()
            elif now >= end:
                self.on_status(status_at(self.timeline, self.timeline.length))
                return Outcome(True, self.timeline.length)
            if now >= next_status:
                self.on_status(status_at(self.timeline, self.position()))
                next_status = now + STATUS_EVERY

    def _pcm(self, index: int) -> bytes:
        pcm = self.prepared.pop(index, None)
        return pcm if pcm is not None else self.cue_pcm(self.timeline.cues[index])

    def _prepare(self) -> None:
        """Read the next two cues' samples now, so that reading never delays a cue."""
        for index in range(self.next_cue, min(self.next_cue + 2, len(self.timeline.cues))):
            if index not in self.prepared:
                self.prepared[index] = self.cue_pcm(self.timeline.cues[index])

    # -- commands: each returns the position where the session stopped, or None to go on

    def _obey(self, command: str) -> int | None:
        if command == QUIT:
            self.sink.stop()
            return self.position()
        if command == PAUSE:
            self.sink.stop()
            self.paused_at = self.position()
            if self._wait_paused() == QUIT:
                return self.paused_at
            self._resume()
        elif command in (NEXT, BACK):
            self.sink.stop()
            self._go_on_from(self._skip(command, self.position()))
        return None

    def _skip(self, command: str, position: int) -> int:
        step = self.timeline.step_at(min(position, self.timeline.length - 1))
        if command == NEXT:
            if step.index < len(self.timeline.steps):
                return step.end
            closing = self.timeline.cues[-1].start if self.timeline.cues else self.timeline.length
            return closing if position < closing else self.timeline.length
        if position - step.start < BACK_TWICE * self.rate and step.index > 1:
            return self.timeline.steps[step.index - 2].start
        return step.start

    def _wait_paused(self) -> str:
        """Wait for resume or quit; a skip while paused moves where the session will go on."""
        while True:
            self.on_status(status_at(self.timeline, self.paused_at, paused=True))
            command = self.wait_until(math.inf)
            if command in (NEXT, BACK):
                self.paused_at = self._skip(command, self.paused_at)
            elif command in (PAUSE, QUIT):
                return command

    def _resume(self) -> None:
        position = self._resume_point(self.paused_at)
        delay = LEAD_IN
        words = self._reorienting_words(position)
        if words:
            self.sink.play(words, self.rate)
            delay = len(words) / 2 / self.rate + RESUME_GAP
        self._go_on_from(position, delay)
        self.paused_at = None

    def _reorienting_words(self, position: int) -> bytes:
        if self.say_now is None or position >= self.timeline.length:
            return b""
        try:
            return self.say_now(reorientation(status_at(self.timeline, position), self.words))
        except VoiceguideError:
            return b""  # the session goes on without them rather than end

    def _resume_point(self, position: int) -> int:
        """Where to go on from: an interrupted instruction is said again from its start; a
        hold goes on with exactly the time it had left."""
        index = bisect.bisect_right(self.starts, position) - 1
        if index >= 0 and self.timeline.hold_at(position) is None:
            cue = self.timeline.cues[index]
            if cue.start <= position < cue.end and cue.role in INSTRUCTION_ROLES:
                return cue.start
        return position
