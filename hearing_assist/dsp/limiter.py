"""Broadband MPO (maximum power output) limiter: look-ahead peak limiter plus a final hard clip at the ceiling.

Guarantee: no output sample exceeds ``ceiling`` (linear peak) for any input. The smooth limiter makes that
almost always true by itself; the final clip makes it unconditional (float rounding, NaN-free inputs).

Algorithm per channel, with look-ahead ``D`` samples, on the stream's grid of ``SUB``-sample sub-blocks (16
samples, 0.33 ms at 48 kHz), so that most of the per-block work is on ~10 rows instead of every sample: ~15 numpy
calls instead of ~25, a third less time (this is what the chain pays while the limiter acts, e.g. all the time in
a loud place):

* peak of |x| per sub-block, over a history buffer holding the samples before this block and this block;
* hold: each sample's gain reduction is that of the largest peak among the sub-blocks touching its last ``D + 1``
  samples (a hold of ``D + 1`` to ``D + 2 SUB - 1`` samples: longer than needed, never shorter, so never less
  reduction than required): ``ln(max(1, peak / ceiling))`` per sub-block;
* release: linear in dB, ``r(j) = max(hold(j), r(j-1) - rate)`` per sub-block (0.11 dB steps at the default 60 ms
  per 20 dB), closed form with a running minimum;
* smoothing: the linear gain is averaged over ``D + 1`` samples (a box filter, one small matrix product) and
  applied to the input delayed by ``D`` samples, so the gain ramps down over the look-ahead instead of jumping.
  Every sample's hold gain covers all of the ``D + 1`` samples behind it, so each average is at most the gain
  required at the delayed sample: the limiter alone already meets the ceiling;
* hard clip at ``ceiling``.

The look-ahead (default 1 ms, at most 2 ms) is part of the chain's algorithmic delay. Blocks of any length up to
the prepared size give the same output (to float rounding): the grid is the stream's, not the block's; a sub-block
a block leaves unfinished gets a provisional gain from the samples it has, recomputed when it is finished.

Cost: a limiter is idle almost all the time (the MPO sits above normal output), so when no gain reduction is in
the delay line and the new block's peak is under the ceiling, the block is only delayed and clipped (a handful of
copies). Audio is time-major (frames, channels).
"""

from __future__ import annotations

import math

import numpy as np

MAX_LOOKAHEAD_MS = 2.0
SUB = 16  # samples per sub-block of the gain computation
NEPER_PER_DB = math.log(10.0) / 20.0  # a Python float: numpy float64 scalars force a casting buffer


def _window_max_plan(width: int) -> list[tuple[int, int]]:
    """Steps for :func:`_window_max`: (source level, row offset) pairs whose maxima cover ``width`` rows.

    Level -1 is the source; level k holds maxima over 2^(k+1) rows (by doubling).
    """
    levels = int(math.floor(math.log2(width)))
    plan, covered = [(levels - 1, 0)], 1 << levels
    for k in range(levels - 2, -2, -1):  # the remaining width - 2^levels rows, with smaller spans
        if covered + (1 << (k + 1)) <= width:
            plan.append((k, covered))
            covered += 1 << (k + 1)
    return plan


def _window_max(src: np.ndarray, levels: np.ndarray, plan: list[tuple[int, int]], out: np.ndarray) -> None:
    """out[j] = max(src[j : j + width]) along axis 0 for the len(out) windows (``plan`` from
    :func:`_window_max_plan`); ``levels`` is scratch of >= floor(log2(width)) rows of src's shape."""
    prev, span, length = src, 1, len(src)
    for k in range(plan[0][0] + 1):
        length -= span
        np.maximum(prev[:length], prev[span:span + length], out=levels[k, :length])
        prev, span = levels[k], span * 2
    n = len(out)
    if len(plan) == 1:
        out[...] = prev[:n]
        return
    k, off = plan[1]
    np.maximum(prev[:n], (levels[k] if k >= 0 else src)[off:off + n], out=out)
    for k, off in plan[2:]:
        np.maximum(out, (levels[k] if k >= 0 else src)[off:off + n], out=out)


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
        self._m = 0

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Allocate delay lines for ``channels`` channels and blocks up to ``block_size`` frames."""
        self.sample_rate, self.block_size, self.channels = sample_rate, block_size, channels
        self.delay = max(1, int(round(self.lookahead_ms * 1e-3 * sample_rate)))
        D, n = self.delay, block_size
        f32 = np.float32
        self._hold_subs = -(-D // SUB)  # earlier sub-blocks that a sample's last D + 1 samples can reach into
        # History kept in front of each block: K samples (whole sub-blocks, a sample's look-back plus the
        # sub-block being finished) plus the grid phase, so the buffer always starts on the sub-block grid of the
        # stream and blocks of any length give the same gains (see _limit).
        self._keep = (self._hold_subs + 1) * SUB
        rows = -(-(self._keep + SUB - 1 + n) // SUB) * SUB
        # one buffer for input, |input| and per-sample hold gain, so moving the history forward is one copy
        self._hist = np.zeros((3, rows, channels), f32)
        self._hist[2] = 1.0
        self._xbuf, self._abuf, self._hbuf = self._hist
        subs = rows // SUB
        self._starts = np.arange(0, rows, SUB)  # first row of each sub-block
        self._peaks = np.zeros((subs, channels), f32)
        self._plan = _window_max_plan(self._hold_subs + 1)
        self._levels = np.zeros((max(1, self._plan[0][0] + 1), subs, channels), f32)
        # per sub-block ln gain (<= 0), then the linear gain; row 0 holds the release state: the ln gain of the
        # last finished sub-block before this block's
        self._q = np.zeros((subs + 1, channels), f32)
        # release: 20 dB recovered in release_ms, as ln-amplitude per sub-block
        rate = 20.0 * NEPER_PER_DB * SUB / (self.release_ms * 1e-3 * sample_rate)
        self._ramp = (rate * np.arange(0, subs + 1, dtype=float)).astype(f32)[:, None]
        self._neg_ramp = -self._ramp
        # the box average over D + 1 samples, as a matrix
        k, i = np.arange(D + n)[None, :], np.arange(n)[:, None]
        self._box = (((k >= i) & (k <= i + D)) / (D + 1)).astype(f32)  # (n, D + n)
        self._gain = np.zeros((n, channels), f32)
        self.ceiling = np.zeros(channels)
        self._c32 = np.zeros(channels, f32)
        self._neg_c32 = np.zeros(channels, f32)
        self._inv_c32 = np.zeros(channels, f32)
        self.set_ceiling(self._ceiling_init)
        self.reset()

    @property
    def gain_reduction_db(self) -> np.ndarray:
        """Largest gain reduction (dB, >= 0) per channel during the last block.

        Computed when asked (a meter reads it a few times a second; the audio thread need not pay for it)."""
        if not self._m:
            return np.zeros(self.channels)
        return -20.0 * np.log10(np.minimum(self._q[1:self._m + 1].min(axis=0), 1.0).astype(float))

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
        self._q.fill(0.0)
        self._idle = True  # no gain reduction anywhere in the delay line
        self._m = 0  # sub-blocks the last block computed (0: idle)
        self._front = self._keep  # history rows in front of the next block (keep + the stream's grid phase)

    def process(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Limit ``x`` (frames, channels) into ``out`` (frames, channels; may be ``x``); returns ``out``."""
        n = x.shape[0]
        P, D = self._front, self.delay
        hist = self._hist
        np.abs(x, out=self._abuf[P:P + n])
        self._xbuf[P:P + n] = x
        if self._idle and self._abuf[P:P + n].max() <= self._c_min:  # NaN fails the test: the full path
            self._hbuf[P:P + n] = 1.0
            out[...] = self._xbuf[P - D:P - D + n]
            self._m = 0
        else:
            self._limit(n, out)
        # move the history forward, keeping the buffer's first row on the stream's sub-block grid
        nxt = self._keep + (P + n - self._keep) % SUB
        hist[:, :nxt] = hist[:, P + n - nxt:P + n]
        self._front = nxt
        self._idle = bool(self._hbuf[nxt - D:nxt].min() == 1.0)  # no reduction left: the idle path may follow
        np.minimum(out, self._c32, out=out)  # the unconditional ceiling (np.clip costs several us more)
        np.maximum(out, self._neg_c32, out=out)
        return out

    def _limit(self, n: int, out: np.ndarray) -> None:
        """The full look-ahead limiter for the block in rows [front, front + n) of the history; no final clip.

        Sub-block j covers buffer rows [j SUB, (j + 1) SUB). This block's samples, and those of a sub-block the
        last block left unfinished, lie in sub-blocks [first, subs); their hold gains are (re)computed from
        the peaks of sub-blocks [first - L, subs), the release starting from the last finished sub-block.
        An unfinished last sub-block gets a provisional gain from the samples it has so far.
        """
        P, D, L = self._front, self.delay, self._hold_subs
        ab, hb = self._abuf, self._hbuf
        end = P + n
        first, done, subs = P // SUB, end // SUB, -(-end // SUB)  # done: sub-blocks finished by this block
        if subs > done:
            ab[end:subs * SUB] = 0.0  # the unfinished sub-block's missing samples
        lo = first - L
        peaks = self._peaks[:subs - lo]
        np.maximum.reduceat(ab[:subs * SUB], self._starts[lo:subs], axis=0, out=peaks)
        # required ln gain -ln(max(1, held peak / ceiling)) per sub-block; release: g(j) = min(gh(j),
        # g(j-1) + rate), i.e. g = min.accumulate(gh - rate j, starting from the state in row 0) + rate j
        m = subs - first
        q = self._q[1:m + 1]
        _window_max(peaks, self._levels, self._plan, q)
        q *= self._inv_c32
        np.maximum(q, 1.0, out=q)
        np.log(q, out=q)
        np.subtract(self._neg_ramp[1:m + 1], q, out=q)
        g = self._q[:m + 1]
        np.minimum.accumulate(g, axis=0, out=g)
        g += self._ramp[:m + 1]
        if done > first:
            self._q[0] = g[done - first]
        self._m = m
        np.exp(q, out=q)
        # each sample's hold gain is its sub-block's (written up to the sub-block's end: the rows past this block
        # are recomputed with the next one)
        hb[first * SUB:subs * SUB].reshape(m, SUB, self.channels)[...] = q[:, None, :]
        gain = self._gain[:n]
        np.matmul(self._box[:n, :D + n], hb[P - D:end], out=gain)
        np.multiply(self._xbuf[P - D:P - D + n], gain, out=out)
