"""Automatic fallback to the light backend when the machine cannot keep up with the primary one.

Each ``process`` call is timed with ``time.perf_counter``; the load (time / block period) is averaged with a
one-pole filter of ``time_constant_s``. When it stays above ``load_limit`` for ``patience_s`` of audio, the light
denoiser starts on the next block, warms up for ``warmup_s`` (its noise estimate converges) while the primary
still feeds the output, then the output crossfades over ``crossfade_ms`` and the primary stops.

Both paths are padded to the larger latency, so the switch does not jump in time. The GUI polls ``switched`` and
``message`` (no event objects: setting one would take a lock in the audio callback).
"""

from __future__ import annotations

import math
import time

import numpy as np

from hearing_assist.denoise.denoiser import Denoiser
from hearing_assist.denoise.streaming import DelayLine

FALLBACK_MESSAGE = "Noise reduction switched to the light backend because this computer could not keep up"

PRIMARY, WARMING, CROSSFADING, LIGHT = "primary", "warming", "crossfading", "light"


class FallbackDenoiser:
    """Runs ``primary`` and switches to ``light`` for good when processing approaches the block period."""

    def __init__(self, primary: Denoiser, light: Denoiser, load_limit: float = 0.8, patience_s: float = 0.5,
                 time_constant_s: float = 0.5, warmup_s: float = 0.3, crossfade_ms: float = 20.0):
        self.primary, self.light = primary, light
        self.load_limit = load_limit
        self.patience_s = patience_s
        self.time_constant_s = time_constant_s
        self.warmup_s = warmup_s
        self.crossfade_ms = crossfade_ms
        self.notice: str | None = primary.notice
        self.state = PRIMARY
        self.switched = False
        self.message: str | None = None
        self.switch_sample = -1  # stream sample at which the light denoiser started
        self.load = 0.0

    @property
    def name(self) -> str:
        """Id of the backend currently feeding the output."""
        return self.light.name if self.state == LIGHT else self.primary.name

    @property
    def latency_samples(self) -> int:
        """Fixed delay in samples, the larger of the two paths (unchanged by a switch)."""
        return self._latency

    @property
    def snr_db(self) -> float:
        """Smoothed SNR estimate in dB from the path that feeds the output."""
        return self.primary.snr_db if self.state in (PRIMARY, WARMING) else self.light.snr_db

    @property
    def strength_db(self) -> float:
        """Requested maximum attenuation in dB."""
        return self.primary.strength_db

    def set_strength(self, db: float) -> None:
        """Set the maximum attenuation in dB on both paths; thread-safe, applied at the next block."""
        self.primary.set_strength(db)
        self.light.set_strength(db)

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Prepare both denoisers and the delay pads that give them the same latency."""
        self.primary.prepare(sample_rate, block_size, channels)
        self.light.prepare(sample_rate, block_size, channels)
        self.sample_rate, self.block_size, self.channels = int(sample_rate), int(block_size), int(channels)
        self._latency = max(self.primary.latency_samples, self.light.latency_samples)
        self._pad_p = DelayLine(self._latency - self.primary.latency_samples, block_size, channels)
        self._pad_l = DelayLine(self._latency - self.light.latency_samples, block_size, channels)
        self._p_out = np.zeros((block_size, channels), dtype=np.float32)
        self._l_out = np.zeros((block_size, channels), dtype=np.float32)
        self._l_in = np.zeros((block_size, channels), dtype=np.float32)
        self._ramp = np.zeros(block_size, dtype=np.float32)
        self._steps = np.arange(1, block_size + 1, dtype=np.float32)
        self._xf_len = max(1, round(sample_rate * self.crossfade_ms / 1000))
        self._warmup_len = round(sample_rate * self.warmup_s)
        self._patience_len = round(sample_rate * self.patience_s)
        self._restart()

    def _restart(self) -> None:
        self.state = PRIMARY
        self.switched = False
        self.message = None
        self.switch_sample = -1
        self.load = 0.0
        self._over = 0
        self._pos = 0
        self._phase_pos = 0

    def reset(self) -> None:
        """Back to the primary path with fresh state."""
        self.primary.reset()
        self.light.reset()
        self._pad_p.reset()
        self._pad_l.reset()
        self._restart()

    def process(self, block: np.ndarray) -> np.ndarray:
        """Denoise one ``(frames, channels)`` block in place, timing it to decide whether to switch."""
        t0 = time.perf_counter()
        n = block.shape[0]
        if n == 0:
            return block
        state = self.state
        if state != PRIMARY:
            self._l_in[:n] = block
        if state != LIGHT:
            self._pad_p.process(self.primary.process(block), self._p_out[:n])
        if state != PRIMARY:
            self._pad_l.process(self.light.process(self._l_in[:n]), self._l_out[:n])
        p, l_ = self._p_out[:n], self._l_out[:n]
        if state == PRIMARY or state == WARMING:
            block[:] = p
            if state == WARMING:
                self._phase_pos += n
                if self._phase_pos >= self._warmup_len:
                    self.state, self._phase_pos = CROSSFADING, 0
        elif state == CROSSFADING:
            ramp = self._ramp[:n]
            np.multiply(self._steps[:n], 1.0 / self._xf_len, out=ramp)
            ramp += self._phase_pos / self._xf_len
            np.clip(ramp, 0.0, 1.0, out=ramp)
            np.subtract(l_, p, out=block)
            block *= ramp[:, None]
            block += p
            self._phase_pos += n
            if self._phase_pos >= self._xf_len:
                self.state = LIGHT
        else:
            block[:] = l_
        self._pos += n
        if state == PRIMARY:
            period = n / self.sample_rate
            a = 1.0 - math.exp(-period / self.time_constant_s)
            self.load += a * ((time.perf_counter() - t0) / period - self.load)
            self._over = self._over + n if self.load > self.load_limit else 0
            if self._over >= self._patience_len:
                self.state, self._phase_pos = WARMING, 0
                self.switch_sample = self._pos
                self.message = FALLBACK_MESSAGE
                self.switched = True
        return block
