"""What reads well but sounds wrong when spoken: `voiceguide check`'s warnings.

A listener with closed eyes hears every `say` once, at the voice's pace. Digits and ranges are
read as the engine spells them ("3-4" comes out as "three dash four"), parentheses are not heard
at all, and a long sentence is lost before it ends. Warnings never stop a routine from playing;
each names the place in the file, like an error does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import yaml

from voiceguide.errors import Position, Problem, excerpt
from voiceguide.loader import STDIN, display_path, yaml_nodes
from voiceguide.numbers import in_words
from voiceguide.routine import Include, Repeat, Routine, Sides, Step

MAX_SENTENCE_WORDS = 20

_RANGE = re.compile(r"(\d+)\s*[-\u2013\u2014]\s*(\d+)")  # hyphen, en or em dash
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")


def aloud_warnings(routine: Routine) -> list[Problem]:
    """Warnings about what the routine's files (its own and those it includes) give to `say`,
    in file order, each said once. Each file's text is the one the loader parsed (standard
    input's too)."""
    found: dict[Problem, None] = {}
    for each in _files(routine):
        found.update(dict.fromkeys(_file_warnings(each)))
    return list(found)


def _files(routine: Routine) -> list[Routine]:
    """The routine and each routine it includes, one for each file."""
    routines = {routine.path.resolve(): routine}
    for included in _included(routine.steps):
        routines.setdefault(included.path.resolve(), included)
    return list(routines.values())


def _included(steps: tuple[Step, ...]) -> Iterator[Routine]:
    for step in steps:
        if isinstance(step, Include):
            yield step.routine
            yield from _included(step.routine.steps)
        elif isinstance(step, (Repeat, Sides)):
            yield from _included(step.steps)


def _file_warnings(routine: Routine) -> list[Problem]:
    path = routine.path
    shown = display_path(path) if path.is_absolute() else str(path)
    if path.name == STDIN:  # standard input, shown as its errors show it
        shown = STDIN
    text = routine.source
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (ValueError, yaml.YAMLError):  # the loader parsed it: not expected
        return []
    problems = []
    for node in _say_nodes(root):
        source = _Source(text, node)
        for offset, message in text_warnings(" ".join(node.value.split())):
            line, column = source.position(offset)
            problems.append(Problem(Position(shown, line, column), message, "warning"))
    return problems


def _say_nodes(root: yaml.Node | None) -> Iterator[yaml.ScalarNode]:
    """Every text given to a 'say' key (a step's, a reminder's), each node once, in file order."""
    for node in yaml_nodes(root):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                said = key.value == "say" and isinstance(value, yaml.ScalarNode)
                if said and isinstance(value.value, str) and value.tag.endswith(":str"):
                    yield value


def text_warnings(text: str) -> list[tuple[int, str]]:
    """What sounds wrong in one text to say: (character offset in `text`, message), in order."""
    found = []
    in_ranges = set()
    for match in _RANGE.finditer(text):
        in_ranges.update(range(match.start(), match.end()))
        low, high = match.group(1), match.group(2)
        heard = f'"{_words(low)} to {_words(high)}"' if _small(low, high) else "words"
        message = f"'{match.group()}' in say is read with a dash; write it as it is said: {heard}"
        found.append((match.start(), message))
    for match in _NUMBER.finditer(text):
        if match.start() in in_ranges:
            continue
        number = match.group()
        heard = f' ("{_words(number)}")' if _small(number) else ""
        message = f"'{number}' in say: write numbers in words, as they are to be heard{heard}"
        found.append((match.start(), message))
    for match in re.finditer(r"[()]", text):
        if match.group() == "(" or "(" not in text[: match.start()]:
            message = "parentheses in say are not heard; use commas, or a sentence of its own"
            found.append((match.start(), message))
    for match in _SENTENCE.finditer(text):
        words = len(match.group().split())
        if words > MAX_SENTENCE_WORDS:
            start = match.start() + len(match.group()) - len(match.group().lstrip())
            first = excerpt(" ".join(match.group().split()[:4]))
            message = (
                f"a sentence of {words} words in say ('{first} ...'); a listener follows"
                f" at most {MAX_SENTENCE_WORDS}: split it"
            )
            found.append((start, message))
    return sorted(found, key=lambda f: f[0])


def _small(*numbers: str) -> bool:
    return all(n.isdigit() and int(n) <= 999 for n in numbers)


def _words(number: str) -> str:
    return in_words(int(number)) if _small(number) else number


@dataclass
class _Source:
    """Where the words of one scalar stand in the file: the n-th word of its value (spaces
    collapsed) is the n-th word written between its marks, for plain, folded, literal and
    quoted scalars alike."""

    text: str
    node: yaml.ScalarNode

    def position(self, offset: int) -> tuple[int, int]:
        """The file's 1-based line and column of `offset` in the value, spaces collapsed."""
        start = self.node.start_mark
        value = " ".join(self.node.value.split())
        words = list(re.finditer(r"\S+", value))
        written = list(re.finditer(r"\S+", self.text[self._first() : self.node.end_mark.index]))
        index = sum(1 for w in words if w.start() <= offset) - 1
        if index < 0 or len(words) != len(written):  # escapes in quotes: the scalar itself
            return start.line + 1, start.column + 1
        at = self._first() + written[index].start() + offset - words[index].start()
        line_start = self.text.rfind("\n", 0, at) + 1
        return self.text.count("\n", 0, at) + 1, at - line_start + 1

    def _first(self) -> int:
        """Where the value's first word may be written: after a quote, or a block's header."""
        index = self.node.start_mark.index
        if self.node.style in ("|", ">"):
            return self.text.find("\n", index) + 1 or len(self.text)
        return index + (1 if self.node.style in ("'", '"') else 0)
