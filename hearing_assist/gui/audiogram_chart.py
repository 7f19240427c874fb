"""Audiogram and insertion-gain charts (pyqtgraph) drawn the way audiologists read them.

Audiogram: log frequency axis 125-8000 Hz, dB HL axis inverted (-10 at the top, 120 at the bottom), right ear as a
red O with a solid line, left ear as a blue X with a dashed line (ASHA convention). Points are edited by clicking
(add or move the threshold at the nearest audiometric frequency) and dragging; values snap to 5 dB steps. The chart
does not validate: it proposes a new threshold map for one ear through :attr:`AudiogramChart.edit_requested` and
the owner accepts it (``set_audiogram``) or refuses it with a message.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

from hearing_assist.dsp.audiogram import MAX_DB_HL, MIN_DB_HL, REQUIRED_HZ, STANDARD_HZ, WHO_GRADES, Audiogram

RIGHT_COLOUR = "#d1242f"  # audiogram convention: red = right ear
LEFT_COLOUR = "#0b5cd5"  # blue = left ear
EAR_COLOURS = {"right": RIGHT_COLOUR, "left": LEFT_COLOUR}
EAR_SYMBOLS = {"right": "o", "left": "x"}  # the symbol name reported for each ear (the left X is a custom path)
OCTAVE_HZ = (125, 250, 500, 1000, 2000, 4000, 8000)
INTER_OCTAVE_HZ = (750, 1500, 3000, 6000)
X_RANGE_HZ = (100.0, 10000.0)
Y_RANGE_DB = (MIN_DB_HL - 2.5, MAX_DB_HL + 2.5)  # a little room so points at -10 and 120 dB HL are not cut
DB_STEP = 5.0
GRADE_SHADES = ("#ffffff", "#f6f8fa")  # alternating bands behind the WHO grades


def hz_label(hz: float) -> str:
    """'250', '1k', '1.5k' as on printed audiograms."""
    return f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}"


def snap_hz(hz: float) -> int:
    """The standard audiometric frequency nearest to ``hz`` on a log axis."""
    return min(STANDARD_HZ, key=lambda f: abs(math.log(f) - math.log(max(hz, 1.0))))


def snap_db(db: float) -> float:
    """``db`` rounded to the 5 dB steps of clinical audiometry."""
    return float(DB_STEP * round(db / DB_STEP))


def _x_cross_symbol() -> QPainterPath:
    """A thin X (two strokes), unlike pyqtgraph's filled 'x', as drawn on audiograms for the left ear."""
    p = QPainterPath()
    p.moveTo(-0.4, -0.4)
    p.lineTo(0.4, 0.4)
    p.moveTo(-0.4, 0.4)
    p.lineTo(0.4, -0.4)
    return p


X_SYMBOL = _x_cross_symbol()


def frequency_ticks() -> list:
    """pyqtgraph ticks on a log10(Hz) axis: octaves labelled, inter-octave frequencies as minor ticks."""
    return [[(math.log10(f), hz_label(f)) for f in OCTAVE_HZ], [(math.log10(f), "") for f in INTER_OCTAVE_HZ]]


def _style_frequency_axis(plot: pg.PlotItem) -> None:
    plot.setXRange(math.log10(X_RANGE_HZ[0]), math.log10(X_RANGE_HZ[1]), padding=0)
    axis = plot.getAxis("bottom")
    axis.setTicks(frequency_ticks())
    axis.setLabel("Frequency (Hz)")


class _AudiogramViewBox(pg.ViewBox):
    """Turns clicks and drags into threshold edits instead of panning or zooming."""

    def __init__(self, chart: "AudiogramChart"):
        super().__init__(enableMenu=False)
        self._chart = chart
        self.setMouseEnabled(False, False)

    def mouseClickEvent(self, ev):  # noqa: N802 (pyqtgraph API)
        if not self._chart.editable:
            ev.ignore()
            return
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        hz = 10 ** p.x()
        if ev.button() == Qt.MouseButton.LeftButton:
            self._chart.request_set(snap_hz(hz), p.y())
        elif ev.button() == Qt.MouseButton.RightButton:
            self._chart.request_remove(snap_hz(hz))

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (pyqtgraph API)
        if not self._chart.editable or ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        if ev.isStart():
            self._chart.begin_drag(10 ** self.mapSceneToView(ev.buttonDownScenePos()).x())
        p = self.mapSceneToView(ev.scenePos())
        self._chart.drag_to(10 ** p.x(), p.y())
        if ev.isFinish():
            self._chart.end_drag()


class AudiogramChart(QWidget):
    """Editable pure-tone audiogram of both ears."""

    edit_requested = Signal(str, object)  # ear, proposed {Hz: dB HL} for that ear (not yet validated)

    def __init__(self, audiogram: Audiogram, parent=None):
        super().__init__(parent)
        self.audiogram = audiogram
        self.active_ear = "right"
        self.editable = True
        self._drag_hz: int | None = None
        self.view = _AudiogramViewBox(self)
        self.plot = pg.PlotWidget(viewBox=self.view, background="w")
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        item = self.plot.getPlotItem()
        item.invertY(True)  # audiograms put better hearing (lower dB HL) at the top
        item.setYRange(*Y_RANGE_DB, padding=0)
        _style_frequency_axis(item)
        left = item.getAxis("left")
        left.setTicks([[(v, f"{v}") for v in range(int(MIN_DB_HL), int(MAX_DB_HL) + 1, 10)]])
        left.setLabel("Hearing level (dB HL)")
        item.showGrid(x=True, y=True, alpha=0.35)
        for ax in ("bottom", "left"):
            item.getAxis(ax).setTextPen("#24292f")
            item.getAxis(ax).setPen("#57606a")
        self._draw_grade_bands(item)
        self.curves = {}
        legend = item.addLegend(offset=(-8, 8), labelTextColor="#24292f", brush=pg.mkBrush(255, 255, 255, 230),
                                pen=pg.mkPen("#d0d7de"))
        legend.mouseDragEvent = lambda ev: ev.ignore()  # keep drags for editing points under the legend
        for ear, name in (("right", "Right ear (O)"), ("left", "Left ear (X)")):
            colour = EAR_COLOURS[ear]
            line = pg.mkPen(colour, width=2, style=Qt.PenStyle.SolidLine if ear == "right" else Qt.PenStyle.DashLine)
            symbol = "o" if ear == "right" else X_SYMBOL
            self.curves[ear] = item.plot([], [], pen=line, symbol=symbol, symbolSize=15,
                                         symbolPen=pg.mkPen(colour, width=2.5),
                                         symbolBrush=pg.mkBrush(255, 255, 255) if ear == "right" else None,
                                         name=name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.setAccessibleName("Audiogram chart")
        self.setAccessibleDescription("Click to set a threshold for the selected ear; drag a point to move it; "
                                      "right-click an optional frequency to remove it.")
        self.setMinimumSize(420, 320)
        self._redraw()

    # ---- drawing -------------------------------------------------------------------------------------
    def _draw_grade_bands(self, item: pg.PlotItem) -> None:
        """Faint bands and names for the WHO grades so the degree of loss reads at a glance."""
        bounds = sorted(g[0] for g in WHO_GRADES if np.isfinite(g[0]))
        edges = [MIN_DB_HL - 2.5, *bounds, MAX_DB_HL + 2.5]
        names = [n for _, n in sorted(WHO_GRADES)]
        x0, x1 = math.log10(X_RANGE_HZ[0]), math.log10(X_RANGE_HZ[1])
        for i, (top, bottom) in enumerate(zip(edges[:-1], edges[1:])):
            rect = QGraphicsRectItem(QRectF(x0, top, x1 - x0, bottom - top))
            rect.setBrush(QBrush(QColor(GRADE_SHADES[i % 2])))
            rect.setPen(QPen(Qt.PenStyle.NoPen))
            rect.setZValue(-100)
            rect.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            item.addItem(rect, ignoreBounds=True)
            label = pg.TextItem(names[i], color="#8c959f", anchor=(0, 0.5))
            label.setPos(math.log10(X_RANGE_HZ[0]) + 0.005, (top + bottom) / 2)
            label.setZValue(-50)
            item.addItem(label, ignoreBounds=True)

    def _redraw(self) -> None:
        for ear, curve in self.curves.items():
            th = self.audiogram.ear(ear).thresholds
            curve.setData(np.log10(np.asarray(list(th), float)), np.asarray(list(th.values()), float))

    def set_audiogram(self, audiogram: Audiogram) -> None:
        """Show ``audiogram`` (already validated)."""
        self.audiogram = audiogram
        self._redraw()

    def set_active_ear(self, ear: str) -> None:
        """Clicks and drags edit ``ear`` ('left' or 'right')."""
        self.active_ear = ear

    def set_editable(self, editable: bool) -> None:
        """Allow or refuse edits with the mouse (the PIN lock)."""
        self.editable = editable

    # ---- coordinates ---------------------------------------------------------------------------------
    def data_to_scene(self, hz: float, db_hl: float) -> QPointF:
        """Scene position of (frequency Hz, threshold dB HL)."""
        return self.view.mapViewToScene(QPointF(math.log10(hz), db_hl))

    def scene_to_data(self, pos: QPointF) -> tuple[float, float]:
        """(frequency Hz, dB HL) at a scene position."""
        p = self.view.mapSceneToView(pos)
        return 10 ** p.x(), p.y()

    def data_to_widget(self, hz: float, db_hl: float) -> QPoint:
        """Position in the plot's viewport (for mouse events) of (frequency Hz, dB HL)."""
        return self.plot.mapFromScene(self.data_to_scene(hz, db_hl))

    def marker_style(self, ear: str) -> dict:
        """Colour (hex), symbol ('o' or 'x') and whether it is hollow, as drawn for ``ear``."""
        opts = self.curves[ear].opts
        return {"colour": QColor(opts["symbolPen"].color()).name(), "symbol": EAR_SYMBOLS[ear],
                "custom_x": opts["symbol"] is X_SYMBOL, "line_colour": QColor(opts["pen"].color()).name()}

    # ---- edits ---------------------------------------------------------------------------------------
    def _propose(self, changes: dict[int, float | None]) -> None:
        th = dict(self.audiogram.ear(self.active_ear).thresholds)
        for hz, db in changes.items():
            if db is None:
                th.pop(hz, None)
            else:
                th[hz] = db
        if th != self.audiogram.ear(self.active_ear).thresholds:
            self.edit_requested.emit(self.active_ear, th)

    def request_set(self, hz: float, db_hl: float) -> None:
        """Propose the threshold at the audiometric frequency nearest ``hz`` as ``db_hl`` snapped to 5 dB."""
        self._propose({snap_hz(hz): snap_db(db_hl)})

    def request_remove(self, hz: float) -> None:
        """Propose removing the threshold at the frequency nearest ``hz`` (the owner refuses required ones)."""
        self._propose({snap_hz(hz): None})

    def begin_drag(self, hz: float) -> None:
        """Grab the active ear's point at the frequency nearest ``hz`` (a new point if there is none)."""
        self._drag_hz = snap_hz(hz)

    def drag_to(self, hz: float, db_hl: float) -> None:
        """Move the grabbed point: snapped dB; an optional frequency also follows the cursor to an empty column."""
        if self._drag_hz is None:
            self.begin_drag(hz)
        th = self.audiogram.ear(self.active_ear).thresholds
        src, dst = self._drag_hz, snap_hz(hz)
        # Required frequencies stay in their column (the audiogram needs them); others may move to an empty one.
        if dst != src and src not in REQUIRED_HZ and dst not in th:
            before = self.audiogram
            self._propose({src: None, dst: snap_db(db_hl)})
            if self.audiogram is not before:  # accepted: keep dragging the moved point
                self._drag_hz = dst
            return
        self._propose({src: snap_db(db_hl)})

    def end_drag(self) -> None:
        """Release the grabbed point."""
        self._drag_hz = None


GAIN_LEVEL_STYLES = {50.0: Qt.PenStyle.DashLine, 65.0: Qt.PenStyle.SolidLine, 80.0: Qt.PenStyle.DotLine}
GAIN_LEVEL_SYMBOLS = {50.0: "t1", 65.0: "s", 80.0: "t"}


class InsertionGainChart(QWidget):
    """Target insertion gain (lines) at 50/65/80 dB SPL input, achieved gain (markers) and the gain limit, one ear."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        item = self.plot.getPlotItem()
        _style_frequency_axis(item)
        item.getAxis("left").setLabel("Insertion gain (dB)")
        item.showGrid(x=True, y=True, alpha=0.35)
        for ax in ("bottom", "left"):
            item.getAxis(ax).setTextPen("#24292f")
            item.getAxis(ax).setPen("#57606a")
        self.legend = item.addLegend(offset=(8, 8), labelTextColor="#24292f", brush=pg.mkBrush(255, 255, 255, 230),
                                     pen=pg.mkPen("#d0d7de"), colCount=3)
        self.targets = {}
        self.achieved = {}
        for lv, style in GAIN_LEVEL_STYLES.items():
            self.targets[lv] = item.plot([], [], pen=pg.mkPen(RIGHT_COLOUR, width=2.5, style=style),
                                         name=f"Target {lv:g} dB SPL")
        for lv, sym in GAIN_LEVEL_SYMBOLS.items():
            self.achieved[lv] = item.plot([], [], pen=None, symbol=sym, symbolSize=11,
                                          symbolPen=pg.mkPen("#24292f", width=1.2), symbolBrush="#24292f",
                                          name=f"Measured {lv:g} dB SPL")
        self.limit = item.plot([], [], pen=pg.mkPen("#6e7781", width=2, style=Qt.PenStyle.DashDotLine),
                               name="Max gain (limit)")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.setAccessibleName("Insertion gain chart")
        self.setMinimumSize(380, 260)

    def show_ear(self, ear: str, centres_hz, targets_db: dict[float, np.ndarray], max_gain_db,
                 achieved_db: dict[float, np.ndarray] | None = None) -> None:
        """Draw one ear: targets per input level (dB SPL -> dB per band), the limit, and measured gains if given."""
        x = np.log10(np.asarray(centres_hz, float))
        colour = EAR_COLOURS[ear]
        top = float(np.max(max_gain_db))
        for lv, curve in self.targets.items():
            curve.setData(x, targets_db[lv])
            curve.setPen(pg.mkPen(colour, width=2.5, style=GAIN_LEVEL_STYLES[lv]))
            top = max(top, float(np.max(targets_db[lv])))
        for lv, curve in self.achieved.items():
            measured = bool(achieved_db) and lv in achieved_db and len(achieved_db[lv]) == len(x)
            if measured:
                curve.setData(x, achieved_db[lv])
                top = max(top, float(np.max(achieved_db[lv])))
            else:
                curve.setData([], [])
            # the legend lists measured markers only once there is a measurement
            listed = any(sample.item is curve for sample, _ in self.legend.items)
            if measured and not listed:
                self.legend.addItem(curve, f"Measured {lv:g} dB SPL")
            elif listed and not measured:
                self.legend.removeItem(curve)
        self.limit.setData(x, np.asarray(max_gain_db, float))
        # headroom above the curves for the legend, and a little below 0 dB so markers there are not cut
        self.plot.setYRange(-3, 10 * math.ceil((top + 22) / 10), padding=0)
