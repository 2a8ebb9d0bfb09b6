"""The session journal: every `play` in an SQLite database (the standard library's sqlite3).

A session is written as it starts (outcome 'playing') and updated as it moves from step to step
and as it ends, so a session whose process is killed stays in the journal, at the last step it
reached. Several sessions may play at once: each writes its own row, in short transactions, and
waits up to `BUSY_SECONDS` for the others. A database that cannot be used (damaged, locked for
longer than that, unwritable) is an `JournalError`: one line, exit 5.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import queue
import sqlite3
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from voiceguide.errors import OutputError, VoiceguideError
from voiceguide.files import process_alive
from voiceguide.routine import Routine

BUSY_SECONDS = 2.0
PLAYING, COMPLETED, STOPPED, INTERRUPTED, DEVICE_LOST = (
    "playing",
    "completed",
    "stopped",
    "interrupted",
    "device lost",
)
UNFINISHED = "unfinished"  # shown for a 'playing' row whose process is gone (killed, crashed)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    routine TEXT NOT NULL,   -- as given on the command line: a bundled name or a path
    path TEXT NOT NULL,      -- the routine file, resolved: what per_day counts
    title TEXT NOT NULL,
    settings TEXT NOT NULL,  -- JSON: engine, voice, rate, volume, start_at, output, params
    day TEXT NOT NULL,       -- the local date it started on, YYYY-MM-DD
    started TEXT NOT NULL,   -- ISO 8601, local time with its offset
    ended TEXT,
    outcome TEXT NOT NULL,
    step INTEGER NOT NULL,
    steps INTEGER NOT NULL,
    position REAL NOT NULL,  -- seconds into the session where it ended (or was last seen)
    length REAL NOT NULL,
    pid INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_day ON sessions (path, day);
"""


class JournalError(OutputError):
    """The journal's database cannot be used."""


class DailyLimit(VoiceguideError):
    """A routine's per_day sessions were played today already; --anyway plays one more."""

    exit_code = 6


def check_per_day(journal: Journal, routine: Routine, name: str) -> None:
    """Refuse, in one line, a session beyond the routine's `per_day` today."""
    if routine.per_day is None:
        return
    played = journal.played_today(routine.path)
    if played >= routine.per_day:
        times = "once" if played == 1 else f"{played} times"
        raise DailyLimit(
            f"{name} is meant for at most {routine.per_day} a day (per_day) and was played "
            f"{times} today; add --anyway to play it again"
        )


def default_path() -> Path:
    """$XDG_DATA_HOME/voiceguide/journal.db (XDG_DATA_HOME defaults to ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voiceguide" / "journal.db"


@dataclass(frozen=True)
class Entry:
    """One session, as the journal lists it."""

    id: int
    routine: str
    title: str
    settings: dict
    started: str
    ended: str | None
    outcome: str
    step: int
    steps: int
    position: float
    length: float

    def as_json(self) -> dict:
        return asdict(self)


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


class Journal:
    def __init__(self, path: Path | None = None, create: bool = True):
        self.path = path or default_path()
        self._updates: queue.SimpleQueue | None = None
        self._writer: threading.Thread | None = None
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            elif not self.path.exists():
                self.db = None
                return
            self.db = self._connect()
            with self.db:
                self.db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as e:
            raise self._error(e) from None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        # Write-ahead logging: a write is an append, synced at checkpoints, not two syncs of
        # the whole file while every other session waits. With the rollback journal, four
        # sessions writing at once on a loaded machine waited out the timeout 1 time in 10.
        with contextlib.suppress(sqlite3.OperationalError):  # locked: another session is
            db.execute("PRAGMA journal_mode=WAL")  # switching it (the mode is the file's)
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _error(self, error: Exception) -> JournalError:
        reason = getattr(error, "strerror", None) or str(error)
        return JournalError(
            f"the session journal {self.path} cannot be used ({reason}); "
            "play with --no-journal, or move the file away"
        )

    def _write(self, sql: str, values: tuple) -> int:
        try:
            with self.db:
                return self.db.execute(sql, values).lastrowid
        except sqlite3.Error as e:
            raise self._error(e) from None

    # -- a session as it plays

    def played_today(self, path: Path) -> int:
        """How many sessions of the routine at `path` started today (local time)."""
        if self.db is None:
            return 0
        try:
            row = self.db.execute(
                "SELECT count(*) FROM sessions WHERE path = ? AND day = ?",
                (str(path), _now().date().isoformat()),
            ).fetchone()
        except sqlite3.Error as e:
            raise self._error(e) from None
        return row[0]

    def start(
        self, routine: str, path: Path, title: str, settings: dict, steps: int, length: float
    ) -> int:
        now = _now()
        return self._write(
            "INSERT INTO sessions (routine, path, title, settings, day, started, outcome, step,"
            " steps, position, length, pid) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, 0, ?, ?)",
            (
                routine,
                str(path),
                title,
                json.dumps(settings, sort_keys=True),
                now.date().isoformat(),
                now.isoformat(timespec="seconds"),
                PLAYING,
                steps,
                length,
                os.getpid(),
            ),
        )

    def reached(self, session: int, step: int, position: float) -> None:
        """The session reached a step: written by a thread of its own, so that a busy database
        never delays a cue."""
        if self._writer is None:
            self._updates = queue.SimpleQueue()
            self._writer = threading.Thread(
                target=self._write_updates, name="voiceguide-journal", daemon=True
            )
            self._writer.start()
        self._updates.put((session, step, position))

    def _write_updates(self) -> None:
        try:
            db = self._connect()
        except sqlite3.Error:
            db = None  # progress notes lost; the session's end is written for sure
        try:
            while (update := self._updates.get()) is not None:
                if db is None:
                    continue
                session, step, position = update
                try:
                    with db:
                        db.execute(
                            "UPDATE sessions SET step = ?, position = ? WHERE id = ?",
                            (step, round(position, 3), session),
                        )
                except sqlite3.Error:
                    pass  # a progress note lost; the session's end is written for sure
        finally:
            if db is not None:
                db.close()

    def end(
        self, session: int, outcome: str, step: int, position: float, length: float | None = None
    ) -> None:
        """The session ended; `length`, if given, is its length known by then (a session
        started on a cold cache is laid out whole only after its first steps play)."""
        if self._writer is not None:
            self._updates.put(None)
            self._writer.join(timeout=BUSY_SECONDS + 1)
            self._writer = None
        self._write(
            "UPDATE sessions SET ended = ?, outcome = ?, step = ?, position = ?,"
            " length = COALESCE(?, length) WHERE id = ?",
            (
                _now().isoformat(timespec="seconds"),
                outcome,
                step,
                round(position, 3),
                length,
                session,
            ),
        )

    # -- reading it back

    def entries(self, since: dt.datetime | None = None) -> list[Entry]:
        if self.db is None:
            return []
        query = "SELECT * FROM sessions ORDER BY started, id"
        try:
            rows = self.db.execute(query).fetchall()
        except sqlite3.Error as e:
            raise self._error(e) from None
        entries = [self._entry(row) for row in rows]
        if since is not None:
            since = since if since.tzinfo else since.astimezone()
            entries = [e for e in entries if dt.datetime.fromisoformat(e.started) >= since]
        return entries

    @staticmethod
    def _entry(row: tuple) -> Entry:
        (id_, routine, _path, title, settings, _day, started, ended, outcome, step, steps,
         position, length, pid) = row  # fmt: skip
        if outcome == PLAYING and not process_alive(pid):
            outcome = UNFINISHED
        return Entry(
            id_, routine, title, json.loads(settings), started, ended, outcome, step, steps,
            position, length,
        )  # fmt: skip

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


def stats_of(entries: list[Entry]) -> dict[str, list[dict]]:
    """Sessions per routine per day and per ISO week."""
    days: dict[tuple[str, str], int] = {}
    weeks: dict[tuple[str, str], int] = {}
    for entry in entries:
        day = dt.datetime.fromisoformat(entry.started).date()
        year, week, _ = day.isocalendar()
        days[(day.isoformat(), entry.routine)] = days.get((day.isoformat(), entry.routine), 0) + 1
        key = (f"{year}-W{week:02d}", entry.routine)
        weeks[key] = weeks.get(key, 0) + 1
    return {
        "days": [{"day": d, "routine": r, "sessions": n} for (d, r), n in sorted(days.items())],
        "weeks": [{"week": w, "routine": r, "sessions": n} for (w, r), n in sorted(weeks.items())],
    }


def parse_since(text: str) -> dt.datetime | None:
    """A day, a time, or 'Nd' (N days ago, from midnight); None if it is none of these."""
    text = text.strip()
    if text.endswith("d") and text[:-1].isdigit():
        today = dt.datetime.combine(_now().date(), dt.time())
        return (today - dt.timedelta(days=int(text[:-1]))).astimezone()
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.astimezone()


def _where(entry: Entry) -> str:
    from voiceguide.durations import format_clock

    return (
        f"step {entry.step} of {entry.steps} "
        f"({format_clock(entry.position)} of {format_clock(entry.length)})"
    )


def render_table(entries: list[Entry]) -> str:
    if not entries:
        return "no sessions yet"
    rows = [("started", "routine", "outcome", "where")]
    for e in entries:
        started = dt.datetime.fromisoformat(e.started).strftime("%Y-%m-%d %H:%M")
        rows.append((started, e.routine, e.outcome, _where(e)))
    return _columns(rows)


def render_stats(numbers: dict[str, list[dict]]) -> str:
    if not numbers["days"]:
        return "no sessions yet"
    days = [("day", "routine", "sessions")]
    days += [(d["day"], d["routine"], str(d["sessions"])) for d in numbers["days"]]
    weeks = [("week", "routine", "sessions")]
    weeks += [(w["week"], w["routine"], str(w["sessions"])) for w in numbers["weeks"]]
    return _columns(days) + "\n\n" + _columns(weeks)


def _columns(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
