"""The bundled routines keep the source articles' instructions, timings and safety notes, each
spoken where it belongs, and the chime is the signal to start every hold."""

from __future__ import annotations

import pytest
from conftest import ROOT, voiceguide
from fakes import EstimatedLengths

from voiceguide import bundled
from voiceguide.compiler import compile_routine
from voiceguide.loader import load_routine
from voiceguide.speech import SpeechSettings
from voiceguide.timeline import Cue, Timeline

RATE = 22050
NAMES = ["back-foam-roller", "back-full", "back-hands", "back-massage-ball", "headache-acupressure"]
BACK_SAFETY = "If you have significant back pain of any kind, see a doctor as soon as you can."
HEADACHE_SAFETY = (
    "Acupressure does not replace medical care. Practise it alongside your doctor's advice."
)


def timeline(name: str, **values: str) -> Timeline:
    settings = SpeechSettings(engine="fake", voice="v", rate=135, volume=1)
    return compile_routine(load_routine(name, values), EstimatedLengths(), settings)


def speech(name: str) -> list[Cue]:
    return [c for c in timeline(name).cues if c.kind == "speech"]


def spoken(name: str, **values: str) -> str:
    return " ".join(c.text for c in timeline(name, **values).cues if c.kind == "speech")


def holds(name: str, **values: str) -> list[float]:
    return [h.length / RATE for h in timeline(name, **values).holds]


def said(name: str, words: str) -> list[Cue]:
    """The speech cues that say `words`."""
    found = [c for c in speech(name) if words in c.text]
    assert found, f"{name} never says {words!r}"
    return found


def silence_after(name: str, words: str) -> float:
    """Seconds from the end of the (first) cue saying `words` to the next cue."""
    cues = timeline(name).cues
    cue = said(name, words)[0]
    after = min(c.start for c in cues if c.start >= cue.end)
    return (after - cue.end) / RATE


def test_the_bundled_routines_are_these():
    assert bundled.routine_names() == NAMES


def test_the_bundled_routines_pass_check_without_a_warning():
    result = voiceguide("check", *sorted((ROOT / "scripts").glob("*.yaml")), cwd=ROOT)
    assert (result.returncode, result.stderr) == (0, "")
    assert len(result.stdout.splitlines()) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_opens_with_its_safety_line_said_once(name):
    first = timeline(name).cues[0]
    assert first.kind == "speech" and first.step == 1
    safety = BACK_SAFETY if name.startswith("back") else HEADACHE_SAFETY
    assert first.text == safety
    assert spoken(name).count(safety) == 1
    assert load_routine(name).steps[0].part == "opening"  # left out where it is included


@pytest.mark.parametrize("name", NAMES)
def test_the_chime_is_the_signal_to_start_every_hold(name):
    """Words just before a hold's chime either say to wait for it, or are a short cue: a
    listener who acts at the words does not start seconds before the hold does."""
    cues = timeline(name).cues
    starts = [i for i, c in enumerate(cues) if c.role == "hold-start"]
    assert starts
    for i in starts:
        words = cues[i - 1].text
        assert words.startswith("At the chime, ") or len(words.split()) <= 3, words
        assert (cues[i].start - cues[i - 1].end) / RATE == pytest.approx(0.5)


def reminders(name: str, **values: str) -> list[tuple[float, str]]:
    """Each reminder inside a hold: (seconds after the hold's start chime, its words)."""
    found = timeline(name, **values)
    return [
        ((c.start - h.start) / RATE, c.text)
        for h in found.holds
        for c in found.cues
        if c.role == "reminder" and h.start <= c.start < h.end
    ]


def test_back_hands_firm_pressure_ten_seconds_hold_a_minute_three_or_four_rounds():
    # Ten seconds of pressure, then a minute's hold, in one hold: no chime says "release" between.
    assert holds("back-hands") == [70] * 3
    assert holds("back-hands", rounds="4") == [70] * 4
    minute = [(10.0, "Now hold it there, for one minute."), (40.0, "Half a minute left.")]
    assert reminders("back-hands") == minute * 3
    four = spoken("back-hands", rounds="4")
    assert "You will press it with your index finger, four times." in four
    assert "Round four of four." in four and "Round four" not in spoken("back-hands")
    text = spoken("back-hands")
    for phrase in (
        "This massage is most effective for upper back pain.",
        "Find a comfortable sitting or lying position.",
        "Now locate the pressure point, or the sore spot, on your back.",
        "At the chime, apply firm pressure with your index finger, for ten seconds."
        " Keep it in place, or move it in small circles.",
        "Round three of three.",
    ):
        assert phrase in text
    assert text.endswith(
        "Release, and breathe. For sustained relief, you can do this up to five times a day."
        " Well done. Take your time before you get up."
    )
    assert silence_after("back-hands", "Take your time to find it.") >= 15


def test_back_hands_says_not_too_hard_before_the_first_press():
    caution = said("back-hands", "Press firmly, but not too hard.")
    assert len(caution) == 1
    assert "Too hard can cause discomfort or injury." in caution[0].text
    assert caution[0].end < timeline("back-hands").holds[0].start


def test_back_massage_ball_one_arm_then_the_other_a_couple_of_seconds():
    assert holds("back-massage-ball") == [2, 2]
    text = spoken("back-massage-ball")
    for phrase in (
        "Place two massage balls on the ground.",
        "A tennis or lacrosse ball works too.",
        "Lie on the floor. Adjust your lower back, so that each side of your spine is in"
        " contact with a ball.",
        "Extend your arms, with your fingers outstretched.",
        "Shift your left arm back toward your head, keeping the other arm straight.",
        "Switch sides. Right side. Shift your right arm back toward your head",
        "Hold it there. Return to your starting position.",
    ):
        assert phrase in text


def test_back_massage_ball_gives_time_to_fetch_the_balls_and_lie_on_them():
    assert silence_after("back-massage-ball", "If they are not at hand, fetch them now.") >= 15
    assert silence_after("back-massage-ball", "Place two massage balls on the ground.") >= 8
    assert silence_after("back-massage-ball", "in contact with a ball. Take your time.") >= 20


def test_back_foam_roller_five_times_then_small_circles_for_twenty_seconds():
    assert holds("back-foam-roller") == [20]
    text = spoken("back-foam-roller")
    assert text.count("Raise your hips.") == 5 and "Round five of five." in text
    for phrase in (
        "Find a comfortable lying position.",
        "Place the roller below your upper back, slightly below your shoulder blades.",
        "Press your feet firmly against the floor, with your knees bent.",
        "Place your fingers together at the bottom of your head.",
        "Raise your hips. The roller moves toward your shoulders.",
        "Then drop your hips, until the roller reaches your mid back.",
        "At the chime, roll in smaller circles, to put pressure on the spot."
        " Keep going for twenty seconds, until the next chime.",
    ):
        assert phrase in text


def test_back_foam_roller_gives_time_to_fetch_and_place_the_roller_and_find_a_spot():
    assert silence_after("back-foam-roller", "If it is not at hand, fetch it now.") >= 15
    assert silence_after("back-foam-roller", "slightly below your shoulder blades.") >= 15
    spot = said("back-foam-roller", "Now find a sensitive spot with the roller")[0]
    assert silence_after("back-foam-roller", "Now find a sensitive spot") >= 15
    assert timeline("back-foam-roller").holds[0].start - spot.end >= 15 * RATE


def test_headache_acupressure_speaks_every_safety_note_before_the_first_press():
    first_hold = timeline("headache-acupressure").holds[0].start
    for note in (
        "Acupressure does not replace medical care.",
        "Practise it alongside your doctor's advice.",
        "Acupressure is generally safe when practised by a trained professional,"
        " or under the guidance of a licensed healthcare provider.",
        "Only use certified professionals.",
        "Tell your practitioner about any medical conditions, and any medications you take.",
        "Tell your healthcare provider about any other treatments you receive.",
        "Be careful when you do acupressure on yourself.",
        "Press firmly and gently, and never too hard. Too hard can cause discomfort or injury.",
    ):
        cues = said("headache-acupressure", note)
        assert len(cues) == 1 and cues[0].end < first_hold, note


def test_headache_acupressure_leaves_how_often_to_a_provider_at_the_end():
    text = spoken("headache-acupressure")
    assert text.endswith(
        "Well done. Ask your healthcare provider, or your acupressure practitioner,"
        " how often to do this."
    )
    assert "Repeat this a few times" not in text


def test_headache_acupressure_presses_points_the_article_names_on_both_sides():
    text = spoken("headache-acupressure")
    assert "base of your head" not in text  # a point the article does not name
    for side in ("left", "right"):
        assert (
            "Put your index and middle fingers on the pressure point,"
            f" on the {side} side of your head or neck." in text
        )
    assert (
        "Find them with maps from Chinese medical texts, or with a health practitioner"
        " or teacher." in text
    )
    assert silence_after("headache-acupressure", "to feel where it is tense.") >= 15


def test_headache_acupressure_two_to_three_minutes_until_warmth_released_slowly():
    assert holds("headache-acupressure") == [180, 180, 180]
    assert holds("headache-acupressure", minutes="2m") == [120, 120, 120]
    warmth = "Keep the pressure going, until you feel warmth or tingling."
    assert reminders("headache-acupressure") == [(60.0, warmth), (120.0, warmth)] * 2
    assert reminders("headache-acupressure", minutes="2m") == [(60.0, warmth)] * 2
    assert "Each press lasts three minutes, from one chime to the next." in spoken(
        "headache-acupressure"
    )
    assert "Each press lasts two minutes," in spoken("headache-acupressure", minutes="2m")
    press = said("headache-acupressure", "At the chime, use firm and gentle pressure, with")
    assert len(press) == 2
    assert press[0].text == (
        "At the chime, use firm and gentle pressure, with no sudden moves."
        " Keep the pressure going for three minutes,"
        " until you feel warmth or tingling in your fingers and palms."
    )
    released = said("headache-acupressure", "Slowly release, and put your hands back on your lap.")
    assert len(released) == 3  # after each hold
    for hold, release in zip(timeline("headache-acupressure").holds, released, strict=True):
        assert release.start > hold.end


def test_headache_acupressure_presses_again_only_where_a_side_needs_more():
    cues = timeline("headache-acupressure").cues
    offer = said("headache-acupressure", "It is normal if one side of the body needs more")[0]
    assert offer.text == (
        "It is normal if one side of the body needs more stimulation than the other."
        " If one does, put your fingers on that side's point again."
        " If both sides feel balanced, rest your hands on your lap, and breathe slowly."
    )
    assert silence_after("headache-acupressure", "If both sides feel balanced") >= 15
    again = said("headache-acupressure", "At the chime, if a side needs more,")[0]
    assert again.text == (
        "At the chime, if a side needs more, use firm and gentle pressure again,"
        " with no sudden moves."
        " Repeat it a few times, until both sides feel balanced and the pain is gone."
    )
    last_hold = [c for c in cues if c.role == "hold-start"][-1]
    assert offer.end < again.start < last_hold.start  # step five belongs to the last hold


def middle(name: str) -> list[str]:
    """What a routine says and sounds, without its opening and closing steps."""
    kept = {i for i, step in enumerate(load_routine(name).steps, 1) if step.part is None}
    return [c.text or c.role for c in timeline(name).cues if c.step in kept]


TO_THE_BALLS = (
    "Put your hands down, and rest for a moment."
    " Now get your two massage balls. A tennis or lacrosse ball works too."
)
TO_THE_ROLLER = (
    "Take your time to come off the balls, and put them aside. Now get your foam roller."
)
CLOSING = "Well done. Take your time before you get up."


def test_back_full_opens_once_goes_through_the_three_with_time_to_fetch_and_closes_once():
    full = timeline("back-full")
    assert [s.title for s in full.steps] == [
        "Before you start",
        "Upper back release with your hands",
        "Now the massage balls",
        "Lower back release with two massage balls",
        "Now the foam roller",
        "Upper and mid back with a foam roller",
        "Closing",
    ]
    assert [c.text or c.role for c in full.cues] == [
        BACK_SAFETY,
        *middle("back-hands"),
        TO_THE_BALLS,
        *middle("back-massage-ball"),
        TO_THE_ROLLER,
        *middle("back-foam-roller"),
        CLOSING,
        "session-end",
    ]
    assert silence_after("back-full", TO_THE_BALLS) >= 20
    assert silence_after("back-full", TO_THE_ROLLER) >= 20
    assert spoken("back-full").count("Well done.") == 1
    assert "fetch" not in spoken("back-full")  # the parts' own fetching is left out
    assert holds("back-full", rounds="4")[:5] == [70, 70, 70, 70, 2]  # four, then the balls
    assert "Round four of four." in spoken("back-full", rounds="4")


@pytest.mark.parametrize("name", ["back-foam-roller", "back-hands", "back-massage-ball"])
def test_each_back_routine_closes_once_at_its_end(name):
    assert spoken(name).endswith(CLOSING) and spoken(name).count("Well done.") == 1
    assert load_routine(name).steps[-1].part == "closing"


def test_the_bundled_routines_say_acupressure_and_lacrosse_as_written_but_pronounced():
    from voiceguide.pronounce import Pronunciation

    headache = load_routine("headache-acupressure")
    assert Pronunciation(headache.pronounce)("Acupressure does not") == "ack you pressure does not"
    for name in ("back-massage-ball", "back-full"):  # an include's pronounce is not used
        heard = Pronunciation(load_routine(name).pronounce)("A tennis or lacrosse ball")
        assert heard == "A tennis or la cross ball"


def test_back_full_keeps_the_hands_methods_frequency_as_its_limit_not_as_words_midway():
    # Said between the hands and the balls, "you can do this up to five times a day" sounded
    # like the whole session; the limit itself still holds for the session that includes it.
    assert "five times a day" not in spoken("back-full")
    assert load_routine("back-full").per_day == 5
    assert "five times a day" in spoken("back-hands")
