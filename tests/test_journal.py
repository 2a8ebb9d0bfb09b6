"""The session journal: a real SQLite file, written by real processes, read back by the real
command line; per_day; a damaged, a locked and a shared database."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import voiceguide

from voiceguide.journal import Journal, parse_since, stats_of
from voiceguide.loader import load_routine

NO_CARD = {  # no sound device: a play that gets past the journal ends with exit 4
    "PULSE_SERVER": "unix:/nonexistent/pulse",
    "ALSA_CONFIG_PATH": "/nonexistent-alsa.conf",
}


@pytest.fixture
def home(tmp_path) -> dict[str, str]:
    return {"XDG_DATA_HOME": str(tmp_path / "data")}


def journal_at(env: dict) -> Journal:
    return Journal(Path(env["XDG_DATA_HOME"]) / "voiceguide" / "journal.db")


def test_a_session_is_written_as_it_starts_moves_and_ends(tmp_path):
    journal = Journal(tmp_path / "j.db")
    path = tmp_path / "r.yaml"
    session = journal.start("r", path, "R", {"rate": 135}, steps=4, length=30.5)
    [entry] = journal.entries()
    assert (entry.outcome, entry.step, entry.ended) == ("playing", 1, None)
    journal.reached(session, 3, 12.25)
    journal.end(session, "stopped", 3, 14.5)
    [entry] = journal.entries()
    assert (entry.routine, entry.title, entry.settings) == ("r", "R", {"rate": 135})
    assert (entry.outcome, entry.step, entry.steps, entry.position, entry.length) == (
        "stopped", 3, 4, 14.5, 30.5,
    )  # fmt: skip
    assert entry.ended is not None and journal.played_today(path) == 1
    assert journal.played_today(tmp_path / "other.yaml") == 0


def test_a_session_whose_process_died_is_unfinished(tmp_path):
    journal = Journal(tmp_path / "j.db")
    child = subprocess.run(
        [sys.executable, "-c", WRITE_AND_DIE, str(tmp_path / "j.db")], capture_output=True
    )
    assert child.returncode == -9
    [entry] = journal.entries()
    assert (entry.outcome, entry.step, entry.ended) == ("unfinished", 2, None)


WRITE_AND_DIE = """
import os, signal, sys, time
from pathlib import Path
from voiceguide.journal import Journal
journal = Journal(Path(sys.argv[1]))
session = journal.start("r", Path("r.yaml"), "R", {}, steps=3, length=10.0)
journal.reached(session, 2, 4.0)
time.sleep(0.5)  # the writer thread's update lands
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_stats_count_sessions_per_routine_per_day_and_week(tmp_path):
    journal = Journal(tmp_path / "j.db")
    for day, routine in [
        ("2026-11-16", "a"), ("2026-11-16", "a"), ("2026-11-16", "b"),
        ("2026-11-22", "a"), ("2026-11-23", "a"),
    ]:  # fmt: skip
        session = journal.start(routine, Path(routine), routine, {}, 1, 1.0)
        journal.db.execute(
            "UPDATE sessions SET started = ?, day = ? WHERE id = ?",
            (f"{day}T10:00:00+00:00", day, session),
        )
    numbers = stats_of(journal.entries())
    assert numbers["days"] == [
        {"day": "2026-11-16", "routine": "a", "sessions": 2},
        {"day": "2026-11-16", "routine": "b", "sessions": 1},
        {"day": "2026-11-22", "routine": "a", "sessions": 1},
        {"day": "2026-11-23", "routine": "a", "sessions": 1},
    ]
    assert numbers["weeks"] == [  # Monday 16 to Sunday 22 is week 47
        {"week": "2026-W47", "routine": "a", "sessions": 3},
        {"week": "2026-W47", "routine": "b", "sessions": 1},
        {"week": "2026-W48", "routine": "a", "sessions": 1},
    ]
    since = dt.datetime.fromisoformat("2026-11-22T00:00:00+00:00")
    assert [e.started[:10] for e in journal.entries(since)] == ["2026-11-22", "2026-11-23"]


def test_since_reads_days_times_and_days_ago():
    assert parse_since("2026-11-02") == dt.datetime(2026, 11, 2).astimezone()
    assert parse_since("2026-11-02T08:30") == dt.datetime(2026, 11, 2, 8, 30).astimezone()
    today = dt.datetime.combine(dt.date.today(), dt.time()).astimezone()
    assert parse_since("0d") == today
    assert parse_since("7d") == (today - dt.timedelta(days=7)).astimezone()
    assert parse_since("last week") is None


def test_the_journal_command_lists_as_a_table_json_and_stats(home):
    journal = journal_at(home)
    session = journal.start("back-hands", Path("/x/back-hands.yaml"), "Hands", {}, 7, 272.0)
    journal.end(session, "completed", 7, 272.0)
    listed = voiceguide("journal", env=home)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["started", "routine", "outcome", "where"]
    assert row.split()[2:] == ["back-hands", "completed", "step", "7", "of", "7", "(04:32", "of",
                               "04:32)"]  # fmt: skip
    as_json = json.loads(voiceguide("journal", "--json", env=home).stdout)
    assert [(e["routine"], e["outcome"], e["step"]) for e in as_json] == [
        ("back-hands", "completed", 7)
    ]
    stats = json.loads(voiceguide("journal", "--stats", "--json", env=home).stdout)
    assert [d["sessions"] for d in stats["days"]] == [1]
    assert voiceguide("journal", "--since", "1d", env=home).stdout.count("back-hands") == 1
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert voiceguide("journal", "--since", tomorrow, env=home).stdout == "no sessions yet\n"


def test_the_sixth_session_of_a_day_asks_for_anyway(home):
    routine = load_routine("back-hands")
    assert routine.per_day == 5
    journal = journal_at(home)
    for _ in range(5):
        journal.start("back-hands", routine.path, routine.title, {}, 7, 272.0)
    refused = voiceguide("play", "back-hands", env={**home, **NO_CARD})
    assert (refused.returncode, refused.stdout) == (6, "")
    assert refused.stderr == (
        "error: back-hands is meant for at most 5 a day (per_day) and was played 5 times "
        "today; add --anyway to play it again\n"
    )
    # --anyway gets past the limit (to the sound device, which is not there), as does
    # --no-journal; a routine played through another path counts the same file.
    anyway = voiceguide("play", "back-hands", "--anyway", env={**home, **NO_CARD})
    assert anyway.returncode == 4 and "no audio output device" in anyway.stderr
    unjournaled = voiceguide("play", "back-hands", "--no-journal", env={**home, **NO_CARD})
    assert unjournaled.returncode == 4
    by_path = voiceguide("play", str(routine.path), env={**home, **NO_CARD})
    assert by_path.returncode == 6


def test_per_day_is_checked_in_the_routine(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("title: R\nper_day: 0\nsteps:\n  - say: Hi.\n")
    result = voiceguide("check", path)
    assert result.returncode == 1
    assert result.stderr == f"{path}:2:10: per_day: 0 is out of range (1 to 100)\n"


def test_a_damaged_journal_is_one_line_and_no_journal_still_plays(home):
    db = Path(home["XDG_DATA_HOME"]) / "voiceguide" / "journal.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not an SQLite database, but it is where one should be\n" * 100)
    result = voiceguide("play", "back-hands", env={**home, **NO_CARD})
    assert (result.returncode, result.stdout) == (5, "")
    assert result.stderr == (
        f"error: the session journal {db} cannot be used (file is not a database); "
        "play with --no-journal, or move the file away\n"
    )
    listed = voiceguide("journal", env=home)
    assert listed.returncode == 5 and listed.stderr.count("\n") == 1
    played = voiceguide("play", "back-hands", "--no-journal", env={**home, **NO_CARD})
    assert played.returncode == 4  # past the journal, to the (missing) sound device


def test_a_locked_journal_is_one_line_after_two_seconds(home):
    db = Path(home["XDG_DATA_HOME"]) / "voiceguide" / "journal.db"
    journal_at(home).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        result = voiceguide("play", "back-hands", env={**home, **NO_CARD})
    finally:
        holder.kill()
        holder.wait()
    assert (result.returncode, result.stdout) == (5, "")
    assert result.stderr == (
        f"error: the session journal {db} cannot be used (database is locked); "
        "play with --no-journal, or move the file away\n"
    )


HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode=EXCLUSIVE")  # in WAL mode, keeps out readers too
db.execute("BEGIN EXCLUSIVE")
db.execute("UPDATE sessions SET step = step")
print("locked", flush=True)
time.sleep(60)
"""


def test_concurrent_sessions_each_keep_their_row(tmp_path):
    db = tmp_path / "j.db"
    Journal(db).close()
    writers = [
        subprocess.Popen([sys.executable, "-c", MANY_SESSIONS, str(db), str(n)]) for n in range(4)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    rows = sqlite3.connect(db).execute("SELECT routine, outcome, step FROM sessions").fetchall()
    assert sorted(rows) == sorted((f"r{n}", "completed", 3) for n in range(4) for _ in range(25))


MANY_SESSIONS = """
import sys
from pathlib import Path
from voiceguide.journal import Journal
journal = Journal(Path(sys.argv[1]))
for _ in range(25):
    session = journal.start("r" + sys.argv[2], Path("r.yaml"), "R", {}, steps=3, length=9.0)
    journal.reached(session, 2, 3.0)
    journal.end(session, "completed", 3, 9.0)
"""


def test_the_values_set_are_recorded_with_the_settings(card, tmp_path, home):
    (tmp_path / "p.yaml").write_text(
        "title: P\nchimes: {session-end: wood}\n"  # a short end: not what this tests
        "params:\n  n: {default: 2, choices: [2, 3]}\n"
        "  m: {default: 1s, min: 1s, max: 2s}\nsteps:\n  - say: Hi.\n"
    )
    env = {**card.env, **home, "VOICEGUIDE_CACHE": str(tmp_path / "cache")}
    played = voiceguide("play", "p.yaml", "--set", "n=3", cwd=tmp_path, env=env)
    assert played.returncode == 0, played.stderr
    [entry] = json.loads(voiceguide("journal", "--json", env=home).stdout)
    assert entry["settings"]["params"] == {"n": "3", "m": "1s"}  # set, and by default
