"""The denoising block processor the audio pipeline uses: any backend plus strength, SNR display and input hygiene.

* ``set_strength(db)`` may be called from the GUI thread at any time: it only stores a float, which the audio
  thread reads once at the start of the next block (a single attribute store/load is atomic in CPython).
* Strength 0 dB means off: the output is the input delayed by ``latency_samples``, bit for bit. Moving between 0
  and a positive strength crossfades between that dry path and the backend over ``crossfade_ms``.
* Non-finite samples are replaced by 0 and the input is clipped to +-``input_limit`` before the backend sees it,
  so one bad block cannot poison a recurrent model's state.
"""

from __future__ import annotations

import math

import numpy as np

from hearing_assist.denoise.backend import DenoiseBackend
from hearing_assist.denoise.streaming import DelayLine

MAX_STRENGTH_DB = 100.0


class Denoiser:
    """Block processor wrapping a :class:`DenoiseBackend` (prepare / process / reset life cycle)."""

    def __init__(self, backend: DenoiseBackend, strength_db: float = 12.0, snr_time_constant_s: float = 0.5,
                 crossfade_ms: float = 10.0, input_limit: float = 8.0):
        self.backend = backend
        self.notice: str | None = None  # set by the factory when it had to substitute a backend
        self.snr_time_constant_s = snr_time_constant_s
        self.crossfade_ms = crossfade_ms
        self.input_limit = input_limit
        self._requested = self._check_strength(strength_db)
        self._applied = -1.0  # forces the first block to configure the backend
        self._mix = 1.0 if self._requested > 0 else 0.0
        self._target = self._mix
        self._snr = math.nan
        self.sample_rate = self.block_size = self.channels = 0

    @property
    def name(self) -> str:
        """Backend id."""
        return self.backend.name

    @property
    def latency_samples(self) -> int:
        """Fixed output delay in samples at the stream rate (valid after ``prepare``)."""
        return self.backend.latency_samples

    @property
    def realtime_safe(self) -> bool:
        """False for backends that run whole chunks inside ``process`` (SpeechBrain): use them offline."""
        return bool(getattr(self.backend, "realtime_safe", True))

    @property
    def strength_db(self) -> float:
        """The requested maximum attenuation in dB (0 = off)."""
        return self._requested

    @property
    def snr_db(self) -> float:
        """Smoothed speech-to-noise estimate in dB for display (NaN until the backend reports one)."""
        return self._snr

    @staticmethod
    def _check_strength(db: float) -> float:
        db = float(db)
        if not math.isfinite(db) or db < 0:
            raise ValueError(f"strength must be a finite attenuation in dB >= 0, got {db}")
        return min(db, MAX_STRENGTH_DB)

    def set_strength(self, db: float) -> None:
        """Set the maximum attenuation in dB (0 = off, capped at 100); thread-safe, applied at the next block."""
        self._requested = self._check_strength(db)

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Prepare the backend and the dry path for ``sample_rate`` Hz, ``block_size`` frames, ``channels``."""
        if block_size <= 0 or channels <= 0:
            raise ValueError(f"block_size and channels must be positive, got {block_size}, {channels}")
        self.backend.prepare(sample_rate, block_size, channels)
        self.sample_rate, self.block_size, self.channels = int(sample_rate), int(block_size), int(channels)
        self._dry = DelayLine(self.backend.latency_samples, block_size, channels)
        self._dry_out = np.zeros((block_size, channels), dtype=np.float32)
        self._bad = np.zeros((block_size, channels), dtype=bool)
        self._ramp = np.zeros(block_size, dtype=np.float32)
        self._steps = np.arange(1, block_size + 1, dtype=np.float32)
        self._fade_step = 1.0 / max(1, round(sample_rate * self.crossfade_ms / 1000))
        self._applied = -1.0
        self._mix = self._target = 1.0 if self._requested > 0 else 0.0
        self._snr = math.nan

    def reset(self) -> None:
        """Clear backend and dry-path state."""
        self.backend.reset()
        self._dry.reset()
        self._mix = self._target
        self._snr = math.nan

    def _sanitise(self, block: np.ndarray) -> None:
        # The sum is NaN/inf exactly when a sample is; checking it first keeps clean blocks cheap.
        with np.errstate(invalid="ignore", over="ignore"):
            total = float(np.add.reduce(block, axis=None))
        if not math.isfinite(total):
            bad = self._bad[: block.shape[0]]
            np.isfinite(block, out=bad)
            np.logical_not(bad, out=bad)
            np.copyto(block, 0.0, where=bad)
        np.clip(block, -self.input_limit, self.input_limit, out=block)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Denoise one ``(frames, channels)`` float32 block in place; output is delayed by ``latency_samples``."""
        n = block.shape[0]
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"expected a (frames, {self.channels}) block, got shape {block.shape}")
        if n > self.block_size:
            raise ValueError(f"block of {n} frames exceeds the prepared block size {self.block_size}")
        if n == 0:
            return block
        req = self._requested
        if req != self._applied:
            if req > 0:
                self.backend.set_attenuation_limit(req)
            self._applied = req
            self._target = 1.0 if req > 0 else 0.0
        self._sanitise(block)
        dry = self._dry.process(block, self._dry_out[:n])
        wet = self.backend.process(block)
        if wet is not block:
            block[:] = wet
        mix, target = self._mix, self._target
        if mix != target:
            ramp = self._ramp[:n]
            np.multiply(self._steps[:n], self._fade_step if target > mix else -self._fade_step, out=ramp)
            ramp += mix
            np.clip(ramp, 0.0, 1.0, out=ramp)
            block -= dry
            block *= ramp[:, None]
            block += dry
            self._mix = float(ramp[-1])
        elif mix == 0.0:
            block[:] = dry
        s = self.backend.snr_db
        if s == s:  # not NaN
            a = 1.0 - math.exp(-n / (self.sample_rate * self.snr_time_constant_s))
            self._snr = s if self._snr != self._snr else self._snr + a * (s - self._snr)
        return block
