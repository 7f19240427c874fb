"""The audiogram chart: log frequency axis, inverted dB HL axis, ear markers, mouse edits snapped to the grid."""

import math

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from hearing_assist.gui.audiogram_chart import AudiogramChart, snap_db, snap_hz


@pytest.fixture
def chart(qtbot, profile):
    c = AudiogramChart(profile.audiogram)
    qtbot.addWidget(c)
    c.resize(700, 500)
    c.show()
    qtbot.waitExposed(c)
    # accept every proposal, as the fitting screen does for valid ones
    c.edit_requested.connect(lambda ear, th: c.set_audiogram(_with(c.audiogram, ear, th)))
    return c


def _with(aud, ear, th):
    from hearing_assist.dsp.audiogram import Audiogram
    maps = {"left": aud.left.thresholds, "right": aud.right.thresholds, ear: th}
    return Audiogram.from_thresholds(maps["left"], maps["right"])


def test_frequency_axis_is_logarithmic_and_hl_axis_inverted(chart):
    p = {(hz, db): chart.data_to_scene(hz, db) for hz in (250, 500, 1000, 2000, 8000) for db in (-10, 20, 120)}
    octave = p[(500, 20)].x() - p[(250, 20)].x()
    assert octave > 20
    assert p[(2000, 20)].x() - p[(1000, 20)].x() == pytest.approx(octave, abs=0.5)  # equal octaves
    assert p[(8000, 20)].x() - p[(250, 20)].x() == pytest.approx(5 * octave, abs=1.0)
    # -10 dB HL at the top (small scene y), 120 dB HL at the bottom
    assert p[(1000, -10)].y() < p[(1000, 20)].y() < p[(1000, 120)].y()
    top = chart.view.mapViewToScene(chart.view.viewRect().topLeft()).y()
    assert p[(1000, -10)].y() - top < 0.05 * (p[(1000, 120)].y() - top)
    for hz, db in ((125, -10), (1500, 37.5), (8000, 120)):
        back = chart.scene_to_data(chart.data_to_scene(hz, db))
        assert back == pytest.approx((hz, db), rel=1e-6, abs=1e-6)


def test_snapping_to_audiometric_frequencies_and_5_db():
    assert snap_hz(1100) == 1000 and snap_hz(1400) == 1500 and snap_hz(5200) == 6000 and snap_hz(90) == 125
    assert snap_db(42) == 40 and snap_db(43) == 45 and snap_db(-8) == -10


def test_ear_markers_red_o_right_blue_x_left(chart):
    right, left = chart.marker_style("right"), chart.marker_style("left")
    assert right["symbol"] == "o" and left["symbol"] == "x" and left["custom_x"]
    r, b = QColor(right["colour"]), QColor(left["colour"])
    assert r.red() > 150 and r.blue() < 80 and r.green() < 80  # red
    assert b.blue() > 150 and b.red() < 80  # blue
    assert right["line_colour"] == right["colour"] and left["line_colour"] == left["colour"]
    # markers sit where the thresholds are
    xs, ys = chart.curves["left"].getData()
    assert list(ys) == [15, 20, 30, 45, 55, 60]
    assert xs[0] == pytest.approx(math.log10(250))


def test_click_adds_a_point_snapped(qtbot, chart):
    chart.set_active_ear("left")
    with qtbot.waitSignal(chart.edit_requested) as sig:
        qtbot.mouseClick(chart.plot.viewport(), Qt.MouseButton.LeftButton, pos=chart.data_to_widget(1450, 42))
    assert sig.args[0] == "left" and sig.args[1][1500] == 40
    assert chart.audiogram.left.thresholds[1500] == 40
    assert 1500 not in chart.audiogram.right.thresholds


def test_drag_moves_a_point_vertically_in_5_db_steps(qtbot, chart):
    vp = chart.plot.viewport()
    seen = []
    chart.edit_requested.connect(lambda ear, th: seen.append(th[2000]))
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=chart.data_to_widget(2000, 50))
    for db in (55, 62, 71):
        qtbot.mouseMove(vp, pos=chart.data_to_widget(2050, db))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=chart.data_to_widget(2050, 71))
    assert chart.audiogram.right.thresholds[2000] == 70
    # followed the pointer while dragging (a click would be one edit), each step snapped to 5 dB
    assert seen[0] == 55 and seen[-1] == 70 and len(seen) >= 2 and all(v % 5 == 0 for v in seen)
    assert chart.audiogram.left.thresholds[2000] == 45  # only the active (right) ear moved


def test_drag_moves_an_optional_point_to_an_empty_column(chart):
    chart.set_active_ear("right")
    chart.begin_drag(8000)
    chart.drag_to(6100, 66)
    assert 8000 not in chart.audiogram.right.thresholds and chart.audiogram.right.thresholds[6000] == 65
    chart.end_drag()
    chart.begin_drag(2000)  # required frequency: stays in its column
    chart.drag_to(3000, 56)
    assert chart.audiogram.right.thresholds[2000] == 55 and 3000 not in chart.audiogram.right.thresholds


def test_not_editable_ignores_clicks(qtbot, chart):
    chart.set_editable(False)
    before = chart.audiogram
    qtbot.mouseClick(chart.plot.viewport(), Qt.MouseButton.LeftButton, pos=chart.data_to_widget(1000, 80))
    assert chart.audiogram is before
