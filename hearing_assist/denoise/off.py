"""The "off" backend: no processing, no delay."""

from __future__ import annotations

import numpy as np


class Passthrough:
    """Backend that returns its input unchanged (latency 0, no SNR estimate)."""

    name = "off"
    realtime_safe = True
    latency_samples = 0
    snr_db = float("nan")

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Nothing to allocate."""

    def process(self, block: np.ndarray) -> np.ndarray:
        """Return ``block`` as is."""
        return block

    def reset(self) -> None:
        """No state."""

    def set_attenuation_limit(self, db: float) -> None:
        """Ignored: nothing is attenuated."""
