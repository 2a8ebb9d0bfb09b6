"""A session: a routine made audible. Its phrases, its chimes and its timeline, together.

Export and play both start here, so what you export is exactly what you hear.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from voiceguide import compiler, params, sounds
from voiceguide.audio import Clip
from voiceguide.cache import Entry, PhraseCache
from voiceguide.engines import default_engine, get_engine
from voiceguide.errors import Problem, RoutineError, SpeechError
from voiceguide.phrases import Phrases, SynthesisProgress, prepare_phrases
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
            keep=self.phrases.paths(),
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


def build_session(
    routine: Routine,
    overrides: SpeechSettings | None = None,
    engine: SpeechEngine | None = None,
    cache: PhraseCache | None = None,
    progress: SynthesisProgress | None = None,
) -> Session:
    """Synthesize what the cache lacks, load the chimes, lay out the timeline."""
    engine = engine or get_engine(settings_for(routine, overrides).engine)
    speaking = speaking_for(routine, overrides, engine)
    words = wording_of(routine, speaking, engine)
    script = compiler.expand(routine, words)  # checks the session's limits before any synthesis
    cache = cache or PhraseCache()
    pronunciation = Pronunciation(routine.pronounce)
    phrases = prepare_phrases(
        compiler.phrases(script), speaking, engine, cache, progress, pronunciation
    )
    chimes = sounds.load_chimes(routine, phrases.sample_rate, speaking.volume, cache)
    info = SpeechSettings(
        engine=engine.name, voice=phrases.voice, rate=speaking.rate, volume=speaking.volume
    )
    timeline = compiler.lay_out(
        script, _Lengths(phrases, chimes), info, sounds.chime_names(routine)
    )
    return Session(
        routine, speaking, phrases, chimes, timeline, engine, cache, words, pronunciation
    )


class Unfolding:
    """A session for live play, heard before all of it is made: its phrases are made in
    session order in the background, and this is the one place that knows which have arrived.

    A step's times depend only on the steps before it, so the session is laid out step by
    step as their phrases arrive: `first` is laid out up to the first step to be played, ready
    as soon as the phrases of that step and the steps before it are; `latest()` as far as the
    phrases allow, the whole once all are made. Every one is exactly the start of the timeline
    `export` writes. On a warm cache `first` is the whole session, at once."""

    def __init__(
        self,
        routine: Routine,
        overrides: SpeechSettings | None = None,
        first_step: int = 1,
        engine: SpeechEngine | None = None,
        cache: PhraseCache | None = None,
    ):
        engine = engine or get_engine(settings_for(routine, overrides).engine)
        speaking = speaking_for(routine, overrides, engine)
        words = wording_of(routine, speaking, engine)
        script = compiler.expand(routine, words)  # the session's limits, before any synthesis
        cache = cache or PhraseCache()
        pronunciation = Pronunciation(routine.pronounce)
        self._parts = (routine, speaking, engine, cache, words, pronunciation)
        self._script = script
        self._arrived: dict[str, Entry] = {}
        self._changed = threading.Condition()
        self._phrases: Phrases | None = None  # all of them, once made
        self._failed: BaseException | None = None
        self._stop = threading.Event()
        self._latest: Session | None = None
        texts = compiler.phrases(script)  # in order of first use: the first step's first
        self._making = threading.Thread(
            target=self._make, args=(texts,), name="voiceguide-phrases", daemon=True
        )
        self._making.start()
        # What the first step played needs (some phrase, for its sample rate, if nothing).
        needed = compiler.phrases(script, first_step) or texts[:1]
        try:
            with self._changed:
                self._changed.wait_for(lambda: self._ready(needed))
        except BaseException:  # Ctrl-C while waiting
            self.stop()
            raise
        if self._failed is None:
            first = {text: self._arrived[text] for text in needed}
            rate = Phrases(first, speaking.voice).sample_rate
            self.chimes = sounds.load_chimes(routine, rate, speaking.volume, cache)
        self.first = self.latest()

    def _ready(self, needed: list[str]) -> bool:
        done = self._phrases is not None or self._failed is not None
        return done or all(text in self._arrived for text in needed)

    def _make(self, texts: list[str]) -> None:
        _, speaking, engine, cache, _, pronunciation = self._parts
        try:
            phrases = prepare_phrases(
                texts, speaking, engine, cache, None, pronunciation, arrived=self._arrive,
                stop=self._stop,
            )  # fmt: skip
        except BaseException as e:  # told to stop, or the engine failed: said to the player
            with self._changed:
                self._failed = e
                self._changed.notify_all()
            return
        with self._changed:
            self._phrases = phrases
            self._changed.notify_all()

    def _arrive(self, text: str, entry: Entry) -> None:
        with self._changed:
            self._arrived[text] = entry
            self._changed.notify_all()

    def latest(self) -> Session:
        """The session laid out as far as its phrases have arrived (the whole, once all have).
        Raises what stopped the synthesis (a failing engine), or a problem of the layout of a
        later step."""
        with self._changed:
            phrases, failed, arrived = self._phrases, self._failed, dict(self._arrived)
        if failed is not None:
            raise failed
        if phrases is not None:
            if self._latest is None or self._latest.timeline.to_come:
                self._latest = self._session(phrases)
            return self._latest
        steps = self._steps_ready(arrived)
        if self._latest is None or steps > len(self._latest.timeline.steps):
            entries = {text: arrived[text] for text in compiler.phrases(self._script, steps)}
            speaking = self._parts[1]
            self._latest = self._session(Phrases(entries, _voice_of(entries, speaking)), steps)
        return self._latest

    def _steps_ready(self, arrived: dict[str, Entry]) -> int:
        """How many steps, from the first, have all their phrases."""
        for count, step in enumerate(self._script.steps):
            one = compiler.Script(self._script.title, (step,))
            if any(text not in arrived for text in compiler.phrases(one)):
                return count
        return len(self._script.steps)

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

    def _session(self, phrases: Phrases, until: int | None = None) -> Session:
        routine, speaking, engine, cache, words, pronunciation = self._parts
        info = SpeechSettings(
            engine=engine.name, voice=phrases.voice, rate=speaking.rate, volume=speaking.volume
        )
        lengths = _Lengths(phrases, self.chimes)
        chimes = sounds.chime_names(routine)
        timeline = compiler.lay_out(self._script, lengths, info, chimes, until)
        return Session(
            routine, speaking, phrases, self.chimes, timeline, engine, cache, words, pronunciation
        )


def _voice_of(entries: dict[str, Entry], speaking: SpeechSettings) -> str:
    """The voice that said these phrases, as `prepare_phrases` names it."""
    voices = {entry.voice for entry in entries.values()}
    return voices.pop() if len(voices) == 1 else speaking.voice


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
