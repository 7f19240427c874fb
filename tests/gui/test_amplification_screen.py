"""The caregiver's amplification screen: presets, volume, balance, tone within limits, limiter indicator."""

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QLabel

from hearing_assist.gui.amplification_screen import LIMITED_NOTE, AmplificationScreen, tone_bands
from hearing_assist.profiles.amplification import AudiologistLimits, prescribed_gain_65_db

EARS = ("left", "right")


@pytest.fixture
def screen(qtbot, profile):
    s = AmplificationScreen(profile)
    qtbot.addWidget(s)
    s.resize(1100, 760)
    s.show()
    qtbot.waitExposed(s)
    return s


@pytest.fixture
def tight(qtbot, profile):
    """Max gain 25 dB in every band: the high-pitch bands (about 19-22 dB prescribed) have only a few dB left."""
    lim = AudiologistLimits({e: (25.0,) * 8 for e in EARS}, 100.0, 6.0)
    s = AmplificationScreen(replace(profile, limits=lim))
    qtbot.addWidget(s)
    s.show()
    return s


def test_preset_buttons_are_exclusive_and_set_the_preset(qtbot, screen):
    assert screen.preset_buttons["conversation"].isChecked()
    with qtbot.waitSignal(screen.profile_changed) as sig:
        qtbot.mouseClick(screen.preset_buttons["noisy"], Qt.MouseButton.LeftButton)
    assert sig.args[0].preset == "noisy" and screen.profile().preset == "noisy"
    assert [k for k, b in screen.preset_buttons.items() if b.isChecked()] == ["noisy"]
    qtbot.mouseClick(screen.preset_buttons["music"], Qt.MouseButton.LeftButton)
    assert screen.profile().preset == "music" and not screen.preset_buttons["noisy"].isChecked()
    assert "compression" in screen.preset_hint.text()


def test_tone_slider_within_limits_moves_only_its_bands(qtbot, screen):
    with qtbot.waitSignal(screen.profile_changed):
        screen.tone_sliders["mid"].setValue(4)
    ft = screen.profile().fine_tuning_db
    mid = tone_bands(screen.profile().band_centres_hz, "mid")
    for e in EARS:
        assert [ft[e][i] for i in mid] == [4.0, 4.0]
        assert sum(abs(v) for i, v in enumerate(ft[e]) if i not in mid) == 0
    assert screen.note.isHidden() and screen.tone_values["mid"].text() == "+4 dB"


def test_tone_slider_beyond_the_limit_snaps_back_with_a_note(qtbot, tight):
    s = tight
    emitted = []
    s.profile_changed.connect(emitted.append)
    s.tone_sliders["high"].setValue(15)
    assert s.tone_sliders["high"].value() < 15  # snapped back to what the limit allows
    assert s.tone_sliders["high"].value() == round(max(s.profile().fine_tuning_db[e][i] for e in EARS
                                                      for i in tone_bands(s.profile().band_centres_hz, "high")))
    assert not s.note.isHidden() and s.note.text() == LIMITED_NOTE
    p = emitted[-1]
    for e in EARS:
        assert np.all(prescribed_gain_65_db(p, e) <= np.asarray(p.limits.max_gain_db[e]) + 1e-9)
    assert "clipped" in s.note.toolTip()


def test_volume_beyond_the_maximum_snaps_back(qtbot, screen):
    screen.volume_slider.setValue(10)  # the audiologist allows +6 dB
    assert screen.volume_slider.value() == 6 and screen.profile().volume_db == 6.0
    assert not screen.note.isHidden()
    assert screen.volume_value.text() == "+6 dB"


def test_arrow_keys_choose_the_next_preset(qtbot, screen):
    screen.preset_buttons["conversation"].setFocus()
    with qtbot.waitSignal(screen.profile_changed) as sig:
        qtbot.keyClick(screen.preset_buttons["conversation"], Qt.Key.Key_Right)
    assert sig.args[0].preset == "noisy" and screen.preset_buttons["noisy"].hasFocus()


def test_keyboard_moves_volume_and_balance(qtbot, screen):
    screen.volume_slider.setFocus()
    qtbot.keyClick(screen.volume_slider, Qt.Key.Key_Left)
    assert screen.profile().volume_db == -1.0
    qtbot.keyClick(screen.balance_slider, Qt.Key.Key_Right)
    assert screen.profile().balance == pytest.approx(0.05)
    assert screen.balance_value.text() == "Right 5%"


def test_set_profile_updates_controls_without_emitting(qtbot, screen, profile):
    emitted = []
    screen.profile_changed.connect(emitted.append)
    screen.set_profile(replace(profile, preset="tv", volume_db=-5.0, balance=-0.5))
    assert not emitted
    assert screen.preset_buttons["tv"].isChecked() and screen.volume_slider.value() == -5
    assert screen.balance_slider.value() == -50


def test_limiter_indicator_shows_and_hides(qtbot, screen):
    lab = screen.limiter_label
    screen.set_limiter_reduction_db(0.4)
    assert lab.isHidden()  # below the threshold
    screen.set_limiter_reduction_db(3.2)
    assert not lab.isHidden() and "Limiter active" in lab.text() and "3 dB" in lab.text()
    for _ in range(3):
        screen.set_limiter_reduction_db(0.0)
    qtbot.waitUntil(lab.isHidden, timeout=3000)  # goes out after a short hold


def test_large_fonts_and_accessible_names(qtbot, screen):
    controls = screen.findChildren(QAbstractSlider) + screen.findChildren(QAbstractButton)
    assert len(controls) >= 11
    for w in controls:
        assert w.accessibleName(), w
    # sliders and the reset button are in the Tab chain; the preset group is one Tab stop (Qt's exclusive-group
    # model), entered on its current button, arrows move within it
    for w in screen.findChildren(QAbstractSlider) + [screen.reset_tone_button]:
        assert w.focusPolicy() & Qt.FocusPolicy.TabFocus, w
    assert any(b.focusPolicy() & Qt.FocusPolicy.TabFocus for b in screen.preset_buttons.values())
    for w in screen.findChildren(QLabel) + controls:
        if w.isVisible():
            assert w.font().pointSizeF() >= 14, (w, w.text() if hasattr(w, "text") else "")
    assert screen.preset_buttons["quiet"].font().pointSizeF() >= 16
    assert screen.volume_value.font().pointSizeF() >= 14


def test_noise_adaptive_checkbox_switches_the_profile(qtbot, screen, profile):
    box = screen.noise_adaptive_box
    assert box.isChecked() == profile.noise_adaptive
    assert box.accessibleName() and box.toolTip() and box.focusPolicy() & Qt.FocusPolicy.TabFocus
    with qtbot.waitSignal(screen.profile_changed) as sig:
        box.click()
    assert sig.args[0].noise_adaptive is (not profile.noise_adaptive)
    assert screen.profile().noise_adaptive is (not profile.noise_adaptive)
    box.setFocus()
    with qtbot.waitSignal(screen.profile_changed):  # keyboard: Space toggles it back
        qtbot.keyClick(box, Qt.Key.Key_Space)
    assert screen.profile().noise_adaptive is profile.noise_adaptive
    emitted = []
    screen.profile_changed.connect(emitted.append)
    screen.set_profile(replace(profile, noise_adaptive=False))
    assert not emitted and not box.isChecked()
