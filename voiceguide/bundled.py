"""Where the bundled routines (scripts/) and chimes (sounds/) are.

An installed wheel carries them inside the package (pyproject maps them in); a checkout or an
editable install has them at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _bundled_dir(name: str) -> Path:
    inside = _PACKAGE / name
    return inside if inside.is_dir() else _PACKAGE.parent / name


def scripts_dir() -> Path:
    return _bundled_dir("scripts")


def sounds_dir() -> Path:
    return _bundled_dir("sounds")


def routine_names() -> list[str]:
    return sorted(p.stem for p in scripts_dir().glob("*.yaml"))


def routine_path(name: str) -> Path | None:
    path = scripts_dir() / f"{name}.yaml"
    return path if name in routine_names() else None


def sound_names() -> list[str]:
    return sorted(p.stem for p in sounds_dir().glob("*.wav"))


def sound_path(name: str) -> Path | None:
    return sounds_dir() / f"{name}.wav" if name in sound_names() else None
