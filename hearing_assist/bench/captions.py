"""Captions benchmark: live (streaming) captions vs. offline transcription of the same continuous speech.

The test signal is real speech from ``shared/data`` (synthetic espeak-ng speech when absent) joined with natural
pauses (0.3-1.5 s), a few 4 s silences and a noise-only stretch, in a clean and a noisy (real noise, ~10 dB SNR)
variant. The live path runs in simulated real time: the clock advances by max(chunk duration, compute time), so
slow decoding shows up as latency exactly as it would on the user's machine.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from hearing_assist.asr.engine import LIVE_BEAM_SIZE, LIVE_WINDOW_PAD_S, SAMPLE_RATE, WhisperEngine, default_threads
from hearing_assist.asr.files import LiveRun, live_stats, simulate_live, transcribe_offline
from hearing_assist.asr.streaming import LIVE_CHUNK_S, StreamingConfig, StreamingRecognizer
from hearing_assist.asr.transcript import Word
from hearing_assist.asr.vad import SileroVad
from hearing_assist.asr.wer import wer
from hearing_assist.bench import corpus
from hearing_assist.bench.report import BenchReport, summary
from hearing_assist.pipeline.captioner import caption_denoiser

SPEECH_RMS_DB = -24.0  # clips are levelled to this so one quiet source does not dominate the errors
FLOOR_DB = -65.0  # a faint noise floor: digital silence never happens through a microphone
CORES = 2

SYNTH_SENTENCES = [
    "The meeting starts at ten in the morning.", "Please pass me the salt and the pepper.",
    "We walked along the river until the sun went down.", "Could you speak a little louder please?",
    "The train to the city leaves from platform four.", "My sister bought a new bicycle last week.",
    "It is going to rain this afternoon.", "Turn left at the second traffic light.",
]


@dataclass(frozen=True)
class Stream:
    """A benchmark signal: audio (16 kHz), reference text, and stretches (s) where nothing should be captioned."""

    name: str
    audio: np.ndarray
    reference: str
    quiet: tuple[tuple[float, float, str], ...]  # (start, end, "silence" | "noise")
    source: str


def _level(x: np.ndarray, db: float) -> np.ndarray:
    return (x * 10 ** ((db - corpus.rms_db(x)) / 20)).astype(np.float32)


def _utterances(quick: bool) -> tuple[list[tuple[np.ndarray, str]], str]:
    clips = [c for c in corpus.speech_clips() if c.duration_s >= 1.5]
    if clips:
        if quick:
            clips = clips[::3][:12]
        return [(corpus.load_audio(c.path, SAMPLE_RATE), c.transcript) for c in clips], \
            f"shared/data speech ({len(clips)} clips)"
    sents = SYNTH_SENTENCES[:4] if quick else SYNTH_SENTENCES
    voices = ["en-us", "en-us+f3", "en-gb", "en-us+m3"]
    return [(corpus.synthesize(s, SAMPLE_RATE, voice=voices[i % len(voices)]), s) for i, s in enumerate(sents)], \
        f"espeak-ng synthetic speech ({len(sents)} sentences; shared/data absent)"


def _noise(seconds: float, seed: int) -> tuple[np.ndarray, str]:
    ids = corpus.noise_ids()
    n = int(seconds * SAMPLE_RATE)
    if ids:
        nid = "cafe_noisereduce" if "cafe_noisereduce" in ids else ids[0]
        x = corpus.load_noise(nid, SAMPLE_RATE)
        x = np.tile(x, int(np.ceil(n / len(x))) + 1)
        off = int(np.random.default_rng(seed).integers(0, len(x) - n))
        return x[off:off + n].astype(np.float32), nid
    # White noise when the recordings are absent.
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32), "synthetic white noise"


def build_streams(quick: bool = False, seed: int = 0) -> list[Stream]:
    """The clean and noisy benchmark signals."""
    rng = np.random.default_rng(seed)
    utts, source = _utterances(quick)
    parts: list[np.ndarray] = [np.zeros(int(0.5 * SAMPLE_RATE), np.float32)]
    quiet: list[tuple[float, float, str]] = []
    speech_mask: list[np.ndarray] = [np.zeros(len(parts[0]), bool)]
    long_after = {len(utts) // 4, len(utts) // 2, (3 * len(utts)) // 4}
    noise_after = len(utts) // 3
    noise_seg, noise_id = _noise(5.0, seed)
    t = len(parts[0]) / SAMPLE_RATE
    refs = []
    for i, (a, text) in enumerate(utts):
        a = _level(a, SPEECH_RMS_DB)
        parts.append(a)
        speech_mask.append(np.ones(len(a), bool))
        refs.append(text)
        t += len(a) / SAMPLE_RATE
        if i in long_after:
            gap, kind = np.zeros(int(4.0 * SAMPLE_RATE), np.float32), "silence"
        elif i == noise_after:
            gap, kind = _level(noise_seg, SPEECH_RMS_DB - 10), "noise"
        else:
            gap, kind = np.zeros(int(rng.uniform(0.3, 1.5) * SAMPLE_RATE), np.float32), ""
        if kind:
            quiet.append((t, t + len(gap) / SAMPLE_RATE, kind))
        parts.append(gap)
        speech_mask.append(np.zeros(len(gap), bool))
        t += len(gap) / SAMPLE_RATE
    clean = np.concatenate(parts)
    mask = np.concatenate(speech_mask)
    clean = clean + (10 ** (FLOOR_DB / 20) * rng.standard_normal(len(clean))).astype(np.float32)
    # Noisy: real noise at 10 dB SNR relative to the speech parts (not to the pauses).
    bg, _ = _noise(len(clean) / SAMPLE_RATE + 1, seed + 1)
    bg = bg[:len(clean)]
    gain = 10 ** ((corpus.rms_db(clean[mask]) - corpus.rms_db(bg) - 10.0) / 20)
    noisy = (clean + gain * bg).astype(np.float32)
    ref = " ".join(refs)
    return [Stream("clean", clean, ref, tuple(quiet), source),
            Stream("noisy_10dB", noisy, ref, tuple(quiet), f"{source} + noise {noise_id} at 10 dB SNR")]


def invented_words(words: list[Word], quiet: tuple[tuple[float, float, str], ...], kind: str,
                   margin_s: float = 0.5) -> int:
    """Words whose midpoint lies inside a ``kind`` stretch (shrunk by ``margin_s`` s for timestamp slack)."""
    return sum(1 for w in words for s, e, k in quiet
               if k == kind and s + margin_s <= (w.start + w.end) / 2 <= e - margin_s)


def denoised(audio_16k: np.ndarray) -> np.ndarray:
    """``audio_16k`` through the captions' denoiser, delay removed (for the offline transcription)."""
    den = caption_denoiser(SAMPLE_RATE // 2)
    d = den.latency_samples
    y = np.concatenate([audio_16k, np.zeros(d, np.float32)]).astype(np.float32)
    for i in range(0, len(y), SAMPLE_RATE // 2):
        den.process(y[i:i + SAMPLE_RATE // 2].reshape(-1, 1))
    return y[d:]


def run(quick: bool = False, runs: int | None = None, config: StreamingConfig = StreamingConfig(),
        chunk_s: float = LIVE_CHUNK_S, clock: str = "wall", live_threads: int | None = None,
        live_beam: int = LIVE_BEAM_SIZE, denoise: bool = True) -> BenchReport:
    """Live vs. offline captions on continuous speech; ``quick`` uses fewer clips and one run.

    ``denoise`` (the app's default) runs the captions' DeepFilterNet3 on the live chunks (its time counted) and on
    the offline input, so both read the same audio.

    ``clock="wall"`` charges compute as wall time (this machine, its current load included); ``clock="cpu"``
    charges this process's CPU time (the same machine without other load; use ``live_threads=1`` to make it
    exact). See :func:`hearing_assist.asr.files.simulate_live`.
    """
    suffix = (" --quick" if quick else "") + ("" if clock == "wall" else f" --clock {clock}")
    report = BenchReport("captions" if clock == "wall" else f"captions-{clock}-clock",
                         "hearing-assist bench captions" + suffix)
    runs = runs or (1 if quick else 3)
    streams = build_streams(quick)
    live_engine = WhisperEngine(beam_size=live_beam, cpu_threads=live_threads, window_pad_s=LIVE_WINDOW_PAD_S)
    offline_engine = WhisperEngine(beam_size=5, temperatures=(0.0, 0.2, 0.4))
    vad = SileroVad()
    rows = []
    load_before = os.getloadavg()[0]
    for st in streams:
        t0 = time.perf_counter()
        offline_words = transcribe_offline(denoised(st.audio) if denoise else st.audio, offline_engine, vad=vad)
        offline_s = time.perf_counter() - t0
        w_off = wer(st.reference, " ".join(w.text for w in offline_words))
        per_run = []
        for r in range(runs):
            rec = StreamingRecognizer(live_engine, config, vad=SileroVad())
            den = caption_denoiser(int(chunk_s * SAMPLE_RATE)) if denoise else None
            lr: LiveRun = simulate_live(st.audio, rec, chunk_s, clock, denoiser=den)
            ls = live_stats(lr, CORES)
            w_live = wer(st.reference, " ".join(w.text for w in lr.committed))
            shown_all = [w for _, u in lr.events for w in (*u.committed, *u.tentative)]
            row = {
                "signal": st.name, "run": r + 1, "audio_s": round(lr.audio_s, 1),
                "wer_live_%": 100 * w_live.wer, "wer_offline_%": 100 * w_off.wer,
                "S/D/I live": f"{w_live.substitutions}/{w_live.deletions}/{w_live.insertions}",
                "display_p50_s": ls.display_latency_p50_s, "display_p90_s": ls.display_latency_p90_s,
                "commit_p50_s": ls.commit_latency_p50_s, "commit_p90_s": ls.commit_latency_p90_s,
                "erasure": ls.erasure, "cpu_%_of_2_cores": ls.cpu_percent_of_2_cores, "rtf": ls.real_time_factor,
                "invented_silence": invented_words(lr.committed, st.quiet, "silence"),
                "invented_noise": invented_words(lr.committed, st.quiet, "noise"),
                "shown_in_silence_or_noise": invented_words(shown_all, st.quiet, "silence")
                + invented_words(shown_all, st.quiet, "noise"),
                "decodes": rec.stats.decodes, "skipped_backlog": rec.stats.skipped_for_backlog,
                "offline_rtf": offline_s / lr.audio_s,
            }
            per_run.append(row)
            rows.append(row)
        _add_figures(report, st, per_run)
    report.tables["runs"] = rows
    report.data["config"] = {"chunk_s": chunk_s, "step_s": config.step_s, "agreement": config.agreement,
                             "clock": clock, "live_threads": live_threads or default_threads(),
                             "vad": config.vad.__dict__, "live_beam": live_beam, "offline_beam": 5,
                             "live_window_pad_s": LIVE_WINDOW_PAD_S, "denoise": denoise,
                             "final_beam_size": config.final_beam_size, "skip_in_silence_s": config.skip_in_silence_s,
                             "early_commit_margin_s": config.early_commit_margin_s,
                             "early_commit_min_probability": config.early_commit_min_probability}
    report.data["across_runs"] = {
        st.name: {k: summary([r[k] for r in rows if r["signal"] == st.name]) for k in
                  ("display_p50_s", "display_p90_s", "commit_p50_s", "commit_p90_s", "erasure", "cpu_%_of_2_cores")}
        for st in streams}
    load_after = os.getloadavg()[0]
    report.data["load_average_1min"] = {"before": load_before, "after": load_after}
    report.notes += [
        f"Data: {streams[0].source}; noisy variant: {streams[1].source}.",
        f"Engine: Whisper tiny.en, CTranslate2 int8 on CPU (faster-whisper); live beam {live_beam} with the encoder "
        f"reading the buffer + {LIVE_WINDOW_PAD_S:g} s of silence, and beam {config.final_beam_size} for the one "
        "decode at each pause that commits the utterance's tail (redone on the full 30 s window if it loops), "
        "offline beam 5 on the full window with VAD regions and temperature fallback.",
        "Commits: LocalAgreement-2, plus words committed by one decode when sure (p >= "
        f"{config.early_commit_min_probability:g}) and >= {config.early_commit_margin_s} s behind the audio's end "
        "where the previous decode had heard them cut off or not at all.",
        "Input: " + ("DeepFilterNet3 at full strength before both live (chunk by chunk, time counted, its delay "
                     "added to latency) and offline, as the app's captions do." if denoise else "raw audio."),
        "Latency = simulated display/commit time minus the word's end timestamp in the audio (Whisper word "
        f"timestamps, about +-0.1 s); audio arrives in chunks of {chunk_s:g} s (the app's caption worker hands over "
        f"{LIVE_CHUNK_S:g} s at a time) and the clock advances by max(chunk, compute).",
        "Figures are medians over runs; p90 columns are per-run word percentiles.",
        "CPU = process CPU time (all threads) / simulated wall time / 2 cores, during live captioning only.",
        f"Machine load (1 min average) {load_before:.1f} before, {load_after:.1f} after: other processes on the "
        "same cores slow decoding and so raise latency; compare runs taken at similar load.",
    ]
    return report


def _add_figures(report: BenchReport, st: Stream, rows: list[dict]) -> None:
    def med(k: str) -> float:
        return float(np.median([r[k] for r in rows]))

    live, off = med("wer_live_%"), med("wer_offline_%")
    limit = off * 1.1 + 0.5
    tag = st.name
    report.add(f"WER live [{tag}]", live, "%", f"<= {limit:.1f} (offline x1.1 + 0.5)", live <= limit)
    report.add(f"WER offline [{tag}]", off, "%")
    report.add(f"display latency p50 [{tag}]", med("display_p50_s"), "s", "<= 1.0", med("display_p50_s") <= 1.0)
    report.add(f"display latency p90 [{tag}]", med("display_p90_s"), "s", "<= 2.0", med("display_p90_s") <= 2.0)
    report.add(f"commit latency p50 [{tag}]", med("commit_p50_s"), "s", "<= 1.0", med("commit_p50_s") <= 1.0)
    report.add(f"commit latency p90 [{tag}]", med("commit_p90_s"), "s", "<= 2.0", med("commit_p90_s") <= 2.0)
    report.add(f"flicker (erasure) [{tag}]", med("erasure"), "", "<= 0.15", med("erasure") <= 0.15)
    inv = int(max(r["invented_silence"] + r["invented_noise"] for r in rows))
    report.add(f"invented words in silence/noise [{tag}]", inv, "words", "0", inv == 0, "worst run")
    cpu = med("cpu_%_of_2_cores")
    report.add(f"CPU [{tag}]", cpu, "% of 2 cores", "<= 50", cpu <= 50)


def main() -> None:
    """``python -m hearing_assist.bench.captions [--quick] [--clock cpu]``: print markdown, write .bench/captions*"""
    import sys

    clock = sys.argv[sys.argv.index("--clock") + 1] if "--clock" in sys.argv else "wall"
    rep = run(quick="--quick" in sys.argv, clock=clock, live_threads=1 if clock == "cpu" else None)
    print(rep.to_markdown())
    rep.write(corpus.REPO_ROOT / ".bench")


if __name__ == "__main__":
    main()
