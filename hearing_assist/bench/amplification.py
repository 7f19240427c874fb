"""Benchmark of the amplification chain (issue #3): real-time cost, algorithmic delay, insertion-gain match, HASPI v2.

Cost is reported as % of one core for a 128-frame stereo block at 48 kHz (median and p90 over several runs) and as
a ratio to one plain ``scipy.signal.sosfilt`` call (4th-order Butterworth) on the same block, timed interleaved in
the same process: the ratio is what to compare across runs on this shared machine, whose absolute speed drifts.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import signal

from hearing_assist.bench import haspi as haspi_bench
from hearing_assist.bench.report import BenchReport, summary
from hearing_assist.dsp.audiogram import Audiogram
from hearing_assist.bench.corpus import load_audio
from hearing_assist.dsp.hearing_chain import HearingChain, measure_band_gains_db, measure_insertion_gain
from hearing_assist.profiles.amplification import AmplificationProfile, default_limits

FS, BLOCK = 48000, 128
BUDGET_PCT = 3.0  # of one core
# Bisgaard et al. (2010) N3 (moderate, sloping) for the cost and insertion-gain figures, dB HL. (It read 750: 40 ...
# 6000: 65 before, i.e. N3 shifted one frequency down; now the published values, shared with the HASPI table.)
N3 = haspi_bench.STANDARD_AUDIOGRAMS["N3 moderate"]


def time_chain(chain: HearingChain, x: np.ndarray, runs: int, blocks: int) -> dict:
    """Per-run median and p90 block time (us) of ``chain`` on ``x`` (frames, 2), and of a plain sosfilt alongside."""
    sos = signal.butter(4, 1000.0, fs=FS, output="sos")
    med, p90, ratio = [], [], []
    for _ in range(runs):
        ts, tb = [], []
        for i in range(blocks):
            j = (i * BLOCK) % (len(x) - BLOCK)
            b = x[j:j + BLOCK].copy()
            t0 = time.perf_counter()
            chain.process(b)
            ts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            signal.sosfilt(sos, b, axis=0)
            tb.append(time.perf_counter() - t0)
        med.append(1e6 * float(np.median(ts)))
        p90.append(1e6 * float(np.percentile(ts, 90)))
        ratio.append(float(np.median(ts) / np.median(tb)))
    return {"median_us": med, "p90_us": p90, "ratio_to_sosfilt": ratio}


def _pct(us: float) -> float:
    """Microseconds per block -> % of one core at BLOCK frames, FS Hz."""
    return 100.0 * us * 1e-6 / (BLOCK / FS)


def run(quick: bool = False) -> BenchReport:
    """Cost, delay and insertion-gain error of the hearing chain, and HASPI v2 against the Clarity baseline."""
    rep = BenchReport("amplification", "hearing-assist bench amplification")
    prof = AmplificationProfile(Audiogram.from_thresholds(N3, N3), limits=default_limits(8, 60.0, 110.0))
    chain = HearingChain(prof)
    chain.prepare(FS, BLOCK, 2)
    rng = np.random.default_rng(0)
    x = (0.05 * rng.standard_normal((FS, 2))).astype(np.float32)
    runs, blocks = (3, 300) if quick else (7, 1000)
    # the MPO limiter's full path (gain reduction active): loud input into a low MPO
    loud = AmplificationProfile(Audiogram.from_thresholds(N3, N3), limits=default_limits(8, 60.0, 80.0))
    lchain = HearingChain(loud)
    lchain.prepare(FS, BLOCK, 2)
    # the two chains' runs alternate, so a slow spell of this shared machine hits both alike (timed one after the
    # other, the idle chain once measured 3.3 % and the limiting one, which does strictly more, 2.8 %)
    t, tl = {}, {}
    loud_x = (8 * x).astype(np.float32)
    for _ in range(runs):
        for acc, (c, sig) in ((t, (chain, x)), (tl, (lchain, loud_x))):
            for k, v in time_chain(c, sig, 1, blocks).items():
                acc.setdefault(k, []).extend(v)
    med, p90, ratio = summary(t["median_us"])["median"], summary(t["p90_us"])["median"], summary(
        t["ratio_to_sosfilt"])["median"]
    detail = f"{chain.bank.n_bands} bands, stereo, {FS} Hz, block {BLOCK}; median of {runs} run medians"
    rep.add("chain cost, median", _pct(med), "% of one core", f"<= {BUDGET_PCT:g}", _pct(med) <= BUDGET_PCT,
            f"{med:.1f} us/block; {detail}")
    rep.add("chain cost, p90", _pct(p90), "% of one core", f"<= {BUDGET_PCT:g}", _pct(p90) <= BUDGET_PCT,
            f"{p90:.1f} us/block; median over runs of each run's p90")
    rep.add("chain cost / one plain sosfilt call on the same block", ratio, "x", "", None,
            "machine-independent-ish comparison figure")
    lmed, lp90 = summary(tl["median_us"])["median"], summary(tl["p90_us"])["median"]
    rep.add("chain cost with the MPO limiter reducing gain, median", _pct(lmed), "% of one core",
            f"<= {BUDGET_PCT:g}", _pct(lmed) <= BUDGET_PCT, f"{lmed:.1f} us/block (p90 {lp90:.1f} us)")
    rep.add("chain cost with the MPO limiter reducing gain / one plain sosfilt call", summary(
        tl["ratio_to_sosfilt"])["median"], "x", "", None, "as above: compare across runs")
    rep.data["cost_us"] = t
    rep.data["cost_limiting_us"] = tl
    d_ms = chain.algorithmic_delay_samples / FS * 1e3
    rep.add("algorithmic delay (look-ahead + bank group delay at 1 kHz)", d_ms, "ms", "<= 3", d_ms <= 3.0)
    gd = chain.filterbank_delay_ms([125, 250, 500, 1000, 2000, 4000, 8000])
    rep.tables["filterbank group delay"] = [{"freq_hz": f, "delay_ms": float(g)} for f, g in
                                            zip([125, 250, 500, 1000, 2000, 4000, 8000], gd)]
    rows = measure_insertion_gain(chain, (65.0,) if quick else (50.0, 65.0, 80.0), seconds=2.0)
    rep.tables["achieved insertion gain (N3, NAL-R)"] = rows
    rep.notes.append("Insertion gain is measured with steady speech-shaped noise (measured_db vs test_target_db); the "
                     "fit is speech-mapped (dsp/speech_levels.py), so steady noise gets more gain than speech under "
                     "compression by a known amount, and achieved_db is the measurement less that amount, against "
                     "the prescription for speech. The real-speech table checks that conversion on real speech.")
    for lv in sorted({r["level_db_spl"] for r in rows}):
        sel = [r for r in rows if r["level_db_spl"] == lv]
        err = max(abs(r["error_db"]) for r in sel)
        rep.add(f"max |insertion gain error| at {lv:g} dB SPL", err, "dB",
                "2" if lv == 65.0 else "3 (250-2k Hz) / 5", all(r["pass"] for r in sel))
    _real_speech_gain(rep, quick)
    _haspi(rep, quick)
    rep.notes.append("Cost measured on this machine's Python/numpy (shared 2-core VM): compare the sosfilt ratio "
                     "across runs. The chain is vectorised over bands x channels; see dsp/filterbank.py for why the "
                     "crossover tree runs as a 28-state block state-space.")
    return rep


def _real_speech_gain(rep: BenchReport, quick: bool) -> None:
    """Insertion gain real speech at 65 dB SPL gets (long-term spectrum) vs the prescription, N2-N4 defaults."""
    clips = haspi_bench.pick_clips(3 if quick else 10)
    if not clips:
        rep.notes.append("Real-speech insertion gain: skipped (shared/data speech recordings absent).")
        return
    speech = []
    for c in clips:
        s = load_audio(c.path, FS).astype(np.float64)
        speech.append(s / np.sqrt(np.mean(s ** 2)))
    rows = []
    for name, thr in haspi_bench.STANDARD_AUDIOGRAMS.items():
        chain = HearingChain(AmplificationProfile(Audiogram.from_thresholds(thr, thr)))
        x = np.concatenate(speech) * chain.calibration.rms_for_spl(65.0)
        got = measure_band_gains_db(chain, x)[:, 0]
        target, steady = chain.target_gains_db(65.0)[:, 0], chain.target_gains_db(65.0, stimulus="steady")[:, 0]
        for fc, g, t, st in zip(chain.bank.centres_hz, got, target, steady):
            rows.append({"audiogram": name, "band_hz": float(fc), "target_db": float(t), "real_speech_db": float(g),
                         "error_db": float(g - t), "steady_noise_target_db": float(st)})
    rep.tables["real speech insertion gain at 65 dB SPL (default profiles)"] = rows
    err = max(abs(r["error_db"]) for r in rows)
    rep.add("max |insertion gain error| for real speech at 65 dB SPL (N2-N4, long-term spectrum)", err, "dB", "", None,
            f"{len(clips)} clips (not those the speech-level table was measured on); see dsp/speech_levels.py")


def _haspi(rep: BenchReport, quick: bool) -> None:
    """Add the HASPI v2 table (or a note saying why it was skipped)."""
    why = haspi_bench.available()
    if why is not None:
        rep.notes.append(f"HASPI v2: skipped ({why}).")
        return
    n = 3 if quick else 10
    t0 = time.perf_counter()
    table, per_clip = haspi_bench.run_haspi(n)
    rep.tables["HASPI v2 (mean over clips)"] = table
    rep.data["haspi_per_clip"] = per_clip
    ok = all(r["ours >= baseline"] for r in table)
    rep.add("HASPI v2: ours >= Clarity baseline on every audiogram and condition", "yes" if ok else "no", "",
            "yes", ok, f"{n} real speech clips at 65 dB SPL, clean and with real noise at 5 dB SNR")
    rep.notes.append(
        "HASPI v2 from pyclarity (clarity.evaluator.haspi.haspi_v2), reference = clean speech at 65 dB SPL, "
        f"level1 = SPL of RMS 1 under the default calibration; HASPI's internal noise seeded "
        f"(haspi.HASPI_SEED) so reruns agree; audiograms: Bisgaard N2/N3/N4 (published values); clips and noises: "
        f"shared/data (per-clip scores in the JSON); took {time.perf_counter() - t0:.0f} s.")
    rep.notes.append(
        "Ours = the default profile a user gets, so the noise-adaptive knee (profile.noise_adaptive, on by default; "
        "caregiver screen: 'Reduce background noise between words') is on in both conditions. The cost and "
        "insertion-gain figures use the same default; insertion gain is measured with it off, as hearing aids are "
        "verified with adaptive features off (ANSI S3.22): steady test noise would engage it.")


if __name__ == "__main__":  # pragma: no cover
    print(run(quick=True).to_markdown())
