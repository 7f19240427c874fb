"""Rolling spectrogram for display: feed audio, read a ``(columns, bins)`` array of levels in dBFS."""

from __future__ import annotations

import numpy as np


class Spectrogram:
    """Short-time spectra (Hann window, hop = fft_size / 2) kept for the last ``columns`` hops."""

    def __init__(self, sample_rate: int = 48000, fft_size: int = 1024, columns: int = 200,
                 floor_db: float = -100.0):
        self.sample_rate = sample_rate
        self.fft_size = fft_size
        self.hop = fft_size // 2
        self.floor_db = floor_db
        self.window = np.hanning(fft_size).astype(np.float32)
        # Scale so a full-scale sine reads 0 dBFS at its bin.
        self._scale = 2.0 / self.window.sum()
        self.image = np.full((columns, fft_size // 2 + 1), floor_db, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    @property
    def frequencies_hz(self) -> np.ndarray:
        """Centre frequency of each bin in Hz."""
        return np.fft.rfftfreq(self.fft_size, 1.0 / self.sample_rate)

    def feed(self, samples: np.ndarray) -> int:
        """Add mono samples; returns the number of new columns."""
        x = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32).ravel()])
        n_cols = max(0, (len(x) - self.fft_size) // self.hop + 1)
        if n_cols == 0:
            self._pending = x
            return 0
        n_cols_kept = min(n_cols, len(self.image))
        first = n_cols - n_cols_kept
        idx = (np.arange(first, n_cols)[:, None] * self.hop) + np.arange(self.fft_size)[None, :]
        frames = x[idx] * self.window
        mag = np.abs(np.fft.rfft(frames, axis=1)) * self._scale
        cols = 20 * np.log10(np.maximum(mag, 10 ** (self.floor_db / 20)))
        self.image = np.roll(self.image, -n_cols_kept, axis=0)
        self.image[-n_cols_kept:] = cols
        self._pending = x[n_cols * self.hop :]
        return n_cols_kept

    def clear(self) -> None:
        """Forget everything."""
        self.image.fill(self.floor_db)
        self._pending = np.zeros(0, dtype=np.float32)
