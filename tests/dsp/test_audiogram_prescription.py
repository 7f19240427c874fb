"""Audiogram validation/IO/grades and prescription rules against hand-worked published formulas."""

import math

import numpy as np
import pytest

from hearing_assist.dsp.audiogram import Audiogram, AudiogramError, who_grade
from hearing_assist.dsp.prescription import compression_ratio, half_gain, nal_r, nal_rp, pogo2, prescribe

L = {250: 30, 500: 40, 1000: 50, 2000: 60, 4000: 70}
R = {125: 10, 250: 15, 500: 20, 750: 25, 1000: 30, 1500: 35, 2000: 40, 3000: 45, 4000: 50, 6000: 55, 8000: 60}


def test_bad_audiograms_name_ear_and_frequency():
    with pytest.raises(AudiogramError, match=r"right ear at 2000 Hz.*130"):
        Audiogram.from_thresholds(L, {**L, 2000: 130})
    with pytest.raises(AudiogramError, match=r"left ear.*missing.*1000 Hz"):
        Audiogram.from_thresholds({k: v for k, v in L.items() if k != 1000}, L)
    with pytest.raises(AudiogramError, match=r"left ear.*900 Hz"):
        Audiogram.from_thresholds({**L, 900: 20}, L)
    with pytest.raises(AudiogramError, match=r"right ear at 500 Hz.*-15"):
        Audiogram.from_thresholds(L, {**L, 500: -15})
    with pytest.raises(AudiogramError, match=r"left ear at 4000 Hz.*not a number"):
        Audiogram.from_thresholds({**L, 4000: "loud"}, L)


def test_log_frequency_interpolation_pta_and_grade():
    a = Audiogram.from_thresholds(L, R)
    assert a.left.at([3000])[0] == pytest.approx(60 + 10 * math.log(1.5) / math.log(2))
    assert a.left.at([100, 10000]).tolist() == [30, 70]  # flat beyond the ends
    assert a.left.pta() == 55.0 and a.right.pta() == 35.0
    assert a.grade() == "moderate"  # better ear, WHO 2021
    grades = [who_grade(x) for x in (19.9, 20, 34.9, 35, 50, 65, 80, 95)]
    assert grades == ["normal", "mild", "mild", "moderate", "moderately severe", "severe", "profound", "complete"]


def test_json_and_csv_round_trip():
    a = Audiogram.from_thresholds(L, R)
    assert Audiogram.from_json(a.to_json()) == a
    assert Audiogram.from_csv(a.to_csv()) == a
    with pytest.raises(AudiogramError, match="columns"):
        Audiogram.from_csv("f,x\n1,2\n")


def test_nal_r_hand_worked():
    # Byrne & Dillon 1986: H3FA = (40 + 50 + 60) / 3 = 50, X = 7.5; IG = X + 0.31 H + k
    f, g = nal_r(Audiogram.from_thresholds(L, L).left)
    ig = dict(zip(f.astype(int), g))
    assert ig[250] == pytest.approx(7.5 + 0.31 * 30 - 17)  # -0.2
    assert ig[500] == pytest.approx(7.5 + 0.31 * 40 - 8)  # 11.9
    assert ig[1000] == pytest.approx(7.5 + 0.31 * 50 + 1)  # 24.0
    assert ig[2000] == pytest.approx(7.5 + 0.31 * 60 - 1)  # 25.1
    assert ig[4000] == pytest.approx(7.5 + 0.31 * 70 - 2)  # 27.2
    h3k = 60 + 10 * math.log(1.5) / math.log(2)
    assert ig[3000] == pytest.approx(7.5 + 0.31 * h3k - 2)


def test_nal_rp_severe_corrections():
    mild = Audiogram.from_thresholds(L, L).left
    assert np.allclose(nal_rp(mild)[1], np.maximum(nal_r(mild)[1], 0))  # H3FA <= 60: NAL-R
    sev = {250: 80, 500: 90, 1000: 100, 2000: 100, 4000: 110}
    ear = Audiogram.from_thresholds(sev, sev).left
    f, g = nal_rp(ear)
    _, g0 = nal_r(ear)
    h3fa = (90 + 100 + 100) / 3
    extra = dict(zip(f.astype(int), g - g0 - 0.2 * (h3fa - 60)))
    # Byrne et al. 1991 Fig. 9 row for H2k = 100 dB HL: 250:+6, 500:+4, 1k:0, 2k:-3, 4k:-3
    assert [round(extra[k], 6) for k in (250, 500, 1000, 2000, 4000)] == [6, 4, 0, -3, -3]


def test_half_gain_pogo2_and_level_dependent_targets():
    ear = Audiogram.from_thresholds(R, {**R, 4000: 80}).right
    f, g = half_gain(ear)
    assert np.allclose(g, np.asarray(list(ear.thresholds.values())) / 2)
    f, g = pogo2(ear)
    ig = dict(zip(f.astype(int), g))
    assert ig[250] == pytest.approx(15 / 2 - 10) if 15 / 2 - 10 > 0 else ig[250] == 0
    assert ig[500] == pytest.approx(20 / 2 - 5)
    assert ig[4000] == pytest.approx(80 / 2 + (80 - 65) / 2)
    t = prescribe(ear, "nal-r", [500, 1000, 4000])
    f65, g65 = nal_r(ear)
    assert np.allclose(t.at_level(65), np.maximum(np.interp(np.log([500, 1000, 4000]), np.log(f65), g65), 0))
    cr = compression_ratio(ear.at([500, 1000, 4000]))
    assert np.allclose(t.at_level(50) - t.at_level(65), 15 * (1 - 1 / cr))
    assert np.all(t.at_level(80) <= t.at_level(65))
    assert prescribe(ear, "linear", [500, 1000], flat_gain_db=12).gains_db.tolist() == [[12, 12]] * 3
