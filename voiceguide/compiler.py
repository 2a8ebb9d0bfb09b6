"""Routine in, timeline out.

Two stages: `expand` unrolls repeats, sides and includes into a flat script of things to say,
holds and silences (no times yet); `lay_out` puts that script on one sample-exact line, asking
`PhraseLengths` how long each phrase and chime is (`compile_routine` does both). The compiler
never synthesizes: the caller gives lengths (from the speech cache, or any text -> samples
function in tests).

Timing rules, in words a routine author can rely on:
- a hold of N s runs exactly N s, from the start chime's onset to the end chime's onset;
- countdown numbers start on the last whole seconds of the hold; "Halfway." starts at mid-hold;
- every step ends with a one-second breath of silence, or with exactly its `pause`;
- a hold after words starts half a second after they end;
- `rest` is silence between rounds (or sides), never after the last;
- the session-end chime closes the last step.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from voiceguide.durations import format_short, parse_duration
from voiceguide.errors import Problem, RoutineError, excerpt
from voiceguide.params import WHOLE
from voiceguide.routine import (
    CHIME_ROLES,
    MAX_SESSION_SECONDS,
    MAX_TEXT_CHARS,
    Action,
    Include,
    Position,
    Repeat,
    Routine,
    Sides,
    Step,
)
from voiceguide.timeline import Context, Cue, Hold, SpeechInfo, StepSpan, Timeline
from voiceguide.wording import ENGLISH, PLACEHOLDER, Wording, fill

BREATH = 1.0  # seconds of silence that end a step without a pause
LEAD = 0.5  # seconds between words and the chime that starts their hold
MAX_PARTS = 200_000
# What one session may ask the engine for: each distinct phrase is synthesized and cached.
MAX_PHRASES = 2000
MAX_SPEECH_CHARS = 100_000  # of distinct phrases: about two hours of speech


class PhraseLengths(Protocol):
    """How long each phrase and chime lasts, in samples at `sample_rate`."""

    sample_rate: int

    def speech(self, text: str) -> int: ...

    def chime(self, role: str) -> int: ...


# -- the script: what happens, in order, without times


@dataclass(frozen=True)
class Speak:
    text: str
    role: str
    context: Context


@dataclass(frozen=True)
class Silence:
    seconds: float


@dataclass(frozen=True)
class HoldFor:
    seconds: float
    action: Action
    context: Context
    halfway: str = ""  # what is said at mid-hold, if anything
    countdown: tuple[str, ...] = ()  # what is said on its last seconds: ..., 'two', 'one'


Part = Speak | Silence | HoldFor


@dataclass(frozen=True)
class ScriptStep:
    index: int
    title: str
    pos: Position
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Script:
    title: str
    steps: tuple[ScriptStep, ...]


def expand(routine: Routine, words: Wording = ENGLISH) -> Script:
    """The routine as a flat script, one entry a top-level step, in the words of `words`.
    Checks the limits first, and what it would cost to synthesize after (from at most
    MAX_PARTS parts: cheap)."""
    check_limits(routine)
    params = spoken_values(routine.values, words)
    steps = tuple(
        ScriptStep(
            i,
            step_title(step, words, params),
            step.pos,
            tuple(_expand(step, Context(), params, words)),
        )
        for i, step in enumerate(routine.steps, 1)
    )
    script = Script(routine.title, steps)
    check_speech(script)
    return script


def check_speech(script: Script) -> None:
    """Refuse a script that would synthesize too many phrases or too much text."""
    texts: dict[str, None] = {}
    characters = 0
    for step in script.steps:
        for part in step.parts:
            if isinstance(part, Speak) and part.text not in texts:
                texts[part.text] = None
                characters += len(part.text)
        if len(texts) > MAX_PHRASES:
            message = f"the session says too many different things (more than {MAX_PHRASES}"
            raise RoutineError(_problem(step.pos, message + " phrases by this step)"))
        if characters > MAX_SPEECH_CHARS:
            message = f"the session says too much (more than {MAX_SPEECH_CHARS} characters"
            raise RoutineError(_problem(step.pos, message + " of different phrases by this step)"))


def phrases(script: Script) -> list[str]:
    """Every distinct text the session speaks, in order of first use."""
    texts: dict[str, None] = {}
    for step in script.steps:
        for part in step.parts:
            if isinstance(part, Speak):
                texts[part.text] = None
            elif isinstance(part, HoldFor):
                texts.update((text, None) for _, text, _ in _hold_calls(part, 0, 0))
    return list(texts)


def _hold_calls(hold: HoldFor, length: int, second: int) -> list[tuple[int, str, str]]:
    """What is said inside a hold of `length` samples: (offset from its start, text, role)."""
    calls = [(length // 2, hold.halfway, "halfway")] if hold.halfway else []
    count = len(hold.countdown)
    return calls + [
        (length - (count - i) * second, text, "countdown") for i, text in enumerate(hold.countdown)
    ]


def _expand(
    step: Step, context: Context, params: Mapping[str, str], words: Wording
) -> Iterator[Part]:
    if isinstance(step, Action):
        yield from _expand_action(step, context, params, words)
    elif isinstance(step, Repeat):
        for number in range(1, step.times + 1):
            inner = Context((number, step.times), context.side)
            if step.times > 1:
                text = words.round_announcement(number, step.times, context.side)
                yield Speak(text, "round", inner)
                yield Silence(BREATH)
            for child in step.steps:
                yield from _expand(child, inner, params, words)
            if number < step.times and step.rest:
                yield Silence(step.rest)
    elif isinstance(step, Sides):
        for i, side in enumerate(step.sides):
            inner = Context(context.round, side)
            text = words.side_announcement(side, i == 0, _values(inner, params, words))
            yield Speak(text, "side", inner)
            yield Silence(BREATH)
            for child in step.steps:
                yield from _expand(child, inner, params, words)
            if i < len(step.sides) - 1 and step.rest:
                yield Silence(step.rest)
    elif isinstance(step, Include):
        own = spoken_values(step.routine.values, words)  # an included routine's params are its own
        for child in step.routine.steps:
            yield from _expand(child, context, own, words)


def _expand_action(
    action: Action, context: Context, params: Mapping[str, str], words: Wording
) -> Iterator[Part]:
    values = _values(context, params, words)
    if action.say:
        text = _filled(action.say, values)
        if len(text) > MAX_TEXT_CHARS:
            message = f"say is too long with {{side}} as '{excerpt(context.side)}'"
            message += f" ({len(text)} characters; at most {MAX_TEXT_CHARS})"
            raise RoutineError(_problem(action.key_positions.get("say", action.pos), message))
        yield Speak(text, "instruction", context)
    if action.hold:
        if action.say:
            yield Silence(LEAD)
        halfway = words.halfway(values) if action.halfway else ""
        countdown = tuple(words.count(k, values) for k in range(action.countdown, 0, -1))
        yield HoldFor(action.hold, action, context, halfway, countdown)
    yield Silence(action.pause or BREATH)


def spoken_values(values: Mapping[str, str], words: Wording) -> dict[str, str]:
    """Params as they are said in text: whole numbers and whole-second durations in words, in
    the routine's language ('3' -> 'three', '2m' -> 'two minutes'); anything else as written."""
    return {name: _spoken(value, words) for name, value in values.items()}


def _spoken(value: str, words: Wording) -> str:
    if WHOLE.fullmatch(value) and int(value) <= 999:
        return words.number(int(value))
    if any(c.isalpha() or c == ":" for c in value):
        try:
            seconds = parse_duration(value)
        except ValueError:
            return value  # a word: 'left', 'gently'
        if seconds == int(seconds):
            return words.seconds_in_words(seconds)
    return value


def _values(context: Context, params: Mapping[str, str], words: Wording) -> dict[str, str]:
    """What each placeholder stands for here: the params, then '{side}', '{round}' and
    '{rounds}' of the enclosing sides and repeat (which win over a param of the same name)."""
    values = dict(params)
    if context.side:
        values["side"] = context.side
    if context.round:
        number, rounds = context.round
        values.update(round=words.number(number), rounds=words.number(rounds))
    return values


def _filled(text: str, values: dict[str, str]) -> str:
    return fill(text, values) if "{" in text else text


# -- limits, checked before anything is expanded or synthesized


def check_limits(routine: Routine) -> None:
    """Refuse sessions longer than 12 h or with too many parts, from bounds, before expanding."""
    total_seconds = total_parts = 0.0
    known: dict[int, tuple[float, float]] = {}  # included routines share their steps
    for step in routine.steps:
        seconds, parts = _bounds(step, known)
        total_seconds += seconds
        total_parts += parts
        if total_seconds > MAX_SESSION_SECONDS:
            least = format_short(total_seconds) if total_seconds < 3.6e6 else "1000 h"
            message = f"the session would last more than 12 h (at least {least} by this step's end)"
            raise RoutineError(_problem(step.pos, message))
        if total_parts > MAX_PARTS:
            message = f"the session has too many parts (more than {MAX_PARTS} by this step)"
            raise RoutineError(_problem(step.pos, message))


def _bounds(step: Step, known: dict[int, tuple[float, float]]) -> tuple[float, float]:
    """A lower bound on a step's seconds (speech counted as zero) and its number of parts."""
    if id(step) not in known:
        known[id(step)] = _step_bounds(step, known)
    return known[id(step)]


def _step_bounds(step: Step, known: dict[int, tuple[float, float]]) -> tuple[float, float]:
    if isinstance(step, Action):
        seconds = (
            (step.hold or 0) + (step.pause or BREATH) + (LEAD if step.say and step.hold else 0)
        )
        parts = 2 + (3 + step.countdown + step.halfway if step.hold else 0)
        return seconds, parts
    if isinstance(step, Include):
        bounds = [_bounds(child, known) for child in step.routine.steps]
        return sum(b[0] for b in bounds), sum(b[1] for b in bounds)
    rounds = step.times if isinstance(step, Repeat) else len(step.sides)
    bounds = [_bounds(child, known) for child in step.steps]
    inner_seconds = sum(b[0] for b in bounds) + BREATH
    inner_parts = sum(b[1] for b in bounds) + 2
    return rounds * inner_seconds + (rounds - 1) * step.rest, rounds * inner_parts


def _problem(pos: Position, message: str) -> Problem:
    return Problem(pos.path, pos.line, pos.column, message)


# -- titles


def step_title(
    step: Step, words: Wording = ENGLISH, params: Mapping[str, str] | None = None
) -> str:
    """A step's title: its own, or one made from what it says, each param as it is said."""
    title = _title(step, words)
    return PLACEHOLDER.sub(lambda m: (params or {}).get(m.group(1), m.group(0)), title)


def _title(step: Step, words: Wording, side: str | None = None) -> str:
    """'{side}' becomes `side`."""
    side = words.title("each_side") if side is None else side
    both = f" {words.title('and')} ".join(step.sides) if isinstance(step, Sides) else side
    if step.title:
        return step.title.replace("{side}", both)
    if isinstance(step, Include):
        return step.routine.title
    if isinstance(step, Action):
        if step.say:
            return _shorten(step.say.replace("{side}", side))
        if step.hold:
            return words.title("title_hold", time=format_short(step.hold))
        return words.title("title_pause", time=format_short(step.pause))
    if isinstance(step, Repeat):
        inner = _title(step.steps[0], words, side)
        return (
            words.title("title_rounds", title=inner, rounds=str(step.times))
            if step.times > 1
            else inner
        )
    inner = _title(step.steps[0], words, "{side}")
    if "{side}" in inner:
        return inner.replace("{side}", both)
    return words.title("title_sides", title=inner, sides=", ".join(step.sides))


def _shorten(text: str, limit: int = 48) -> str:
    sentence = text.split(". ")[0].rstrip(".") or text  # '. Then breathe.' is a title too
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


# -- layout


@dataclass
class _Layout:
    lengths: PhraseLengths
    cues: list[Cue] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    problems: dict[Problem, None] = field(default_factory=dict)
    step: int = 0

    def samples(self, seconds: float) -> int:
        return round(seconds * self.lengths.sample_rate)

    def speak(self, at: int, part: Speak) -> int:
        length = self.lengths.speech(part.text)
        self.cues.append(
            Cue(
                at,
                length,
                "speech",
                self.step,
                text=part.text,
                role=part.role,
                context=part.context,
            )
        )
        return at + length

    def chime(self, at: int, role: str, sound: str, context: Context | None = None) -> int:
        length = self.lengths.chime(role)
        self.cues.append(
            Cue(
                at, length, "chime", self.step, sound=sound, role=role, context=context or Context()
            )
        )
        return at + length

    def hold(self, at: int, part: HoldFor, sounds: dict[str, str]) -> int:
        action, context = part.action, part.context
        length = self.samples(part.seconds)
        end = at + length
        opening = self.lengths.chime("hold-start")
        if length < opening:
            self.fail(
                action,
                "hold",
                f"hold: {format_short(part.seconds)} is shorter than its start chime"
                f" ({format_short(round(opening / self.lengths.sample_rate, 2))}); make it longer",
            )
        self.chime(at, "hold-start", sounds["hold-start"], context)
        self.holds.append(Hold(at, length, self.step, context))
        free, before = at + opening, None
        for offset, text, role in _hold_calls(part, length, self.lengths.sample_rate):
            start = at + offset
            call = Cue(
                start, self.lengths.speech(text), "speech", self.step, text, "", role, context
            )
            if start < free or call.end > end:
                problem = self._misfit(call, before if start < free else call, action, part.seconds)
                self.fail(action, role, problem)
            self.cues.append(call)
            free, before = call.end, call
        return self.chime(end, "hold-end", sounds["hold-end"], context)

    def _misfit(self, call: Cue, culprit: Cue | None, action: Action, seconds: float) -> str:
        """Why a call does not fit in its hold: what it runs into, or what runs too long."""
        hold = format_short(seconds)
        if call.role == "halfway":
            what = (
                f"'{culprit.text}'"
                if culprit and culprit is not call
                else "the start chime or the end"
            )
            return f"halfway does not fit in a {hold} hold (it would overlap {what})"
        if culprit is not None and culprit.role == "halfway":
            return f"countdown: {action.countdown} runs into '{culprit.text}' in a {hold} hold"
        if culprit is not None:  # a number that lasts longer than its second
            took = culprit.length / self.lengths.sample_rate
            return (
                f"countdown: {action.countdown} does not fit: '{culprit.text}' takes {took:.1f} s"
                " at this voice and pace, longer than its second"
            )
        return (
            f"countdown: {action.countdown} does not fit in a {hold} hold"
            " (each number needs its own second, after the start chime)"
        )

    def fail(self, action: Action, key: str, message: str) -> None:
        """One problem a place: a countdown that does not fit is one problem, not one a number,
        and a step repeated in rounds is reported once."""
        pos = action.key_positions.get(key, action.pos)
        if all(
            (p.line, p.column, p.path) != (pos.line, pos.column, pos.path) for p in self.problems
        ):
            self.problems[_problem(pos, message)] = None


def compile_routine(
    routine: Routine,
    lengths: PhraseLengths,
    speech: SpeechInfo,
    sounds: dict[str, str] | None = None,
) -> Timeline:
    """Lay the routine on a sample-exact line. Raises RoutineError for what cannot fit.

    `sounds` names the chime used for each role (hold-start, hold-end, session-end).
    """
    return lay_out(expand(routine), lengths, speech, sounds)


def lay_out(
    script: Script,
    lengths: PhraseLengths,
    speech: SpeechInfo,
    sounds: dict[str, str] | None = None,
) -> Timeline:
    """An expanded routine on a sample-exact line (see compile_routine)."""
    sounds = {role: role for role in CHIME_ROLES} | (sounds or {})
    layout = _Layout(lengths)
    spans = []
    at = 0
    for step in script.steps:
        layout.step = step.index
        start = at
        for part in step.parts:
            if isinstance(part, Speak):
                at = layout.speak(at, part)
            elif isinstance(part, Silence):
                at += layout.samples(part.seconds)
            else:
                at = layout.hold(at, part, sounds)
        if step is script.steps[-1]:
            at = layout.chime(at, "session-end", sounds["session-end"])
        spans.append(StepSpan(step.index, step.title, start, at - start))
        if at > MAX_SESSION_SECONDS * lengths.sample_rate:
            message = "the session would last more than 12 h (by the end of this step)"
            layout.problems[_problem(step.pos, message)] = None
            break
    if layout.problems:
        raise RoutineError(list(layout.problems))
    cues = tuple(sorted(layout.cues, key=lambda c: c.start))
    return Timeline(
        script.title, lengths.sample_rate, at, tuple(spans), cues, tuple(layout.holds), speech
    )
