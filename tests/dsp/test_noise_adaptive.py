"""Noise-adaptive WDRC: the noise-floor tracker, the raised-knee curve, the chain with speech in quiet and in noise."""

from dataclasses import replace

import numpy as np
import pytest

from hearing_assist.dsp.audiogram import Audiogram
from hearing_assist.dsp.calibration import Calibration, speech_shaped_noise
from hearing_assist.dsp.compressor import MAX_NOISE_KNEE_SHIFT_DB, noise_knee_shift_db, static_gain_db
from hearing_assist.dsp.hearing_chain import HearingChain, measure_insertion_gain
from hearing_assist.dsp.noise_floor import NoiseFloorTracker, noise_floor_db
from hearing_assist.profiles.amplification import AmplificationProfile, default_limits

FS, BLOCK = 48000, 128
N3 = {250: 35, 500: 35, 750: 35, 1000: 40, 1500: 45, 2000: 50, 3000: 55, 4000: 60, 6000: 65}
SYLLABLE_S, GAP_S = 0.25, 0.15


def test_floor_follows_a_drop_at_once_and_a_rise_within_the_window():
    per_s = FS // BLOCK
    levels = np.concatenate([np.full(2 * per_s, 60.0), np.full(2 * per_s, 40.0), np.full(3 * per_s, 70.0)])
    fl = noise_floor_db(levels[:, None], BLOCK, FS)[:, 0]
    assert fl[2 * per_s] == 40.0  # the noise stopped: at once
    assert fl[4 * per_s + int(1.1 * per_s)] == 40.0  # a louder noise is believed only after the window
    assert fl[4 * per_s + int(1.5 * per_s) + 1] == 70.0


def test_floor_ignores_speech_over_its_gaps():
    t = NoiseFloorTracker()
    t.prepare(FS, 1)
    steps = np.arange(5 * FS // BLOCK) * BLOCK / FS
    level = np.where((steps % 0.4) < 0.3, 65.0, 30.0)  # syllables with 100 ms gaps down to the background
    for lv in level:
        fl = t.update(np.array([lv], np.float32), BLOCK)
    assert fl[0] == 30.0


def test_raised_knee_keeps_the_curve_above_it_and_is_flat_below():
    args = dict(gain_at_knee_db=25.0, knee_db_spl=45.0, ratio=2.0, knee_width_db=0.0, expansion_threshold_db_spl=0.0)
    d = float(noise_knee_shift_db(52.0, 45.0, margin_db=10.0))
    assert d == pytest.approx(17.0)
    levels = np.arange(30.0, 90.0, 1.0)
    plain = static_gain_db(levels, **args)
    shifted = static_gain_db(levels, **args, knee_shift_db=d)
    above = levels >= 45.0 + d
    np.testing.assert_allclose(shifted[above], plain[above])
    np.testing.assert_allclose(shifted[~above], static_gain_db(45.0 + d, **args))
    assert noise_knee_shift_db(20.0, 45.0) == 0.0  # quiet: nothing changes
    assert noise_knee_shift_db(90.0, 45.0) == MAX_NOISE_KNEE_SHIFT_DB
    assert noise_knee_shift_db(90.0, 45.0, noise_adaptive=0.0) == 0.0


def _speech_like(seconds, background_db_spl, seed=0):
    """Speech-shaped noise at 65 dB SPL in syllables (SYLLABLE_S on, GAP_S off) over steady background noise."""
    n = int(seconds * FS)
    t = np.arange(n) / FS
    on = (t % (SYLLABLE_S + GAP_S)) < SYLLABLE_S
    env = np.convolve(on.astype(float), np.hanning(480) / np.hanning(480).sum(), mode="same")  # 10 ms ramps
    speech = speech_shaped_noise(n, FS, 65.0, Calibration(), seed=seed) * env
    noise = speech_shaped_noise(n, FS, background_db_spl, Calibration(), seed=seed + 1)
    in_gap = (t % (SYLLABLE_S + GAP_S)) > SYLLABLE_S + 0.05  # well inside a gap, past the release
    return (speech + noise).astype(np.float32), on, in_gap


def _block_gains(adaptive, x):
    """Per-block band gains (blocks, bands) of the left ear with the feature on or off."""
    prof = AmplificationProfile(Audiogram.from_thresholds(N3, N3), limits=default_limits(8, 60.0, 110.0),
                                noise_adaptive=adaptive)
    chain = HearingChain(prof)
    chain.prepare(FS, BLOCK, 1)
    g = []
    for i in range(0, len(x) - BLOCK + 1, BLOCK):
        chain.process(x[i:i + BLOCK, None].copy())
        g.append(chain.wdrc.current_gains_db()[:, 0])
    return np.array(g)


def test_speech_in_quiet_gets_the_same_gains():
    x, _, _ = _speech_like(4.0, 25.0)
    on, off = _block_gains(True, x), _block_gains(False, x)
    assert np.max(np.abs(on - off)[FS // BLOCK:]) <= 1.0


def test_speech_in_noise_gets_less_gain_in_the_gaps_and_keeps_it_in_the_syllables():
    x, syl, gap = _speech_like(6.0, 60.0)
    on, off = _block_gains(True, x), _block_gains(False, x)
    ends = np.arange(1, len(on) + 1) * BLOCK - 1
    late = ends > 2.5 * FS  # adapted (window + slew)
    in_gap, in_syl = late & gap[ends], late & syl[ends]
    cut = np.mean(off[in_gap] - on[in_gap], axis=0)
    # the noise between words is boosted less (by up to (1 - 1/CR) x the gap's depth, ~6 dB here)
    assert np.mean(cut) >= 1.0 and np.max(cut) >= 2.0, cut
    assert np.all(cut >= -0.5), cut
    # in the syllables the gain stays near the prescription (within the knee's margin above the noise)
    assert abs(np.mean(off[in_syl] - on[in_syl])) <= 2.0


def test_insertion_gain_is_verified_with_the_feature_off_and_the_profile_comes_back():
    prof = AmplificationProfile(Audiogram.from_thresholds(N3, N3), limits=default_limits(8, 60.0, 110.0),
                                noise_adaptive=True)
    chain = HearingChain(prof)
    rows = measure_insertion_gain(chain, levels_db_spl=(65.0,), seconds=2.0)
    assert all(r["pass"] for r in rows), [r for r in rows if not r["pass"]]
    assert chain.profile == prof
    assert chain.profile == replace(prof, noise_adaptive=True)


def test_the_processor_realises_the_raised_knee_of_the_pure_functions():
    # a steady band level: the floor is that level, so the gain must be the curve's at the knee noise_knee_shift_db
    # puts it (ties Wdrc's in-place update to the documented maths)
    from hearing_assist.dsp.compressor import BandCompression, Wdrc

    args = dict(gain_at_knee_db=20.0, knee_db_spl=45.0, ratio=2.0, knee_width_db=0.0, max_gain_db=60.0)
    level = 60.0
    for adaptive in (1.0, 0.0):
        w = Wdrc(BandCompression(**args, expansion_threshold_db_spl=0.0, noise_adaptive=adaptive),
                 level_offset_db=100.0)
        w.prepare(FS, BLOCK, 1, 1)
        out = np.zeros((1, BLOCK), np.float32)
        for _ in range(3 * FS // BLOCK):
            w.process_bands(np.full((1, 1, BLOCK), 10 ** ((level - 100.0) / 20), np.float32), out)
        shift = noise_knee_shift_db(level, 45.0, adaptive)
        expected = float(static_gain_db(level, **args, knee_shift_db=shift))
        assert w.current_gains_db()[0, 0] == pytest.approx(expected, abs=0.2), (adaptive, shift)
    assert expected == pytest.approx(12.5) and float(static_gain_db(level, **args, knee_shift_db=25.0)) == 7.5
