"""Multiband wide-dynamic-range compression (WDRC): static I/O curve and a block-vectorised level detector.

Static curve per band (levels are band levels in dB SPL, gains in dB), :func:`static_gain_db`:

* above the knee ``TK``: ``g = G_k + (1/CR - 1) (L - TK)`` (output rises 1/CR dB per input dB);
* optional soft knee of width ``W`` dB centred on TK (quadratic blend, continuous slope);
* between the expansion threshold ``TE`` and TK: linear, ``g = G_k``;
* below TE: expansion (noise gate) ``g = G_k + (1/ER - 1) (L - TE)`` with ER < 1 (gain falls as input falls),
  so microphone and room noise are not amplified.

Level detector (why it is built this way): a per-sample attack/release recursion is a Python loop per sample,
far over the 80 us/block budget. Instead, per block and for all bands x channels at once, on the filterbank's
time-major layout ``(frames, bands x channels)``, where every reduction is a small matrix product (numpy's
reductions over a middle axis and size-1 broadcasts cost 5-15 us per call at these sizes; a tiny sgemm ~1 us):

1. band power is averaged over sub-blocks of ``SUB`` = 16 samples (0.33 ms at 48 kHz), the bank's output grid;
2. two one-pole power smoothers run over the sub-blocks (closed form as small per-row matrix products, carried
   across blocks): one with the **release** time constant and a faster one (``tau_f = min(tau_r, attack/0.6)``)
   whose maximum is the level, so a long release does not slow the attack;
3. the level in dB is rise-rate limited (linear-in-dB **attack**), ``L[n] = min(Lp[n], L[n-1] + c)``, computed
   without a loop as ``c n + cummin(Lp[n] - c n)``;
4. gains are computed at sub-block points and interpolated linearly to every sample (no zipper noise) by one
   product with a hat-function matrix; the band sum is one product with a 0/1 selection matrix; the
   static curve is evaluated in natural-log amplitude (constants pre-scaled by ln 10 / 20), so the linear gain
   is one ``exp`` and every piece is a fused multiply-add with a ``min``/``clip``.

Attack/release settings are ANSI S3.22 times: for a 55 -> 90 dB SPL step (and back) at the band's ratio the
output settles within 3 dB (attack) / 4 dB (release) of its steady state after ``attack_ms`` / ``release_ms``.
:func:`time_constants` inverts these definitions into the detector's constants.
Settings changes are applied through parameter slew (``RAMP_DB_PER_S``), so a change mid-stream does not click.

Noise-adaptive knee (``noise_adaptive`` > 0; what hearing aids call a speech-in-noise program): in steady
background noise, fast WDRC lifts the noise in every gap between words to the gain of a soft sound and flattens
the speech envelope against it (SNR-aware compression, May, Kowalewski & Dau 2018, Trends Hear 22). Per band, a
minimum-statistics noise floor (:mod:`hearing_assist.dsp.noise_floor`) raises the knee to ``NOISE_KNEE_MARGIN_DB``
above the floor (:func:`noise_knee_shift_db`), keeping the curve above the new knee as it was: sounds above the
noise are compressed and gained as prescribed, while the noise and what sits just above it get the gain at the
raised knee (linear amplification, no pumping). In quiet the floor lies far below the knee and nothing changes.
The shift slews at ``NOISE_KNEE_SLEW_DB_PER_S``, so gains move smoothly. Hearing aids are verified with adaptive
features off (ANSI S3.22): stationary test noise would be taken for background noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hearing_assist.dsp.filterbank import SUB  # samples per detector step = the bank's sub-block
from hearing_assist.dsp.noise_floor import NoiseFloorTracker

NEPER_PER_DB = math.log(10.0) / 20.0  # ln(amplitude) per dB
SUB_POWER_DB = 10.0 * math.log10(SUB)  # sum of squares over a sub-block -> mean square, in dB
ANSI_STEP_DB = 35.0  # 55 -> 90 dB SPL
RAMP_DB_PER_S = 60.0  # how fast gain-curve parameters follow a settings change (dB/s)
MIN_GAIN_DB = -60.0
MIN_RATIO = 0.5
ATTACK_MIN_K = 0.5  # slowest attack rise is that of a 2:1 band (see time_constants)
# noise-adaptive knee: this far above the band's noise floor. The floor (minimum of an 8 ms power average) sits
# ~5 dB under the noise's mean level, so the knee lands near the level of speech at 5 dB SNR. HASPI v2 in noise
# (bench amplification, N3): margin 5 dB -0.032 vs the Clarity baseline, 10 dB -0.026, 15 dB -0.048 (speech then
# loses gain), off -0.044.
NOISE_KNEE_MARGIN_DB = 10.0
# never raise the knee by more (from the 45 dB SPL knee to 75 dB SPL): in loud noise, speech near the noise's level
# gets a little less than its prescribed gain rather than pumping the noise up
MAX_NOISE_KNEE_SHIFT_DB = 30.0
NOISE_KNEE_SLEW_DB_PER_S = 50.0  # how fast the knee follows the floor
# the floor sees every block, the knee moves every ~10 ms (0.5 dB of knee at most): it changes slowly, and moving it
# every block cost ~9 us/block, which put the chain over its budget while the MPO limiter works
NOISE_KNEE_UPDATE_S = 0.01


@dataclass
class BandCompression:
    """WDRC settings; every field is an array shaped (bands, channels) or broadcastable to it."""

    gain_at_knee_db: np.ndarray
    knee_db_spl: np.ndarray
    ratio: np.ndarray
    knee_width_db: np.ndarray | float = 10.0
    expansion_threshold_db_spl: np.ndarray | float = 25.0
    expansion_ratio: np.ndarray | float = 0.5
    attack_ms: np.ndarray | float = 5.0
    release_ms: np.ndarray | float = 50.0
    max_gain_db: np.ndarray | float = 60.0
    noise_adaptive: np.ndarray | float = 0.0  # fraction (0..1) of the noise-adaptive knee shift applied; 0 = off

    def broadcast(self, shape: tuple[int, int]) -> "BandCompression":
        """Copy with every field a float64 array of ``shape``; raises ValueError on bad values."""
        vals = {k: np.broadcast_to(np.asarray(getattr(self, k), float), shape).copy() for k in self.__dataclass_fields__}
        # ratios below 1 (gain rising with level) are for gain matching only: a band that mostly cancels its
        # neighbours' leakage must follow their level dependence (see hearing_chain.compression_for)
        if np.any(vals["ratio"] < MIN_RATIO) or np.any(vals["ratio"] > 20.0):
            raise ValueError(f"ratio must be within {MIN_RATIO}..20")
        if np.any(vals["expansion_ratio"] <= 0) or np.any(vals["expansion_ratio"] > 1.0):
            raise ValueError("expansion_ratio must be within (0, 1]")
        if np.any(vals["attack_ms"] <= 0) or np.any(vals["release_ms"] <= 0):
            raise ValueError("attack_ms and release_ms must be positive")
        if np.any(vals["knee_width_db"] < 0):
            raise ValueError("knee_width_db must be >= 0")
        if np.any(vals["noise_adaptive"] < 0) or np.any(vals["noise_adaptive"] > 1.0):
            raise ValueError("noise_adaptive must be within 0..1")
        return BandCompression(**vals)


def static_gain_db(level_db_spl, gain_at_knee_db, knee_db_spl, ratio, knee_width_db=0.0,
                   expansion_threshold_db_spl=-np.inf, expansion_ratio=1.0, max_gain_db=np.inf,
                   knee_shift_db=0.0) -> np.ndarray:
    """Static WDRC gain (dB) at band input ``level_db_spl`` (dB SPL); all arguments broadcast.

    ``knee_shift_db`` (dB, >= 0) raises the knee along the curve: the gain above the raised knee is unchanged."""
    L = np.asarray(level_db_spl, float)
    slope = 1.0 / np.asarray(ratio, float) - 1.0
    shift = np.asarray(knee_shift_db, float)
    knee_db_spl = knee_db_spl + shift
    gain_at_knee_db = gain_at_knee_db + slope * shift
    d = L - knee_db_spl
    w = np.asarray(knee_width_db, float)
    half = w / 2
    soft = np.where(w > 0, slope * np.square(np.clip(d + half, 0, None)) / (2 * np.where(w > 0, w, 1.0)), 0.0)
    above = slope * d
    g = gain_at_knee_db + np.where(d >= half, above, np.where(d <= -half, 0.0, soft))
    # below TE only; min(.., 0) rather than np.where, which would also evaluate 0 x inf for TE = -inf (no gate)
    g = g + (1.0 / np.asarray(expansion_ratio, float) - 1.0) * np.minimum(L - expansion_threshold_db_spl, 0.0)
    return np.clip(g, MIN_GAIN_DB, max_gain_db)


def noise_knee_shift_db(noise_floor_db_spl, knee_db_spl, noise_adaptive=1.0, margin_db=NOISE_KNEE_MARGIN_DB,
                        max_shift_db=MAX_NOISE_KNEE_SHIFT_DB) -> np.ndarray:
    """Knee raise (dB) putting the knee ``margin_db`` above the band noise floor (dB SPL), 0 when the floor is
    already that far below the knee (dB SPL), at most ``max_shift_db``, scaled by ``noise_adaptive`` (0..1)."""
    d = np.asarray(noise_floor_db_spl, float) + margin_db - np.asarray(knee_db_spl, float)
    return np.asarray(noise_adaptive, float) * np.clip(d, 0.0, max_shift_db)


def time_constants(attack_ms, release_ms, ratio):
    """(release power time constant s, attack rise rate dB/s, fast power time constant s) realising ANSI S3.22
    attack/release times (ms) at ``ratio``.

    Attack: the level follows a straight line in dB (rate c) that stays below the fast smoother's concave rise,
    which reaches the target earlier (0.6 * tau_f < attack), so the settle time is exactly the setting for
    ratios >= 2; below 2:1 the rise keeps the 2:1 rate (``ATTACK_MIN_K``), so the attack is shorter than set.
    """
    k = np.maximum(1.0 - 1.0 / np.asarray(ratio, float), 0.1)  # output dB per input dB of gain change
    r = 10 ** (-ANSI_STEP_DB / 10)
    # release: power decays P1 + (P2 - P1) e^{-t/tau}; settled when output is within 4 dB -> level within 4/k dB.
    xr = np.minimum(4.0 / k, ANSI_STEP_DB - 1.0)
    tau_r = np.asarray(release_ms, float) * 1e-3 / np.log((1 / r - 1) / (10 ** (xr / 10) - 1))
    # attack: the level rises at c dB/s until within 3/k dB of the new level. The same level also drives the
    # expansion gate (1 dB/dB below TE), so the rise is never slower than for k = ATTACK_MIN_K: inverting ANSI
    # literally for a near-linear band (k -> 0.1) gave 1 dB/ms, so after a pause syllable onsets stayed gated for
    # tens of ms (HASPI v2 in noise fell by up to 0.29; see bench/haspi.py).
    xa = np.minimum(3.0 / np.maximum(k, ATTACK_MIN_K), ANSI_STEP_DB - 1.0)
    rate = (ANSI_STEP_DB - xa) / (np.asarray(attack_ms, float) * 1e-3)
    tau_f = np.minimum(tau_r, np.asarray(attack_ms, float) * 1e-3 / 0.6)
    return tau_r, rate, tau_f


class Wdrc:
    """Applies per-band, per-channel WDRC gains to filterbank output and sums the bands.

    Real-time path: :meth:`process_blocks` on the bank's (sub-blocks, bands, SUB, channels) float32 view, band sum
    into (sub-blocks, SUB, channels). :meth:`process_bands` is the (bands, channels, frames) form for analysis and
    tests. ``level_offset_db`` converts 10 log10(mean square) to dB SPL.
    """

    def __init__(self, settings: BandCompression, level_offset_db: float):
        self._pending = settings
        self._level_offset_db = float(level_offset_db)
        self.sample_rate = 0

    @property
    def level_offset_db(self) -> float:
        """dB SPL of a mean square of 1 (the calibration)."""
        return self._level_offset_db

    @level_offset_db.setter
    def level_offset_db(self, db: float) -> None:
        self._level_offset_db = float(db)
        if self.sample_rate:
            self._derive()  # the noise-adaptive knee compares the floor's power with knees in dB SPL

    def prepare(self, sample_rate: int, block_size: int, n_bands: int, channels: int) -> None:
        """Allocate state for blocks of up to ``block_size`` frames."""
        self.sample_rate, self.block_size = sample_rate, block_size
        self.n_bands, self.channels = n_bands, channels
        self.shape = (n_bands, channels)
        self.n_sub = n = -(-block_size // SUB)
        self.capacity = cap = n * SUB
        rows = n_bands * channels
        f32 = np.float32
        self._target = self._params(self._pending)
        self._cur = {k: v.copy() for k, v in self._target.items()}
        self._ramping = False
        self._ps = np.full((2, rows), 1e-12, f32)  # smoothed powers (release, fast), sum of squares per sub-block
        self._lvl = np.full(rows, -100.0, f32)  # attack-limited level dB SPL
        self._g_last = np.ones(rows, f32)  # last linear gain applied
        self._coef = {k: np.zeros(rows, f32) for k in ("a_soft", "w", "c_soft", "c_sl", "a_above", "c_e", "b_e",
                                                         "c_gk", "lo", "hi")}
        # noise-adaptive knee: the curve constants without the shift, the shift and its target, the floor tracker
        self._base = {k: np.zeros(rows, f32) for k in ("a_soft", "a_above", "c_gk", "na_off", "na")}
        self._shift = np.zeros(rows, f32)
        self._shift_t = np.empty(rows, f32)
        self._shift_tmp = np.empty(rows, f32)
        self._noise = NoiseFloorTracker()
        self._noise.prepare(sample_rate, rows)
        self._knee_every = max(1, int(NOISE_KNEE_UPDATE_S * sample_rate))
        self._since_knee = 0  # samples since the knee last moved
        t = np.arange(cap)
        self._sum_sub = (t[None, :] // SUB == np.arange(n)[:, None]).astype(f32)  # (n, cap): sum over a sub-block
        frac = ((t % SUB) + 1.0) / SUB  # gains are reached at each sub-block's last sample
        hat = np.zeros((cap, n + 1))
        hat[t, t // SUB] = 1.0 - frac
        hat[t, t // SUB + 1] = frac
        self._hat = hat.astype(f32)  # (cap, n + 1): sub-block gains -> per-sample gains
        self._band_sum = np.tile(np.eye(channels, dtype=f32), (n_bands, 1))  # (rows, channels)
        self._sq = np.empty((cap, rows), f32)
        self._P = np.zeros((n, rows), f32)
        self._LL = np.empty((2, n, rows), f32)
        self._tmp2 = np.empty((2, n, rows), f32)
        self._ar = np.empty((2, rows), f32)  # partial sub-block: smoother coefficient for r < SUB samples
        self._ar2 = np.empty((2, rows), f32)
        self._lp_last = np.empty(rows, f32)
        self._lvl_prev = np.empty(rows, f32)
        self._L = np.empty((n, rows), f32)
        self._u = np.empty((n, rows), f32)
        self._v = np.empty((n, rows), f32)
        self._G = np.ones((n + 1, rows), f32)
        self._gf = np.empty((cap, rows), f32)
        self._bands_buf = np.zeros((cap, n_bands, channels), f32)  # process_bands' layout conversion
        self._out_buf = np.zeros((cap, channels), f32)
        self._consts()
        self._derive()
        self.reset()

    def _params(self, s: BandCompression) -> dict[str, np.ndarray]:
        """Flattened (rows,) parameter arrays for the vectorised curve."""
        b = s.broadcast(self.shape)
        tau_r, rate, tau_f = time_constants(b.attack_ms, b.release_ms, b.ratio)
        return {
            "gk": b.gain_at_knee_db.ravel(), "tk": b.knee_db_spl.ravel(), "slope": (1 / b.ratio - 1).ravel(),
            "w": b.knee_width_db.ravel(), "te": b.expansion_threshold_db_spl.ravel(),
            "eslope": (1 / b.expansion_ratio - 1).ravel(), "gmax": b.max_gain_db.ravel(),
            "tau_r": tau_r.ravel(), "rate": rate.ravel(), "tau_f": tau_f.ravel(), "na": b.noise_adaptive.ravel(),
        }

    def set_settings(self, settings: BandCompression) -> None:
        """Change settings live; gain-curve parameters slew at RAMP_DB_PER_S, time constants switch at once."""
        self._pending = settings
        if not self.sample_rate:
            return
        self._target = self._params(settings)
        for k in ("tau_r", "rate", "tau_f", "na"):  # the knee shift slews by itself (NOISE_KNEE_SLEW_DB_PER_S)
            self._cur[k] = self._target[k].copy()
        self._consts()
        self._ramping = True

    def _consts(self) -> None:
        """Smoother matrices and attack steps over the sub-blocks of one block (rebuilt when time constants change)."""
        n = self.n_sub
        i = np.arange(n)
        expo = i[:, None] - i[None, :]
        Ks, apows = [], []
        for key in ("tau_r", "tau_f"):
            a = np.exp(-SUB / (self.sample_rate * self._cur[key]))  # (rows,)
            # Ps[k] = a^(k+1) Ps[-1] + (1-a) sum_{j<=k} a^(k-j) P[j]; K[k, j, row]. Lower-triangular, so the
            # rows of a partial block's real sub-blocks do not depend on the padding after them.
            Ks.append(np.where((expo >= 0)[:, :, None], (1 - a) * a ** np.maximum(expo, 0)[:, :, None], 0.0))
            apows.append(a[None, :] ** (i[:, None] + 1))
        f32 = np.float32
        # swap whole tuples so a live change never mixes old and new constants
        self._K, self._apow = np.stack(Ks).astype(f32), np.stack(apows).astype(f32)  # (2, n, n, rows), (2, n, rows)
        self._log_a = np.stack([-SUB / (self.sample_rate * self._cur[k]) for k in ("tau_r", "tau_f")]).astype(f32)
        self._steps = ((i + 1.0)[:, None] * (self._cur["rate"] * SUB / self.sample_rate)[None, :]).astype(f32)

    def _derive(self) -> None:
        """Curve constants in ln-amplitude units from the current (possibly ramping) parameters, in place."""
        p, c = self._cur, self._coef
        half = p["w"] / 2
        c["a_soft"][:] = p["tk"] - half
        c["w"][:] = p["w"]
        c["c_soft"][:] = NEPER_PER_DB * p["slope"] / (2 * np.maximum(p["w"], 1e-9))
        c["c_sl"][:] = NEPER_PER_DB * p["slope"]
        c["a_above"][:] = p["tk"] + half
        c["c_e"][:] = NEPER_PER_DB * p["eslope"]
        c["b_e"][:] = -NEPER_PER_DB * p["eslope"] * p["te"]
        c["c_gk"][:] = NEPER_PER_DB * p["gk"]
        c["lo"][:] = NEPER_PER_DB * MIN_GAIN_DB
        c["hi"][:] = NEPER_PER_DB * p["gmax"]
        b = self._base
        for k in ("a_soft", "a_above", "c_gk"):
            b[k][:] = c[k]
        b["na_off"][:] = NOISE_KNEE_MARGIN_DB - p["tk"] + self.level_offset_db - SUB_POWER_DB
        b["na"][:] = p["na"]
        self._na_on = bool(np.any(p["na"] > 0))
        self._adaptive = self._na_on or bool(np.any(self._shift))
        if self._adaptive:
            self._apply_shift()

    def _apply_shift(self) -> None:
        """Curve constants with the current knee shift (see static_gain_db's ``knee_shift_db``), in place."""
        b, c, d = self._base, self._coef, self._shift
        np.add(b["a_soft"], d, out=c["a_soft"])
        np.add(b["a_above"], d, out=c["a_above"])
        np.multiply(c["c_sl"], d, out=c["c_gk"])
        c["c_gk"] += b["c_gk"]

    def _adapt(self, frames: int) -> None:
        """Move the knee shift towards margin + noise floor - knee (per row), slewing for ``frames`` samples; then
        update the curve."""
        t, tmp, d, b = self._shift_t, self._shift_tmp, self._shift, self._base
        # the floor is the minimum of the fast smoother's power, sampled at each block's end: it dips into the short
        # gaps of clean speech, which the release smoother (up to ~200 ms in near-linear bands) bridges, so that one
        # would take running speech for noise. (The block's own minimum sat lower in the noise's dips and gave a
        # smaller shift: HASPI v2 in noise, N3, -0.032 vs -0.026 against the baseline.)
        np.maximum(self._noise.floor(), 1e-30, out=t)
        np.log10(t, out=t)
        t *= 10.0
        t += b["na_off"]  # (margin - knee) + dB SPL offset of the power sum
        np.maximum(t, 0.0, out=t)
        np.minimum(t, MAX_NOISE_KNEE_SHIFT_DB, out=t)
        t *= b["na"]
        step = NOISE_KNEE_SLEW_DB_PER_S * frames / self.sample_rate
        np.subtract(d, step, out=tmp)
        np.maximum(t, tmp, out=t)
        d += step
        np.minimum(d, t, out=d)
        self._apply_shift()
        if not self._na_on and not np.any(d):  # switched off and back to the plain curve
            self._adaptive = False

    def reset(self) -> None:
        """Forget levels and gains (back to silence)."""
        self._ps.fill(1e-12)
        self._lvl.fill(-100.0)
        self._noise.reset()
        self._since_knee = 0
        self._shift.fill(0.0)
        self._derive()
        g0 = static_gain_db(-100.0, self._cur["gk"], self._cur["tk"], 1 / (self._cur["slope"] + 1), self._cur["w"],
                            self._cur["te"], 1 / (self._cur["eslope"] + 1), self._cur["gmax"])
        self._g_last[:] = 10 ** (g0 / 20)

    def _ramp(self, frames: int) -> None:
        """Move gain-curve parameters towards their targets by at most RAMP_DB_PER_S * block time."""
        step = RAMP_DB_PER_S * frames / self.sample_rate
        done = True
        for k in ("gk", "tk", "te", "w", "gmax"):
            cur, tgt = self._cur[k], self._target[k]
            d = np.clip(tgt - cur, -step, step)
            cur += d
            done &= bool(np.all(cur == tgt))
        for k in ("slope", "eslope"):  # slopes: same relative pace (full change in ~ 0.5 s)
            cur, tgt = self._cur[k], self._target[k]
            cur += np.clip(tgt - cur, -step / 30, step / 30)
            done &= bool(np.all(cur == tgt))
        self._derive()
        self._ramping = not done

    def process_blocks(self, y: np.ndarray, out: np.ndarray, frames: int, mix: np.ndarray | None = None) -> np.ndarray:
        """Apply WDRC to the bank output ``y`` (capacity, bands, channels) in place and write the band sum into
        ``out`` (capacity, channels); only the first ``frames`` rows are real. ``mix`` (bands x channels, channels)
        replaces the plain band sum (e.g. to fold in per-ear volume). Returns ``out``."""
        if self._ramping:
            self._ramp(frames)
        m = -(-frames // SUB)  # sub-blocks touched; later ones hold only zero-input ringing and are not kept
        r = frames - (m - 1) * SUB  # real samples in the last one
        c = self._coef
        y2 = y.reshape(self.capacity, -1)  # (capacity, rows)
        P, LL, tmp2, L, u, v = self._P, self._LL, self._tmp2, self._L, self._u, self._v
        # band power per sub-block (sum of squares; the 1/SUB goes into the dB offset)
        sq = self._sq
        np.multiply(y2, y2, out=sq)
        if frames < self.capacity:
            sq[frames:] = 0.0
        np.matmul(self._sum_sub, sq, out=P)
        if r != SUB:  # the last sub-block holds r real samples: rescale its power
            P[m - 1] *= SUB / r
        # release and fast one-pole smoothers over sub-blocks (power domain), both at once
        np.einsum("skjr,jr->skr", self._K, P, out=LL)
        np.multiply(self._apow, self._ps[:, None, :], out=tmp2)
        LL += tmp2
        if r != SUB:  # the last sub-block lasted r samples, not SUB: redo its smoother step (else a stream of odd
            # block lengths would run the detector's clock fast)
            ar = self._ar
            np.multiply(self._log_a, r / SUB, out=ar)
            np.exp(ar, out=ar)
            prev = LL[:, m - 2] if m >= 2 else self._ps
            np.subtract(prev, P[m - 1], out=self._ar2)
            self._ar2 *= ar
            np.add(self._ar2, P[m - 1], out=LL[:, m - 1])  # a_r prev + (1 - a_r) P
        self._ps[:] = LL[:, m - 1]
        np.maximum(LL[0], LL[1], out=L)
        np.maximum(L, 1e-20, out=L)
        np.log10(L, out=L)
        L *= 10.0
        # Python floats (not numpy float64 scalars): a float64 operand makes numpy cast through a scratch buffer
        L += self._level_offset_db - SUB_POWER_DB
        # attack: rise-rate limit, L[k] = min(Lp[k], Lprev + c (k+1)) via a running minimum
        steps = self._steps
        if r != SUB:
            self._lp_last[:] = L[m - 1]
            self._lvl_prev[:] = self._lvl
        L -= steps
        np.minimum(L, self._lvl, out=L)
        np.minimum.accumulate(L, axis=0, out=L)
        L += steps
        if r != SUB:  # the short last sub-block may rise only r/SUB of a step
            prev = L[m - 2] if m >= 2 else self._lvl_prev
            np.multiply(steps[0], r / SUB, out=self._lvl)
            self._lvl += prev
            np.minimum(self._lvl, self._lp_last, out=L[m - 1])
        self._lvl[:] = L[m - 1]
        if self._adaptive:
            self._noise.observe(self._ps[1], frames)
            self._since_knee += frames
            if self._since_knee >= self._knee_every:  # knee shift from the floor so far; the gains below use it
                self._adapt(self._since_knee)
                self._since_knee = 0
        # static curve (see static_gain_db) in ln-amplitude: soft knee + above-knee slope + expansion, then clip.
        # np.maximum/np.minimum rather than np.clip: the latter's Python-side checks cost several us per call.
        np.subtract(L, c["a_soft"], out=u)
        np.maximum(u, 0.0, out=u)
        np.minimum(u, c["w"], out=u)
        np.square(u, out=u)
        u *= c["c_soft"]
        np.subtract(L, c["a_above"], out=v)
        np.maximum(v, 0.0, out=v)
        v *= c["c_sl"]  # slope * max(d - W/2, 0)
        u += v
        np.multiply(L, c["c_e"], out=v)
        v += c["b_e"]
        np.minimum(v, 0.0, out=v)  # expansion slope >= 0: acts below TE only
        u += v
        u += c["c_gk"]
        np.maximum(u, c["lo"], out=u)
        np.minimum(u, c["hi"], out=u)
        G = self._G
        G[0] = self._g_last
        np.exp(u, out=G[1:])
        # gains interpolated linearly to every sample, applied, summed over bands
        gf = self._gf
        np.matmul(self._hat, G, out=gf)
        y2 *= gf
        np.matmul(y2, self._band_sum if mix is None else mix, out=out)
        if r == SUB:
            self._g_last[:] = G[m]
        else:  # the gain actually reached at the last real sample
            self._g_last[:] = gf[frames - 1]
        return out

    def process_bands(self, bands: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Apply WDRC to ``bands`` (bands, channels, frames) in place; band sum into ``out`` (channels, frames)."""
        nb, ch, frames = bands.shape
        y = self._bands_buf
        y.fill(0.0)
        y[:frames] = bands.transpose(2, 0, 1)
        o = self.process_blocks(y, self._out_buf, frames)
        out[...] = o[:frames].T
        bands[...] = y[:frames].transpose(1, 2, 0)
        return out

    def current_gains_db(self) -> np.ndarray:
        """Gains (dB) last applied, shaped (bands, channels)."""
        return 20 * np.log10(self._g_last.reshape(self.shape))
