"""Live playback: the timeline scheduled against a clock, with pause, skip and back.

Each cue starts at `origin + start / rate` on a monotonic clock: error never accumulates, because
nothing adds up sleeps. The player owns no clock, no keyboard and no sound card: it is given
`clock`, a `wait_until` that returns early with a command, and an `AudioSink`, so tests can run a
two-hour session in an instant with fakes, and the real ones are tested for real.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from voiceguide.errors import VoiceguideError
from voiceguide.timeline import Context, Cue, Hold, StepSpan, Timeline
from voiceguide.wording import ENGLISH, Wording

PAUSE, NEXT, BACK, QUIT, WHERE = "pause", "next", "back", "quit", "where"
COMMANDS = (PAUSE, NEXT, BACK, QUIT, WHERE)
LEAD_IN = 0.15  # seconds from (re)starting to the first cue: time to prepare it
RESUME_GAP = 0.5  # seconds between the re-orienting words and the session going on
STATUS_EVERY = 0.25  # seconds between status updates
BACK_TWICE = 2.0  # within this many seconds of a step's start, 'back' goes to the step before
INSTRUCTION_ROLES = ("instruction", "round", "side")
WHERE_PREP = 1.0  # seconds allowed to synthesize the where-am-I words before they are due
WHERE_GUARD = 0.3  # seconds of silence kept between those words and any cue
WHERE_STALE = 1.5  # seconds: words placed later than this after their moment are made again
WHERE_TRIES = 3  # ... at most this many times in all; the last ones are said as they are


class AudioSink(Protocol):
    def play(self, pcm: bytes, sample_rate: int, at: float | None = None) -> None:
        """Start playing at clock time `at` (None, or a time past: at once) and return; sounds
        may overlap. A sink with an `AHEAD` attribute is handed sounds that many seconds before
        their time, one without at their time; one with `START` is given at least that many
        seconds between a (re)start and the first sound."""

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
    # False while only the session's start is laid out: `length` is then what is known so far,
    # and the session lasts at least that.
    length_known: bool = True

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
    titles = [span.title for span in timeline.steps[step.index :]] + list(timeline.to_come)
    return Status(
        position,
        step,
        len(timeline.steps) + len(timeline.to_come),
        context,
        hold,
        titles[0] if titles else None,
        timeline.sample_rate,
        timeline.length,
        paused,
        finished=position >= timeline.length and not timeline.to_come,
        length_known=not timeline.to_come,
    )


def reorientation(status: Status, words: Wording = ENGLISH) -> str:
    """The few words said on resuming: the step, and the time its hold has left."""
    said = words.sentence("resuming", step=status.step.title.rstrip("."))
    if status.hold:
        said += " " + words.sentence("hold_left", time=words.seconds_in_words(status.hold_left))
    return said


def where_words(status: Status, words: Wording = ENGLISH) -> str:
    """What the where-am-I key says, kept short to fit a hold's silence: the step, the round or
    side, the time left in the hold and in the session (whole minutes from a minute on, else
    five seconds; while the session's length is not known yet, no time left in it)."""
    parts = [status.step.title.rstrip(".…") + "."]
    if status.context.round:
        parts.append(words.round_announcement(*status.context.round))
    if status.context.side:
        parts.append(words.sentence("first_side", side=status.context.side))
    if status.hold:
        left = words.seconds_in_words(status.hold_left)
        parts.append(words.sentence("left_in_hold", time=left))
    if status.length_known:  # else the time left is not known yet: better unsaid than false
        rest = status.left
        rounded = 60 * round(rest / 60) if rest >= 60 else max(5, 5 * round(rest / 5))
        parts.append(words.sentence("left_in_session", time=words.seconds_in_words(rounded)))
    return " ".join(parts)


def in_thread(job: Callable[[], None]) -> None:
    threading.Thread(target=job, name="voiceguide-where", daemon=True).start()


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
        background: Callable[[Callable[[], None]], None] = in_thread,
        latest: Callable[[], Timeline] | None = None,
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
        self.ahead: float = getattr(sink, "AHEAD", 0.0)
        # A sink may need longer than the lead-in to place a sound exactly (a stream's buffer).
        self.lead_in: float = max(LEAD_IN, getattr(sink, "START", 0.0))
        self.background = background  # runs the where-am-I synthesis beside the schedule
        # While `timeline` is only the session's start (its `to_come` steps not laid out yet):
        # the timeline laid out so far, which grows step by step to the whole.
        self.latest = latest
        # What stopped the rest from being laid out (its phrases' making failed, or a later
        # step's layout): raised once what was known has played.
        self.failed: VoiceguideError | None = None
        self.speaking = threading.Lock()  # say_now is used by one thread at a time
        self.generation = 0  # counts restarts: where-am-I words made before one are dropped
        self.where_asked: int | None = None  # the sample the words being made are for
        self.where_made: tuple[int, int, bytes] | None = None  # (generation, sample, samples)
        self.where_due: tuple[int, bytes] | None = None  # placed: (first sample, samples)
        self.where_took = 0.0  # seconds the last words took to make
        self.where_tries = 0  # times the words were made for this press of the key

    # -- the clock and the session's position

    def _time_of(self, sample: int) -> float:
        return self.origin + sample / self.rate

    def position(self) -> int:
        """Where the session is now, in samples: paused, (re)starting, or playing."""
        if self.paused_at is not None:
            return self.paused_at
        here = round((self.clock() - self.origin) * self.rate)
        return max(self.floor, min(here, self.timeline.length))

    def _go_on_from(self, sample: int, delay: float | None = None) -> None:
        """Continue the session at `sample`, `delay` seconds from now (default: the lead-in)."""
        delay = self.lead_in if delay is None else delay
        self.origin = self.clock() + delay - sample / self.rate
        self.floor = sample
        self.generation += 1
        self.where_asked = self.where_made = self.where_due = None
        self.next_cue = bisect.bisect_left(self.starts, sample)
        self.prepared.clear()
        self._prepare()

    # -- running

    def run(self, start: int = 0) -> Outcome:
        """Play from sample `start` until the session ends or a 'quit' command."""
        self._go_on_from(start)
        next_status = self.clock()
        while True:
            self._grow()
            self._place_where()
            cues = self.timeline.cues
            due = self._time_of(cues[self.next_cue].start) if self.next_cue < len(cues) else None
            end = self._time_of(self.timeline.length)
            hand_over = due - self.ahead if due is not None else None
            words_at = self._time_of(self.where_due[0]) if self.where_due else None
            words_over = words_at - self.ahead if words_at is not None else None
            command = self.wait_until(
                min(t for t in (hand_over, words_over, end, next_status) if t is not None)
            )
            if command is not None:
                stopped = self._obey(command)
                if stopped is not None:
                    return Outcome(False, stopped)
                next_status = self.clock()
                continue
            now = self.clock()
            if words_over is not None and now >= words_over:
                self.sink.play(self.where_due[1], self.rate, at=words_at)
                self.where_due = None
            if hand_over is not None and now >= hand_over:
                self.sink.play(self._pcm(self.next_cue), self.rate, at=due)
                self.next_cue += 1
                self._prepare()
            elif now >= end and self.timeline.to_come:
                command = self._wait_for_rest()
                stopped = self._obey(command) if command is not None else None
                if stopped is not None:
                    return Outcome(False, stopped)
                next_status = self.clock()
            elif now >= end:
                self.on_status(status_at(self.timeline, self.timeline.length))
                return Outcome(True, self.timeline.length)
            if now >= next_status:
                self.on_status(status_at(self.timeline, self.position()))
                next_status = now + STATUS_EVERY

    # -- a session heard before all of it is laid out

    def _grow(self) -> None:
        """Take the timeline laid out further, once it is: what was played is exactly its
        start, so the cues' numbering and the clock go on unchanged, unless the end of what
        was known is too near for its next cue to be placed exactly (it came late): then the
        session goes on from there after the lead-in, as after a skip."""
        if not self.timeline.to_come or self.latest is None or self.failed is not None:
            return
        try:
            grown = self.latest()
        except VoiceguideError as e:  # the known part is ready: it plays to its end first
            self.failed = e
            return
        if len(grown.steps) <= len(self.timeline.steps):
            return
        known_end = self.timeline.length
        late = self.clock() > self._time_of(known_end) - self.lead_in
        self.timeline = grown
        self.starts = [cue.start for cue in grown.cues]
        if late:  # from the first cue not handed over yet, which may be a known one
            pending = self.starts[self.next_cue] if self.next_cue < len(self.starts) else known_end
            self._go_on_from(min(known_end, pending))
        self._prepare()  # the new step's first cues, read ahead as any others

    def _wait_for_rest(self) -> str | None:
        """What was laid out has played and the next step's phrases are still being made
        (they take longer than the steps before them last): wait in silence, keys working."""
        known = len(self.timeline.steps)
        while self.timeline.to_come and len(self.timeline.steps) == known:
            if self.failed is not None:  # the rest will never come
                raise self.failed
            self.on_status(status_at(self.timeline, self.position()))
            command = self.wait_until(self.clock() + STATUS_EVERY)
            if command is not None:
                return command
            self._grow()
        return None

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
        elif command == WHERE:
            self.where_tries = 0
            self._ask_where(self.position() + round(self._where_prep() * self.rate))
        return None

    # -- where am I: words made beside the schedule, said over the next silence that holds them

    def _ask_where(self, sample: int) -> None:
        if self.say_now is None or self.where_asked is not None or self.where_due is not None:
            return
        if sample >= self.timeline.length:
            return
        self.where_asked = sample
        self.where_tries += 1
        status, generation = status_at(self.timeline, sample), self.generation

        def make() -> None:
            began = self.clock()
            try:  # the words too: a routine's own wording may lack one they need
                text = where_words(status, self.words)
                with self.speaking:
                    pcm = self.say_now(text)
            except VoiceguideError:
                pcm = b""
            self.where_took = self.clock() - began
            self.where_made = (generation, sample, pcm)

        self.background(make)

    def _place_where(self) -> None:
        made, self.where_made = self.where_made, None
        if made is None:
            return
        generation, sample, pcm = made
        if generation != self.generation:
            return  # the session moved on (a skip, a pause) since they were asked for
        self.where_asked = None
        earliest = self.position() + round((self.ahead + 0.05) * self.rate)
        start = self._silence_for(max(sample, earliest), len(pcm) // 2) if pcm else None
        if start is None:
            return  # no silence left that holds them: better unsaid than over a cue
        if start - sample > WHERE_STALE * self.rate and self.where_tries < WHERE_TRIES:
            # What they say would be out of date by then: made again for a later moment.
            later = self.position() + round(self._where_prep() * self.rate)
            self._ask_where(max(start, later))
            return
        self.where_due = (start, pcm)

    def _where_prep(self) -> float:
        """Seconds to allow for making the words: as long as the last time took, and more."""
        return max(WHERE_PREP, 1.5 * self.where_took) + self.ahead

    def _silence_for(self, sample: int, length: int) -> int | None:
        """The first sample from `sample` on where `length` samples fit between cues, with a
        guard of silence either side."""
        guard = round(WHERE_GUARD * self.rate)
        cues = self.timeline.cues
        first = max(bisect.bisect_right(self.starts, sample) - 2, 0)
        for cue in cues[first:]:
            if cue.end + guard <= sample:
                continue
            if cue.start - guard >= sample + length:
                return sample
            sample = max(sample, cue.end + guard)
        return sample if sample + length + guard <= self.timeline.length else None

    def _skip(self, command: str, position: int) -> int:
        step = self.timeline.step_at(min(position, self.timeline.length - 1))
        if command == NEXT:
            if step.index < len(self.timeline.steps) or self.timeline.to_come:
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
        delay = self.lead_in
        words = self._reorienting_words(position)
        if words:
            self.sink.play(words, self.rate, at=None)
            delay = len(words) / 2 / self.rate + RESUME_GAP
        self._go_on_from(position, delay)
        self.paused_at = None

    def _reorienting_words(self, position: int) -> bytes:
        if self.say_now is None or position >= self.timeline.length:
            return b""
        try:
            with self.speaking:
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
