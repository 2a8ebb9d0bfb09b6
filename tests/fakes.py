"""Stand-ins for fast unit tests of the compiler: phrase lengths without a speech engine."""

from __future__ import annotations

from dataclasses import dataclass, field

from voiceguide.engines.espeak import EspeakEngine

CHIME_SECONDS = {"hold-start": 1.0, "hold-end": 1.25, "session-end": 3.0}


@dataclass
class EstimatedLengths:
    """A phrase lasts 0.3 s plus its words at `rate` words a minute; chimes as in CHIME_SECONDS."""

    rate: int = 150
    sample_rate: int = 22050
    chimes: dict[str, float] = field(default_factory=lambda: dict(CHIME_SECONDS))
    asked: list[str] = field(default_factory=list)

    def speech(self, text: str) -> int:
        self.asked.append(text)
        return round((0.3 + len(text.split()) * 60 / self.rate) * self.sample_rate)

    def chime(self, role: str) -> int:
        return round(self.chimes[role] * self.sample_rate)


class FakeClock:
    """A clock that only moves when the player waits: a two-hour session runs in an instant.

    Commands are scripted at clock times; `wait_until` returns the first one due before its
    deadline (moving the clock to it), else moves the clock to the deadline.
    """

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.script: list[tuple[float, str]] = []

    def __call__(self) -> float:
        return self.now

    def at(self, when: float, command: str) -> None:
        self.script.append((when, command))
        self.script.sort()

    def wait_until(self, deadline: float) -> str | None:
        if self.script and self.script[0][0] <= deadline:
            when, command = self.script.pop(0)
            self.now = max(self.now, when)
            return command
        if deadline == float("inf"):
            raise AssertionError("the player would wait for ever")
        self.now = max(self.now, deadline)
        return None


@dataclass
class RecordingSink:
    """Remembers what was played when, and when sound was stopped."""

    clock: FakeClock
    played: list[tuple[float, bytes]] = field(default_factory=list)
    stops: list[float] = field(default_factory=list)
    due: list[float | None] = field(default_factory=list)  # the time each sound was asked for

    def play(self, pcm: bytes, sample_rate: int, at: float | None = None) -> None:
        assert pcm, "never an empty buffer"
        self.played.append((self.clock(), pcm))
        self.due.append(at)

    def stop(self) -> None:
        self.stops.append(self.clock())


class FakeEngine:
    """A third engine, registered by name like the real ones (`engines.ENGINES`): a quiet tone
    a word, with faint noise at both ends, as neural voices have. Safe in the test process."""

    name = "fake"
    default_voice = "en-fake"
    isolate = False  # no worker processes: the worker would not find this module
    said: list[str] = []  # noqa: RUF012 - what every instance was given, for the tests

    def identity(self) -> str:
        return "fake 1"

    def voices(self):
        from voiceguide.speech import Voice

        return [Voice("en-fake", "Fake English", ("en",)), Voice("de-fake", "Fake German", ("de",))]

    def synthesize(self, text: str, speaking):
        import math
        from array import array

        from voiceguide.audio import Clip

        FakeEngine.said.append(text)
        rate = 16000
        tone = [
            round(3000 * math.sin(2 * math.pi * 220 * i / rate))
            for i in range(round(0.2 * len(text.split()) * rate * 135 / speaking.rate))
        ]
        hiss = [(-1) ** i * 3 for i in range(800)]  # faint: -80 dBFS
        return Clip(array("h", hiss + tone + hiss).tobytes(), rate)


class HangingEngine(FakeEngine):
    """An engine that never finishes its phrase (run in a worker: PYTHONPATH must find this)."""

    name = "hang"
    isolate = True

    def synthesize(self, text: str, speaking):
        import time

        time.sleep(3600)


class HangingEspeak(EspeakEngine):
    """espeak whose fork saying a phrase that starts with 'Then' never finishes (run in a
    worker: PYTHONPATH must find this): the relay waits for it, and the worker for the relay."""

    def synthesize_many(self, texts, speaking):
        from voiceguide.engines import espeak

        said = espeak._Speaker.say

        def say(speaker, text: str) -> bytes:
            import time

            while text.startswith("Then"):
                time.sleep(1)
            return said(speaker, text)

        espeak._Speaker.say = say  # in this worker only, inherited by its forks
        return super().synthesize_many(texts, speaking)


class WorkerEngine(FakeEngine):
    """The fake engine in worker processes, as many as the phrases are worth (run in a worker:
    PYTHONPATH must find this)."""

    name = "workers"
    isolate = True


class SlowEngine(FakeEngine):
    """An engine that takes its time over every phrase, in one worker (run in a worker:
    PYTHONPATH must find this)."""

    name = "slow"
    isolate = True
    max_workers = 1

    def synthesize(self, text: str, speaking):
        import time

        time.sleep(0.25)
        return super().synthesize(text, speaking)


class LoadingEngine(FakeEngine):
    """An engine with a voice to load before it speaks, as Piper has, in one worker (run in a
    worker: PYTHONPATH must find this). Loading leaves a file named after the voice in the
    folder $VOICEGUIDE_TEST_LOADED, holding the number of the process that loaded it."""

    name = "loading"
    isolate = True
    max_workers = 1

    def load(self, voice: str) -> None:
        import os
        from pathlib import Path

        folder = Path(os.environ["VOICEGUIDE_TEST_LOADED"])
        (folder / f".{voice}").write_text(str(os.getpid()))
        (folder / f".{voice}").rename(folder / voice)  # whole when it is seen


class GatedEngine(FakeEngine):
    """The fake engine, in this process, holding back every phrase that starts with one of
    its gates' words until that gate opens: a session's later steps made slowly, on purpose."""

    name = "gated"

    def __init__(self, *words: str) -> None:
        import threading

        self.gates = {word: threading.Event() for word in words or ("Then",)}
        self.asked: list[str] = []

    def open(self) -> None:
        for gate in self.gates.values():
            gate.set()

    def synthesize(self, text: str, speaking):
        self.asked.append(text)
        for word, gate in self.gates.items():
            if text.startswith(word):
                assert gate.wait(60), f"the gate for '{word}' was never opened"
        return super().synthesize(text, speaking)


class GatedEspeak(EspeakEngine):
    """espeak, in a worker, holding back every phrase that starts with 'Then' until the file
    named by $VOICEGUIDE_TEST_GATE exists. It is espeak under espeak's name: its phrases, and
    their cache entries, are espeak's own (each phrase is said by its own fork either way)."""

    synthesize_many = None  # one phrase at a time, each after its gate

    def synthesize(self, text: str, speaking):
        import os
        import time

        gate = os.environ["VOICEGUIDE_TEST_GATE"]
        while text.startswith("Then") and not os.path.exists(gate):
            time.sleep(0.05)
        return super().synthesize(text, speaking)


class FailingEspeak(GatedEspeak):
    """GatedEspeak whose 'Then' phrases fail once the gate opens: the engine giving up on a
    session's later steps while its first plays."""

    def synthesize(self, text: str, speaking):
        from voiceguide.errors import SpeechError

        clip = super().synthesize(text, speaking)
        if text.startswith("Then"):
            raise SpeechError(f"espeak-ng failed on '{text}' (on purpose)")
        return clip


class SlowRateKnownEngine(SlowEngine):
    """The slow engine, saying beforehand at what rate it speaks (as espeak does): the chimes
    can be made while it speaks (run in a worker: PYTHONPATH must find this)."""

    name = "slow-rate-known"
    sample_rate = 16000
