"""A session: a routine made audible. Its phrases, its chimes and its timeline, together.

Export and play both start here, so what you export is exactly what you hear.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from voiceguide import compiler, params, sounds
from voiceguide.audio import Clip
from voiceguide.cache import Entry, PhraseCache
from voiceguide.engines import default_engine, get_engine
from voiceguide.errors import Problem, RoutineError, SpeechError
from voiceguide.phrases import (
    DEFAULT_SAMPLE_RATE,
    Phrases,
    SynthesisProgress,
    full_volume_sources,
    phrases_of,
    prepare_phrases,
)
from voiceguide.pronounce import Pronunciation
from voiceguide.routine import Position, Routine
from voiceguide.speech import DEFAULT_RATE, DEFAULT_VOLUME, SpeechEngine, SpeechSettings, voice_of
from voiceguide.timeline import Cue, Timeline
from voiceguide.wording import Wording, language_code, wording_for

DEFAULTS = SpeechSettings(None, DEFAULT_RATE, DEFAULT_VOLUME)
STOP_SECONDS = 10  # for the workers making a session's phrases to end (each is given 5 s)


def settings_for(routine: Routine, overrides: SpeechSettings | None = None) -> SpeechSettings:
    """Defaults, then the routine's speech block, then the command line's options. Another
    engine named on the command line leaves the routine's voice behind: voices belong to one."""
    overrides = overrides or SpeechSettings()
    routine_speech = routine.speech
    if overrides.engine and overrides.engine != (routine_speech.engine or default_engine()):
        routine_speech = replace(routine_speech, voice=None)
    return DEFAULTS.merged(routine_speech).merged(overrides)


def speaking_for(
    routine: Routine, overrides: SpeechSettings | None = None, engine: SpeechEngine | None = None
) -> SpeechSettings:
    merged = settings_for(routine, overrides)
    engine = engine or get_engine(merged.engine)
    assert merged.rate is not None and merged.volume is not None
    if merged.voice is not None and (overrides or SpeechSettings()).voice is None:
        _check_routine_voice(routine, merged.voice, engine)
    voice = merged.voice or engine.default_voice
    return SpeechSettings(voice, merged.rate, merged.volume, engine.name)


def _check_routine_voice(routine: Routine, voice: str, engine: SpeechEngine) -> None:
    """A voice the routine names that its engine lacks is a problem of the routine, at the
    place it is written (not an engine failure: `check` reports it, and goes on)."""
    try:
        voice_of(engine, voice)
    except SpeechError as e:
        where = routine.key_positions.get("voice") or Position(str(routine.path), 1, 1)
        raise RoutineError(Problem(where, str(e))) from None


def wording_of(routine: Routine, speaking: SpeechSettings, engine: SpeechEngine) -> Wording:
    """The catalog for the routine's language: its `language:`, else its voice's."""
    positions = routine.key_positions
    if routine.language:
        language, where = routine.language, positions.get("language")
    else:
        # A voice named by its language ('de', 'en-us', 'en_US-joe-medium') needs no lookup.
        language = language_code(speaking.voice) or voice_of(engine, speaking.voice).language
        where = positions.get("voice")
    where = where or positions.get("routine") or Position(str(routine.path), 1, 1)
    return wording_for(language, routine.wording, where)


def step_titles(routine: Routine, overrides: SpeechSettings | None = None) -> list[str]:
    """The top-level steps' titles as `show` and the chapters name them, in the routine's
    language; known before anything is synthesized."""
    engine = get_engine(settings_for(routine, overrides).engine)
    words = wording_of(routine, speaking_for(routine, overrides, engine), engine)
    params = compiler.spoken_values(routine.values, words)
    return [compiler.step_title(step, words, params) for step in routine.steps]


@dataclass(frozen=True)
class Session:
    routine: Routine
    speaking: SpeechSettings
    phrases: Phrases
    chimes: dict[str, Clip]
    timeline: Timeline
    engine: SpeechEngine
    cache: PhraseCache
    wording: Wording
    pronunciation: Pronunciation
    # The cache files the session reads beyond its phrases' own, as they are now (those of a
    # session still being made, that arrived since it was laid out): spared by prunes too.
    in_use: Callable[[], frozenset[Path]] = frozenset

    def cue_pcm(self, cue: Cue) -> bytes:
        """The samples of a cue: from the phrase cache, or the chime."""
        return self.phrases.pcm(cue.text) if cue.kind == "speech" else self.chimes[cue.role].pcm

    def speak(self, text: str) -> bytes:
        """Words that are not in the timeline (said on resuming a paused session), in the
        session's voice; synthesized now unless the cache has them. The prune that may follow
        spares every phrase of the session: it is playing."""
        return prepare_phrases(
            [text],
            self.speaking,
            self.engine,
            self.cache,
            pronunciation=self.pronunciation,
            keep=self.phrases.paths() | self.in_use(),
        ).pcm(text)


@dataclass(frozen=True)
class _Lengths:
    phrases: Phrases
    chimes: dict[str, Clip]

    @property
    def sample_rate(self) -> int:
        return self.phrases.sample_rate

    def speech(self, text: str) -> int:
        return self.phrases.length(text)

    def chime(self, role: str) -> int:
        return self.chimes[role].length


@dataclass(frozen=True)
class _Parts:
    """What a session is made of besides its phrases, chimes and timeline."""

    routine: Routine
    speaking: SpeechSettings
    engine: SpeechEngine
    cache: PhraseCache
    wording: Wording
    pronunciation: Pronunciation
    script: compiler.Script

    @classmethod
    def of(
        cls,
        routine: Routine,
        overrides: SpeechSettings | None,
        engine: SpeechEngine | None,
        cache: PhraseCache | None,
    ) -> _Parts:
        engine = engine or get_engine(settings_for(routine, overrides).engine)
        speaking = speaking_for(routine, overrides, engine)
        words = wording_of(routine, speaking, engine)
        script = compiler.expand(routine, words)  # the session's limits, before any synthesis
        pronunciation = Pronunciation(routine.pronounce)
        return cls(routine, speaking, engine, cache or PhraseCache(), words, pronunciation, script)

    def assemble(
        self,
        phrases: Phrases,
        chimes: dict[str, Clip],
        until: int | None = None,
        in_use: Callable[[], frozenset[Path]] = frozenset,
    ) -> Session:
        """The session laid out (up to step `until`) with these phrases and chimes."""
        speaking = self.speaking
        info = SpeechSettings(
            engine=self.engine.name, voice=phrases.voice, rate=speaking.rate, volume=speaking.volume
        )
        names = sounds.chime_names(self.routine)
        timeline = compiler.lay_out(self.script, _Lengths(phrases, chimes), info, names, until)
        return Session(
            self.routine, speaking, phrases, chimes, timeline, self.engine, self.cache,
            self.wording, self.pronunciation, in_use,
        )  # fmt: skip


def build_session(
    routine: Routine,
    overrides: SpeechSettings | None = None,
    engine: SpeechEngine | None = None,
    cache: PhraseCache | None = None,
    progress: SynthesisProgress | None = None,
) -> Session:
    """Synthesize what the cache lacks, load the chimes, lay out the timeline."""
    parts = _Parts.of(routine, overrides, engine, cache)  # checks the session's limits first
    volume = parts.speaking.volume
    # An engine that knows its rate beforehand: the chimes are made while it speaks (a cold
    # cache's 0.02 s), not after.
    rate = _rate_known_before(parts.engine)
    early: dict[str, Clip] = {}

    def chimes_meanwhile() -> frozenset[Path]:  # spared by the prune that follows them
        used: set[Path] = set()
        early.update(sounds.load_chimes(routine, rate, volume, parts.cache, used))
        return frozenset(used)

    phrases = prepare_phrases(
        compiler.phrases(parts.script), parts.speaking, parts.engine, parts.cache, progress,
        parts.pronunciation, meanwhile=chimes_meanwhile if rate else None,
    )  # fmt: skip
    if early and phrases.sample_rate == rate:
        chimes = early
    else:
        chimes = sounds.load_chimes(routine, phrases.sample_rate, volume, parts.cache)
    return parts.assemble(phrases, chimes)


def _rate_known_before(engine: SpeechEngine) -> int | None:
    """The sample rate of all the engine's phrases, where it is known before any is made."""
    return getattr(engine, "sample_rate", None)


class Unfolding:
    """A session for live play, heard before all of it is made: its phrases are made in
    session order in the background, and this is the one place that knows which have arrived.

    A step's times depend only on the steps before it, so the session is laid out step by
    step as their phrases arrive: `first` is laid out up to the first step to be played, ready
    as soon as the phrases of that step and the steps before it are; `latest()` as far as the
    phrases allow, the whole once all are made. Every one is exactly the start of the timeline
    `export` writes, and each reads its phrases as the whole does (one removed meanwhile by
    another process is made again). On a warm cache `first` is the whole session, at once."""

    def __init__(
        self,
        routine: Routine,
        overrides: SpeechSettings | None = None,
        first_step: int = 1,
        engine: SpeechEngine | None = None,
        cache: PhraseCache | None = None,
    ):
        self._parts = parts = _Parts.of(routine, overrides, engine, cache)
        self._arrived: dict[str, Entry] = {}
        self._changed = threading.Condition()
        self._phrases: Phrases | None = None  # all of them, once made
        self._failed: BaseException | None = None
        self._stop = threading.Event()
        self._latest: Session | None = None
        self._whole: Session | None = None  # laid out with the phrases made whole
        self._unlaid: RoutineError | None = None  # why it could not be
        texts = compiler.phrases(parts.script)  # in order of first use: the first step's first
        # Every copy's full-volume source, spared by prunes from the start (even before
        # its copy has arrived: it may be what the copy is made from).
        self._sources = full_volume_sources(
            texts, parts.speaking, parts.engine, parts.cache, parts.pronunciation
        )
        self._making = threading.Thread(
            target=self._make, args=(texts,), name="voiceguide-phrases", daemon=True
        )
        self._making.start()
        try:  # whatever fails from here (Ctrl-C, a chime file, a layout), no worker stays
            # The chimes meanwhile, at the engine's rate if it says it, else the usual one:
            # the first sound need not wait for the chimes after the first phrases.
            volume = parts.speaking.volume
            expected = _rate_known_before(parts.engine) or DEFAULT_SAMPLE_RATE
            chimes = sounds.load_chimes(routine, expected, volume, parts.cache)
            # What the first step played needs (some phrase, for its sample rate, if nothing).
            needed = compiler.phrases(parts.script, first_step) or texts[:1]
            with self._changed:
                self._changed.wait_for(lambda: self._ready(needed))
            if self._failed is None:
                first = {text: self._arrived[text] for text in needed}
                rate = Phrases(first, parts.speaking.voice).sample_rate
                if rate != expected:  # a voice of another rate: made again at its rate
                    chimes = sounds.load_chimes(routine, rate, volume, parts.cache)
                self.chimes = chimes
            self.first = self.latest()
        except BaseException:
            self.stop()
            raise

    def _ready(self, needed: list[str]) -> bool:
        done = self._phrases is not None or self._failed is not None
        return done or all(text in self._arrived for text in needed)

    def _make(self, texts: list[str]) -> None:
        parts = self._parts
        try:
            phrases = prepare_phrases(
                texts, parts.speaking, parts.engine, parts.cache, None, parts.pronunciation,
                arrived=self._arrive, stop=self._stop,
            )  # fmt: skip
        except BaseException as e:  # told to stop, or the engine failed: said to the player
            with self._changed:
                self._failed = e
                self._changed.notify_all()
            return
        with self._changed:
            self._phrases = phrases
            self._changed.notify_all()

    def _arrive(self, entries: dict[str, Entry]) -> None:
        with self._changed:
            self._arrived.update(entries)
            self._changed.notify_all()

    def latest(self) -> Session:
        """The session laid out as far as its phrases have arrived (the whole, once all have:
        then with the phrases made whole). Raises what stopped the synthesis (a failing
        engine), or a problem of the layout of a later step."""
        with self._changed:
            phrases, failed, arrived = self._phrases, self._failed, dict(self._arrived)
        if failed is not None:
            raise failed
        if phrases is not None:
            whole = self.whole()
            if whole is None:
                raise self._unlaid
            return whole
        steps = self._steps_ready(arrived)
        if self._latest is None or steps > len(self._latest.timeline.steps):
            self._latest = self._partial(arrived, steps)
        return self._latest

    def whole(self) -> Session | None:
        """The session laid out whole with the phrases made whole: None until they are (or
        if it cannot be laid out: `latest()` raises why)."""
        if self._whole is None and self._phrases is not None and self._unlaid is None:
            try:
                self._whole = self._latest = self._parts.assemble(self._phrases, self.chimes)
            except RoutineError as e:  # a later step's words do not fit
                self._unlaid = e
        return self._whole

    def _partial(self, arrived: dict[str, Entry], steps: int) -> Session:
        """Laid out up to step `steps`, with the phrases arrived so far; prunes spare every
        phrase arrived by then, later steps' too (`in_use`)."""
        parts = self._parts
        phrases = phrases_of(
            arrived, parts.speaking, parts.engine, parts.cache, parts.pronunciation,
            self._sources, self.in_use,
        )  # fmt: skip
        return parts.assemble(phrases, self.chimes, steps, self.in_use)

    def in_use(self) -> frozenset[Path]:
        """Every cache file the session reads or copies from, of every phrase arrived so
        far: what a prune (its own remaking, words said on resuming) must spare."""
        with self._changed:
            arrived = frozenset(entry.path for entry in self._arrived.values())
        return arrived | self._sources

    def _steps_ready(self, arrived: dict[str, Entry]) -> int:
        """How many steps, from the first, have all their phrases."""
        for count, step in enumerate(self._parts.script.steps):
            if any(text not in arrived for text in compiler.step_phrases(step)):
                return count
        return len(self._parts.script.steps)

    def wait(self) -> Session:
        """The complete session, once every phrase is made."""
        with self._changed:
            self._changed.wait_for(lambda: self._phrases is not None or self._failed is not None)
        return self.latest()

    def stop(self) -> None:
        """No more phrases wanted: the workers end, before this returns (a Ctrl-C leaves no
        worker behind)."""
        self._stop.set()
        self._making.join(timeout=STOP_SECONDS)


def _loader(ref: str) -> Callable[..., Routine]:
    """Loads the routine `ref` names, with given values; standard input ('-') is read once."""
    from voiceguide.loader import MAX_FILE_BYTES, load_routine, load_routine_data

    if ref == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        return lambda values=None: load_routine_data(data, values=values)
    return lambda values=None: load_routine(ref, values)


def check_session(
    ref: str, overrides: SpeechSettings | None = None, engine: SpeechEngine | None = None
) -> Session:
    """The session with its params' defaults, once it is known that every other allowed value
    compiles too (each choice, a range's ends; one param at a time). Raises RoutineError whose
    problems name the value they were found with."""
    load = _loader(ref)
    session = build_session(load(), overrides, engine)
    problems = []
    for values in params.variants(session.routine.params):
        try:
            build_session(load(values), overrides, engine, session.cache)
        except RoutineError as e:
            setting = " ".join(f"{name}={value}" for name, value in values.items())
            problems += [
                replace(p, message=f"{p.message} (with --set {setting})") for p in e.problems
            ]
    if problems:
        raise RoutineError(problems)
    return session
