"""Where the engine's input comes from: a capture device, system audio, a file, or a synthetic signal.

Device sources are captured by the duplex stream itself. File and synthetic sources are *pulled* by the audio
callback (``read_into``), so the output stream's clock paces them in real time. ``FileSource.read_into``
never allocates; the synthetic source is for tests and tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hearing_assist.audio.devices import AudioDeviceError, system_audio_monitor
from hearing_assist.audio.files import AudioFileError, read_mono


class SourceError(ValueError):
    """A source cannot be opened; the message names the file or device."""


@dataclass(frozen=True)
class DeviceSource:
    """Capture from an input device (None = system default); ``monitor`` names a PulseAudio source to use."""

    device: int | str | None = None
    monitor: str | None = None
    kind: str = "device"

    def describe(self) -> str:
        """Human description."""
        if self.monitor:
            return f"computer audio ({self.monitor})"
        return f"microphone ({self.device if self.device is not None else 'default'})"


def system_audio_source() -> DeviceSource:
    """The computer's own output as a capture source (Linux: default sink's monitor)."""
    monitor = system_audio_monitor()
    if monitor is None:
        raise AudioDeviceError(
            "Cannot capture the computer's own audio: no PulseAudio/PipeWire monitor source was found. "
            "On Windows pick the WASAPI loopback device; on macOS install a loopback driver (e.g. BlackHole)."
        )
    return DeviceSource(device="pulse", monitor=monitor)


class PulledSource:
    """Base for sources the callback pulls from; ``read_into`` fills a mono buffer and returns frames written."""

    kind = "pulled"
    sample_rate = 48000
    finished = False

    def read_into(self, out: np.ndarray) -> int:
        """Fill the 1-D float32 ``out`` with the next frames; returns how many (0 at the end)."""
        raise NotImplementedError

    def rewind(self) -> None:
        """Start again from the beginning."""

    def describe(self) -> str:
        """Human description."""
        return type(self).__name__


class FileSource(PulledSource):
    """An audio file decoded to mono float32 at the stream rate; optionally looped."""

    def __init__(self, path: str | Path, sample_rate: int = 48000, loop: bool = False):
        self.path = Path(path)
        try:
            self.samples = np.ascontiguousarray(read_mono(self.path, sample_rate))
        except AudioFileError as exc:
            raise SourceError(str(exc)) from exc
        self.sample_rate = sample_rate
        self.loop = loop
        self.position = 0
        self.finished = False

    def read_into(self, out: np.ndarray) -> int:
        """Copy the next frames into ``out``; loops or pads with silence at the end."""
        n = len(out)
        written = 0
        while written < n:
            remaining = len(self.samples) - self.position
            if remaining <= 0:
                if not self.loop:
                    self.finished = True
                    out[written:] = 0.0
                    return written
                self.position = 0
                remaining = len(self.samples)
            take = min(n - written, remaining)
            out[written : written + take] = self.samples[self.position : self.position + take]
            self.position += take
            written += take
        return written

    def rewind(self) -> None:
        """Start again from the beginning."""
        self.position = 0
        self.finished = False

    def describe(self) -> str:
        """Human description."""
        return f"file {self.path.name}"


class SyntheticSource(PulledSource):
    """A test signal: sine tone (Hz) at a level in dBFS, white noise, or silence."""

    def __init__(self, signal: str = "sine", frequency_hz: float = 1000.0, level_dbfs: float = -20.0,
                 sample_rate: int = 48000, seed: int = 0):
        if signal not in ("sine", "noise", "silence"):
            raise SourceError(f"Unknown synthetic signal {signal!r}: use sine, noise or silence")
        self.signal = signal
        self.frequency_hz = frequency_hz
        self.sample_rate = sample_rate
        # RMS level in dBFS; for a sine the peak is sqrt(2) times the RMS.
        self.amplitude = 10 ** (level_dbfs / 20)
        self._phase = 0.0
        self._rng = np.random.default_rng(seed)

    def read_into(self, out: np.ndarray) -> int:
        """Generate ``len(out)`` frames."""
        n = len(out)
        if self.signal == "silence":
            out[:] = 0.0
        elif self.signal == "noise":
            out[:] = self._rng.standard_normal(n) * self.amplitude
        else:
            w = 2 * np.pi * self.frequency_hz / self.sample_rate
            out[:] = np.sqrt(2) * self.amplitude * np.sin(self._phase + w * np.arange(n))
            self._phase = (self._phase + w * n) % (2 * np.pi)
        return n

    def describe(self) -> str:
        """Human description."""
        return f"synthetic {self.signal}"
