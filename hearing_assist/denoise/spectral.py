"""Pure spectral-estimation maths for the classical backend (MCRA noise tracking, decision-directed Wiener gain).

Every function writes into ``out``/state arrays given by the caller so the streaming code never allocates.
References: I. Cohen, B. Berdugo, "Noise estimation by minima controlled recursive averaging for robust speech
enhancement", IEEE SPL 2002 (MCRA); Y. Ephraim, D. Malah 1984 (decision-directed a-priori SNR).
"""

from __future__ import annotations

import numpy as np
from scipy.special import exp1


def smoothing_coefficient(time_constant_s: float, hop_s: float) -> float:
    """One-pole coefficient for a recursive average with ``time_constant_s`` s updated every ``hop_s`` s."""
    return float(np.exp(-hop_s / time_constant_s))


def smooth_over_frequency(power: np.ndarray, out: np.ndarray) -> np.ndarray:
    """[0.25, 0.5, 0.25] smoothing across bins (edges use the bin itself) -- steadies the minimum search."""
    out[1:-1] = 0.5 * power[1:-1]
    out[1:-1] += 0.25 * power[:-2]
    out[1:-1] += 0.25 * power[2:]
    out[0], out[-1] = power[0], power[-1]
    return out


def mcra_update(power: np.ndarray, smoothed: np.ndarray, s_min: np.ndarray, s_tmp: np.ndarray,
                presence: np.ndarray, noise: np.ndarray, scratch: np.ndarray, *, alpha_s: float, alpha_d: float,
                alpha_p: float, delta: float, restart_min: bool) -> None:
    """One MCRA step: update the smoothed power, its running minima, the speech-presence probability and the noise
    power estimate (all per bin, in place). ``restart_min`` starts a new minimum-search window."""
    smooth_over_frequency(power, scratch)
    scratch *= 1.0 - alpha_s
    smoothed *= alpha_s
    smoothed += scratch
    np.minimum(s_min, smoothed, out=s_min)
    np.minimum(s_tmp, smoothed, out=s_tmp)
    if restart_min:
        np.minimum(s_tmp, smoothed, out=s_min)
        s_tmp[:] = smoothed
    # Speech present where the smoothed power stands well above its recent minimum.
    np.divide(smoothed, np.maximum(s_min, 1e-12, out=scratch), out=scratch)
    np.greater(scratch, delta, out=scratch, casting="unsafe")
    scratch *= 1.0 - alpha_p
    presence *= alpha_p
    presence += scratch
    # Noise is updated slowly, and not at all where speech is certainly present.
    np.multiply(presence, 1.0 - alpha_d, out=scratch)
    scratch += alpha_d  # time-varying smoothing factor
    noise *= scratch
    np.subtract(1.0, scratch, out=scratch)
    scratch *= power
    noise += scratch


def dd_gain(power: np.ndarray, noise: np.ndarray, prev_clean: np.ndarray, out: np.ndarray, scratch: np.ndarray,
            scratch2: np.ndarray, *, alpha_dd: float, xi_min: float, gain_min: float, noise_scale: float = 1.0,
            rule: str = "wiener") -> np.ndarray:
    """Decision-directed a-priori SNR and a spectral gain per bin, floored at ``gain_min`` (linear).

    ``rule`` is ``"wiener"`` (``xi / (1 + xi)``) or ``"lsa"`` (Ephraim-Malah log-spectral amplitude, which keeps
    more low-SNR speech). ``noise_scale`` over-estimates the noise; ``prev_clean`` holds the previous frame's
    |G X|^2 and is updated.
    """
    np.multiply(noise, noise_scale, out=scratch)
    np.maximum(scratch, 1e-12, out=scratch)
    np.divide(power, scratch, out=scratch2)  # a-posteriori SNR (gamma)
    np.divide(prev_clean, scratch, out=scratch)  # previous frame's clean-speech SNR
    scratch *= alpha_dd
    np.subtract(scratch2, 1.0, out=out)
    np.maximum(out, 0.0, out=out)
    out *= 1.0 - alpha_dd
    out += scratch
    np.maximum(out, xi_min, out=out)  # a-priori SNR (xi)
    np.add(out, 1.0, out=scratch)
    np.divide(out, scratch, out=out)  # Wiener gain xi / (1 + xi)
    if rule == "lsa":
        # G = W * exp(E1(v) / 2) with v = W * gamma; E1 is bounded by flooring v.
        np.multiply(out, scratch2, out=scratch)
        np.maximum(scratch, 1e-6, out=scratch)
        exp1(scratch, out=scratch)
        scratch *= 0.5
        np.exp(scratch, out=scratch)
        out *= scratch
        np.minimum(out, 1.0, out=out)
    np.maximum(out, gain_min, out=out)
    np.multiply(out, out, out=prev_clean)
    prev_clean *= power
    return out


def band_snr_db(speech_power: float, noise_power: float) -> float:
    """Speech-to-noise ratio in dB from speech (excess) and noise powers, floored at -30 dB."""
    n = noise_power + 1e-12
    return float(10.0 * np.log10(max(speech_power, 1e-3 * n) / n))
