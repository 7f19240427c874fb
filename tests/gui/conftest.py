"""Fixtures for the fitting and amplification screens: a realistic moderate sloping loss."""

import pytest

pytest.importorskip("pytestqt")

from hearing_assist.dsp.audiogram import Audiogram  # noqa: E402
from hearing_assist.profiles.amplification import AmplificationProfile  # noqa: E402

RIGHT = {250: 20, 500: 25, 1000: 35, 2000: 50, 4000: 60, 8000: 65}
LEFT = {250: 15, 500: 20, 1000: 30, 2000: 45, 4000: 55, 8000: 60}


@pytest.fixture
def profile() -> AmplificationProfile:
    return AmplificationProfile(Audiogram.from_thresholds(LEFT, RIGHT))
