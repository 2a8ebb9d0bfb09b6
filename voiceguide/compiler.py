"""Routine in, timeline out.

Two stages: `expand` unrolls repeats, sides and includes into a flat script of things to say,
holds and silences (no times yet), in one lazy walk that also counts the session's limits;
`lay_out` puts that script on one sample-exact line, asking
`PhraseLengths` how long each phrase and chime is (`compile_routine` does both). The compiler
never synthesizes: the caller gives lengths (from the speech cache, or any text -> samples
function in tests).

Timing rules, in words a routine author can rely on:
- a hold of N s runs exactly N s, from the start chime's onset to the end chime's onset;
- countdown numbers start on the last whole seconds of the hold; "Halfway." starts at mid-hold;
- reminders start where they say (`at` after the start chime's onset, `left` before the end);
  `every` ones where they overlap nothing; nothing said inside a hold overlaps anything else;
- every step ends with a one-second breath of silence, or with exactly its `pause`;
- a hold after words starts half a second after they end;
- `rest` is silence between rounds (or sides), never after the last;
- the session-end chime closes the last step.
"""

from __future__ import annotations

import bisect
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
    Reminder,
    Repeat,
    Routine,
    Sides,
    Step,
)
from voiceguide.speech import SpeechSettings
from voiceguide.timeline import Context, Cue, Hold, StepSpan, Timeline
from voiceguide.wording import ENGLISH, Wording, fill

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
    reminders: tuple[tuple[Reminder, str], ...] = ()  # each with its text, placeholders filled


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

    The one walk of the routine (`_expand`) is lazy, and its limits are counted part by part as
    it goes: a routine that would last more than 12 h, or say too much, is refused after at
    most MAX_PARTS parts, before anything is synthesized."""
    budget = _Budget()
    params = spoken_values(routine.values, words)
    steps = []
    for index, step in enumerate(routine.steps, 1):
        parts = tuple(
            budget.take(part, step.pos) for part in _expand(step, Context(), params, words)
        )
        steps.append(ScriptStep(index, step_title(step, words, params), step.pos, parts))
    return Script(routine.title, tuple(steps))


@dataclass
class _Budget:
    """What the script asks for so far: a lower bound on its seconds (speech counts as none
    until it is synthesized), its parts, and the distinct phrases to synthesize."""

    seconds: float = 0.0
    parts: int = 0
    texts: dict[str, None] = field(default_factory=dict)
    characters: int = 0

    def take(self, part: Part, pos: Position) -> Part:
        """The part, once it is known to keep the session within its limits."""
        self.parts += 1
        if isinstance(part, Speak):
            self._phrase(part.text)
        else:
            self.seconds += part.seconds
        if isinstance(part, HoldFor):
            self.parts += len(_fixed_calls(part, 0, 0)) + sum(
                int(part.seconds // r.seconds) for r, _ in part.reminders if r.kind == "every"
            )
            for text in _hold_texts(part):
                self._phrase(text)
        if self.seconds > MAX_SESSION_SECONDS:
            raise RoutineError(Problem(pos, "the session would last more than 12 h"
                                        " (it passes 12 h in this step)"))  # fmt: skip
        if self.parts > MAX_PARTS:
            message = f"the session has too many parts (more than {MAX_PARTS} by this step)"
            raise RoutineError(Problem(pos, message))
        if len(self.texts) > MAX_PHRASES:
            message = f"the session says too many different things (more than {MAX_PHRASES}"
            raise RoutineError(Problem(pos, message + " phrases by this step)"))
        if self.characters > MAX_SPEECH_CHARS:
            message = f"the session says too much (more than {MAX_SPEECH_CHARS} characters"
            raise RoutineError(Problem(pos, message + " of different phrases by this step)"))
        return part

    def _phrase(self, text: str) -> None:
        if text not in self.texts:
            self.texts[text] = None
            self.characters += len(text)


def phrases(script: Script, until: int | None = None) -> list[str]:
    """Every distinct text the session speaks (up to step `until`), in order of first use."""
    texts: dict[str, None] = {}
    for step in script.steps[:until]:
        texts.update((text, None) for text in step_phrases(step))
    return list(texts)


def step_phrases(step: ScriptStep) -> list[str]:
    """What one step says, in order (a text said twice, twice)."""
    texts = []
    for part in step.parts:
        if isinstance(part, Speak):
            texts.append(part.text)
        elif isinstance(part, HoldFor):
            texts += _hold_texts(part)
    return texts


def _hold_texts(hold: HoldFor) -> list[str]:
    """What may be said inside a hold: halfway, the countdown, the reminders."""
    return [call.text for call in _fixed_calls(hold, 0, 0)] + [t for _, t in hold.reminders]


@dataclass(frozen=True)
class _Call:
    """Words said inside a hold, `offset` samples after its start chime's onset."""

    offset: int
    text: str
    role: str  # halfway, countdown, reminder
    pos: Position  # where the routine asked for it, for errors
    label: str = ""  # a reminder's, as an error names it: 'at 30 s', '10 s left'


def _fixed_calls(hold: HoldFor, length: int, rate: int) -> list[_Call]:
    """What is said at fixed places in a hold of `length` samples, in time order: halfway, the
    countdown's numbers and the `at` and `left` reminders (`every` ones fill in around them)."""
    where = hold.action.key_positions
    pos = hold.action.pos
    calls = [_Call(length // 2, hold.halfway, "halfway", where.get("halfway", pos))]
    calls = calls if hold.halfway else []
    count = len(hold.countdown)
    for i, text in enumerate(hold.countdown):
        offset = length - (count - i) * rate
        calls.append(_Call(offset, text, "countdown", where.get("countdown", pos)))
    for reminder, text in hold.reminders:
        seconds = round(reminder.seconds * rate)
        if reminder.kind == "at":
            label = f"at {format_short(reminder.seconds)}"
            calls.append(_Call(seconds, text, "reminder", reminder.pos, label))
        elif reminder.kind == "left":
            label = f"{format_short(reminder.seconds)} left"
            calls.append(_Call(length - seconds, text, "reminder", reminder.pos, label))
    return sorted(calls, key=lambda call: call.offset)


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
        text = fill(action.say, values)
        if len(text) > MAX_TEXT_CHARS:
            message = f"say is too long with {{side}} as '{excerpt(context.side)}'"
            message += f" ({len(text)} characters; at most {MAX_TEXT_CHARS})"
            raise RoutineError(Problem(action.key_positions.get("say", action.pos), message))
        yield Speak(text, "instruction", context)
    if action.hold:
        if action.say:
            yield Silence(LEAD)
        halfway = words.halfway(values) if action.halfway else ""
        countdown = tuple(words.count(k, values) for k in range(action.countdown, 0, -1))
        reminders = tuple((r, fill(r.say, values)) for r in action.remind)
        yield HoldFor(action.hold, action, context, halfway, countdown, reminders)
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


# -- titles


def step_title(
    step: Step, words: Wording = ENGLISH, params: Mapping[str, str] | None = None
) -> str:
    """A step's title: its own, or one made from what it says, each param as it is said and
    '{side}' as 'each side' (or the sides of a `sides` step, 'left and right')."""
    return _title(step, words, {"side": words.title("each_side"), **(params or {})})


def _title(step: Step, words: Wording, values: dict[str, str]) -> str:
    if isinstance(step, Sides):
        both = f" {words.title('and')} ".join(step.sides)
        if step.title:
            return fill(step.title, {**values, "side": both}, keep=True)
        inner = _title(step.steps[0], words, {**values, "side": "{side}"})
        if "{side}" in inner:
            return fill(inner, {"side": both}, keep=True)
        return words.title("title_sides", title=inner, sides=", ".join(step.sides))
    if step.title:
        return fill(step.title, values, keep=True)
    if isinstance(step, Include):
        return step.routine.title
    if isinstance(step, Action):
        if step.say:
            return _shorten(fill(step.say, values, keep=True))
        if step.hold:
            return words.title("title_hold", time=format_short(step.hold))
        return words.title("title_pause", time=format_short(step.pause))
    inner = _title(step.steps[0], words, values)
    if step.times > 1:
        return words.title("title_rounds", title=inner, rounds=str(step.times))
    return inner


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
                action.key_positions.get("hold", action.pos),
                f"hold: {format_short(part.seconds)} is shorter than its start chime"
                f" ({format_short(round(opening / self.lengths.sample_rate, 2))}); make it longer",
            )
        self.chime(at, "hold-start", sounds["hold-start"], context)
        self.holds.append(Hold(at, length, self.step, context))
        said = _Said(at + opening, end)
        before: tuple[_Call, Cue] | None = None
        for call in _fixed_calls(part, length, self.lengths.sample_rate):
            cue = self.call_cue(at, call, context)
            if not said.has_room(cue):
                self.fail(*self._misfit((call, cue), before, said, action, part.seconds))
            said.add(cue)
            before = (call, cue)
        self.every_reminders(at, part, said)
        self.cues.extend(said.cues)
        return self.chime(end, "hold-end", sounds["hold-end"], context)

    def call_cue(self, at: int, call: _Call, context: Context) -> Cue:
        length = self.lengths.speech(call.text)
        return Cue(at + call.offset, length, "speech", self.step, call.text, "", call.role, context)

    def every_reminders(self, at: int, part: HoldFor, said: _Said) -> None:
        """`every` reminders where they fit: an occurrence that would overlap other words, a
        chime or the hold's end is left out (a hold of 1 min with every 20 s says it at 20 s and
        40 s); one that never fits is an error."""
        length = said.end - at
        for reminder, text in part.reminders:
            if reminder.kind != "every":
                continue
            step = self.samples(reminder.seconds)
            placed = 0
            for offset in range(step, length, step):
                cue = self.call_cue(at, _Call(offset, text, "reminder", reminder.pos), part.context)
                if said.has_room(cue):
                    said.add(cue)
                    placed += 1
            if not placed:
                took = self.lengths.speech(text) / self.lengths.sample_rate
                self.fail(
                    reminder.pos,
                    f"remind: every {format_short(reminder.seconds)}: '{excerpt(text)}' finds no"
                    f" room in a {format_short(part.seconds)} hold (it takes {took:.1f} s)",
                )

    def _misfit(
        self,
        current: tuple[_Call, Cue],
        before: tuple[_Call, Cue] | None,
        said: _Said,
        action: Action,
        seconds: float,
    ) -> tuple[Position, str]:
        """Why words do not fit in their hold, said where the routine can be changed: what
        they run into, or what runs too long. A reminder is blamed before halfway or a count."""
        call, cue = current
        hold = format_short(seconds)
        overlaps = cue.start < said.start or (before is not None and cue.start < before[1].end)
        if call.role == "reminder" or (overlaps and before and before[0].role == "reminder"):
            culprit, other = (current, before) if call.role == "reminder" else (before, current)
            what = f"remind: '{excerpt(culprit[0].text)}' ({culprit[0].label})"
            if not overlaps:
                took = culprit[1].length / self.lengths.sample_rate
                return culprit[0].pos, f"{what} runs past the end of a {hold} hold ({took:.1f} s)"
            into = f"'{excerpt(other[0].text)}'" if other else "the start chime"
            return culprit[0].pos, f"{what} would overlap {into} in a {hold} hold"
        culprit = before[1] if before and overlaps else (None if overlaps else cue)
        return call.pos, self._count_misfit(cue, culprit, action, seconds)

    def _count_misfit(self, call: Cue, culprit: Cue | None, action: Action, seconds: float) -> str:
        """Why halfway or a countdown number does not fit: what it runs into, or what runs too
        long."""
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

    def fail(self, pos: Position, message: str) -> None:
        """One problem a place: a countdown that does not fit is one problem, not one a number,
        and a step repeated in rounds is reported once."""
        if all(problem.where != pos for problem in self.problems):
            self.problems[Problem(pos, message)] = None


@dataclass
class _Said:
    """The words placed inside one hold, in time order, between the end of its start chime and
    its end (the end chime's onset)."""

    start: int
    end: int
    cues: list[Cue] = field(default_factory=list)

    def has_room(self, cue: Cue) -> bool:
        if cue.start < self.start or cue.end > self.end:
            return False
        i = bisect.bisect_right(self.cues, cue.start, key=lambda c: c.start)
        fits_after = i == 0 or self.cues[i - 1].end <= cue.start
        return fits_after and (i == len(self.cues) or cue.end <= self.cues[i].start)

    def add(self, cue: Cue) -> None:
        bisect.insort(self.cues, cue, key=lambda c: c.start)


def compile_routine(
    routine: Routine,
    lengths: PhraseLengths,
    speech: SpeechSettings,
    sounds: dict[str, str] | None = None,
) -> Timeline:
    """Lay the routine on a sample-exact line. Raises RoutineError for what cannot fit.

    `sounds` names the chime used for each role (hold-start, hold-end, session-end).
    """
    return lay_out(expand(routine), lengths, speech, sounds)


def lay_out(
    script: Script,
    lengths: PhraseLengths,
    speech: SpeechSettings,
    sounds: dict[str, str] | None = None,
    until: int | None = None,
) -> Timeline:
    """An expanded routine on a sample-exact line (see compile_routine). With `until`, only
    its steps up to that one: a step's times depend on the steps before it and nothing after,
    so that is exactly the start of the whole line (which `lengths` need only know so far)."""
    sounds = {role: role for role in CHIME_ROLES} | (sounds or {})
    layout = _Layout(lengths)
    spans = []
    at = 0
    for step in script.steps[:until]:
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
            layout.problems[Problem(step.pos, message)] = None
            break
    if layout.problems:
        raise RoutineError(list(layout.problems))
    cues = tuple(sorted(layout.cues, key=lambda c: c.start))
    to_come = tuple(step.title for step in script.steps[len(spans) :]) if until else ()
    return Timeline(
        script.title,
        lengths.sample_rate,
        at,
        tuple(spans),
        cues,
        tuple(layout.holds),
        speech,
        to_come,
    )
