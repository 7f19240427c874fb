"""Minimum-delay crossover filterbank: Linkwitz-Riley 4th-order tree with allpass phase compensation.

Why this design (chosen by measurement, see tests/dsp/test_filterbank.py and the amplification benchmark):

* A linear-phase FIR bank that resolves a 125 Hz band needs several thousand taps at 48 kHz, i.e. tens of ms of
  delay; a WOLA/FFT bank has a delay of at least its window. Both break the 3 ms budget.
* A Linkwitz-Riley (LR4 = squared 2nd-order Butterworth) crossover is magnitude-complementary: LP + HP is a
  2nd-order allpass with the same poles. Splitting top-down (highest crossover first) and running the already
  finished higher bands through each lower crossover's allpass makes every band see the same total phase, so the
  sum of the bands is one allpass: flat to numerical precision (measured < 0.01 dB), with the minimum group delay
  an IIR crossover tree can have. Measured: 2.6 ms at 500 Hz, 1.5 ms at 1 kHz, < 1 ms above 2 kHz, 4.5-5.8 ms at 125-250 Hz
  (see :func:`group_delay_ms`).

How it runs (why not the tree itself): the tree is ``2 (bands - 1)`` sequential IIR kernel calls per block, and at
128-sample blocks the per-call overhead dominates. But the whole bank is one LTI system with a single input, and
every band's denominator divides the product of the squared Butterworth denominators, so its minimal order is only
``4 (bands - 1)`` (28 for 8 bands) whatever the allpass bookkeeping. :func:`minimal_realisation` takes the state
of the lowpass cascade (well-conditioned: cascaded biquad states) as that state and fits each band's output map to
its exact impulse response. A block of frames is then three small matrix products (:class:`CrossoverBank`):

1. states at the start of every ``SUB``-sample sub-block from the block's initial state and input;
2. every band's output within each sub-block from its start state and the sub-block's input (a short Toeplitz);
3. the state after the block.

Results are laid out time-major, ``(frames, bands, channels)`` (sub-block by sub-block), so the compressor's
reductions over time and over bands are small matrix products on contiguous 2-D views and the band sum is already
``(frames, channels)``: no transposes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal

DEFAULT_CENTRES_HZ = (125.0, 250.0, 500.0, 1000.0, 2000.0, 3000.0, 4000.0, 6000.0)
SUB = 16  # samples per sub-block: the bank's output grid and the compressor's detector step
FIT_SAMPLES = 2048  # impulse-response length for the fit: the slowest pole (radius 0.984) decays by > 280 dB


def crossover_edges(centres_hz) -> np.ndarray:
    """Crossover frequencies (Hz): geometric means of adjacent band centres (Hz)."""
    c = np.asarray(centres_hz, float)
    if c.ndim != 1 or len(c) < 2 or np.any(np.diff(c) <= 0):
        raise ValueError(f"band centres must be >= 2 increasing frequencies in Hz, got {centres_hz}")
    return np.sqrt(c[:-1] * c[1:])


def lr4_sections(fc_hz: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(LR4 lowpass as 2 biquads, matching 2nd-order allpass as 1 biquad) for crossover ``fc_hz`` at ``fs_hz`` Hz."""
    bw = signal.butter(2, fc_hz, btype="low", fs=fs_hz, output="sos")[0]
    lp = np.vstack([bw, bw])
    a = bw[3:]
    ap = np.array([[a[2], a[1], a[0], a[0], a[1], a[2]]]) / a[0]  # numerator = reversed denominator
    return np.ascontiguousarray(lp), np.ascontiguousarray(ap)


def tree_split(x: np.ndarray, edges_hz, fs_hz: float) -> np.ndarray:
    """Reference (offline, float64) LR4 tree: bands (bands, len(x)) of mono ``x`` from zero state."""
    nb = len(edges_hz) + 1
    out = np.zeros((nb, len(x)))
    s = np.asarray(x, float)
    for k in range(nb - 2, -1, -1):
        lp, ap = lr4_sections(edges_hz[k], fs_hz)
        low = signal.sosfilt(lp, s)
        out[k + 1] = signal.sosfilt(ap, s) - low  # HP = AP - LP
        out[k + 2:] = signal.sosfilt(ap, out[k + 2:], axis=1)  # phase-compensate the finished higher bands
        s = low
    out[0] = s
    return out


def _lp_cascade_state_space(edges_hz, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of the cascade of every crossover's LR4 lowpass; state = the biquads' transposed-DF-II memories."""
    sos = np.vstack([lr4_sections(fc, fs_hz)[0] for fc in edges_hz[::-1]])
    ns = 2 * len(sos)

    def step(z: np.ndarray, u: float) -> np.ndarray:
        z = z.copy()
        for i, (b0, b1, b2, _, a1, a2) in enumerate(sos):
            y = b0 * u + z[2 * i]
            z[2 * i], z[2 * i + 1] = b1 * u - a1 * y + z[2 * i + 1], b2 * u - a2 * y
            u = y
        return z

    A = np.column_stack([step(e, 0.0) for e in np.eye(ns)])
    return A, step(np.zeros(ns), 1.0)


@lru_cache(maxsize=8)
def _cached_block_matrices(edges_hz: tuple, fs_hz: float, sub: int, n_sub: int):
    """float32 block matrices for the bank (cached: prepare() runs often in tests and live device changes)."""
    A, B, C, D = minimal_realisation(np.asarray(edges_hz), fs_hz)
    return tuple(m.astype(np.float32) for m in block_matrices(A, B, C, D, sub, n_sub))


def minimal_realisation(edges_hz, fs_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(A, B, C, D) with x[n+1] = A x[n] + B u[n], y[n] = C x[n] + D u[n] for all bands of the LR4 tree.

    Raises RuntimeError if the fitted output map does not reproduce the tree's impulse responses to -100 dB.
    """
    A, B = _lp_cascade_state_space(edges_hz, fs_hz)
    n = FIT_SAMPLES
    # scale each state to unit RMS under a white input (controllability Gramian diagonal), so float32 products
    # of large and small states do not cancel
    X = np.empty((n, len(B)))
    X[0] = B
    for m in range(1, n):
        X[m] = A @ X[m - 1]
    s = np.sqrt(np.sum(X * X, axis=0))
    A, B = A * (s[None, :] / s[:, None]), B / s
    imp = np.zeros(n)
    imp[0] = 1.0
    h = tree_split(imp, edges_hz, fs_hz)  # (bands, n)
    X = np.vstack([np.zeros(len(B)), X[:-1] / s])  # state after an impulse: X[m] = A^(m-1) B, X[0] = 0
    # flush subnormals: they make LAPACK's least squares 1000x slower and carry no information
    X[np.abs(X) < 1e-150] = 0.0
    h[np.abs(h) < 1e-150] = 0.0
    D = h[:, 0].copy()
    C = np.linalg.lstsq(X[1:], h[:, 1:].T, rcond=None)[0].T
    err = np.max(np.abs(X[1:] @ C.T - h[:, 1:].T)) / np.max(np.abs(h))
    if not err < 1e-5:
        raise RuntimeError(f"crossover bank state-space fit failed (max error {err:.2g} of peak)")
    return A, B, C, D


def block_matrices(A, B, C, D, sub: int, n_sub: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, outputs, ends): the block form of (A, B, C, D) for ``n_sub`` sub-blocks of ``sub`` samples.

    With z = [state; input (n_sub * sub)]: ``starts[k] @ z`` is the state at the start of sub-block k;
    ``outputs @ [state_k; input_k]`` gives every band's ``sub`` outputs in sub-block k (rows time-major: t, band);
    ``ends[m] @ z`` is the state after the first m input samples (m = 0 .. n_sub * sub).
    """
    ns, nb, cap = len(B), len(C), sub * n_sub
    Ap = [np.eye(ns)]
    for _ in range(cap):
        Ap.append(A @ Ap[-1])
    AB = np.stack([a @ B for a in Ap])  # AB[j] = A^j B
    ends = np.zeros((cap + 1, ns, ns + cap))
    ends[:, :, :ns] = np.stack(Ap)
    lag = np.arange(cap + 1)[:, None] - 1 - np.arange(cap)[None, :]  # input sample i reaches step m after lag steps
    ends[:, :, ns:] = np.where(lag[:, None, :] >= 0, AB[np.maximum(lag, 0)].transpose(0, 2, 1), 0.0)
    starts = ends[::sub][:n_sub].copy()
    outputs = np.zeros((sub, nb, ns + sub))
    for t in range(sub):
        outputs[t, :, :ns] = C @ Ap[t]
        for i in range(t):
            outputs[t, :, ns + i] = C @ AB[t - 1 - i]
        outputs[t, :, ns + t] = D
    return starts, outputs.reshape(sub * nb, ns + sub), ends


class CrossoverBank:
    """Splits (frames, channels) audio into band signals that sum to an allpass; float32, allocation-free."""

    def __init__(self, centres_hz=DEFAULT_CENTRES_HZ):
        self.centres_hz = np.asarray(centres_hz, float)
        self.edges_hz = crossover_edges(self.centres_hz)
        self.n_bands = len(self.centres_hz)
        self.sample_rate = 0
        self.channels = 0
        self.block_size = 0

    def prepare(self, sample_rate: int, block_size: int, channels: int) -> None:
        """Design the crossovers for ``sample_rate`` Hz and allocate state for blocks up to ``block_size`` frames."""
        if self.edges_hz[-1] >= sample_rate / 2:
            raise ValueError(f"crossover {self.edges_hz[-1]:.0f} Hz is above Nyquist at {sample_rate} Hz")
        self.sample_rate, self.block_size, self.channels = sample_rate, block_size, channels
        self.n_sub = -(-block_size // SUB)  # capacity rounded up to whole sub-blocks; the tail is zero-padded
        self.capacity = self.n_sub * SUB
        self._starts, self._outputs, self._ends = _cached_block_matrices(
            tuple(self.edges_hz), float(sample_rate), SUB, self.n_sub)
        self.n_states = ns = self._starts.shape[1]
        f32 = np.float32
        self._z = np.zeros((ns + self.capacity, channels), f32)  # [state; input]
        self._v = np.zeros((self.n_sub, ns + SUB, channels), f32)  # per sub-block [start state; input]
        self._state = np.zeros((ns, channels), f32)
        self._y = np.zeros((self.n_sub, self.n_bands * SUB, channels), f32)
        self._v_state = self._v[:, :ns, :]
        self._v_input = self._v[:, ns:, :]
        self._z_input = self._z[ns:].reshape(self.n_sub, SUB, channels)

    def reset(self) -> None:
        """Clear all filter memories."""
        self._z[:self.n_states] = 0.0

    def split_blocks(self, x: np.ndarray) -> np.ndarray:
        """Bands of ``x`` (frames, channels) as a view (capacity, bands, channels) of an internal buffer.

        Rows past ``frames`` are the response to zero input (ignore them).
        """
        frames = x.shape[0]
        ns = self.n_states
        z = self._z
        z[ns:ns + frames] = x
        if frames < self.capacity:  # partial block: the padding must be silence
            z[ns + frames:] = 0.0
        self._v_input[...] = self._z_input
        np.matmul(self._starts, z, out=self._v_state)
        np.matmul(self._ends[frames], z, out=self._state)
        z[:ns] = self._state
        np.matmul(self._outputs, self._v, out=self._y)
        return self._y.reshape(self.capacity, self.n_bands, self.channels)

    def split(self, x: np.ndarray) -> np.ndarray:
        """Band signals (bands, channels, frames) for ``x`` (channels, frames); a new array (analysis and tests)."""
        frames = x.shape[1]
        y = self.split_blocks(np.ascontiguousarray(x.T, dtype=np.float32))
        return y[:frames].transpose(1, 2, 0).copy()

    # ---- offline analysis (not real-time) -----------------------------------------------------------
    def band_responses(self, freqs_hz, sample_rate: int | None = None) -> np.ndarray:
        """Complex response of each band (bands, len(freqs_hz)) at ``freqs_hz`` (Hz)."""
        fs = sample_rate or self.sample_rate or 48000
        f = np.asarray(freqs_hz, float)
        lp_ap = [lr4_sections(fc, fs) for fc in self.edges_hz]
        lp = [signal.sosfreqz(l, worN=f, fs=fs)[1] for l, _ in lp_ap]
        ap = [signal.sosfreqz(a, worN=f, fs=fs)[1] for _, a in lp_ap]
        nb = self.n_bands
        out = np.empty((nb, len(f)), complex)
        chain = np.ones(len(f), complex)  # product of LPs from the top crossover down to the current s
        for k in range(nb - 2, -1, -1):
            out[k + 1] = chain * (ap[k] - lp[k])
            for j in range(k + 2, nb):  # higher bands get this crossover's allpass
                out[j] *= ap[k]
            chain = chain * lp[k]
        out[0] = chain
        return out

    def response(self, freqs_hz, gains_db=None, sample_rate: int | None = None) -> np.ndarray:
        """Complex response of the bank summed with per-band ``gains_db`` (dB; default 0) at ``freqs_hz`` (Hz)."""
        h = self.band_responses(freqs_hz, sample_rate)
        g = np.ones(self.n_bands) if gains_db is None else 10 ** (np.asarray(gains_db, float) / 20)
        return g @ h


def group_delay_ms(bank: CrossoverBank, freqs_hz, sample_rate: int = 48000) -> np.ndarray:
    """Group delay (ms) of the summed bank with equal gains at ``freqs_hz`` (Hz)."""
    f = np.asarray(freqs_hz, float)
    df = f * 1e-4
    ph_hi = np.unwrap(np.angle(bank.response(f + df, sample_rate=sample_rate)))
    ph_lo = np.unwrap(np.angle(bank.response(f - df, sample_rate=sample_rate)))
    dphi = np.angle(np.exp(1j * (ph_hi - ph_lo)))
    return -dphi / (2 * np.pi * 2 * df) * 1e3
