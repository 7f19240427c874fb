"""Broadband MPO (maximum power output) limiter: look-ahead peak limiter plus a final hard clip at the ceiling.

Guarantee: no output sample exceeds ``ceiling`` (linear peak) for any input. The smooth limiter makes that
almost always true by itself; the final clip makes it unconditional (float rounding, NaN-free inputs).

Algorithm per channel (vectorised over the block, no per-sample Python loop), with look-ahead ``D`` samples:

* required gain reduction ``gr(n) = max(0, 20 log10(|x(n)| / ceiling))`` dB;
* hold: ``max`` of gr over the last ``D + 1`` samples;
* release: ``r(n) = max(hold(n), r(n-1) - rate)`` (linear-in-dB release), closed form with a running maximum;
* smoothing: the linear gain is averaged over ``D + 1`` samples (a box filter, so the gain ramps down over the
  look-ahead instead of jumping) and applied to the input delayed by ``D`` samples. Each averaged value is at
  most the gain required at the delayed sample, so the limiter alone already meets the ceiling;
* hard clip at ``ceiling``.

The look-ahead (default 1 ms, at most 2 ms) is part of the chain's algorithmic delay.

Cost: a limiter is idle almost all the time (the MPO sits above normal output), so when no gain reduction is in
the delay line and the new block's peak is under the ceiling, the block is only delayed and clipped (a handful of
copies). Otherwise the full path runs on preallocated sliding-window views. Audio is time-major (frames, channels).
"""

from __future__ import annotations

import math

import numpy as np

MAX_LOOKAHEAD_MS = 2.0
NEPER_PER_DB = math.log(10.0) / 20.0  # a Python float: numpy float64 scalars force a casting buffer


class PeakLimiter:
    """Look-ahead peak limiter with a hard ceiling (linear full-scale peak), per channel, float32 (frames, channels)."""

    def __init__(self, ceiling: float | np.ndarray = 1.0, lookahead_ms: float = 1.0, release_ms: float = 60.0):
        if not 0.0 < lookahead_ms <= MAX_LOOKAHEAD_MS:
            raise ValueError(f"lookahead_ms must be in (0, {MAX_LOOKAHEAD_MS}] ms, got {lookahead_ms}")
        self.lookahead_ms = float(lookahead_ms)
        self.release_ms = float(release_ms)
        self._ceiling_init = ceiling
        self.delay = 0
        self.channels = 0
        self._q_min = np.zeros(0)

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Allocate delay lines for ``channels`` channels and blocks up to ``block_size`` frames."""
        self.sample_rate, self.block_size, self.channels = sample_rate, block_size, channels
        self.delay = max(1, int(round(self.lookahead_ms * 1e-3 * sample_rate)))
        D, n = self.delay, block_size
        f32 = np.float32
        # release: 20 dB recovered in release_ms, as ln-amplitude per sample
        rate = 20.0 * NEPER_PER_DB / (self.release_ms * 1e-3 * sample_rate)
        # one history buffer for input, peak/ceiling ratio and gain, so keeping the last D samples is one copy:
        # rows [0, D) = the previous samples, [D, D + n) = this block
        self._hist = np.zeros((3, D + n, channels), f32)
        self._hist[2] = 1.0
        self._xbuf, self._ratio, self._hbuf = self._hist
        # sliding maximum over D + 1 samples by doubling: level k holds the max over 2^(k+1) samples from there
        self._levels = int(np.floor(np.log2(D + 1)))
        self._pow2 = np.zeros((max(self._levels, 1), D + n, channels), f32)
        # running sum of the gain over the buffer (float32: sums of <= D + n values in (0, 1], so the box sums
        # below are exact to ~1e-5 and the final clip covers that; float64 would cost a casting pass)
        self._csum = np.zeros((D + n + 1, channels), f32)
        self._q = np.zeros((n, channels), f32)  # ln gain (<= 0)
        self._tmp = np.zeros((n, channels), f32)
        self._ramp = (rate * np.arange(1, n + 1, dtype=float)).astype(f32)[:, None]
        self._neg_ramp = -self._ramp
        self._q_last = np.zeros(channels, f32)
        self._q_min = np.zeros(channels, f32)
        self.ceiling = np.zeros(channels)
        self._c32 = np.zeros(channels, f32)
        self._neg_c32 = np.zeros(channels, f32)
        self._inv_c32 = np.zeros(channels, f32)
        self.set_ceiling(self._ceiling_init)
        self.reset()

    @property
    def gain_reduction_db(self) -> np.ndarray:
        """Largest gain reduction (dB, >= 0) during the last block, over all channels (one value per channel)."""
        return -self._q_min / NEPER_PER_DB

    def set_ceiling(self, ceiling: float | np.ndarray) -> None:
        """New ceiling (linear peak, per channel or scalar); effective from the next block (the clip at once)."""
        c = np.broadcast_to(np.asarray(ceiling, float), (self.channels,)) if self.channels else ceiling
        if np.any(np.asarray(c) <= 0):
            raise ValueError("ceiling must be positive")
        self._ceiling_init = ceiling
        if self.channels:
            self.ceiling[:] = c
            self._c32[:] = c
            self._neg_c32[:] = -self._c32
            self._inv_c32[:] = 1.0 / self._c32
            self._c_min = float(self._c32.min())

    def reset(self) -> None:
        """Clear the delay line and the gain state."""
        self._hist[:2].fill(0.0)
        self._hbuf.fill(1.0)
        self._q_last.fill(0.0)
        self._idle = True  # no gain reduction anywhere in the delay line
        self._q_min.fill(0.0)

    def process(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Limit ``x`` (frames, channels) into ``out`` (frames, channels; may be ``x``); returns ``out``."""
        n = x.shape[0]
        D = self.delay
        xb = self._xbuf
        absx = self._tmp[:n]
        np.abs(x, out=absx)
        if self._idle and absx.max() <= self._c_min:  # NaN fails the test and takes the full path
            xb[D:D + n] = x
            out[...] = xb[:n]
            xb[:D] = xb[n:n + D]  # ratio and gain histories stay 0 / 1 while idle
            self._q_min.fill(0.0)
        else:
            self._limit(absx, x, out)
        np.minimum(out, self._c32, out=out)  # the unconditional ceiling (np.clip costs several us more)
        np.maximum(out, self._neg_c32, out=out)
        return out

    def _sliding_max(self, g: np.ndarray, out: np.ndarray) -> None:
        """out[j] = max(g[j : j + D + 1]) for the len(out) windows of ``g`` (time-major); allocation-free."""
        w = self.delay + 1
        lv = self._pow2
        prev, span, length = g, 1, len(g)
        for k in range(self._levels):  # lv[k][i] = max(g[i : i + 2^(k+1)])
            length -= span
            np.maximum(prev[:length], prev[span:span + length], out=lv[k, :length])
            prev, span = lv[k], span * 2
        n = len(out)
        covered, first = span, True
        for k in range(self._levels - 1, -2, -1):  # cover the remaining w - 2^levels samples with smaller spans
            step = 1 << (k + 1)
            if covered + step <= w:
                src = lv[k] if k >= 0 else g
                np.maximum(prev[:n] if first else out, src[covered:covered + n], out=out)
                covered, first = covered + step, False
        if first:  # w is a power of two
            out[...] = prev[:n]
        if covered != w:  # pragma: no cover - the binary expansion always covers w exactly
            raise AssertionError("sliding max window bookkeeping")

    def _limit(self, absx: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
        """The full look-ahead limiter for one block; ``absx`` is |x|."""
        n = x.shape[0]
        D = self.delay
        xb, ratio, hb = self._xbuf, self._ratio, self._hbuf
        np.multiply(absx, self._inv_c32, out=ratio[D:D + n])
        xb[D:D + n] = x
        # required ln gain q = -ln(max(1, held peak/ceiling)); release: q(m) = min(qh(m), q(m-1) + rate), i.e.
        # q = min.accumulate(min(qh - rate m, q_last)) + rate m
        q = self._q[:n]
        self._sliding_max(ratio[:D + n], q)
        np.maximum(q, 1.0, out=q)
        np.log(q, out=q)
        ramp = self._ramp[:n]
        np.subtract(self._neg_ramp[:n], q, out=q)
        np.minimum(q, self._q_last, out=q)
        np.minimum.accumulate(q, axis=0, out=q)
        q += ramp
        self._q_last[:] = q[n - 1]
        self._q_min.fill(q.min())  # both channels: a reduction over axis 0 costs ~4 us, this ~1 us
        np.exp(q, out=hb[D:D + n])
        # box average of the gain over the look-ahead, applied to the delayed input
        tmp = self._tmp[:n]
        cs = self._csum[:D + n + 1]
        np.cumsum(hb[:D + n], axis=0, out=cs[1:])
        np.subtract(cs[D + 1:], cs[:n], out=tmp)  # box sum over D + 1 samples, cast to float32
        np.multiply(xb[:n], tmp, out=out)
        out *= 1.0 / (D + 1)
        self._hist[:, :D] = self._hist[:, n:n + D]  # keep the last D samples in front for the next block
        self._idle = bool(hb[:D].min() == 1.0)  # all gains back to unity: the next block may take the idle path
