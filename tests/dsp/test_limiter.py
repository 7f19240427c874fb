"""The MPO limiter: its smooth gain alone meets the ceiling, releases as set, and any block length sounds the same."""

import numpy as np
import pytest

from hearing_assist.dsp.limiter import PeakLimiter, _window_max, _window_max_plan

CEILING = 0.5


def _bursts(fs: int) -> np.ndarray:
    """Tones at 1 kHz (left) and 300 Hz (right) in bursts 3x to 30x over the ceiling, between quiet parts."""
    t = np.arange(fs) / fs
    env = np.full(fs, 0.5)
    for a, b, level in ((0.1, 0.2, 10.0), (0.4, 0.41, 30.0), (0.6, 0.9, 3.0)):
        env[int(a * fs):int(b * fs)] = level
    return np.stack([CEILING * env * np.sin(2 * np.pi * 1000 * t),
                     0.6 * CEILING * env * np.sin(2 * np.pi * 300 * t)], axis=1).astype(np.float32)


def _limit(x: np.ndarray, fs: int, sizes: list[int]) -> tuple[np.ndarray, int]:
    lim = PeakLimiter(CEILING, lookahead_ms=1.0, release_ms=60.0)
    lim.prepare(fs, 128, 2)
    y = np.empty_like(x)
    i, k = 0, 0
    while i < len(x):
        m = min(sizes[k % len(sizes)], len(x) - i)
        lim.process(x[i:i + m].copy(), y[i:i + m])
        i, k = i + m, k + 1
    return y, lim.delay


@pytest.mark.parametrize("fs", [48000, 44100])  # 44.1 kHz: the look-ahead (44 samples) is not whole sub-blocks
def test_gain_is_smooth_and_alone_meets_the_ceiling(fs):
    x = _bursts(fs)
    y, d = _limit(x, fs, [128])
    assert np.abs(y).max() <= CEILING
    xd = np.concatenate([np.zeros((d, 2), np.float32), x[:-d]])  # the input as the limiter delays it
    sel = np.abs(xd) > 0.02
    gain = np.where(sel, y / np.where(sel, xd, 1.0), np.nan)
    # the gain is a box average over d + 1 samples of values in (0, 1]: it moves by at most 1/(d + 1) per sample.
    # A hard clip doing the limiter's work would jump within every cycle of the tone.
    steps = np.abs(np.diff(gain, axis=0))
    assert np.nanmax(steps) <= 1.0 / (d + 1) + 1e-6
    # and it reduces exactly as much as needed at the loudest burst (30x over: -29.5 dB)
    assert np.nanmin(gain) == pytest.approx(1 / 30, rel=1e-3)
    # release: 20 dB per 60 ms, so the 29.5 dB reduction is still deep 30 ms after the burst and gone by 150 ms
    end = int(0.41 * fs) + d
    assert np.nanmax(gain[end + int(0.03 * fs):end + int(0.032 * fs)]) < 0.3
    assert np.nanmin(gain[end + int(0.15 * fs):int(0.59 * fs)]) > 0.999


@pytest.mark.parametrize("fs", [48000, 44100])
def test_any_block_length_gives_the_same_output(fs):
    x = _bursts(fs)
    fixed, _ = _limit(x, fs, [128])
    odd, _ = _limit(x, fs, [128, 37, 1, 100, 64, 127, 16, 17])
    assert np.abs(odd).max() <= CEILING
    err_db = 10 * np.log10(np.mean((odd - fixed) ** 2) / np.mean(fixed ** 2))
    assert err_db < -60.0, err_db


def test_window_max_matches_the_definition():
    rng = np.random.default_rng(0)
    for width in range(2, 40):
        src = rng.standard_normal((50, 2)).astype(np.float32)
        out = np.zeros((51 - width, 2), np.float32)
        _window_max(src, np.zeros((6, 50, 2), np.float32), _window_max_plan(width), out)
        ref = np.array([src[j:j + width].max(axis=0) for j in range(51 - width)])
        np.testing.assert_array_equal(out, ref)
