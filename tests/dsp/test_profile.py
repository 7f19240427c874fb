"""Amplification profile: round trip, field-naming validation, caregiver clipping, PIN hashing."""

import json

import pytest

from hearing_assist.dsp.audiogram import Audiogram
from hearing_assist.profiles.amplification import (AmplificationProfile, ProfileError, apply_caregiver_change,
                                                   default_limits, hash_pin, prescribed_gain_65_db, verify_pin)

A = Audiogram.from_thresholds({250: 20, 500: 30, 1000: 40, 2000: 50, 4000: 60},
                              {250: 25, 500: 35, 1000: 45, 2000: 55, 4000: 65})


def test_round_trip_through_json():
    p = AmplificationProfile(A, rule="nal-rp", preset="noisy", volume_db=-3.0, balance=0.2, pin=hash_pin("2468"),
                             fine_tuning_db={"left": (1, 0, 0, 0, 0, 0, 0, -2)})
    d = json.loads(json.dumps(p.to_dict()))
    assert AmplificationProfile.from_dict(d) == p
    assert "2468" not in json.dumps(d)


@pytest.mark.parametrize("path,value,field", [
    (("limits", "max_output_db_spl"), 150, "limits.max_output_db_spl"),
    (("volume_db",), "x", "volume_db"),
    (("rule",), "dsl", "rule"),
    (("audiogram", "left", "1000"), 200, "left ear at 1000 Hz"),
    (("fine_tuning_db", "right"), [0, 0], "fine_tuning_db.right"),
])
def test_from_dict_names_bad_field(path, value, field):
    d = AmplificationProfile(A).to_dict()
    tgt = d
    for k in path[:-1]:
        tgt = tgt[k]
    tgt[path[-1]] = value
    with pytest.raises(ProfileError, match=field.replace(".", r"\.")):
        AmplificationProfile.from_dict(d)


def test_caregiver_edits_clipped_to_limits():
    p = AmplificationProfile(A, limits=default_limits(8, max_gain_db=25.0))
    base = prescribed_gain_65_db(p, "left")
    q, notes = apply_caregiver_change(p, fine_tuning_db={"left": [15.0] * 8}, volume_db=20.0, balance=3.0)
    total = prescribed_gain_65_db(q, "left")
    assert (total <= 25.0 + 1e-9).all()
    assert any("fine_tuning_db.left" in n for n in notes) and any("volume_db" in n for n in notes)
    assert q.volume_db == p.limits.max_volume_db and q.balance == 1.0
    assert q.limits == p.limits and q.audiogram == p.audiogram
    low = [i for i, b in enumerate(base) if b + 15 <= 25.0]
    assert all(q.fine_tuning_db["left"][i] == 15.0 for i in low)  # unclipped where the limit allows


def test_pin_hashing():
    h = hash_pin("1234")
    assert verify_pin("1234", h) and not verify_pin("1235", h) and not verify_pin("1234", None)
    assert hash_pin("1234").salt_hex != h.salt_hex  # random salt
    with pytest.raises(ProfileError, match="pin"):
        hash_pin("12a")


def test_noise_adaptive_round_trips_and_old_profiles_get_the_default():
    from hearing_assist.profiles.amplification import NOISE_ADAPTIVE_DEFAULT
    p = AmplificationProfile(A, noise_adaptive=False)
    assert AmplificationProfile.from_dict(json.loads(json.dumps(p.to_dict()))).noise_adaptive is False
    old = AmplificationProfile(A).to_dict()
    del old["noise_adaptive"]  # saved before the setting existed
    assert AmplificationProfile.from_dict(old).noise_adaptive is NOISE_ADAPTIVE_DEFAULT
    old["noise_adaptive"] = "yes"
    with pytest.raises(ProfileError, match="noise_adaptive"):
        AmplificationProfile.from_dict(old)


def test_caregiver_switches_noise_adaptive():
    p, notes = apply_caregiver_change(AmplificationProfile(A, noise_adaptive=True), noise_adaptive=False)
    assert p.noise_adaptive is False and not notes
