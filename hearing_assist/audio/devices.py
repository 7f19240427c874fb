"""Audio devices: listing, lookup by name or index, and the computer's own output as a capture source.

PortAudio is loaded lazily so that ``import hearing_assist`` works on a machine without libportaudio; the error
then says which package to install.

The computer's own output ("system audio") is captured per OS:
- Linux (PulseAudio or PipeWire-pulse): the ``.monitor`` source of the default sink, opened through PortAudio's
  ALSA ``pulse`` device with ``PULSE_SOURCE`` naming the monitor (the ALSA pulse plugin reads it at open time).
- Windows: WASAPI loopback on the output device where the installed PortAudio supports it.
- macOS: needs a loopback driver (BlackHole, Loopback); pick it as an ordinary input device.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass


class AudioDeviceError(RuntimeError):
    """A device is missing, busy or unusable; the message says what to do."""


def sounddevice():
    """Import sounddevice, turning a missing PortAudio into an actionable error."""
    try:
        import sounddevice as sd
    except OSError as exc:  # sounddevice raises OSError when libportaudio is absent
        raise AudioDeviceError(
            "PortAudio library not found. Install it: Debian/Ubuntu `sudo apt-get install libportaudio2`, "
            "Fedora `sudo dnf install portaudio`, macOS `brew install portaudio`."
        ) from exc
    return sd


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device."""

    index: int
    name: str
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_sample_rate: float
    is_default_input: bool = False
    is_default_output: bool = False

    def describe(self) -> str:
        """A one-line human description."""
        marks = []
        if self.is_default_input:
            marks.append("default input")
        if self.is_default_output:
            marks.append("default output")
        mark = f" [{', '.join(marks)}]" if marks else ""
        return (f"{self.index:3d}  {self.name} ({self.host_api}) in={self.max_input_channels} "
                f"out={self.max_output_channels} {self.default_sample_rate:.0f} Hz{mark}")


def list_devices() -> list[DeviceInfo]:
    """All PortAudio devices with their host API and defaults."""
    sd = sounddevice()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"Cannot query audio devices: {exc}") from exc
    out = []
    for i, d in enumerate(devices):
        out.append(DeviceInfo(i, d["name"], apis[d["hostapi"]]["name"], d["max_input_channels"],
                              d["max_output_channels"], d["default_samplerate"],
                              i == default_in, i == default_out))
    return out


def find_device(spec: int | str | None, kind: str) -> int | None:
    """Resolve ``spec`` (index, exact or partial name, None for the default) to a device index for ``kind``.

    ``kind`` is "input" or "output". Raises AudioDeviceError naming the available devices when nothing matches.
    """
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be 'input' or 'output', not {kind!r}")
    devices = list_devices()
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    usable = [d for d in devices if getattr(d, key) > 0]
    if not usable:
        raise AudioDeviceError(
            f"No audio {kind} device found. Connect one, or check that the sound server (PulseAudio/PipeWire) "
            f"runs; `hearing-assist doctor` shows what is missing."
        )
    if spec is None or spec == "":
        return None
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        idx = int(spec)
        if any(d.index == idx for d in usable):
            return idx
    else:
        exact = [d for d in usable if d.name == spec]
        partial = exact or [d for d in usable if spec.lower() in d.name.lower()]
        if len(partial) >= 1:
            return partial[0].index
    names = ", ".join(f"{d.index}: {d.name}" for d in usable)
    raise AudioDeviceError(f"No {kind} device matches {spec!r}. Available {kind} devices: {names}")


def system_audio_monitor() -> str | None:
    """Name of the PulseAudio/PipeWire monitor source of the default sink, or None when unavailable."""
    if not sys.platform.startswith("linux") or shutil.which("pactl") is None:
        return None
    try:
        sink = subprocess.run(["pactl", "get-default-sink"], capture_output=True, text=True, timeout=5,
                              check=True).stdout.strip()
        sources = subprocess.run(["pactl", "list", "short", "sources"], capture_output=True, text=True,
                                 timeout=5, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    names = [line.split("\t")[1] for line in sources.splitlines() if "\t" in line]
    want = f"{sink}.monitor"
    if want in names:
        return want
    monitors = [n for n in names if n.endswith(".monitor")]
    return monitors[0] if monitors else None


class pulse_source:
    """Context manager that points the ALSA pulse plugin at a PulseAudio source while a stream opens."""

    def __init__(self, source: str | None):
        self.source = source
        self._old: str | None = None

    def __enter__(self):
        if self.source:
            self._old = os.environ.get("PULSE_SOURCE")
            os.environ["PULSE_SOURCE"] = self.source
        return self

    def __exit__(self, *exc):
        if self.source:
            if self._old is None:
                os.environ.pop("PULSE_SOURCE", None)
            else:
                os.environ["PULSE_SOURCE"] = self._old
        return False
