"""Streaming building blocks: re-blocking into fixed hops, a dry delay line and a stateful polyphase resampler.

All three allocate in ``__init__`` and only copy into preallocated buffers afterwards, so they can run in the
audio callback.
"""

from __future__ import annotations

from math import gcd
from typing import Callable

import numpy as np
from scipy.signal import firwin

FrameFn = Callable[[int, np.ndarray, np.ndarray], None]
"""``frame_fn(channel, hop_in, hop_out)`` processes one hop of one channel into ``hop_out``."""


class Reblocker:
    """Turns blocks of any size into fixed hops of ``hop`` frames with a fixed delay of ``hop - 1`` samples.

    Why ``hop - 1``: a hop is processed when its last sample arrives, and the output for stream time ``t`` needs
    processed sample ``t - (hop - 1)``, which is always available at that moment whatever the block sizes are. The
    output therefore does not depend on how the stream is cut into blocks.
    """

    def __init__(self, hop: int, channels: int, frame_fn: FrameFn):
        if hop <= 0 or channels <= 0:
            raise ValueError(f"hop and channels must be positive, got {hop}, {channels}")
        self.hop = hop
        self.channels = channels
        self.frame_fn = frame_fn
        self.delay_samples = hop - 1
        self._in = np.zeros((channels, hop), dtype=np.float32)
        self._out = np.zeros((channels, hop), dtype=np.float32)
        self._fill = 0

    def reset(self) -> None:
        """Forget buffered input and output."""
        self._in.fill(0.0)
        self._out.fill(0.0)
        self._fill = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Push ``(frames, channels)`` samples through; writes the delayed output into ``block`` in place."""
        n = block.shape[0]
        hop = self.hop
        pos = 0
        while pos < n:
            fill = self._fill
            take = min(hop - fill, n - pos)
            seg = block[pos : pos + take]
            self._in[:, fill : fill + take] = seg.T
            if fill + take == hop:
                # Positions fill..hop-2 come from the previous hop; the last one from the hop just completed.
                seg[: take - 1] = self._out[:, fill + 1 : hop].T
                for ch in range(self.channels):
                    self.frame_fn(ch, self._in[ch], self._out[ch])
                seg[take - 1] = self._out[:, 0]
                self._fill = 0
            else:
                seg[:] = self._out[:, fill + 1 : fill + take + 1].T
                self._fill = fill + take
            pos += take
        return block


class DelayLine:
    """Delays ``(frames, channels)`` blocks by a fixed number of samples (the dry path matching a backend)."""

    def __init__(self, delay: int, max_block: int, channels: int):
        if delay < 0:
            raise ValueError(f"delay must be >= 0 samples, got {delay}")
        self.delay = delay
        self._size = delay + max_block
        self._buf = np.zeros((self._size, channels), dtype=np.float32)
        self._w = 0  # write index; the read index is w - delay

    def reset(self) -> None:
        """Fill the line with silence."""
        self._buf.fill(0.0)
        self._w = 0

    def process(self, block: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write ``block`` and read the same number of frames ``delay`` samples old into ``out``."""
        n = block.shape[0]
        size = self._size
        w = self._w
        first = min(n, size - w)
        self._buf[w : w + first] = block[:first]
        self._buf[: n - first] = block[first:]
        r = (w - self.delay) % size
        first = min(n, size - r)
        out[:first] = self._buf[r : r + first]
        out[first:n] = self._buf[: n - first]
        self._w = (w + n) % size
        return out


def design_lowpass(taps: int, up: int, down: int) -> np.ndarray:
    """Kaiser-windowed anti-alias/anti-image low-pass for an ``up``/``down`` resampler (cut-off 0.9 of the lower
    Nyquist rate)."""
    cutoff = 0.9 / max(up, down)
    return firwin(taps, cutoff, window=("kaiser", 8.0)).astype(np.float64)


class StreamingResampler:
    """Polyphase rational resampler by ``up/down`` that carries its input history between chunks.

    Chunks must be ``chunk_in`` samples long with ``chunk_in * up / down`` an integer, so every chunk uses the same
    phase pattern (precomputed gather indices and coefficients; nothing is allocated per chunk). The group delay
    is ``(len(h) - 1) / 2`` samples at the intermediate rate ``up * rate_in``.
    """

    def __init__(self, up: int, down: int, h: np.ndarray, chunk_in: int):
        g = gcd(up, down)
        up, down = up // g, down // g
        if (chunk_in * up) % down:
            raise ValueError(f"chunk of {chunk_in} samples does not map to a whole number of output samples")
        self.up, self.down, self.chunk_in = up, down, chunk_in
        self.chunk_out = chunk_in * up // down
        nf = len(h)
        taps = -(-nf // up)  # input samples touched per output sample (ceil)
        self._hist = taps
        j = np.arange(self.chunk_out)[:, None]
        t = j * down  # output time at the intermediate rate, relative to the chunk start
        i = t // up - np.arange(taps)[None, :]  # contributing input indices (negative = history)
        k = t - i * up  # filter tap for each contribution
        valid = (k >= 0) & (k < nf)
        self._coef = np.where(valid, h[np.clip(k, 0, nf - 1)] * up, 0.0).astype(np.float32)
        self._idx = (i + taps).astype(np.intp)
        self._buf = np.zeros(taps + chunk_in, dtype=np.float32)
        self._gather = np.zeros((self.chunk_out, taps), dtype=np.float32)

    def reset(self) -> None:
        """Clear the input history."""
        self._buf.fill(0.0)

    def process(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Resample one chunk ``x`` (``chunk_in`` samples) into ``out`` (``chunk_out`` samples)."""
        buf = self._buf
        buf[self._hist :] = x
        np.take(buf, self._idx, out=self._gather, mode="clip")
        np.multiply(self._gather, self._coef, out=self._gather)
        np.sum(self._gather, axis=1, out=out)
        buf[: self._hist] = buf[self.chunk_in :]
        return out
