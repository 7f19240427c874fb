"""HASPI v2 intelligibility of the hearing chain against the Clarity baseline (issue #3), with real speech and noise.

Systems, each fed the same input (speech at 65 dB SPL, clean or with real noise at 5 dB SNR):

* ``unprocessed``: the input as is;
* ``clarity baseline``: the Clarity Enhancement Challenge baseline hearing aid (CEC2/CEC3 ``baseline/enhance.py``
  and ``config.yaml``): NAL-R linear-phase FIR (220 taps) then Clarity's ``Compressor`` (threshold 0.35, attenuation
  0.1, attack 50 ms, release 1000 ms, 64 ms RMS window) then ``tanh`` soft clip, all in Clarity's level convention
  (RMS 1 = 100 dB SPL, as its HASPI evaluation uses);
* ``ours``: :class:`~hearing_assist.dsp.hearing_chain.HearingChain` with the default profile for the audiogram
  (NAL-R, conversation preset, default limits), at the app's default calibration; ``ours, noisy place``: the same
  with the caregiver's *Noisy place* preset (a check that the preset for noise does not cost intelligibility).

HASPI v2 (Kates & Arehart 2021, pyclarity ``clarity.evaluator.haspi.haspi_v2``) compares each output with the
clean speech at 65 dB SPL as the normal-hearing reference, for the listener's audiogram. Levels: ``level1`` is the
SPL of an RMS of 1 in our calibration, so every signal is scored at the level it would reach the ear.

pyclarity is a benchmark-only extra (``pip install pyclarity==0.9.0 --no-deps`` plus ``numba``); without it the
benchmark reports itself as skipped.
"""

from __future__ import annotations

import os

import numpy as np

from hearing_assist.bench.corpus import load_audio, load_noise, mix_at_snr, noise_ids, speech_clips
from hearing_assist.dsp.audiogram import Audiogram
from hearing_assist.dsp.calibration import Calibration
from hearing_assist.dsp.hearing_chain import HearingChain
from hearing_assist.pipeline.processor import Chain
from hearing_assist.profiles.amplification import AmplificationProfile

FS = 48000
SPEECH_DB_SPL = 65.0
SNR_DB = 5.0
CLARITY_RMS1_DB_SPL = 100.0  # Clarity's convention (CEC2 evaluate: haspi_v2_be(level=100))
HASPI_SEED = 0  # HASPI adds random noise from numpy's global generator: seeded so reruns give the same scores
# Bisgaard, Vlaming & Dahlquist (2010) standard audiograms for flat and moderately sloping losses, dB HL (checked
# against the published table; its 375 Hz value equals the 250 Hz one for N2-N4 and is left out)
STANDARD_AUDIOGRAMS = {
    "N2 mild": {250: 20, 500: 20, 750: 22.5, 1000: 25, 1500: 30, 2000: 35, 3000: 40, 4000: 45, 6000: 50},
    "N3 moderate": {250: 35, 500: 35, 750: 35, 1000: 40, 1500: 45, 2000: 50, 3000: 55, 4000: 60, 6000: 65},
    "N4 moderately severe": {250: 55, 500: 55, 750: 55, 1000: 55, 1500: 60, 2000: 65, 3000: 70, 4000: 75,
                             6000: 80},
}
HASPI_HZ = (250, 500, 1000, 2000, 4000, 6000)
CLIP_PREFIXES = ("cathy_arctic_a", "arctic_unk", "lj_", "ps_librivox", "cathy_arctic_b", "jfk", "srlib")
NOISES = ("cafe_noisereduce", "street_dcase", "dishes_speechcommands")
SYSTEMS = ("unprocessed", "clarity baseline", "ours", "ours, noisy place")


def available() -> str | None:
    """None when pyclarity and the shared recordings are usable, else the reason they are not."""
    try:
        import clarity.evaluator.haspi  # noqa: F401
        import clarity.enhancer.compressor  # noqa: F401
        import clarity.enhancer.nalr  # noqa: F401
    except ImportError as exc:
        return f"pyclarity not installed ({exc}); pip install pyclarity==0.9.0 --no-deps numba"
    if not speech_clips():
        return "shared/data speech recordings absent"
    return None


def pick_clips(n: int) -> list:
    """``n`` clips of 2-8 s, cycling over speakers/corpora so both sexes and several recordings appear."""
    clips = [c for c in speech_clips() if 2.0 <= c.duration_s <= 8.0]
    by_prefix = [[c for c in clips if c.id.startswith(p)] for p in CLIP_PREFIXES]
    out: list = []
    while len(out) < n and any(by_prefix):
        for group in by_prefix:
            if group and len(out) < n:
                out.append(group.pop(0))
    return out


def clarity_audiogram(thresholds: dict):
    """pyclarity Audiogram (dB HL at its frequencies) from ``{Hz: dB HL}``."""
    from clarity.utils.audiogram import Audiogram as ClarityAudiogram
    f = sorted(thresholds)
    return ClarityAudiogram(levels=np.array([thresholds[k] for k in f], float), frequencies=np.array(f, float))


def clarity_baseline(x: np.ndarray, thresholds: dict, calibration: Calibration) -> np.ndarray:
    """The Clarity CEC baseline hearing aid on mono ``x`` (our calibration in and out)."""
    from clarity.enhancer.compressor import Compressor
    from clarity.enhancer.nalr import NALR
    to_clarity = 10 ** ((calibration.rms_offset_db - CLARITY_RMS1_DB_SPL) / 20)
    nalr = NALR(nfir=220, sample_rate=FS)
    fir, _ = nalr.build(clarity_audiogram(thresholds))
    y = nalr.apply(fir, x.astype(float) * to_clarity)[:len(x)]
    y, _, _ = Compressor(fs=FS, threshold=0.35, attenuation=0.1, attack=50, release=1000,
                         rms_buffer_size=0.064).process(y)
    return np.tanh(y) / to_clarity


def ours(x: np.ndarray, thresholds: dict, calibration: Calibration, preset: str = "conversation") -> np.ndarray:
    """Our hearing chain (default profile for the audiogram with ``preset``, both ears alike) on mono ``x``."""
    prof = AmplificationProfile(Audiogram.from_thresholds(thresholds, thresholds), calibration=calibration,
                                preset=preset)
    return Chain([HearingChain(prof)])(x.astype(np.float32), FS, block_size=128).astype(float)


def haspi(reference: np.ndarray, processed: np.ndarray, thresholds: dict, calibration: Calibration) -> float:
    """HASPI v2 of ``processed`` against the clean ``reference`` for the listener with ``thresholds`` (dB HL)."""
    from clarity.evaluator.haspi import haspi_v2
    state = np.random.get_state()
    np.random.seed(HASPI_SEED)
    audiogram = clarity_audiogram({f: np.interp(np.log(f), np.log(sorted(thresholds)),
                                                [thresholds[k] for k in sorted(thresholds)]) for f in HASPI_HZ})
    try:
        score, _ = haspi_v2(reference, FS, processed, FS, audiogram, level1=calibration.rms_offset_db)
    finally:
        np.random.set_state(state)
    return float(score)


def _score_clip(args: tuple) -> list[dict]:
    """HASPI rows (audiogram x condition) for one clip; a worker function for the process pool."""
    i, clip, noise_id, calibration = args
    s = load_audio(clip.path, FS).astype(float)
    s *= calibration.rms_for_spl(SPEECH_DB_SPL) / np.sqrt(np.mean(s ** 2))
    noisy = mix_at_snr(s.astype(np.float32), load_noise(noise_id, FS), SNR_DB, seed=i).astype(float)
    rows = []
    for cond, x in (("clean", s), (f"noise {SNR_DB:g} dB SNR", noisy)):
        for name, thr in STANDARD_AUDIOGRAMS.items():
            outs = {"unprocessed": x, "clarity baseline": clarity_baseline(x, thr, calibration),
                    "ours": ours(x, thr, calibration),
                    "ours, noisy place": ours(x, thr, calibration, preset="noisy")}
            row = {"clip": clip.id, "noise": noise_id if cond != "clean" else "", "audiogram": name,
                   "condition": cond}
            row.update({k: haspi(s, y, thr, calibration) for k, y in outs.items()})
            rows.append(row)
    return rows


def run_haspi(n_clips: int, calibration: Calibration = Calibration(),
              workers: int | None = None) -> tuple[list[dict], list[dict]]:
    """(summary rows per audiogram and condition, per-clip rows) of HASPI v2 for the three systems.

    HASPI costs ~3 s per call, so clips are scored in ``workers`` processes (default: $HEARING_ASSIST_BENCH_WORKERS,
    else 2; 1 on a machine whose cores are busy with other measurements).
    """
    if workers is None:
        workers = int(os.environ.get("HEARING_ASSIST_BENCH_WORKERS", "2"))
    from concurrent.futures import ProcessPoolExecutor

    noises = [n for n in NOISES if n in noise_ids()] or noise_ids()
    jobs = [(i, c, noises[i % len(noises)], calibration) for i, c in enumerate(pick_clips(n_clips))]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            per_clip = [r for rows in pool.map(_score_clip, jobs) for r in rows]
    else:
        per_clip = [r for job in jobs for r in _score_clip(job)]
    summary = []
    for name in STANDARD_AUDIOGRAMS:
        for cond in dict.fromkeys(r["condition"] for r in per_clip):
            rows = [r for r in per_clip if r["audiogram"] == name and r["condition"] == cond]
            means = {k: float(np.mean([r[k] for r in rows])) for k in SYSTEMS}
            worst = min(r["ours"] - r["clarity baseline"] for r in rows)
            summary.append({"audiogram": name, "condition": cond, "clips": len(rows), **means,
                            "ours - baseline": means["ours"] - means["clarity baseline"],
                            "worst clip: ours - baseline": worst,
                            "ours >= baseline": means["ours"] >= means["clarity baseline"]})
    return summary, per_clip
