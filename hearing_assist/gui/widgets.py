"""Display widgets: level meters and a live spectrogram (pyqtgraph), fed from snapshots by the window's timer."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from hearing_assist.dsp.spectrum import Spectrogram

METER_FLOOR_DB = -60.0


class LevelMeters(QWidget):
    """Vertical peak meters in dBFS with a slow-falling peak hold, one bar per named channel."""

    def __init__(self, names: list[str], parent=None):
        super().__init__(parent)
        self.names = names
        self.plot = pg.PlotWidget(background="#101418")
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setYRange(METER_FLOOR_DB, 0, padding=0)
        self.plot.setXRange(-0.6, len(names) - 0.4, padding=0)
        self.plot.getAxis("bottom").setTicks([list(enumerate(names))])
        self.plot.getAxis("left").setLabel("dBFS")
        self.plot.setMenuEnabled(False)
        self._x = np.arange(len(names))
        self.bars = pg.BarGraphItem(x=self._x, height=np.zeros(len(names)), width=0.6, y0=METER_FLOOR_DB,
                                    brushes=["#3fb950"] * len(names))
        self.plot.addItem(self.bars)
        self.hold = pg.ScatterPlotItem(self._x, np.full(len(names), METER_FLOOR_DB), symbol="s", size=10,
                                       brush="#f0f0f0", pen=None)
        self.plot.addItem(self.hold)
        self.levels_db = np.full(len(names), METER_FLOOR_DB)
        self._hold_db = np.full(len(names), METER_FLOOR_DB)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.setAccessibleName("Level meters")

    def set_levels(self, levels_db: np.ndarray) -> None:
        """Show peak levels (dBFS), one per channel."""
        lv = np.clip(np.asarray(levels_db, dtype=float), METER_FLOOR_DB, 0.0)
        self.levels_db = lv
        self._hold_db = np.maximum(lv, self._hold_db - 0.5)  # ~15 dB/s fall at 30 fps
        colours = ["#f85149" if v > -3 else "#d29922" if v > -12 else "#3fb950" for v in lv]
        self.bars.setOpts(height=lv - METER_FLOOR_DB, brushes=colours)
        self.hold.setData(self._x, self._hold_db)


class SpectrogramView(QWidget):
    """Scrolling spectrogram of the processed output, 0–12 kHz, levels in dBFS."""

    def __init__(self, sample_rate: int = 48000, title: str = "Spectrogram of what you hear", parent=None):
        super().__init__(parent)
        self.analyzer = Spectrogram(sample_rate=sample_rate, fft_size=1024, columns=300)
        self.max_hz = 12000.0
        self._n_bins = int(self.max_hz / (sample_rate / self.analyzer.fft_size)) + 1
        self.plot = pg.PlotWidget(background="#101418")
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.getAxis("left").setLabel("Hz")
        self.plot.getAxis("bottom").setLabel("time (s)")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.plot.addItem(self.image)
        self._seconds = self.analyzer.image.shape[0] * self.analyzer.hop / sample_rate
        self.plot.setXRange(-self._seconds, 0, padding=0)
        self.plot.setYRange(0, self.max_hz, padding=0)
        self.columns_drawn = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(title)
        label.setAlignment(Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(label)
        layout.addWidget(self.plot)
        self.setAccessibleName(title)
        self._draw()

    def feed(self, samples: np.ndarray) -> None:
        """Add new mono samples and redraw when new columns arrived."""
        if len(samples) and self.analyzer.feed(samples):
            self.columns_drawn += 1
            self._draw()

    def _draw(self) -> None:
        img = self.analyzer.image[:, : self._n_bins].T  # rows = frequency, columns = time
        self.image.setImage(img, autoLevels=False, levels=(-100, -10))
        # Map pixels to seconds and Hz; setImage resets the mapping, so set it after every image.
        self.image.setRect(-self._seconds, 0, self._seconds, self.max_hz)

    def clear(self) -> None:
        """Blank the display."""
        self.analyzer.clear()
        self._draw()
