"""Routine files in, validated `Routine` out.

YAML is read as a node tree (never constructed into arbitrary objects), so every value keeps its
line and column, duplicate keys are seen, and tags that would build Python objects are refused.
Every limit (file size, nesting, node count) is checked before the work it protects.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from voiceguide import bundled, durations, wording
from voiceguide.engines import ENGINES
from voiceguide.errors import ParamError, Problem, RoutineError, excerpt
from voiceguide.params import Param
from voiceguide.routine import (
    CHIME_ROLES,
    MAX_SESSION_SECONDS,
    MAX_TEXT_CHARS,
    PARTS,
    RATE_RANGE,
    REMINDER_KINDS,
    Action,
    ChimeChoice,
    Include,
    Position,
    Reminder,
    Repeat,
    Routine,
    Sides,
    SpeechSettings,
    Step,
)

MAX_FILE_BYTES = 1_000_000
MAX_YAML_DEPTH = 64
MAX_YAML_NODES = 100_000
MAX_STEP_DEPTH = 10  # blocks (repeat, sides, include) inside one another
MAX_SIDE_CHARS = 100
MAX_NUMBER_CHARS = 20  # digits beyond any limit: refused before Python converts them
ROUTINE_SUFFIXES = (".yaml", ".yml")
MAX_REPEAT = 100
MAX_COUNTDOWN = 10

TOP_KEYS = (
    "title", "description", "speech", "chimes", "language", "wording", "pronounce", "steps",
    "per_day", "params",
)  # fmt: skip
MAX_PER_DAY = 100
SPEECH_KEYS = ("voice", "rate", "volume", "engine")
ACTION_KEYS = ("say", "hold", "countdown", "halfway", "remind", "pause", "title")
MAX_REMINDERS = 20  # in one step
MIN_EVERY = 5  # seconds: words more often than this would be one long talk
STEP_KEYS = {
    "action": (*ACTION_KEYS, "part"),
    "repeat": ("repeat", "rest", "steps", "title", "part"),
    "sides": ("sides", "rest", "steps", "title", "part"),
    "include": ("include", "with", "without", "title", "part"),
}
PARAM_KEYS = ("default", "choices", "min", "max")
MAX_PARAMS = 20
MAX_CHOICES = 20
# '{side}' and '{round}' are what a step's sides and repeat say; '{rounds}' may be a param
# (inside a repeat it is that repeat's count, which a param of that name would usually set).
RESERVED_PARAMS = ("side", "round")
_PARAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
ALL_STEP_KEYS = tuple(dict.fromkeys(k for keys in STEP_KEYS.values() for k in keys))

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_ALLOWED_TAGS = _SCALAR_TAGS | {_TAG + "seq", _TAG + "map"}
_CONSTRUCT = yaml.constructor.SafeConstructor()


def load_routine(ref: str | os.PathLike[str], values: Mapping[str, str] | None = None) -> Routine:
    """Load a routine by path, or by the name of a bundled routine, or from standard input
    for '-', with `values` for its params (`--set`). Raises RoutineError, or ParamError for a
    value the routine does not allow."""
    if os.fspath(ref) == "-":
        return load_routine_data(sys.stdin.buffer.read(MAX_FILE_BYTES + 1), values=values)
    path, name = resolve_routine(ref)
    try:
        return _load(path, name, stack=(path,), depth=1, run=_Run(), values=dict(values or {}))
    except ParamError as e:
        raise ParamError(f"--set {e}") from None


STDIN = "<stdin>"


def load_routine_data(
    data: bytes, folder: Path | None = None, values: Mapping[str, str] | None = None
) -> Routine:
    """A routine read from standard input: shown as <stdin> in errors, named 'stdin', its
    includes and chime files found from `folder` (by default the working directory)."""
    path = (folder or Path.cwd()) / STDIN
    try:
        return _build(path, "stdin", (path,), 1, _Run(), dict(values or {}), data=data)
    except ParamError as e:
        raise ParamError(f"--set {e}") from None


def resolve_routine(ref: str | os.PathLike[str]) -> tuple[Path, str]:
    """The file a ROUTINE argument names, and the routine's name (the file's stem)."""
    text = os.fspath(ref)
    path = Path(text)
    try:
        is_dir, exists = path.is_dir(), path.exists()
    except OSError as e:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise RoutineError(
            Problem(Position(shown, 0, 0), f"cannot be read: {e.strerror}")
        ) from None
    bundled_path = bundled.routine_path(text)
    # Only routine files are read: errors quote values, and must never quote another file.
    routine_file = path.suffix.lower() in ROUTINE_SUFFIXES or not _is_file(path)
    if exists and not is_dir and (routine_file or bundled_path is None):
        if not routine_file:
            raise RoutineError(Problem(Position(text, 0, 0), _NOT_A_ROUTINE))
        return path, path.stem
    if bundled_path is not None:  # a folder named like a bundled routine (its tracks, say)
        return bundled_path, text
    if is_dir:
        raise RoutineError(Problem(Position(text, 0, 0), "is a directory, not a routine file"))
    names = bundled.routine_names()
    message = "no such file, and no bundled routine of that name"
    raise RoutineError(Problem(Position(text, 0, 0), message + _suggest(text, names, "bundled")))


_NOT_A_ROUTINE = "is not a routine file (a routine's name ends in .yaml or .yml)"


def display_path(path: Path) -> str:
    """The path as a person would type it: relative to the current directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):  # outside it, or it was deleted
        return str(path)


def _suggest(word: str, choices: Iterable[str], what: str = "allowed") -> str:
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" ({what}: {', '.join(choices)})" if choices else ""


@dataclass
class _Run:
    """What one load shares with the loads of its includes: one budget of nodes, and each
    file read once a nesting depth (so that fan-out stays cheap)."""

    visited: int = 0
    loaded: dict[tuple, Routine | RoutineError] = field(default_factory=dict)


def _load(
    path: Path, name: str, stack: tuple[Path, ...], depth: int, run: _Run, values: dict[str, str]
) -> Routine:
    key = (path.resolve(), depth, tuple(sorted(values.items())))
    if key in run.loaded:
        known = run.loaded[key]
        if isinstance(known, RoutineError):  # a bad file included twice is read once
            raise RoutineError(known.problems)
        return known
    try:
        routine = _build(path, name, stack, depth, run, values)
    except RoutineError as e:
        run.loaded[key] = e
        raise
    run.loaded[key] = routine
    return routine


def _build(
    path: Path,
    name: str,
    stack: tuple[Path, ...],
    depth: int,
    run: _Run,
    values: dict[str, str],
    data: bytes | None = None,
) -> Routine:
    if data is not None:
        shown = STDIN
        text = _decoded(data, shown)
    else:
        shown = display_path(path) if path.is_absolute() else str(path)
        text = _read_text(path, shown)
    root = _parse_yaml(text, shown)
    _spend_nodes(root, shown, run)
    builder = _Builder(path, shown, stack, depth, run, values)
    routine = builder.routine(root, name)
    if builder.problems:
        # In the order of the file (this file's first, then those of the files it includes).
        raise RoutineError(
            sorted(builder.problems, key=lambda p: (p.path != shown, p.line, p.column))
        )
    assert routine is not None
    return replace(routine, source=text)


def _read_text(path: Path, shown: str) -> str:
    try:
        if not path.is_file():
            raise RoutineError(Problem(Position(shown, 0, 0), "is not a regular file"))
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            limit = f"{MAX_FILE_BYTES / 1e6:g} MB"
            message = f"file is too large ({size / 1e6:.1f} MB; a routine may be at most {limit})"
            raise RoutineError(Problem(Position(shown, 0, 0), message))
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise RoutineError(Problem(Position(shown, 0, 0), f"cannot read: {e.strerror}")) from None
    return _decoded(data, shown)


def _decoded(data: bytes, shown: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise RoutineError(Problem(Position(shown, 0, 0), "file is too large"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        column = e.start - (before.rfind(b"\n") + 1) + 1
        message = f"not UTF-8 text (byte 0x{data[e.start]:02x}); save the file as UTF-8"
        raise RoutineError(Problem(Position(shown, line, column), message)) from None
    return text.removeprefix("\ufeff")


def _parse_yaml(text: str, shown: str) -> yaml.Node | None:
    try:
        _check_shape(text, shown)
        root = yaml.compose(text, Loader=_Loader)
        _check_tags(root, shown)
        return root
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise RoutineError(Problem(Position(shown, line, column), _yaml_message(e, text))) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow, outside quotes
        before = text[: e.position]
        line, column = before.count("\n") + 1, e.position - (before.rfind("\n") + 1) + 1
        message = f"a control character (U+{e.character:04X}) is not allowed in a routine"
        raise RoutineError(Problem(Position(shown, line, column), message)) from None
    except yaml.YAMLError as e:
        raise RoutineError(
            Problem(Position(shown, 0, 0), f"YAML error: {excerpt(str(e), 200)}")
        ) from None


def _check_shape(text: str, shown: str) -> None:
    """Refuse deep nesting and huge node counts from the event stream, before composing.

    The parser is iterative; composing is recursive, so depth must be bounded first.
    """
    depth = 0
    for nodes, event in enumerate(yaml.parse(text, Loader=_Loader), 1):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                mark = event.start_mark
                message = f"nesting is too deep (more than {MAX_YAML_DEPTH} levels)"
                raise RoutineError(
                    Problem(Position(shown, mark.line + 1, mark.column + 1), message)
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        if nodes > MAX_YAML_NODES:
            mark = event.start_mark
            message = f"routine is too large (more than {MAX_YAML_NODES} YAML nodes)"
            raise RoutineError(Problem(Position(shown, mark.line + 1, mark.column + 1), message))


def yaml_nodes(root: yaml.Node | None) -> Iterator[yaml.Node]:
    """Every node of a composed document once (an alias's node is shared), in file order."""
    seen: set[int] = set()
    pending = [root] if root is not None else []
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, yaml.SequenceNode):
            pending.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            pending.extend(reversed([item for pair in node.value for item in pair]))


def _check_tags(root: yaml.Node | None, shown: str) -> None:
    """Refuse explicit tags (they would construct objects), once per node, aliases included."""
    for node in yaml_nodes(root):
        if node.tag not in _ALLOWED_TAGS:
            mark = node.start_mark
            tag = node.tag.replace(_TAG, "!!")
            message = f"YAML tag '{tag}' is not allowed in a routine"
            raise RoutineError(Problem(Position(shown, mark.line + 1, mark.column + 1), message))


def _yaml_message(error: yaml.MarkedYAMLError, text: str) -> str:
    mark = error.problem_mark
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        return "YAML syntax error: a tab character here; indent with spaces, not tabs"
    message = f"YAML syntax error: {error.problem or error.context}"
    if error.context and error.problem and error.context_mark is not None:
        where = f"{error.context_mark.line + 1}:{error.context_mark.column + 1}"
        message += f" ({error.context} at {where})"
    return message


def _kind_of(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == _TAG + "null":
        return "nothing"
    return f"'{excerpt(node.value)}'"


def _spend_nodes(root: yaml.Node | None, shown: str, run: _Run) -> None:
    """Refuse a tree too large to walk, before walking it. Aliases share nodes, so a small
    file can expand exponentially: the budget counts nodes as a walk meets them, aliases
    expanded, across included files too."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    left = MAX_YAML_NODES - run.visited
    run.visited += _size(root, sizes)
    if run.visited <= MAX_YAML_NODES:
        return
    node, used = root, 1  # find where a walk in the file's order would spend the last node
    while used <= left:
        for child in _children(node):
            if used + sizes[id(child)] > left:
                node = child
                break
            used += sizes[id(child)]
        used += 1
    mark = node.start_mark
    message = f"routine is too large (more than {MAX_YAML_NODES} nodes)"
    raise RoutineError(Problem(Position(shown, mark.line + 1, mark.column + 1), message))


def _size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes in the tree under `node`, itself included, each alias counted again."""
    if id(node) not in sizes:  # depth is bounded by MAX_YAML_DEPTH: recursion is safe
        sizes[id(node)] = 1 + sum(_size(child, sizes) for child in _children(node))
    return sizes[id(node)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


class _Fields(dict):
    """A mapping's keys: name -> (key node, value node). `guessed` holds the known keys that
    a misspelt one was offered as (did you mean): they are not reported missing too."""

    guessed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Scope:
    """What a value's placeholders may mean where it is read: the routine's params, and
    '{side}', '{round}' and '{rounds}' inside a 'sides' or 'repeat' step; and how deep its
    steps are nested in blocks."""

    depth: int = 0
    params: Mapping[str, str] = field(default_factory=dict)  # each param's value in effect
    declared: frozenset[str] = frozenset()  # every param's name, valid or not
    in_sides: bool = False
    in_repeat: bool = False

    def inside(self, kind: str) -> _Scope:
        """The scope of the steps of a block of this kind ('repeat', 'sides', 'include')."""
        return replace(
            self,
            depth=self.depth + 1,
            in_sides=self.in_sides or kind == "sides",
            in_repeat=self.in_repeat or kind == "repeat",
        )


_NO_SCOPE = _Scope()  # outside the steps: no placeholder means anything
_ANY_SIDE = _Scope(in_sides=True)  # wording: its phrases are said anywhere


class _Builder:
    """Walks one file's node tree, collecting every problem instead of stopping at the first.
    What a value means where it is read travels with the walk, as a _Scope."""

    def __init__(
        self,
        path: Path,
        shown: str,
        stack: tuple[Path, ...],
        depth: int,
        run: _Run,
        given: dict[str, str],
    ):
        self.path = path
        self.given = given  # values for its params: from --set, or an include's 'with'
        self.shown = shown
        self.stack = stack
        self.depth = depth  # of this file's steps: included files nest deeper
        self.run = run
        self.problems: list[Problem] = []
        self.reported: set[Problem] = set()

    # -- positions and problems

    def pos(self, node: yaml.Node) -> Position:
        return Position(self.shown, node.start_mark.line + 1, node.start_mark.column + 1)

    def error(self, node: yaml.Node, message: str) -> None:
        self.error_at(self.pos(node), message)

    def error_at(self, pos: Position, message: str) -> None:
        problem = Problem(pos, message)
        if problem not in self.reported:  # an alias repeats its node's problems: say them once
            self.reported.add(problem)
            self.problems.append(problem)

    # -- the routine

    def routine(self, root: yaml.Node | None, name: str) -> Routine | None:
        if root is None:
            message = "the routine is empty; it needs a 'title' and a list of 'steps'"
            self.problems.append(Problem(Position(self.shown, 1, 1), message))
            return None
        if not isinstance(root, yaml.MappingNode):
            message = f"a routine is a mapping with 'title' and 'steps', not {_kind_of(root)}"
            self.error(root, message)
            return None
        fields = self.mapping(root, TOP_KEYS, "at the top of a routine")
        params = self.params(fields["params"][1]) if "params" in fields else ()
        scope = _Scope(self.depth, self.param_values(params), _declared(fields))
        title = self.text(fields, "title", root)
        description = self.text(fields, "description") or ""
        speech = self.speech(fields["speech"][1]) if "speech" in fields else SpeechSettings()
        chimes = self.chimes(fields["chimes"][1]) if "chimes" in fields else ()
        language = self.language(fields)
        own_words = self.wording(fields["wording"][1]) if "wording" in fields else {}
        pronounce = self.pronounce(fields["pronounce"][1]) if "pronounce" in fields else ()
        per_day = (
            self.whole(fields["per_day"][1], "per_day", 1, MAX_PER_DAY)
            if "per_day" in fields
            else None
        )
        steps = self.steps(fields, "steps", root, scope)
        if self.problems or title is None:
            return None
        positions = {"routine": self.pos(root)}
        if "language" in fields:
            positions["language"] = self.pos(fields["language"][1])
        if "speech" in fields and isinstance(fields["speech"][1], yaml.MappingNode):
            for key, value in fields["speech"][1].value:
                if key.value in ("voice", "engine"):
                    positions[key.value] = self.pos(value)
        return Routine(
            title, steps, self.path, name, description, speech, chimes,
            language, own_words, pronounce, positions, per_day, params, dict(scope.params),
        )  # fmt: skip

    # -- params

    def params(self, node: yaml.Node) -> tuple[Param, ...]:
        if not isinstance(node, yaml.MappingNode):
            message = "params must be a mapping of names to {default: ..., choices: [...]}"
            self.error(
                node, f"{message} or {{default: ..., min: ..., max: ...}}, not {_kind_of(node)}"
            )
            return ()
        if len(node.value) > MAX_PARAMS:
            self.error(node, f"too many params ({len(node.value)}; at most {MAX_PARAMS})")
            return ()
        found: dict[str, Param] = {}
        for key_node, value_node in node.value:
            name = self.scalar(key_node, "a param's name", "a name")
            if name is None:
                continue
            if not _PARAM_NAME.fullmatch(name):
                message = f"param name '{excerpt(name)}' must be a lowercase word"
                self.error(key_node, message + " (letters, digits and _, at most 32)")
            elif name in RESERVED_PARAMS:
                block = "sides" if name == "side" else "repeat"
                message = f"'{name}' cannot be a param: '{{{name}}}' is what a '{block}' step"
                self.error(key_node, message + " says")
            elif name in found:
                self.error(key_node, f"duplicate param '{name}'")
            else:
                param = self.param(name, value_node)
                if param is not None:
                    found[name] = param
        return tuple(found.values())

    def param(self, name: str, node: yaml.Node) -> Param | None:
        if not isinstance(node, yaml.MappingNode):
            message = f"param '{name}' must be a mapping like {{default: 3, choices: [3, 4]}}"
            self.error(
                node, f"{message} or {{default: 2m, min: 2m, max: 3m}}, not {_kind_of(node)}"
            )
            return None
        fields = self.mapping(node, PARAM_KEYS, f"in param '{name}'")
        if "default" not in fields:
            self.error(node, f"param '{name}' needs a 'default'")
            return None
        default = self.param_value(fields["default"][1], "default")
        if "choices" in fields:
            if {"min", "max"} & fields.keys():
                self.error(node, f"param '{name}' has choices or min and max, not both")
                return None
            choices = self.param_choices(fields["choices"][1])
            if default is None or not choices:
                return None
            param = Param(name, default, choices)
        elif {"min", "max"} <= fields.keys():
            low = self.param_value(fields["min"][1], "min")
            high = self.param_value(fields["max"][1], "max")
            if None in (default, low, high):
                return None
            param = Param(name, default, (), low, high)
            if not self.param_range(param, fields):
                return None
        else:
            self.error(node, f"param '{name}' needs 'choices', or 'min' and 'max'")
            return None
        if param.accepts(default) is None:
            message = f"default: {excerpt(default)} is not an allowed value of '{name}'"
            self.error(fields["default"][1], f"{message} ({param.allowed()})")
            return None
        return param

    def param_value(self, node: yaml.Node, key: str) -> str | None:
        value = self.scalar(node, key, "a number, a duration or a word")
        if value is None:
            return None
        value = " ".join(value.split())
        if node.tag not in (_TAG + "int", _TAG + "float", _TAG + "str") or not value:
            self.error(node, f"{key} must be a number, a duration or a word, not {_kind_of(node)}")
            return None
        if "{" in value or "}" in value or len(value) > MAX_SIDE_CHARS:
            self.error(node, f"{key}: '{excerpt(value)}' is not a value (no braces; at most"
                       f" {MAX_SIDE_CHARS} characters)")  # fmt: skip
            return None
        return value

    def param_choices(self, node: yaml.Node) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.error(node, f"choices must be a list of values, like [3, 4], not {_kind_of(node)}")
            return ()
        if len(node.value) > MAX_CHOICES:
            self.error(node, f"too many choices ({len(node.value)}; at most {MAX_CHOICES})")
            return ()
        values = [self.param_value(item, "a choice") for item in node.value]
        if None in values:
            return ()
        return tuple(dict.fromkeys(v for v in values if v is not None))

    def param_range(self, param: Param, fields: dict) -> bool:
        """A range of whole numbers or of durations, its ends in order."""
        if param.kind == "duration":
            for key in ("default", "min", "max"):
                node = fields[key][1]
                try:
                    durations.parse_duration(node.value, shown=excerpt(node.value))
                except ValueError as e:
                    self.error(node, f"{key}: {e}")
                    return False
        low, high = param.measure(param.low or ""), param.measure(param.high or "")
        if low is not None and high is not None and low > high:
            message = f"min: {excerpt(param.low or '')} is above max: {excerpt(param.high or '')}"
            self.error(fields["min"][1], message)
            return False
        return True

    def param_values(self, params: tuple[Param, ...]) -> dict[str, str]:
        """Each param's value in effect: the given one, else its default. A given value the
        routine does not allow is a ParamError (a usage error, not a routine's)."""
        # A default as the param knows it: '90' in a range of durations is said as one.
        values = {param.name: param.accepts(param.default) or param.default for param in params}
        if self.problems:  # a broken params block: its own problems say what is wrong
            return values
        by_name = {param.name: param for param in params}
        for name, value in self.given.items():
            param = by_name.get(name)
            if param is None:
                theirs = f"its params: {', '.join(by_name)}" if by_name else "it has none"
                raise ParamError(
                    f"{name}={value}: {self.path.stem} has no param '{name}' ({theirs})", name
                )
            accepted = param.accepts(value)
            if accepted is None:
                raise ParamError(f"{name}={value}: {name} may be {param.allowed()}", name)
            values[name] = accepted
        return values

    def filled(self, node: yaml.Node, key: str, value: str, scope: _Scope) -> str | None:
        """`value` with each '{param}' replaced by that param's value in effect."""
        if "{" not in value:
            return value
        for name in wording.placeholders(value):
            if name in scope.declared - scope.params.keys():
                return None  # its declaration's problem is reported
            if name not in scope.params:
                allowed = [f"{{{p}}}" for p in scope.params]
                message = f"unknown param '{{{excerpt(name)}}}' in {key}"
                self.error(node, message + _suggest(f"{{{name}}}", allowed, "params"))
                return None
        return wording.fill(value, scope.params)

    def mapping(self, node: yaml.MappingNode, allowed: Iterable[str], where: str) -> _Fields:
        """Key name -> (key node, value node), reporting unknown and duplicate keys."""
        allowed = tuple(allowed)
        fields = _Fields()
        guessed: list[str] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node, f"a key must be a plain word, not {_kind_of(key_node)}")
                continue
            key = key_node.value
            if key in fields:
                first = fields[key][0].start_mark.line + 1
                self.error(key_node, f"duplicate key '{key}' (first given at line {first})")
            elif key not in allowed:
                shown = excerpt(key)
                self.error(key_node, f"unknown key '{shown}' {where}{_suggest(key, allowed)}")
                guessed += difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            else:
                fields[key] = (key_node, value_node)
        fields.guessed = frozenset(guessed)
        return fields

    def scalar(self, node: yaml.Node, key: str, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            self.error(node, f"{key} must be {what}, not {_kind_of(node)}")
            return None
        control = next((c for c in node.value if c not in "\t\n\r" and not c.isprintable()), None)
        if control is not None:  # a NUL cuts speech short; an escape sequence drives a terminal
            message = f"{key} holds a control character (U+{ord(control):04X}); remove it"
            self.error(node, message)
            return None
        return node.value

    def text(
        self,
        fields: _Fields,
        key: str,
        required_in: yaml.Node | None = None,
        scope: _Scope = _NO_SCOPE,
    ) -> str | None:
        if key not in fields:
            if required_in is not None and key not in fields.guessed:
                self.error(required_in, f"missing '{key}'")
            return None
        node = fields[key][1]
        value = self.scalar(node, key, "text")
        if value is None:
            return None
        value = "" if node.tag == _TAG + "null" else " ".join(value.split())
        if not value:
            self.error(node, f"{key} is empty")
            return None
        if len(value) > MAX_TEXT_CHARS:
            self.error(
                node, f"{key} is too long ({len(value)} characters; at most {MAX_TEXT_CHARS})"
            )
            return None
        if "{side}" in value and not scope.in_sides:
            self.error(node, "'{side}' is used outside a 'sides' step")
        if key in ("say", "title"):
            self.placeholders(node, key, value, scope)
        return value

    def placeholders(self, node: yaml.Node, key: str, value: str, scope: _Scope) -> None:
        """Params, and '{side}', '{round}' and '{rounds}' where a step gives them a value."""
        for name in wording.placeholders(value):
            if name in scope.declared and not (name == "rounds" and scope.in_repeat):
                continue  # a param (inside a repeat, '{rounds}' is that repeat's count)
            if name not in wording.CONTEXT_PLACEHOLDERS:
                allowed = [f"{{{p}}}" for p in (*wording.CONTEXT_PLACEHOLDERS, *scope.params)]
                self.error(
                    node,
                    f"unknown placeholder '{{{excerpt(name)}}}' in {key}"
                    + _suggest(f"{{{name}}}", allowed),
                )
            elif name in ("round", "rounds") and not scope.in_repeat:
                self.error(node, f"'{{{name}}}' is used outside a 'repeat' step")

    def number(self, node: yaml.Node, key: str) -> float | int | None:
        value = self.scalar(node, key, "a number")
        if value is None:
            return None
        if node.tag == _TAG + "float":
            return _CONSTRUCT.construct_object(node)  # .inf and .nan are out of range
        if node.tag in (_TAG + "int", _TAG + "str"):
            try:
                return float(value)  # decimal, whatever YAML 1.1 would make of 010 or 0x10
            except ValueError:
                pass
        self.error(node, f"{key} must be a number, not {_kind_of(node)}")
        return None

    def whole(
        self, node: yaml.Node, key: str, low: int, high: int, scope: _Scope = _NO_SCOPE
    ) -> int | None:
        value = self.scalar(node, key, "a whole number")
        if value is None:
            return None
        digits = value.strip()
        if node.tag == _TAG + "str" and "{" in digits:  # '{rounds}': a param's value
            filled = self.filled(node, key, digits, scope)
            if filled is None:
                return None
            digits = value = filled
        if node.tag in (_TAG + "int", _TAG + "str") and digits.isascii() and digits.isdigit():
            # Decimal (010 is ten, not YAML 1.1's octal eight); a flood of digits is not int()ed.
            number = int(digits) if len(digits) <= MAX_NUMBER_CHARS else high + 1
            if low <= number <= high:
                return number
            self.error(node, f"{key}: {excerpt(value)} is out of range ({low} to {high})")
            return None
        self.error(node, f"{key} must be a whole number from {low} to {high}, not {_kind_of(node)}")
        return None

    def duration(self, node: yaml.Node, key: str, scope: _Scope = _NO_SCOPE) -> float | None:
        value = self.scalar(node, key, "a duration")
        if value is None:
            return None
        # The text as written, read as decimal: YAML 1.1 would make 010 eight and 1:30 ninety.
        raw: object = value if node.tag in (_TAG + t for t in ("int", "float", "str")) else None
        if node.tag == _TAG + "str" and "{" in value:  # '{minutes}': a param's value
            raw = value = self.filled(node, key, value, scope)
            if value is None:
                return None
        try:
            seconds = durations.parse_duration(raw, shown=excerpt(value))
        except ValueError as e:
            self.error(node, f"{key}: {e}")
            return None
        if seconds > MAX_SESSION_SECONDS:
            shown = excerpt(value)
            self.error(node, f"{key}: {shown} is longer than a whole session may be (12 h)")
            return None
        return seconds

    def boolean(self, node: yaml.Node, key: str) -> bool | None:
        value = self.scalar(node, key, "true or false")
        if value is None:
            return None
        if node.tag == _TAG + "bool":
            return bool(_CONSTRUCT.construct_object(node))
        self.error(node, f"{key} must be true or false, not {_kind_of(node)}")
        return None

    # -- blocks

    def speech(self, node: yaml.Node) -> SpeechSettings:
        if not isinstance(node, yaml.MappingNode):
            self.error(
                node, f"speech must be a mapping of voice, rate and volume, not {_kind_of(node)}"
            )
            return SpeechSettings()
        fields = self.mapping(node, SPEECH_KEYS, "in speech")
        voice = self.text(fields, "voice")
        engine = self.text(fields, "engine")
        if engine is not None and engine not in ENGINES:
            self.error(
                fields["engine"][1],
                f"unknown engine '{excerpt(engine)}'{_suggest(engine, ENGINES, 'engines')}",
            )
            engine = None
        rate = self.whole(fields["rate"][1], "rate", *RATE_RANGE) if "rate" in fields else None
        volume = None
        if "volume" in fields:
            volume_node = fields["volume"][1]
            volume = self.number(volume_node, "volume")
            if volume is not None and not 0 < volume <= 1:
                shown = excerpt(volume_node.value)
                self.error(volume_node, f"volume: {shown} is out of range (above 0, at most 1)")
                volume = None
        return SpeechSettings(voice, rate, None if volume is None else float(volume), engine)

    def language(self, fields: dict) -> str | None:
        language = self.text(fields, "language")
        if language is not None and not re.fullmatch(r"[a-z]{2,3}", language):
            there = ", ".join(sorted(wording.CATALOGS))
            message = f"language: '{excerpt(language)}' is not a language code, like {there}"
            self.error(fields["language"][1], message)
            return None
        return language

    def wording(self, node: yaml.Node) -> dict[str, str]:
        """Phrase name -> the routine's own text for it, its placeholders checked."""
        if not isinstance(node, yaml.MappingNode):
            self.error(
                node, f"wording must be a mapping of phrase names to texts, not {_kind_of(node)}"
            )
            return {}
        fields = self.mapping(node, wording.PHRASES, "in wording")
        texts = {}
        for name, (_, value_node) in fields.items():
            text = self.text(fields, name, scope=_ANY_SIDE)
            if text is None:
                continue
            problems = wording.check_phrase(name, text)
            for problem in problems:
                self.error(value_node, problem)
            if not problems:
                texts[name] = text
        return texts

    def pronounce(self, node: yaml.Node) -> tuple[tuple[str, str], ...]:
        """Written form -> spoken form, for the engine's ears only."""
        if not isinstance(node, yaml.MappingNode):
            self.error(
                node,
                f"pronounce must be a mapping of words to how to say them, not {_kind_of(node)}",
            )
            return ()
        pairs = []
        for key_node, value_node in node.value:
            written = self.scalar(key_node, "a word to pronounce", "text")
            shown = excerpt(written) if written is not None else _kind_of(key_node)
            spoken = self.scalar(value_node, f"pronounce: {shown}", "text")
            if written is None or spoken is None:
                continue
            if not written.strip() or not spoken.strip():
                self.error(
                    value_node if written.strip() else key_node,
                    "pronounce: a word or its spoken form is empty",
                )
                continue
            pairs.append((" ".join(written.split()), " ".join(spoken.split())))
        return tuple(pairs)

    def chimes(self, node: yaml.Node) -> tuple[ChimeChoice, ...]:
        if not isinstance(node, yaml.MappingNode):
            roles = ", ".join(CHIME_ROLES)
            self.error(node, f"chimes must be a mapping of {roles} to sounds, not {_kind_of(node)}")
            return ()
        fields = self.mapping(node, CHIME_ROLES, "in chimes")
        choices = []
        for role, (_, value_node) in fields.items():
            sound = self.scalar(value_node, role, "a chime name or a WAV file")
            if sound:
                path = self.chime_path(value_node, sound)
                if path is not None:
                    choices.append(ChimeChoice(role, sound, path, self.pos(value_node)))
        return tuple(choices)

    def chime_path(self, node: yaml.Node, sound: str) -> Path | None:
        if "/" in sound or "\\" in sound or sound.lower().endswith(".wav"):
            path = self.path.parent / sound
            if _is_file(path):
                return path.resolve()
            self.error(node, f"chime file '{excerpt(sound)}' not found beside this routine")
            return None
        path = bundled.sound_path(sound)
        if path is None:
            names = bundled.sound_names()
            self.error(
                node,
                f"unknown chime '{excerpt(sound)}'{_suggest(sound, names, 'bundled chimes')}; "
                "or give the path of a WAV file",
            )
        return path

    def steps(
        self, fields: _Fields, key: str, parent: yaml.Node, scope: _Scope
    ) -> tuple[Step, ...]:
        if key not in fields:
            if key not in fields.guessed:
                self.error(parent, f"missing '{key}'")
            return ()
        node = fields[key][1]
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"steps must be a list of steps, not {_kind_of(node)}")
            return ()
        if not node.value:
            self.error(node, "steps is empty; give at least one step")
            return ()
        if scope.depth - 1 > MAX_STEP_DEPTH:  # the top level's steps are in no block
            self.error(node, f"steps are nested too deeply (more than {MAX_STEP_DEPTH} blocks)")
            return ()
        built = (self.step(item, scope) for item in node.value)
        steps = tuple(step for step in built if step is not None)
        if scope.depth == self.depth:
            self.check_parts(steps)
        return steps

    def check_parts(self, steps: tuple[Step, ...]) -> None:
        """Opening steps come first and closing steps last, so that leaving them out of an
        include leaves the middle of the routine whole."""
        seen_middle = seen_closing = False
        for step in steps:
            if step.part == "opening" and (seen_middle or seen_closing):
                self.error_at(
                    step.pos, "an opening step must come before the routine's other steps"
                )
            elif step.part != "closing" and seen_closing:
                message = (
                    "a step after a closing step must be closing too (closing steps come last)"
                )
                self.error_at(step.pos, message)
            seen_middle |= step.part is None
            seen_closing |= step.part == "closing"

    def step(self, node: yaml.Node, scope: _Scope) -> Step | None:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"a step must be a mapping, like 'say: ...', not {_kind_of(node)}")
            return None
        fields = self.mapping(node, ALL_STEP_KEYS, "in a step")
        kinds = [k for k in ("repeat", "sides", "include") if k in fields]
        if len(kinds) > 1:
            these = " and ".join(kinds)
            self.error(node, f"a step can have only one of repeat, sides and include, not {these}")
            return None
        kind = kinds[0] if kinds else "action"
        misplaced = [k for k in fields if k not in STEP_KEYS[kind]]
        for key in misplaced:
            self.error(fields[key][0], _misplaced_message(key, kind))
        if misplaced:
            return None
        # A 'sides' step's own title may name '{side}': it reads "left and right" there.
        title_scope = replace(scope, in_sides=True) if kind == "sides" else scope
        title = self.text(fields, "title", scope=title_scope)
        part = self.part(fields["part"][1], scope) if "part" in fields else None
        if kind == "repeat":
            built = self.repeat(node, fields, title, scope)
        elif kind == "sides":
            built = self.sides(node, fields, title, scope)
        elif kind == "include":
            built = self.include(node, fields, title, scope)
        else:
            built = self.action(node, fields, title, scope)
        return replace(built, part=part) if built is not None and part else built

    def part(self, node: yaml.Node, scope: _Scope) -> str | None:
        value = self.scalar(node, "part", "opening or closing")
        if value is None:
            return None
        if value not in PARTS:
            message = f"part: '{excerpt(value)}' is not opening or closing"
            self.error(node, message + _suggest(value, PARTS))
        elif scope.depth != self.depth:
            self.error(node, "part: only a routine's top-level steps are opening or closing")
        else:
            return value
        return None

    def without(self, node: yaml.Node) -> tuple[str, ...] | None:
        """`without:` the parts of an included routine to leave out: opening, closing."""
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        parts = []
        for item in items:
            value = self.scalar(item, "without", "opening, closing or a list of them")
            if value is None:
                return None
            if value not in PARTS:
                message = f"without: '{excerpt(value)}' is not opening or closing"
                self.error(item, message + _suggest(value, PARTS))
                return None
            parts.append(value)
        if not parts:
            self.error(node, "without is empty; give opening, closing or both")
            return None
        return tuple(dict.fromkeys(parts))

    def action(
        self, node: yaml.Node, fields: _Fields, title: str | None, scope: _Scope
    ) -> Action | None:
        if not {"say", "hold", "pause"} & fields.keys():
            self.error(node, "a step needs 'say', 'hold' or 'pause'")
            return None
        for key in ("countdown", "halfway", "remind"):
            if key in fields and "hold" not in fields:
                self.error(fields[key][0], f"'{key}' needs a 'hold' in the same step")
        say = self.text(fields, "say", scope=scope)
        if say is not None and not any(c.isalnum() for c in say):
            self.error(fields["say"][1], "say has nothing to speak (no letters or digits)")
        hold = self.duration(fields["hold"][1], "hold", scope) if "hold" in fields else None
        pause = self.duration(fields["pause"][1], "pause", scope) if "pause" in fields else None
        countdown = 0
        if "countdown" in fields:
            countdown_node = fields["countdown"][1]
            countdown = self.whole(countdown_node, "countdown", 1, MAX_COUNTDOWN, scope) or 0
            if hold is not None and countdown >= hold:
                hold_text = excerpt(
                    self.filled(fields["hold"][1], "hold", fields["hold"][1].value, scope) or ""
                )
                message = f"countdown: {countdown} does not fit in hold: {hold_text}"
                self.error(
                    fields["countdown"][1], message + " (the count must end inside the hold)"
                )
        halfway = (
            bool(self.boolean(fields["halfway"][1], "halfway")) if "halfway" in fields else False
        )
        remind = self.reminders(fields["remind"][1], hold, scope) if "remind" in fields else ()
        positions = {key: self.pos(value) for key, (_, value) in fields.items()}
        return Action(
            self.pos(node), say, hold, countdown, halfway, pause, title,
            remind=remind, key_positions=positions,
        )  # fmt: skip

    def reminders(self, node: yaml.Node, hold: float | None, scope: _Scope) -> tuple[Reminder, ...]:
        """`remind:` words inside the hold; where they fit is the compiler's to say."""
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            self.error(node, "remind must be a list like [{every: 20s, say: Keep breathing.}],"
                       f" not {_kind_of(node)}")  # fmt: skip
            return ()
        if len(node.value) > MAX_REMINDERS:
            self.error(node, f"too many reminders ({len(node.value)}; at most {MAX_REMINDERS})")
            return ()
        built = (self.reminder(item, hold, scope) for item in node.value)
        return tuple(reminder for reminder in built if reminder is not None)

    def reminder(self, node: yaml.Node, hold: float | None, scope: _Scope) -> Reminder | None:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"a reminder is a mapping like {{at: 30s, say: Halfway there.}},"
                       f" not {_kind_of(node)}")  # fmt: skip
            return None
        fields = self.mapping(node, ("say", *REMINDER_KINDS), "in a reminder")
        kinds = [k for k in REMINDER_KINDS if k in fields]
        if len(kinds) != 1:
            these = " and ".join(kinds) if kinds else "none"
            self.error(node, f"a reminder needs one of every, at and left, not {these}")
            return None
        kind = kinds[0]
        say = self.text(fields, "say", node, scope)
        if say is not None and not any(c.isalnum() for c in say):
            self.error(fields["say"][1], "say has nothing to speak (no letters or digits)")
            return None
        seconds = self.duration(fields[kind][1], kind, scope)
        if say is None or seconds is None:
            return None
        if kind == "every" and seconds < MIN_EVERY:
            shown = excerpt(self.filled(fields[kind][1], kind, fields[kind][1].value, scope) or "")
            message = f"every: {shown} is too often (at least {MIN_EVERY} s between reminders)"
            self.error(fields[kind][1], message)
            return None
        if hold is not None and seconds >= hold:
            shown = excerpt(self.filled(fields[kind][1], kind, fields[kind][1].value, scope) or "")
            what = {"every": "the time between reminders", "at": "the time after the hold starts",
                    "left": "the time before it ends"}[kind]  # fmt: skip
            self.error(fields[kind][1], f"{kind}: {shown} is not inside a hold of"
                       f" {durations.format_short(hold)} ({what} must be shorter)")  # fmt: skip
            return None
        return Reminder(kind, seconds, say, self.pos(node))

    def repeat(
        self, node: yaml.Node, fields: _Fields, title: str | None, scope: _Scope
    ) -> Repeat | None:
        times = self.whole(fields["repeat"][1], "repeat", 1, MAX_REPEAT, scope)
        rest = self.duration(fields["rest"][1], "rest", scope) if "rest" in fields else 0.0
        steps = self.steps(fields, "steps", node, scope.inside("repeat"))
        if times is None or rest is None or not steps:
            return None
        return Repeat(self.pos(node), times, steps, rest, title)

    def sides(
        self, node: yaml.Node, fields: _Fields, title: str | None, scope: _Scope
    ) -> Sides | None:
        sides_node = fields["sides"][1]
        names: list[str] = []
        if not isinstance(sides_node, yaml.SequenceNode):
            self.error(
                sides_node, f"sides must be a list, like [left, right], not {_kind_of(sides_node)}"
            )
        elif not sides_node.value:
            self.error(sides_node, "sides is empty; name at least one side, like [left, right]")
        else:
            for item in sides_node.value:
                name = self.scalar(item, "a side", "a name")
                if name is not None and not name.strip():
                    self.error(item, "a side's name is empty")
                elif name is not None and len(name) > MAX_SIDE_CHARS:
                    message = f"a side's name is too long ({len(name)} characters; at most"
                    self.error(item, f"{message} {MAX_SIDE_CHARS})")
                elif name is not None:
                    names.append(" ".join(name.split()))
        rest = self.duration(fields["rest"][1], "rest", scope) if "rest" in fields else 0.0
        steps = self.steps(fields, "steps", node, scope.inside("sides"))
        if not names or rest is None or not steps:
            return None
        return Sides(self.pos(node), tuple(names), steps, rest, title)

    def include(
        self, node: yaml.Node, fields: _Fields, title: str | None, scope: _Scope
    ) -> Include | None:
        name_node = fields["include"][1]
        name = self.scalar(name_node, "include", "a routine's name or path")
        if not name:
            if name is not None:
                self.error(name_node, "include is empty")
            return None
        target = _find_include(name, self.path.parent)
        if target is None:
            names = bundled.routine_names()
            message = f"cannot include '{excerpt(name)}': no such file beside this routine"
            self.error(
                name_node, message + f" and no bundled routine{_suggest(name, names, 'bundled')}"
            )
            return None
        if target.suffix.lower() not in ROUTINE_SUFFIXES:  # never echo another kind of file
            self.error(name_node, f"cannot include '{excerpt(name)}': {_NOT_A_ROUTINE}")
            return None
        if target.resolve() in {p.resolve() for p in self.stack}:
            chain = " -> ".join(p.name for p in (*self.stack, target))
            self.error(name_node, f"include loop: {chain}")
            return None
        if scope.depth > MAX_STEP_DEPTH:  # its steps would be in one block more than this one
            self.error(
                name_node, f"steps are nested too deeply (more than {MAX_STEP_DEPTH} blocks)"
            )
            return None
        values = self.include_values(fields["with"][1], scope) if "with" in fields else {}
        without = self.without(fields["without"][1]) if "without" in fields else ()
        if values is None or without is None:
            return None
        stack = (*self.stack, target)
        try:
            routine = _load(target, target.stem, stack, scope.depth + 1, self.run, values)
        except RoutineError as e:
            self.problems.extend(e.problems)
            return None
        except ParamError as e:
            with_node = fields["with"][1]
            at = next((v for k, v in with_node.value if k.value == e.name), with_node)
            self.error(at, f"with: {e}")
            return None
        if without:
            kept = tuple(step for step in routine.steps if step.part not in without)
            if not kept:
                message = f"without: {' and '.join(without)} leaves nothing of '{excerpt(name)}'"
                self.error(fields["without"][1], message + " (all its steps are left out)")
                return None
            routine = replace(routine, steps=kept)
        return Include(self.pos(node), name, routine, title)

    def include_values(self, node: yaml.Node, scope: _Scope) -> dict[str, str] | None:
        """`with:`: values for the included routine's params; '{name}' gives one of ours."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"with must be a mapping of param names to values, like {{rounds: 4}},"
                       f" not {_kind_of(node)}")  # fmt: skip
            return None
        values = {}
        for key_node, value_node in node.value:
            name = self.scalar(key_node, "with", "a param's name")
            if name is None:
                return None
            if isinstance(value_node, yaml.ScalarNode) and "{" in value_node.value:
                value = self.filled(value_node, f"with: {name}", value_node.value, scope)
            else:
                value = self.param_value(value_node, f"with: {name}")
            if value is None:
                return None
            values[name] = value
        return values


def _declared(fields: _Fields) -> frozenset[str]:
    """Every param's name, its declaration valid or not: uses of a param whose declaration has
    a problem of its own are not errors too."""
    node = fields["params"][1] if "params" in fields else None
    if not isinstance(node, yaml.MappingNode):
        return frozenset()
    return frozenset(key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode))


def _misplaced_message(key: str, kind: str) -> str:
    if kind == "action":
        if key in ("steps", "rest"):
            return f"'{key}' goes with 'repeat' or 'sides'"
        return f"'{key}' does not go with a step that says, holds or pauses"
    return f"'{key}' does not go with '{kind}'"


def _find_include(name: str, folder: Path) -> Path | None:
    candidates = [folder / name]
    if not name.endswith((".yaml", ".yml")):
        candidates.append(folder / f"{name}.yaml")
    for candidate in candidates:
        if _is_file(candidate):
            return candidate
    return bundled.routine_path(name)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system, say
        return False
