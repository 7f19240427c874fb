"""Objective quality measures used by the tests and the benchmark (pure functions)."""

from __future__ import annotations

import numpy as np


def si_sdr_db(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio of ``estimate`` against ``reference`` in dB (equal lengths)."""
    s = np.asarray(reference, dtype=np.float64)
    e = np.asarray(estimate, dtype=np.float64)
    if s.shape != e.shape:
        raise ValueError(f"estimate and reference differ in shape: {e.shape} vs {s.shape}")
    s = s - s.mean()
    e = e - e.mean()
    target = (e @ s) / (s @ s + 1e-20) * s
    noise = e - target
    return float(10 * np.log10((target @ target + 1e-20) / (noise @ noise + 1e-20)))


def align(output: np.ndarray, delay: int, length: int) -> np.ndarray:
    """The part of a delayed stream ``output`` that lines up with input samples ``0..length-1`` (zero-padded)."""
    out = np.zeros(length, dtype=np.float32)
    seg = output[delay : delay + length]
    out[: len(seg)] = seg
    return out
