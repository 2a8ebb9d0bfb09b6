"""Shell completion (click's, for bash, zsh and fish): what a ROUTINE, a --voice, an --engine,
a --format or a --lang can be. Each function gets what was typed so far and returns the words
that fit; nothing here may fail loudly (a broken completion must not print a traceback into
the user's prompt), so errors give no words.

Enable it with one line in your shell's start-up file (see the README):
    eval "$(_VOICEGUIDE_COMPLETE=bash_source voiceguide)"     # ~/.bashrc
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from click.shell_completion import CompletionItem

ROUTINE_SUFFIXES = (".yaml", ".yml")


def routines(ctx, param, incomplete: str) -> list[CompletionItem]:
    """Bundled routine names, YAML files and folders (to go into) that start as typed."""
    from voiceguide import bundled

    words = [n for n in bundled.routine_names() if n.startswith(incomplete)]
    return [CompletionItem(w) for w in words] + _routine_files(incomplete)


def _routine_files(incomplete: str) -> list[CompletionItem]:
    folder_part, slash, start = incomplete.rpartition("/")
    prefix = folder_part + slash  # what was typed of the folder, kept as typed
    folder = Path(prefix) if prefix else Path(".")
    items = []
    with contextlib.suppress(OSError):
        for path in sorted(folder.iterdir()):
            if not path.name.startswith(start) or (path.name.startswith(".") and not start):
                continue
            if path.is_dir():
                items.append(CompletionItem(prefix + path.name + "/", type="plain"))
            elif path.suffix.lower() in ROUTINE_SUFFIXES:
                items.append(CompletionItem(prefix + path.name))
    return items


def voices(ctx, param, incomplete: str) -> list[CompletionItem]:
    """The voices of the engine given before --voice (else the default engine), by the short
    name `--voice` takes (the id's last part, like en-us)."""
    from voiceguide.engines import get_engine

    try:
        found = get_engine(ctx.params.get("engine")).voices()
    except Exception:  # a missing engine: no words, no noise
        return []
    names = sorted({v.id.rsplit("/", 1)[-1] for v in found})
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def engines(ctx, param, incomplete: str) -> list[CompletionItem]:
    from voiceguide.engines import engine_names

    return [CompletionItem(n) for n in engine_names() if n.startswith(incomplete)]


def formats(ctx, param, incomplete: str) -> list[CompletionItem]:
    from voiceguide.writers import FORMATS

    return [CompletionItem(n) for n in FORMATS if n.startswith(incomplete)]


def languages(ctx, param, incomplete: str) -> list[CompletionItem]:
    """The languages the engine's voices speak (like en, en-us, de)."""
    from voiceguide.engines import get_engine

    try:
        found = get_engine(ctx.params.get("engine")).voices()
    except Exception:
        return []
    codes = {lang.lower() for v in found for lang in v.languages}
    codes |= {code.split("-")[0] for code in codes}
    return [CompletionItem(c) for c in sorted(codes) if c.startswith(incomplete.lower())]
