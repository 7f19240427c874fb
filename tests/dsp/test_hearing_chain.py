"""Hearing chain: insertion gain vs target at 65 dB SPL, the MPO ceiling as a property, delay, live changes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hearing_assist.dsp.audiogram import Audiogram, REQUIRED_HZ
from hearing_assist.dsp.calibration import Calibration
from hearing_assist.dsp.hearing_chain import HearingChain, measure_insertion_gain
from hearing_assist.profiles.amplification import PRESETS, AmplificationProfile, default_limits

FS = 48000
SLOPING = Audiogram.from_thresholds({250: 20, 500: 25, 1000: 35, 2000: 45, 4000: 55, 8000: 60},
                                    {250: 15, 500: 20, 1000: 30, 2000: 50, 4000: 65, 8000: 70})


def test_insertion_gain_within_2_db_at_65():
    chain = HearingChain(AmplificationProfile(SLOPING, limits=default_limits(8, 50.0, 110.0)))
    rows = measure_insertion_gain(chain, levels_db_spl=(65.0,), seconds=2.0)
    bad = [r for r in rows if not abs(r["error_db"]) <= 2.0]
    assert not bad, bad
    assert max(r["target_db"] for r in rows) > 15  # a real fitting, not a flat zero


def test_delay_figures():
    chain = HearingChain(AmplificationProfile(SLOPING))
    chain.prepare(FS, 128, 2)
    assert chain.limiter.delay <= 2e-3 * FS
    assert chain.algorithmic_delay_samples <= 3e-3 * FS
    assert chain.filterbank_delay_ms([500.0])[0] <= 3.0


audiograms = st.lists(st.integers(-10, 120), min_size=5, max_size=5).map(
    lambda v: Audiogram.from_thresholds(dict(zip(REQUIRED_HZ, v)), dict(zip(REQUIRED_HZ, v[::-1]))))


def signals(kind, n, rng):
    t = np.arange(n) / FS
    if kind == "noise":
        return rng.uniform(-1, 1, n)
    if kind == "clicks":
        x = np.zeros(n)
        x[rng.integers(0, n, 20)] = rng.choice([-1.0, 1.0], 20)
        return x
    if kind == "sweep":
        return np.sin(2 * np.pi * (50 * t + (12000 - 50) * t ** 2 / (2 * t[-1])))
    return np.where(t < t[-1] / 2, 1e-4, 1.0) * np.sin(2 * np.pi * 3000 * t)  # sudden loud tone


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(aud=audiograms, rule=st.sampled_from(["nal-r", "nal-rp", "half-gain", "pogo2", "linear"]),
       preset=st.sampled_from(sorted(PRESETS)), mpo=st.floats(70.0, 120.0), cal=st.floats(80.0, 120.0),
       kind=st.sampled_from(["noise", "clicks", "sweep", "step"]), seed=st.integers(0, 2 ** 16),
       block=st.sampled_from([64, 128, 256]), adaptive=st.booleans())
def test_output_never_exceeds_mpo(aud, rule, preset, mpo, cal, kind, seed, block, adaptive):
    rng = np.random.default_rng(seed)
    limits = default_limits(8, max_gain_db=80.0, max_output_db_spl=mpo)
    prof = AmplificationProfile(aud, rule=rule, preset=preset, limits=limits, volume_db=limits.max_volume_db,
                                calibration=Calibration(cal), fine_tuning_db={"left": (20.0,) * 8, "right": (20.0,) * 8},
                                noise_adaptive=adaptive)
    chain = HearingChain(prof)
    n = FS // 4
    x = np.stack([signals(kind, n, rng), signals(kind, n, rng)], axis=1).astype(np.float32)
    chain.prepare(FS, block, 2)
    ceiling = np.float32(min(1.0, Calibration(cal).peak_for_sine_spl(mpo)))
    peak = 0.0
    for i in range(0, n, block):
        if i == n // 2:  # live change mid-stream must not break the guarantee either
            chain.set_profile(AmplificationProfile(aud, rule="linear", preset="music", limits=limits,
                                                   volume_db=limits.max_volume_db, calibration=Calibration(cal),
                                                   noise_adaptive=not adaptive))
        y = chain.process(x[i:i + block].copy())
        peak = max(peak, float(np.max(np.abs(y))))
    assert peak <= ceiling
    assert np.isfinite(peak)


def test_limiter_reports_gain_reduction():
    chain = HearingChain(AmplificationProfile(SLOPING, limits=default_limits(8, 50.0, 90.0)))
    chain.prepare(FS, 128, 2)
    loud = np.full((128, 2), 0.0, np.float32)
    loud[:, :] = 0.9 * np.sin(2 * np.pi * 2000 * np.arange(128) / FS)[:, None]
    for _ in range(20):
        chain.process(loud.copy())
    assert chain.limiter_active > 3.0
    chain.reset()
    assert chain.limiter_active == 0.0


def test_insertion_gain_within_tolerance_at_50_and_80():
    # 500 Hz sits beside a much louder, more compressed 1 kHz band on this sloping loss: the gain matching has to
    # track the neighbour's level dependence (it missed by 3.2 dB at 50 dB SPL before).
    chain = HearingChain(AmplificationProfile(SLOPING, limits=default_limits(8, 50.0, 110.0)))
    rows = measure_insertion_gain(chain, levels_db_spl=(50.0, 80.0), seconds=2.0)
    bad = [r for r in rows if not r["pass"]]
    assert not bad, bad
    assert max(abs(r["error_db"]) for r in rows if 250 <= r["band_hz"] <= 2000) <= 2.0


def _chop(n, sizes):
    i, k = 0, 0
    while i < n:
        m = min(sizes[k % len(sizes)], n - i)
        yield i, m
        i, k = i + m, k + 1


def test_any_block_length_gives_the_same_sound_without_allocating():
    import tracemalloc
    chain = HearingChain(AmplificationProfile(SLOPING))
    chain.prepare(FS, 128, 2)
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((FS // 2, 2))).astype(np.float32)
    x[FS // 4:] *= 0.05  # a 26 dB step, so the detector's timing matters
    full = np.concatenate([chain.process(x[i:i + n].copy()) for i, n in _chop(len(x), [128])])
    chain.reset()
    odd = np.empty_like(x)
    blocks = [(i, x[i:i + n].copy()) for i, n in _chop(len(x), [128, 37, 1, 100, 128, 64, 127, 16, 17])]
    tracemalloc.start()  # from the first odd length on: nothing may be sized or cached per block length
    base, _ = tracemalloc.get_traced_memory()
    for i, b in blocks:
        out = chain.process(b)
        assert out is b
        odd[i:i + len(b)] = out
    now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # numpy's ufunc machinery allocates ~1-2 KiB of bookkeeping per call, transiently; per-length buffers or
    # smoother matrices (the old design: 5-350 KiB per new length) would show here
    assert peak - base < 16_384, peak - base
    assert now - base < 8_192, now - base
    err_db = 10 * np.log10(np.mean((odd - full) ** 2) / np.mean(full ** 2))
    assert err_db < -35.0, err_db
