"""What every denoising backend provides, and the errors they raise."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


class DenoiseError(RuntimeError):
    """A denoiser could not be created or configured."""


class BackendUnavailable(DenoiseError):
    """A backend's library or model is not installed on this machine."""


class ModelFileError(DenoiseError):
    """A model file is missing, does not match its recorded checksum, or cannot be read."""


@runtime_checkable
class DenoiseBackend(Protocol):
    """A block processor that removes noise, at most ``attenuation limit`` dB per time-frequency bin.

    Backends see only finite, clipped input (the :class:`~hearing_assist.denoise.denoiser.Denoiser` sanitises it)
    and are driven from one thread. After ``prepare`` they expose:

    * ``name`` -- backend id (``"dfn3"``, ``"classical"``, ...);
    * ``latency_samples`` -- fixed delay of the output against the input, in stream samples;
    * ``snr_db`` -- the latest raw speech-to-noise estimate in dB (NaN when unknown);
    * ``realtime_safe`` -- False when ``process`` may run for longer than a block period by design.
    """

    name: str
    latency_samples: int
    snr_db: float
    realtime_safe: bool

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Allocate state for blocks of up to ``block_size`` frames at ``sample_rate`` Hz."""

    def process(self, block: np.ndarray) -> np.ndarray:
        """Denoise one ``(frames, channels)`` float32 block, in place where possible."""

    def reset(self) -> None:
        """Clear stream state."""

    def set_attenuation_limit(self, db: float) -> None:
        """Limit the attenuation to ``db`` dB (> 0); called between blocks on the audio thread."""
