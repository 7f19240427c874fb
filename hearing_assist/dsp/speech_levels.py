"""How fast compression treats real speech: its band levels as the WDRC detector sees them, power-weighted.

Why: prescription targets are insertion gains *for speech* (NAL-R: conversational speech at 65 dB SPL), and
fitting software verifies them with a speech signal's long-term spectrum. A WDRC band with ratio CR gives its
static gain only at one level; speech's power in a band comes mostly from moments well above the band's
long-term level (vowel peaks, and at 4-8 kHz the fricatives, ~12 dB above it), where the gain is lower. Fitted
on the static curve alone, real speech got 1-3 dB less than prescribed at 1-4 kHz and ~6 dB less at 6 kHz
(N3, NAL-R; `bench amplification`, "real speech" rows), which HASPI v2 in noise scored below the linear Clarity
baseline. So the curve is raised by the gain speech misses (:func:`speech_gain_shortfall_db`): speech then gets
the prescription, and a steady test noise (which sits at the long-term level all the time) reads higher by the
same amount; :func:`~hearing_assist.dsp.hearing_chain.measure_insertion_gain` converts with it.

:data:`SPEECH_LEVEL_QUANTILES_DB`: per default band centre, the 16 levels (dB re the band's long-term level)
splitting the band's speech power into 16 equal parts, as seen by the WDRC detector (5 ms attack, 50 ms release,
2:1; 1.5:1 and 3:1 change them by <= 0.1 dB, 200 ms release by <= 1 dB at the lowest quantiles). Measured by
``python -m hearing_assist.bench.speech_levels`` on 28 real recordings in ``shared/data`` (ARCTIC, LibriVox, LJ Speech, JFK;
none of those the HASPI benchmark scores), 65 dB SPL, the default 8-band crossover bank at 48 kHz.
"""

from __future__ import annotations

import numpy as np

SPEECH_LEVEL_QUANTILES_DB = {
    125.0: (-4.0, -0.5, 0.7, 1.6, 2.3, 2.9, 3.5, 4.1, 4.7, 5.3, 5.9, 6.5, 7.1, 7.8, 9.3, 14.4),
    250.0: (-4.2, -0.8, 0.8, 1.9, 2.8, 3.5, 4.2, 4.9, 5.5, 6.2, 6.8, 7.4, 8.5, 9.4, 10.3, 11.8),
    500.0: (-4.0, -0.6, 1.0, 2.2, 3.1, 3.9, 4.7, 5.4, 6.2, 7.0, 7.7, 8.5, 9.4, 10.4, 11.4, 13.6),
    1000.0: (-5.6, -0.4, 2.1, 3.8, 5.2, 6.4, 7.5, 8.5, 9.3, 10.3, 11.3, 12.2, 13.1, 13.6, 14.4, 15.5),
    2000.0: (-6.7, -1.1, 1.8, 3.6, 5.2, 6.7, 8.1, 9.6, 10.8, 11.8, 12.9, 13.9, 14.9, 15.7, 16.5, 17.1),
    3000.0: (-7.1, -1.9, 0.7, 3.0, 4.8, 6.0, 7.2, 8.4, 9.6, 10.7, 12.2, 13.8, 15.3, 16.3, 18.3, 21.2),
    4000.0: (-6.9, -0.7, 2.5, 4.6, 6.0, 7.3, 8.5, 9.6, 10.6, 11.5, 12.5, 13.6, 14.6, 16.9, 19.5, 22.5),
    6000.0: (-4.9, 3.5, 6.1, 8.0, 9.4, 10.4, 11.3, 12.2, 13.0, 13.7, 14.4, 15.2, 16.4, 17.7, 20.3, 22.2),
}


def speech_level_quantiles_db(centres_hz) -> np.ndarray:
    """Equal-power quantiles (bands, 16) of speech's detector level re its long-term band level (dB), for band
    centres (Hz): the table's rows, interpolated on a log-frequency axis (flat beyond its ends)."""
    f = np.array(sorted(SPEECH_LEVEL_QUANTILES_DB))
    q = np.array([SPEECH_LEVEL_QUANTILES_DB[k] for k in f])
    x = np.log(np.asarray(centres_hz, float))
    return np.stack([np.interp(x, np.log(f), q[:, i]) for i in range(q.shape[1])], axis=1)


def speech_gain_shortfall_db(gain_curve, band_level_db_spl: np.ndarray, quantiles_db: np.ndarray) -> np.ndarray:
    """Static gain (dB) at the long-term band level (dB SPL) minus the power-average gain (dB) speech gets there.

    ``gain_curve(levels)`` maps band levels (dB SPL, shaped like ``band_level_db_spl`` plus a trailing quantile
    axis) to gains (dB); ``quantiles_db`` (bands, Q) from :func:`speech_level_quantiles_db` broadcasts against
    ``band_level_db_spl`` (bands, ...). 0 for a linear band; > 0 where louder moments get less gain.
    """
    level = np.asarray(band_level_db_spl, float)
    nb, nq = np.shape(quantiles_db)
    q = np.asarray(quantiles_db, float).reshape((nb,) + (1,) * (level.ndim - 1) + (nq,))
    g_static = gain_curve(level[..., None])[..., 0]
    g_speech = 10 * np.log10(np.mean(10 ** (gain_curve(level[..., None] + q) / 10), axis=-1))
    return g_static - g_speech

