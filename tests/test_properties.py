"""Properties of any valid routine: sorted, non-overlapping cues; holds exactly as written;
steps that tile the session. Routines are generated as YAML and go through the loader."""

from __future__ import annotations

import tempfile
from itertools import pairwise
from pathlib import Path

import yaml
from fakes import EstimatedLengths
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiceguide.compiler import compile_routine
from voiceguide.loader import load_routine
from voiceguide.speech import SpeechSettings

RATE = 22050
words = st.lists(
    st.sampled_from(["press", "hold", "breathe", "slowly", "the", "spot"]), min_size=1, max_size=8
)
texts = words.map(lambda w: " ".join(w).capitalize() + ".")
# Durations as routines write them, with the seconds they mean.
durations = st.one_of(
    st.integers(1, 90).map(lambda s: (s, s)),
    st.integers(2, 180).map(lambda t: (f"{t / 2:g}s", t / 2)),
    st.integers(1, 3).map(lambda m: (f"{m}m", 60 * m)),
    st.integers(61, 150).map(lambda s: (f"{s // 60}:{s % 60:02d}", s)),
)


@st.composite
def actions(draw):
    step, holds = {}, []
    if draw(st.booleans()):
        step["say"] = draw(texts)
    if draw(st.booleans()) or not step:
        written, seconds = draw(st.integers(2, 120).map(lambda s: (f"{s}s", s)))
        step["hold"] = written
        holds.append(seconds)
        # The start chime lasts 1 s, "Halfway." 0.7 s, and each number needs its own second.
        halfway = seconds >= 2 and draw(st.booleans())
        room = int(seconds / 2 - 0.7) if halfway else seconds - 1
        if halfway:
            step["halfway"] = True
        if room >= 1 and draw(st.booleans()):
            step["countdown"] = draw(st.integers(1, min(room, 10)))
    if draw(st.booleans()):
        step["pause"] = draw(durations)[0]
    return step, holds


def blocks(children):
    @st.composite
    def block(draw):
        inner = draw(st.lists(children, min_size=1, max_size=3))
        steps = [s for s, _ in inner]
        holds = [h for _, hs in inner for h in hs]
        if draw(st.booleans()):
            times = draw(st.integers(1, 3))
            step = {"repeat": times, "steps": steps}
            rounds = times
        else:
            sides = draw(
                st.lists(
                    st.sampled_from(["left", "right", "upper", "lower"]), min_size=1, max_size=3
                )
            )
            step = {"sides": sides, "steps": steps}
            rounds = len(sides)
        if draw(st.booleans()):
            step["rest"] = draw(durations)[0]
        return step, holds * rounds

    return block()


routine_steps = st.lists(st.recursive(actions(), blocks, max_leaves=6), min_size=1, max_size=5)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routine_steps)
def test_any_valid_routine_compiles_to_an_exact_timeline(generated):
    steps = [step for step, _ in generated]
    expected_holds = [seconds for _, holds in generated for seconds in holds]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generated.yaml"
        path.write_text(yaml.safe_dump({"title": "Generated", "steps": steps}, sort_keys=False))
        routine = load_routine(path)
    timeline = compile_routine(
        routine, EstimatedLengths(), SpeechSettings(engine="fake", voice="v", rate=150, volume=1.0)
    )

    cues = timeline.cues
    assert all(a.start <= b.start for a, b in pairwise(cues)), "cues are sorted"
    assert all(b.start >= a.end for a, b in pairwise(cues)), "no cue overlaps another"
    assert cues[-1].end <= timeline.length

    assert [h.length for h in timeline.holds] == [round(s * RATE) for s in expected_holds]
    starts = {c.start for c in cues if c.role == "hold-start"}
    ends = {c.start for c in cues if c.role == "hold-end"}
    for hold in timeline.holds:
        assert hold.start in starts and hold.end in ends
        inside = [c for c in cues if c.kind == "speech" and hold.start < c.start < hold.end]
        assert all(c.role in ("halfway", "countdown") and c.end <= hold.end for c in inside)

    assert timeline.steps[0].start == 0 and timeline.steps[-1].end == timeline.length
    assert all(a.end == b.start for a, b in pairwise(timeline.steps))
    assert len(timeline.steps) == len(steps)
    for cue in cues:
        step = timeline.steps[cue.step - 1]
        assert step.start <= cue.start and cue.end <= step.end, "a cue lies inside its step"
