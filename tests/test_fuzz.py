"""A fuzz target: hostile routines, generated (hypothesis, for structure) and mutated (from the
good and bad routines in tests/routines), through the loader and the compiler.

The contract, for any input: a timeline whose cues are sorted and whose steps tile it, or a
RoutineError of at most 21 lines, each `FILE[:LINE:COL]: message`, printable (no control
character reaches a terminal) and short. Anything else (another exception, a traceback) is a
finding: the input is saved in tests/fuzz-findings/ (commit it) and replayed by every run.

A run is bounded by VOICEGUIDE_FUZZ_EXAMPLES (default 300: about 20 s on an idle machine); a
campaign sets more.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from conftest import ROUTINES
from fakes import EstimatedLengths
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiceguide.compiler import compile_routine
from voiceguide.errors import RoutineError
from voiceguide.loader import load_routine
from voiceguide.speech import SpeechSettings

FINDINGS = Path(__file__).resolve().parent / "fuzz-findings"
EXAMPLES = int(os.environ.get("VOICEGUIDE_FUZZ_EXAMPLES", "300"))
SEEDS = sorted(ROUTINES.glob("*.yaml"))
PROBLEM_LINE = re.compile(r"[^\n]+?(:\d+:\d+)?: [^\n]+|\(\d+ more problems not shown\)")
SLOW = 5  # processor seconds for one routine: the loader's limits keep every input far below
MAX_LINE = 400  # characters: a path, a position, a message and a 40-character excerpt


def judge(data: bytes, folder: Path) -> None:
    """Raise AssertionError (or anything) if `data`, as a routine, breaks the contract."""
    path = folder / "fuzzed.yaml"
    path.write_bytes(data)
    try:
        routine = load_routine(path)
        timeline = compile_routine(
            routine,
            EstimatedLengths(),
            SpeechSettings(engine="fake", voice="v", rate=150, volume=0.9),
        )
    except RoutineError as e:
        lines = str(e).split("\n")
        assert 1 <= len(lines) <= 21, f"{len(lines)} lines"
        for line in lines:
            assert PROBLEM_LINE.fullmatch(line), f"not a problem line: {line!r}"
            assert line.isprintable(), f"unescaped: {line!r}"
            assert len(line) <= MAX_LINE, f"{len(line)} characters"
        return
    starts = [cue.start for cue in timeline.cues]
    assert starts == sorted(starts)
    assert timeline.steps[0].start == 0 and timeline.steps[-1].end == timeline.length
    for before, after in pairwise(timeline.steps):
        assert before.end == after.start


def judged(data: bytes, folder: Path) -> None:
    """judge(), keeping every input that fails it (or takes more than SLOW s) as a fixture."""
    # Processor time, not wall time: a busy machine must not turn a slow run into a finding.
    previous = signal.signal(signal.SIGPROF, _too_slow)
    signal.setitimer(signal.ITIMER_PROF, SLOW)
    try:
        judge(data, folder)
    except BaseException:
        FINDINGS.mkdir(exist_ok=True)
        name = hashlib.sha256(data).hexdigest()[:16] + ".yaml"
        (FINDINGS / name).write_bytes(data)
        raise
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _too_slow(signum, frame) -> None:
    raise TimeoutError(f"more than {SLOW} s of processor time for one routine")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A copy of tests/routines, so that fuzzed includes find real files beside them."""
    path = tmp_path_factory.mktemp("fuzz") / "routines"
    shutil.copytree(ROUTINES, path)
    return path


@pytest.mark.parametrize(
    "finding", sorted(FINDINGS.glob("*.yaml")) if FINDINGS.exists() else [], ids=lambda p: p.stem
)
def test_every_past_finding_is_handled(finding: Path, folder: Path):
    judged(finding.read_bytes(), folder)


# -- generated: the routine format's structure, with hostile values where values go

hostile_text = st.one_of(
    st.text(min_size=0, max_size=30),
    st.sampled_from(
        [
            "\x1b]0;owned\x07",
            "a\rb",
            "\x00",
            "...",
            "{side}",
            "x" * 1200,
            "1" * 5000,
            "\u0661\u0660",
            "",
        ]
    ),
)
numbers = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["010", "0x10", "1_000", "1e3", ".inf", ".nan", "9" * 4400, "+5", "0o7"]),
)
durations = st.one_of(
    numbers,
    st.sampled_from(["10s", "1m1m", "1:99", "1:30", "01:02:03", "30s 1m", "2.5 s", "1h", "-5s"]),
    hostile_text,
)
leaf = st.tuples(
    st.fixed_dictionaries(
        {},
        optional={
            "say": hostile_text,
            "hold": durations,
            "pause": durations,
            "countdown": numbers,
            "halfway": st.one_of(st.booleans(), hostile_text),
            "title": hostile_text,
        },
    ),
    st.dictionaries(hostile_text, hostile_text, max_size=1),  # a key of any kind
).map(lambda both: {**both[1], **both[0]})


def blocks(children):
    return st.one_of(
        st.fixed_dictionaries(
            {"repeat": numbers, "steps": st.lists(children, max_size=3)},
            optional={"rest": durations},
        ),
        st.fixed_dictionaries(
            {"sides": st.lists(hostile_text, max_size=3), "steps": st.lists(children, max_size=3)}
        ),
        st.fixed_dictionaries(
            {"include": st.sampled_from([p.name for p in SEEDS] + ["/etc/passwd", "x", ""])}
        ),
    )


steps = st.recursive(leaf, blocks, max_leaves=12)
routines = st.fixed_dictionaries(
    {"title": hostile_text, "steps": st.lists(steps, max_size=6)},
    optional={
        "speech": st.fixed_dictionaries({}, optional={"rate": numbers, "volume": numbers}),
        "description": hostile_text,
    },
)


@settings(
    max_examples=EXAMPLES // 3,  # each costs several of the mutated ones
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(routine=routines, flow=st.booleans())
def test_generated_routines_keep_the_contract(routine: dict, flow: bool, folder: Path):
    text = yaml.safe_dump(routine, default_flow_style=flow, allow_unicode=True, width=10**6)
    judged(text.encode("utf-8"), folder)


# -- mutated: the good and bad routines, changed byte by byte and line by line

INTERESTING = [
    b"\x00",
    b"\x1b",
    b"\r",
    b"\t",
    b"\n",
    b"&a ",
    b"*a",
    b"!!python/object ",
    b"{",
    b"[",
]
INTERESTING += [b": ", b"- ", b"'", b'"', b"\xff", b"\xef\xbb\xbf", b"9" * 5000, b"\\e", b"|\n  "]


@st.composite
def mutations(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)).read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "repeat-line", "splice"]))
        if kind == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(INTERESTING))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        elif kind == "repeat-line":
            lines = bytes(data).split(b"\n")
            line = draw(st.integers(0, len(lines) - 1))
            lines[line:line] = [lines[line]] * draw(st.integers(1, 200))
            data = bytearray(b"\n".join(lines))
        else:
            other = draw(st.sampled_from(SEEDS)).read_bytes()
            data[at:] = other[draw(st.integers(0, len(other))) :]
    return bytes(data)


@settings(
    max_examples=EXAMPLES - EXAMPLES // 3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=mutations())
def test_mutated_routines_keep_the_contract(data: bytes, folder: Path):
    judged(data, folder)
