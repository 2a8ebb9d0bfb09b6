"""The bundled routines keep the source articles' instructions, timings and safety notes."""

from __future__ import annotations

import pytest
from fakes import EstimatedLengths

from voiceguide import bundled
from voiceguide.compiler import compile_routine
from voiceguide.loader import load_routine
from voiceguide.speech import SpeechSettings
from voiceguide.timeline import Timeline

RATE = 22050
NAMES = ["back-foam-roller", "back-full", "back-hands", "back-massage-ball", "headache-acupressure"]
BACK_SAFETY = "If you have significant back pain of any kind, see a doctor as soon as you can."


def timeline(name: str) -> Timeline:
    return compile_routine(
        load_routine(name),
        EstimatedLengths(),
        SpeechSettings(engine="fake", voice="v", rate=135, volume=1),
    )


def spoken(name: str) -> str:
    return " ".join(c.text for c in timeline(name).cues if c.kind == "speech")


def holds(name: str) -> list[float]:
    return [h.length / RATE for h in timeline(name).holds]


def test_the_bundled_routines_are_these():
    assert bundled.routine_names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_each_opens_with_one_short_spoken_safety_line(name):
    first = timeline(name).cues[0]
    assert first.kind == "speech" and first.step == 1
    assert len(first.text.split()) <= 20
    if name.startswith("back"):
        assert first.text == BACK_SAFETY
    else:
        assert "does not replace medical care" in first.text and "never too hard" in first.text


def test_back_hands_firm_pressure_ten_seconds_hold_a_minute_three_rounds():
    assert holds("back-hands") == [10, 60] * 3
    text = spoken("back-hands")
    for phrase in (
        "comfortable sitting or lying position",
        "sore spot on your upper back",
        "firm pressure with your index finger for ten seconds",
        "Keep it in place, or move it in small circles",
        "hold for one minute",
        "Three to four rounds",
        "up to five times a day",
        "Round three of three.",
    ):
        assert phrase in text
    assert text.endswith("you can do this up to five times a day.")  # the closing remark


def test_back_massage_ball_one_arm_then_the_other_a_couple_of_seconds():
    assert holds("back-massage-ball") == [2, 2]
    text = spoken("back-massage-ball")
    for phrase in (
        "two massage balls on the ground",
        "tennis or lacrosse ball",
        "each side of your spine is in contact with a ball",
        "Extend your arms, with your fingers outstretched",
        "Shift your left arm back toward your head, keeping the other arm straight",
        "Shift your right arm back toward your head",
        "Return to your starting position",
    ):
        assert phrase in text


def test_back_foam_roller_five_times_then_small_circles_for_twenty_seconds():
    assert holds("back-foam-roller") == [20]
    text = spoken("back-foam-roller")
    assert text.count("Raise your hips.") == 5 and "Round five of five." in text
    for phrase in (
        "slightly below your shoulder blades",
        "feet firmly against the floor, with your knees bent",
        "fingers together at the bottom of your head",
        "The roller moves toward your shoulders",
        "until the roller reaches your mid back",
        "smaller circles",
        "for twenty seconds",
    ):
        assert phrase in text


def test_headache_acupressure_two_to_three_minutes_a_point_released_slowly_both_sides():
    assert holds("headache-acupressure") == [150, 150, 150]  # each side, then the one needing more
    text = spoken("headache-acupressure")
    for phrase in (
        "index and middle fingers on the left side of your neck",
        "index and middle fingers on the right side of your neck",
        "firm and gentle pressure, with no sudden moves",
        "two to three minutes",
        "warmth or tingling in your fingers and palms",
        "Slowly release, and put your hands back on your lap",
        "normal for one side to need more than the other",
        "until both sides feel balanced and the pain is gone",
        "do not press too hard",
    ):
        assert phrase in text


def test_back_full_is_the_three_back_routines_in_order():
    full = timeline("back-full")
    assert [s.title for s in full.steps] == [
        "Upper back release with your hands",
        "Lower back release with two massage balls",
        "Upper and mid back with a foam roller",
    ]
    parts = [timeline(n) for n in ("back-hands", "back-massage-ball", "back-foam-roller")]
    expected = [c.text or c.role for part in parts for c in part.cues if c.role != "session-end"]
    assert [c.text or c.role for c in full.cues] == [*expected, "session-end"]


def test_the_bundled_routines_say_acupressure_and_lacrosse_as_written_but_pronounced():
    from voiceguide.pronounce import Pronunciation

    headache = load_routine("headache-acupressure")
    balls = load_routine("back-massage-ball")
    assert Pronunciation(headache.pronounce)("Acupressure does not") == "ack you pressure does not"
    assert (
        Pronunciation(balls.pronounce)("A tennis or lacrosse ball") == "A tennis or la cross ball"
    )
