"""The audiologist's fitting screen: audiogram edits and refusals, rule, limits, verification, PIN, import/export."""

import time
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from hearing_assist.dsp.audiogram import Audiogram
from hearing_assist.gui.fitting_screen import FittingScreen
from hearing_assist.profiles.amplification import hash_pin, verify_pin

PIN = "2468"


@pytest.fixture
def screen(qtbot, profile):
    s = FittingScreen(profile)
    qtbot.addWidget(s)
    s.resize(1360, 860)
    s.show()
    qtbot.waitExposed(s)
    return s


@pytest.fixture
def locked(qtbot, profile):
    s = FittingScreen(replace(profile, pin=hash_pin(PIN)))
    qtbot.addWidget(s)
    s.show()
    return s


def _cell(screen, ear, hz):
    from hearing_assist.dsp.audiogram import STANDARD_HZ
    return screen.threshold_table.item(("right", "left").index(ear), STANDARD_HZ.index(hz))


def test_clicking_the_chart_edits_the_profile_and_emits(qtbot, screen):
    chart = screen.chart
    with qtbot.waitSignal(screen.profile_changed) as sig:
        qtbot.mouseClick(chart.plot.viewport(), Qt.MouseButton.LeftButton, pos=chart.data_to_widget(3000, 57))
    assert sig.args[0].audiogram.right.thresholds[3000] == 55
    assert screen.profile().audiogram.right.thresholds[3000] == 55
    assert _cell(screen, "right", 3000).text() == "55"  # the table follows


def test_left_ear_selection_edits_the_left_ear(qtbot, screen):
    screen.ear_radios["left"].click()
    chart = screen.chart
    qtbot.mouseClick(chart.plot.viewport(), Qt.MouseButton.LeftButton, pos=chart.data_to_widget(1000, 41))
    assert screen.profile().audiogram.left.thresholds[1000] == 40
    assert screen.profile().audiogram.right.thresholds[1000] == 35
    assert screen.gain_ear_combo.currentData() == "left"


def test_out_of_range_is_refused_naming_ear_and_frequency(qtbot, screen):
    before = screen.profile()
    emitted = []
    screen.profile_changed.connect(emitted.append)
    screen.chart.begin_drag(2000)
    screen.chart.drag_to(2000, 131)  # dragged below the bottom of the chart
    assert "Right ear at 2000 Hz" in screen.message.text() and "120" in screen.message.text()
    assert screen.profile() is before and not emitted
    _cell(screen, "left", 4000).setText("-20")  # typed into the table
    assert "Left ear at 4000 Hz" in screen.message.text()
    assert screen.profile() is before and not emitted
    assert _cell(screen, "left", 4000).text() == "55"  # the cell shows the kept value again
    _cell(screen, "right", 500).setText("")  # a required frequency cannot be removed
    assert "500 Hz" in screen.message.text() and screen.profile() is before
    _cell(screen, "right", 750).setText("30")  # a valid value is accepted and clears the message
    assert screen.profile().audiogram.right.thresholds[750] == 30 and emitted


def test_rule_change_updates_targets(qtbot, screen):
    assert [screen.rule_combo.itemData(i) for i in range(screen.rule_combo.count())] == \
        ["nal-r", "nal-rp", "half-gain", "pogo2", "linear"]
    _, before = screen.gain_chart.targets[65.0].getData()
    with qtbot.waitSignal(screen.profile_changed):
        screen.rule_combo.setCurrentIndex(screen.rule_combo.findData("half-gain"))
    assert screen.profile().rule == "half-gain"
    _, after = screen.gain_chart.targets[65.0].getData()
    # half-gain at 4 kHz: 60 / 2 = 30 dB for the right ear (NAL-R gives about 20 dB)
    assert after[6] == pytest.approx(30.0, abs=0.5) and before[6] < 25.0
    screen.gain_ear_combo.setCurrentIndex(screen.gain_ear_combo.findData("left"))
    _, left = screen.gain_chart.targets[65.0].getData()
    assert left[6] == pytest.approx(27.5, abs=0.5)  # left 4 kHz = 55 dB HL


def test_limits_edit_and_refusal(qtbot, screen):
    item = screen.max_gain_table.item(0, 4)  # right ear, 2 kHz
    item.setText("95")
    assert "right ear at 2k Hz" in screen.message.text() and item.text() == "50"
    item.setText("15")
    assert screen.profile().limits.max_gain_db["right"][4] == 15
    _, lim = screen.gain_chart.limit.getData()
    _, tgt = screen.gain_chart.targets[50.0].getData()
    assert lim[4] == 15 and tgt[4] <= 15.01  # the target is capped by the new limit
    screen.max_volume_spin.setValue(3)
    screen.mpo_spin.setValue(95)
    lim = screen.profile().limits
    assert lim.max_volume_db == 3 and lim.max_output_db_spl == 95


def test_limit_lowers_a_louder_caregiver_volume(qtbot, profile):
    s = FittingScreen(replace(profile, volume_db=6.0))
    qtbot.addWidget(s)
    s.max_volume_spin.setValue(2)
    assert s.profile().volume_db == 2.0


def test_verify_runs_in_background_and_fills_the_table(qtbot, screen):
    screen.verify_seconds = 1.5
    t0 = time.perf_counter()
    qtbot.mouseClick(screen.verify_button, Qt.MouseButton.LeftButton)
    assert time.perf_counter() - t0 < 0.3  # returned at once: the measurement is on a worker thread
    assert screen.verifying and not screen.verify_button.isEnabled() and screen.busy.isVisible()
    qtbot.waitUntil(lambda: not screen.verifying, timeout=30000)
    assert screen.verify_button.isEnabled() and not screen.busy.isVisible()
    rows = screen.verify_rows
    assert len(rows) == 2 * 3 * 8 and all(r["pass"] for r in rows)
    t = screen.results
    assert t.rowCount() == 24  # the shown (right) ear: 8 bands x 3 levels
    assert {t.item(i, 6).text() for i in range(24)} == {"✓ pass"}
    band = [t.item(i, 0).text() for i in range(8)]
    assert band[0] == "125 Hz" and band[3] == "1k Hz"
    diff = float(t.item(3, 4).text().split()[0])
    assert diff == pytest.approx(float(t.item(3, 3).text().split()[0]) - float(t.item(3, 2).text().split()[0]),
                                 abs=0.11)
    assert "24/24" in screen.verify_summary.text()
    _, measured = screen.gain_chart.achieved[65.0].getData()
    assert len(measured) == 8
    # any later edit marks the measurement as stale
    screen.rule_combo.setCurrentIndex(screen.rule_combo.findData("pogo2"))
    assert "Verify again" in screen.verify_summary.text()


def test_locked_screen_refuses_edits_until_the_right_pin(qtbot, locked):
    s = locked
    assert s.locked and not s.chart.editable and not s.threshold_table.isEnabled()
    assert not s.rule_combo.isEnabled() and not s.limits_box.isEnabled() and s.pin_edit.isVisible()
    before = s.profile()
    qtbot.mouseClick(s.chart.plot.viewport(), Qt.MouseButton.LeftButton, pos=s.chart.data_to_widget(1000, 80))
    assert s.profile() is before
    qtbot.keyClicks(s.pin_edit, "1357")
    qtbot.mouseClick(s.unlock_button, Qt.MouseButton.LeftButton)
    assert s.locked and "Wrong PIN" in s.message.text() and s.pin_edit.text() == ""
    qtbot.keyClicks(s.pin_edit, PIN)
    qtbot.keyClick(s.pin_edit, Qt.Key.Key_Return)
    assert not s.locked and s.chart.editable and s.rule_combo.isEnabled() and not s.pin_edit.isVisible()
    s.lock()
    assert s.locked and not s.threshold_table.isEnabled()


def test_set_profile_with_a_new_pin_locks(qtbot, screen, profile):
    assert not screen.locked
    screen.set_profile(replace(profile, pin=hash_pin("9999")))
    assert screen.locked


def test_set_pin_twice_with_checks(qtbot, screen):
    assert screen.set_pin_button.isVisible() and not screen.lock_button.isVisible()
    qtbot.mouseClick(screen.set_pin_button, Qt.MouseButton.LeftButton)
    d = screen.pin_dialog
    assert d is not None and d.isVisible()
    for first, second, problem in (("12", "12", "4 to 12 digits"), ("1234", "1235", "do not match")):
        d.first.setText(first)
        d.second.setText(second)
        d.accept()
        assert problem in d.error.text() and d.isVisible() and screen.profile().pin is None
    d.first.setText("1234")
    d.second.setText("1234")
    with qtbot.waitSignal(screen.profile_changed) as sig:
        d.accept()
    assert verify_pin("1234", sig.args[0].pin) and not verify_pin("4321", sig.args[0].pin)
    assert not screen.locked and screen.lock_button.isVisible()


def test_import_and_export_audiogram(qtbot, screen, tmp_path):
    out = tmp_path / "a.csv"
    assert screen.export_audiogram(out)
    assert Audiogram.from_csv(out.read_text()) == screen.profile().audiogram
    other = Audiogram.from_thresholds({250: 40, 500: 40, 1000: 40, 2000: 40, 4000: 40},
                                      {250: 10, 500: 10, 1000: 10, 2000: 10, 4000: 10})
    (tmp_path / "b.json").write_text(other.to_json())
    with qtbot.waitSignal(screen.profile_changed):
        assert screen.import_audiogram(tmp_path / "b.json")
    assert screen.profile().audiogram == other
    ys = screen.chart.curves["left"].getData()[1]
    assert np.all(ys == 40)
    bad = other.to_dict()
    bad["right"]["1000"] = 130
    import json
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert not screen.import_audiogram(tmp_path / "bad.json")
    assert "right ear at 1000 Hz" in screen.message.text() and screen.profile().audiogram == other


def test_verify_reports_failures_when_the_mpo_limits_the_output(qtbot, profile):
    from hearing_assist.profiles.amplification import AudiologistLimits
    low_mpo = AudiologistLimits({e: (50.0,) * 8 for e in ("left", "right")}, 60.0, 6.0)
    s = FittingScreen(replace(profile, limits=low_mpo))
    qtbot.addWidget(s)
    s.verify_seconds = 1.5
    s.start_verify()
    qtbot.waitUntil(lambda: not s.verifying, timeout=30000)
    results = [s.results.item(i, 6).text() for i in range(s.results.rowCount())]
    assert results and set(results) == {"✗ fail"}  # a 60 dB SPL ceiling cannot deliver the prescribed gain
    assert "0/24" in s.verify_summary.text()
