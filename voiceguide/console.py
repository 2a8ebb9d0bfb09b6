"""The terminal side of a live session: keys in, status out.

Keys (when stdin is a terminal): space pauses and resumes, n or the right arrow skips to the
next step, p or the left arrow goes back to the start of the step, w says where the session is,
q quits. Ctrl-C is left to
the terminal: it interrupts. The terminal's mode is always restored.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import shutil
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from typing import TextIO

from voiceguide.durations import format_clock
from voiceguide.player import BACK, NEXT, PAUSE, QUIT, WHERE, Status

SPIN = 0.002  # seconds before a deadline at which waiting turns to spinning, for precision
KEYS = {
    b" ": PAUSE, b"n": NEXT, b"N": NEXT, b"p": BACK, b"P": BACK, b"q": QUIT, b"Q": QUIT,
    b"w": WHERE, b"W": WHERE,
}  # fmt: skip
ARROWS = {b"\x1b[C": NEXT, b"\x1b[D": BACK, b"\x1bOC": NEXT, b"\x1bOD": BACK}


class Controls:
    """Commands waiting for the player, and a wait that ends at a deadline or a command."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.commands: queue.SimpleQueue[str] = queue.SimpleQueue()

    def put(self, command: str) -> None:
        self.commands.put(command)

    def wait_until(self, deadline: float) -> str | None:
        while True:
            remaining = deadline - self.clock()
            if remaining > SPIN:
                # In slices, so that Ctrl-C is never held up by a long wait.
                with contextlib.suppress(queue.Empty):
                    return self.commands.get(timeout=min(remaining - SPIN, 0.5))
                continue
            while self.clock() < deadline:  # the last two milliseconds: spin
                with contextlib.suppress(queue.Empty):
                    return self.commands.get_nowait()
            with contextlib.suppress(queue.Empty):
                return self.commands.get_nowait()
            return None


def parse_keys(data: bytes) -> list[str]:
    """The commands in a burst of key bytes; anything else is ignored."""
    commands = []
    i = 0
    while i < len(data):
        sequence = next((s for s in ARROWS if data.startswith(s, i)), None)
        if sequence:
            commands.append(ARROWS[sequence])
            i += len(sequence)
            continue
        command = KEYS.get(data[i : i + 1])
        if command:
            commands.append(command)
        i += 1
    return commands


@contextlib.contextmanager
def keyboard(controls: Controls, stream: TextIO = sys.stdin) -> Iterator[None]:
    """Single keys become commands while inside; the terminal is restored on the way out."""
    if not stream.isatty():
        yield
        return
    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    stopping = threading.Event()

    def read_keys() -> None:
        while not stopping.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                data = os.read(fd, 32)
                if not data:
                    return
                for command in parse_keys(data):
                    controls.put(command)

    tty.setcbreak(fd)  # keys arrive one by one, unechoed; Ctrl-C still interrupts
    reader = threading.Thread(target=read_keys, name="voiceguide-keys", daemon=True)
    reader.start()
    try:
        yield
    finally:
        stopping.set()
        reader.join(timeout=1)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def status_lines(status: Status) -> list[str]:
    """The status as lines: step and place in it, hold bar, what is next, the keys."""
    step = status.step
    where = f"Step {step.index} of {status.steps}: {step.title}"
    if status.context.round:
        where += f" (round {status.context.round[0]} of {status.context.round[1]})"
    if status.context.side:
        where += f" ({status.context.side} side)"
    state = "paused" if status.paused else "done" if status.finished else "playing"
    left = format_clock(status.left)
    left = left if status.length_known else f"at least {left}"
    lines = [f"{where}", f"{state}, {left} left in the session"]
    if status.hold:
        done = 1 - status.hold_left * status.sample_rate / status.hold.length
        filled = round(24 * min(max(done, 0), 1))
        lines.append(f"hold [{'#' * filled}{'.' * (24 - filled)}] {status.hold_left:4.0f} s left")
    else:
        lines.append("")
    lines.append(f"next: {status.next_title}" if status.next_title else "next: the end")
    lines.append("space pause/resume, n next, p back, w where am I, q quit")
    return lines


class TerminalDisplay:
    """A few lines redrawn in place."""

    def __init__(self, out: TextIO = sys.stdout):
        self.out = out
        self.drawn = 0

    def __call__(self, status: Status) -> None:
        # A line wider than the terminal would wrap, and the redraw would go up too few lines.
        width = shutil.get_terminal_size().columns - 1
        lines = [line[:width] for line in status_lines(status)]
        text = f"\x1b[{self.drawn}F" if self.drawn else ""
        text += "".join(f"{line}\x1b[K\n" for line in lines)
        self.out.write(text)
        self.out.flush()
        self.drawn = len(lines)


class PlainDisplay:
    """Progress as plain lines, one an event (a step, a round or side, a hold, a pause), for a
    log or a pipe."""

    def __init__(self, out: TextIO = sys.stdout):
        self.out = out
        self.place: tuple | None = None
        self.hold: int | None = None
        self.state: tuple[bool, bool] = (False, False)

    def __call__(self, status: Status) -> None:
        at = format_clock(status.position / status.sample_rate)
        state = (status.paused, status.finished)
        place = (status.step.index, status.context)
        hold = status.hold.start if status.hold else None
        lines = []
        if state != self.state and (status.paused or status.finished):
            lines.append(f"{at} {'paused' if status.paused else 'done'}")
        elif not status.paused:
            if place != self.place:
                lines.append(f"{at} {status_lines(status)[0]}")
            if hold is not None and hold != self.hold:
                lines.append(f"{at} hold, {status.hold.length / status.sample_rate:g} s")
        self.state, self.place, self.hold = state, place, hold
        if lines:
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()
