"""Helpers for the denoising tests: block-wise processing and synthetic noise."""

from __future__ import annotations

import numpy as np

SENTENCE = "The quick brown fox jumps over the lazy dog while the children play in the garden near the river."


def run_blocks(proc, x: np.ndarray, block: int | list[int]) -> np.ndarray:
    """Feed mono or (frames, channels) ``x`` through a prepared processor in blocks; returns the output."""
    y = np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32).copy()
    sizes = block if isinstance(block, list) else [block]
    pos, i = 0, 0
    while pos < len(y):
        n = sizes[i % len(sizes)]
        seg = y[pos : pos + n]
        out = proc.process(seg)
        if out is not seg:
            seg[:] = out
        pos += n
        i += 1
    return y[:, 0] if x.ndim == 1 else y


def pink_noise(n: int, seed: int = 0) -> np.ndarray:
    """1/f noise, unit RMS."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec))
    spec[1:] /= np.sqrt(f[1:])
    x = np.fft.irfft(spec, n)
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)
