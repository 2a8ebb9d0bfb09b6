"""A live session, put together: the routine's session, the sound output, the controls (keys,
and media keys through MPRIS where there is a session bus), the display and the journal.

The command line's `play` is this plus its error lines and exit codes.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from voiceguide import journal as journals
from voiceguide.errors import PlaybackError, StartError, VoiceguideError
from voiceguide.player import Outcome, Player, Status, status_at
from voiceguide.speech import SpeechSettings
from voiceguide.timeline import Timeline


def export_hint(routine: str, values: Mapping[str, str] | None = None) -> str:
    """What follows `voiceguide export` in the hint for a machine without sound: the same
    routine and `--set` values, and for standard input (read already) the file to write."""
    args = [routine, "-o", "stdin.wav"] if routine == "-" else [routine]
    for name, value in (values or {}).items():
        args += ["--set", f"{name}={value}"]
    hint = shlex.join(args)
    return hint + " (the routine on standard input again)" if routine == "-" else hint


class Live:
    """A routine ready to play: loaded, checked against its daily limit, its sound card found,
    synthesized."""

    def __init__(
        self,
        routine: str,
        settings: SpeechSettings,
        output: str = "auto",
        journal: bool = True,
        anyway: bool = False,
        journal_path: Path | None = None,
        start_step: int = 1,
        values: dict[str, str] | None = None,
    ):
        from voiceguide import workers
        from voiceguide.audio_out import open_sink
        from voiceguide.engines import get_engine
        from voiceguide.loader import load_routine
        from voiceguide.phrases import DEFAULT_SAMPLE_RATE
        from voiceguide.session import Unfolding, settings_for, speaking_for

        self.name = routine
        self.output = output
        loaded = load_routine(routine, values)
        if not 1 <= start_step <= len(loaded.steps):  # before the journal and any synthesis
            last = len(loaded.steps)
            raise StartError(f"--start-at: {start_step} is past the last step ({last})")
        self.journal = journals.Journal(journal_path) if journal else None
        if self.journal is not None and not anyway:
            journals.check_per_day(self.journal, loaded, routine)
        # The engine, then the sound card before any synthesis: without one, nothing is made
        # for nothing; the worker started early loads its voice meanwhile. At the usual rate;
        # opened again at the session's, should it differ.
        engine = get_engine(settings_for(loaded, settings).engine)
        workers.ready_early(engine, speaking_for(loaded, settings, engine).voice)
        hint = export_hint(routine, values)
        self.sink = open_sink(hint, DEFAULT_SAMPLE_RATE, output)
        self.unfolding: Unfolding | None = None
        try:
            # Play starts once the steps up to the first played are made; the rest follow.
            self.unfolding = Unfolding(loaded, settings, start_step, engine)
            self.session = self.unfolding.first
            if self.session.timeline.sample_rate != DEFAULT_SAMPLE_RATE:
                self.sink.close()
                self.sink = open_sink(hint, self.session.timeline.sample_rate, output)
        except BaseException:
            if self.unfolding is not None:
                self.unfolding.stop()
            self.sink.close()
            raise
        self.timeline = self.session.timeline
        self.player: Player | None = None
        self.entry: int | None = None
        self._step = 0

    def play(self, start_step: int = 1) -> Outcome:
        """Play from a step to the end or a quit; Ctrl-C and a lost device are raised, each
        recorded in the journal first."""
        from voiceguide.console import Controls, PlainDisplay, TerminalDisplay, keyboard
        from voiceguide.mpris import media_keys

        timeline, sink = self.timeline, self.sink
        clock = getattr(sink, "clock", time.monotonic)  # a stream's device keeps the time
        controls = Controls(clock)
        fancy = sys.stdout.isatty() and os.environ.get("TERM") != "dumb"  # can redraw lines
        display = TerminalDisplay() if fancy else PlainDisplay()
        keys = media_keys(controls.put, self.session.routine.title, timeline)

        def on_status(status: Status) -> None:
            display(status)
            keys.update(status)
            self._note(status)

        self.player = Player(
            timeline,
            lambda cue: self._reading().cue_pcm(cue),
            sink,
            clock,
            controls.wait_until,
            on_status,
            lambda text: self._reading().speak(text),
            words=self.session.wording,
            latest=self._latest,
        )
        self._begin(start_step, sink)
        try:
            with keyboard(controls):
                outcome = self.player.run(timeline.steps[start_step - 1].start)
        except KeyboardInterrupt:
            sink.stop()
            self._end(journals.INTERRUPTED)
            raise
        except PlaybackError:
            self._end(journals.DEVICE_LOST)
            raise
        except VoiceguideError:  # the rest could not be made or laid out: the known part played
            self._end(journals.STOPPED)
            raise
        finally:
            keys.close()
            sink.close()
            if self.unfolding is not None:
                self.unfolding.stop()
        self._end(journals.COMPLETED if outcome.finished else journals.STOPPED, outcome.position)
        return outcome

    def _latest(self) -> Timeline:
        """The session laid out as far as its phrases are made: from then on the status and
        the journal are that one's."""
        if self.unfolding is not None:
            self.session = self.unfolding.latest()
            self.timeline = self.session.timeline
        return self.timeline

    def _reading(self):
        """The session whose phrases are read: the one made whole, once it is (read as the
        export reads them); until then the latest layout's."""
        whole = self.unfolding.whole() if self.unfolding is not None else None
        return whole or self.session

    def status(self, position: int | None = None) -> Status:
        """Where the session is (or was, at `position`)."""
        here = self.player.position() if position is None and self.player else position or 0
        return status_at(self.timeline, here)

    # -- the journal

    def _begin(self, start_step: int, sink) -> None:
        if self.journal is None:
            return
        speaking = self.session.speaking
        settings = {
            "engine": self.timeline.speech.engine,
            "voice": self.timeline.speech.voice,
            "rate": speaking.rate,
            "volume": speaking.volume,
            "start_at": start_step,
            "output": type(sink).__name__,
            "params": dict(self.session.routine.values),  # each param's value, set or default
        }
        self.entry = self.journal.start(
            self.name,
            self.session.routine.path,
            self.session.routine.title,
            settings,
            len(self.timeline.steps) + len(self.timeline.to_come),
            self._whole_length(),
        )

    def _whole_length(self) -> float:
        """The session's length in seconds: laid out whole, or else (a cold cache: the rest
        is still being made) estimated, never what is laid out so far; the real one is
        written at the end, once known."""
        if not self.timeline.to_come:
            return self.timeline.length / self.timeline.sample_rate
        from voiceguide.estimate import session_length

        session = self.session
        return session_length(session.routine, session.speaking, session.cache).seconds

    def _note(self, status: Status) -> None:
        if self.entry is not None and status.step.index != self._step:
            self._step = status.step.index
            self.journal.reached(self.entry, self._step, status.position / status.sample_rate)

    def _end(self, outcome: str, position: int | None = None) -> None:
        if self.entry is None:
            return
        status = self.status(position)
        seconds = status.position / status.sample_rate
        whole = self.unfolding.whole() if self.unfolding is not None else None
        if whole is not None:  # made whole by now, though perhaps not played that far
            length = whole.timeline.length / whole.timeline.sample_rate
        else:  # not known yet: the estimate written at the start stays
            length = status.length / status.sample_rate if status.length_known else None
        self.journal.end(self.entry, outcome, status.step.index, seconds, length)
        self.entry = None
