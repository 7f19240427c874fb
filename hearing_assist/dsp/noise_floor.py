"""Per-band noise-floor estimate by minimum statistics, for the noise-adaptive WDRC (see dsp/compressor.py).

Why minimum statistics (Martin 2001, "Noise power spectral density estimation based on optimal smoothing and
minimum statistics"): speech leaves short dips between syllables and words in every band, so the lowest detector
level over a window longer than a word (here ``WINDOW_S``) sits on the background noise, not on the speech, with no
voice-activity decision. The window is kept as ``PARTS`` sub-windows, each holding its own minimum (the oldest
``PARTS - 1`` finished ones and the one being filled), so the estimate spans between (PARTS - 1) / PARTS of
``WINDOW_S`` and ``WINDOW_S``: it rises to a new, louder noise within ``WINDOW_S`` and follows a drop (the noise
stopping) at once. Per block this costs two element-wise minima over
bands x channels (:meth:`NoiseFloorTracker.observe`), plus one more when the floor is read.
"""

from __future__ import annotations

import numpy as np

WINDOW_S = 1.5  # longer than a word with its neighbouring gaps, short enough to follow a change of place
PARTS = 4


def noise_floor_db(levels_db: np.ndarray, frames_per_level: int, sample_rate: int, window_s: float = WINDOW_S,
                   parts: int = PARTS) -> np.ndarray:
    """Offline reference of :class:`NoiseFloorTracker`: floor (dB) after each of ``levels_db`` (steps, rows), one
    level per ``frames_per_level`` samples at ``sample_rate`` Hz."""
    t = NoiseFloorTracker(window_s, parts)
    levels_db = np.atleast_2d(np.asarray(levels_db, np.float32))
    t.prepare(sample_rate, levels_db.shape[1])
    return np.stack([t.update(lv, frames_per_level).copy() for lv in levels_db])


class NoiseFloorTracker:
    """Running minimum of a per-row level over the last ``window_s`` seconds, updated once per block.

    The level may be in dB or in power (any quantity that rises with level): the minimum is the same sample."""

    def __init__(self, window_s: float = WINDOW_S, parts: int = PARTS):
        if window_s <= 0 or parts < 2:
            raise ValueError("window_s must be > 0 and parts >= 2")
        self.window_s, self.parts = float(window_s), int(parts)
        self.sample_rate = 0

    def prepare(self, sample_rate: int, rows: int) -> None:
        """Allocate state for ``rows`` levels at ``sample_rate`` Hz."""
        self.sample_rate = sample_rate
        self._part_len = max(1, int(round(self.window_s * sample_rate / self.parts)))
        self._ring = np.empty((self.parts - 1, rows), np.float32)  # minimum of each finished sub-window
        self._ring_min = np.empty(rows, np.float32)
        self._cur = np.empty(rows, np.float32)  # minimum of the sub-window being filled
        self._floor = np.empty(rows, np.float32)
        self.reset()

    def reset(self) -> None:
        """Forget the past: the floor is the lowest level seen since now."""
        self._ring.fill(np.inf)
        self._ring_min.fill(np.inf)
        self._cur.fill(np.inf)
        self._floor.fill(np.inf)
        self._count, self._idx = 0, 0

    def update(self, level_db: np.ndarray, frames: int) -> np.ndarray:
        """Take the current level (rows; dB or power) after a block of ``frames`` samples; returns the floor."""
        self.observe(level_db, frames)
        return self.floor()

    def observe(self, level_db: np.ndarray, frames: int) -> None:
        """Take the current level (rows; dB or power) at the end of a block of ``frames`` samples."""
        np.minimum(self._cur, level_db, out=self._cur)
        self._count += frames
        if self._count >= self._part_len:  # a sub-window is complete: it replaces the oldest one
            self._count -= self._part_len
            self._ring[self._idx] = self._cur
            self._idx = (self._idx + 1) % (self.parts - 1)
            np.minimum.reduce(self._ring, axis=0, out=self._ring_min)
            self._cur[:] = level_db  # the new sub-window starts at the current level

    def floor(self) -> np.ndarray:
        """The floor (rows, in the unit of the levels): the lowest level observed over the window."""
        np.minimum(self._ring_min, self._cur, out=self._floor)
        return self._floor
