"""Output level stages: master volume with click-free ramps, and the hard output ceiling.

The ceiling is the last stage of every chain the engine runs. It is a plain clip at the configured maximum output
level, so whatever the processing before it does (gains, presets, a faulty stage producing NaN), no sample ever
leaves the app above that level. Smooth limiting belongs to the MPO limiter upstream; this is the guarantee.
"""

from __future__ import annotations

import numpy as np


def db_to_gain(db: float) -> float:
    """Convert dB to a linear amplitude factor."""
    return float(10.0 ** (db / 20.0))


class Volume:
    """Master volume in dB with a linear ramp (ms) on every change, so moving the slider never clicks."""

    def __init__(self, volume_db: float = 0.0, ramp_ms: float = 20.0, min_db: float = -60.0,
                 max_db: float = 20.0):
        self.min_db, self.max_db = min_db, max_db
        self.ramp_ms = ramp_ms
        self._target = db_to_gain(self._clip(volume_db))
        self._current = self._target
        self._rate = 0.0  # gain change per sample while ramping
        self._ramp_samples = max(1.0, ramp_ms * 1e-3 * 48000)
        self._index = np.zeros((0, 1), dtype=np.float32)
        self._gain = np.zeros((0, 1), dtype=np.float32)

    def _clip(self, db: float) -> float:
        return float(min(max(db, self.min_db), self.max_db))

    @property
    def volume_db(self) -> float:
        """The target volume in dB."""
        return float(20 * np.log10(max(self._target, 1e-12)))

    def set_volume_db(self, db: float) -> None:
        """Set the volume (dB, clipped to the allowed range); safe to call from another thread."""
        target = db_to_gain(self._clip(db))
        # Each change completes in ramp_ms whatever its size.
        self._rate = abs(target - self._current) / self._ramp_samples
        self._target = target

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Allocate the ramp buffers for ``block_size`` frames."""
        self._ramp_samples = max(1.0, self.ramp_ms * 1e-3 * sample_rate)
        self._index = np.arange(1, block_size + 1, dtype=np.float32).reshape(-1, 1)
        self._gain = np.zeros((block_size, 1), dtype=np.float32)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Apply the volume in place, ramping linearly towards a new target."""
        target, cur = self._target, self._current
        if cur == target:
            block *= np.float32(cur)
            return block
        n = len(block)
        step = self._rate if target > cur else -self._rate
        gain = self._gain[:n]
        np.multiply(self._index[:n], np.float32(step), out=gain)
        gain += np.float32(cur)
        # Stop exactly at the target, never overshoot it.
        if step > 0:
            np.minimum(gain, np.float32(target), out=gain)
        else:
            np.maximum(gain, np.float32(target), out=gain)
        block *= gain
        end = cur + step * n
        self._current = target if (step > 0 and end >= target) or (step < 0 and end <= target) else end
        return block

    def reset(self) -> None:
        """Jump to the target volume."""
        self._current = self._target


class OutputCeiling:
    """Hard clip at ``max_dbfs`` (peak); NaN and inf become silence. Stateless, allocation-free."""

    def __init__(self, max_dbfs: float = -1.0):
        self.set_max_dbfs(max_dbfs)
        self.clipped_samples = 0

    def set_max_dbfs(self, max_dbfs: float) -> None:
        """Set the ceiling in dBFS peak (at most 0 dBFS)."""
        self.max_dbfs = float(min(max_dbfs, 0.0))
        self._ceiling = np.float32(db_to_gain(self.max_dbfs))

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Nothing to allocate."""

    def process(self, block: np.ndarray) -> np.ndarray:
        """Clip in place to ±ceiling; non-finite samples become 0."""
        np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        np.clip(block, -self._ceiling, self._ceiling, out=block)
        return block

    def reset(self) -> None:
        """Stateless."""
