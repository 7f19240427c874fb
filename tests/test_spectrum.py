import numpy as np

from hearing_assist.dsp.spectrum import Spectrogram


def test_sine_peaks_at_its_frequency_and_level():
    sr = 48000
    s = Spectrogram(sr, fft_size=1024, columns=50)
    t = np.arange(sr // 4) / sr
    amp = 10 ** (-12 / 20)
    s.feed(amp * np.sin(2 * np.pi * 3000 * t))
    col = s.image[-1]
    peak_bin = int(np.argmax(col))
    assert abs(s.frequencies_hz[peak_bin] - 3000) <= sr / 1024
    assert abs(col[peak_bin] - (-12)) < 1.5  # Hann scalloping is below 1.5 dB
    assert np.median(col) < -80


def test_feeding_in_pieces_equals_feeding_at_once():
    x = np.random.default_rng(0).standard_normal(10000).astype(np.float32)
    a, b = Spectrogram(columns=30), Spectrogram(columns=30)
    a.feed(x)
    for i in range(0, len(x), 333):
        b.feed(x[i : i + 333])
    assert np.allclose(a.image, b.image, atol=1e-4)
