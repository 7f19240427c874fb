"""Caption a recording: offline at best quality, or through the live path in simulated real time.

These are the functions the CLI wires to ``hearing-assist caption FILE`` and the captions benchmark uses.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hearing_assist.asr.captions import CaptionModel, CaptionSnapshot
from hearing_assist.asr.engine import SAMPLE_RATE, Engine, WhisperEngine
from hearing_assist.asr.export import export
from hearing_assist.asr.guards import GuardConfig, filter_segments, normalize_key
from hearing_assist.asr.streaming import LIVE_CHUNK_S, StreamingConfig, StreamingRecognizer
from hearing_assist.asr.transcript import CaptionUpdate, Word
from hearing_assist.asr.vad import SileroVad, VadConfig, speech_regions

OFFLINE_VAD = VadConfig(min_silence_s=0.5)
MAX_CHUNK_S = 25.0  # decode windows stay under Whisper's 30 s context


def load_audio_16k(path: str | Path) -> np.ndarray:
    """A sound file as 16 kHz mono float32."""
    from hearing_assist.audio.files import read_mono

    return read_mono(path, SAMPLE_RATE)


def group_regions(regions: list[tuple[float, float]], max_chunk_s: float = MAX_CHUNK_S,
                  max_gap_s: float = 1.0) -> list[tuple[float, float]]:
    """Merge speech regions (s) separated by < ``max_gap_s`` s into decode windows of at most ``max_chunk_s`` s."""
    out: list[tuple[float, float]] = []
    for s, e in regions:
        if out and s - out[-1][1] < max_gap_s and e - out[-1][0] <= max_chunk_s:
            out[-1] = (out[-1][0], e)
        else:
            # A single region longer than the window is split into equal parts (Whisper reads 30 s at most).
            parts = max(1, int(np.ceil((e - s) / max_chunk_s)))
            step = (e - s) / parts
            out += [(s + i * step, s + (i + 1) * step) for i in range(parts)]
    return out


def transcribe_offline(audio_16k: np.ndarray, engine: Engine, beam_size: int = 5, vad: SileroVad | None = None,
                       guards: GuardConfig = GuardConfig()) -> list[Word]:
    """Best-quality words (s) for a whole recording: VAD regions, beam search, previous text as prompt."""
    regions = speech_regions(audio_16k, OFFLINE_VAD, pad_s=0.2, vad=vad)
    words: list[Word] = []
    for s, e in group_regions(regions):
        a = audio_16k[int(s * SAMPLE_RATE): int(e * SAMPLE_RATE)]
        prompt = " ".join(w.text for w in words)[-200:].lstrip()
        if isinstance(engine, WhisperEngine):
            tr = engine.transcribe(a, prompt, beam_size=beam_size)
        else:
            tr = engine.transcribe(a, prompt)
        local = [(max(0.0, rs - s), re - s) for rs, re in regions if re > s and rs < e]
        kept, _ = filter_segments(tr.segments, local, guards)
        words += [w.shifted(s) for w in kept]
    return words


def caption_file(path: str | Path, fmt: str = "srt", out: str | Path | None = None,
                 engine: Engine | None = None) -> str:
    """Caption a recording offline (VAD + beam 5) as ``fmt`` ("srt", "vtt", "txt"); also written to ``out``."""
    from hearing_assist.asr.export import FORMATS

    if fmt not in FORMATS:  # fail before minutes of decoding, not after
        raise ValueError(f"unknown caption format {fmt!r}; choose one of {sorted(FORMATS)}")
    audio = load_audio_16k(path)
    engine = engine or WhisperEngine(beam_size=5, temperatures=(0.0, 0.2, 0.4))
    model = CaptionModel()
    model.apply(CaptionUpdate(tuple(transcribe_offline(audio, engine)), ()))
    text = export(model.snapshot().lines, fmt)
    if out is not None:
        Path(out).write_text(text, encoding="utf-8")
    return text


@dataclass
class LiveRun:
    """A simulated real-time run: every update with the simulated clock time (s) at which it was displayed."""

    events: list[tuple[float, CaptionUpdate]] = field(default_factory=list)
    audio_s: float = 0.0
    wall_s: float = 0.0  # simulated clock at the end (>= audio_s when compute fell behind)
    cpu_s: float = 0.0  # process CPU time spent in the recognizer (all threads)
    compute_s: float = 0.0  # wall time spent in the recognizer
    input_delay_s: float = 0.0  # delay before the recognizer (denoiser): word times are this late vs the talker

    @property
    def committed(self) -> list[Word]:
        """All committed words in order."""
        return [w for _, u in self.events for w in u.committed]


def simulate_live(audio_16k: np.ndarray, recognizer: StreamingRecognizer, chunk_s: float = LIVE_CHUNK_S,
                  clock: str = "wall", denoiser=None) -> LiveRun:
    """Stream ``audio_16k`` in ``chunk_s`` s chunks on a simulated clock that advances by max(chunk, compute).

    While the recognizer computes, audio keeps arriving; the next call gets all of it at once (as a worker that
    drains its queue would), and the surplus beyond one chunk is reported as backlog. ``clock="wall"`` counts
    compute as elapsed wall time (what a user sees on this machine now, other load included); ``clock="cpu"``
    counts this process's CPU time instead, i.e. the machine without other load (exact for one decoder thread,
    pessimistic for more). ``denoiser`` (a prepared 16 kHz mono block processor) cleans each chunk first, as the
    app's caption worker does; its time counts and its delay is added to the latency.
    """
    if clock not in ("wall", "cpu"):
        raise ValueError(f"clock must be 'wall' or 'cpu', not {clock!r}")
    timer = time.perf_counter if clock == "wall" else time.process_time
    recognizer.reset()
    run = LiveRun(audio_s=len(audio_16k) / SAMPLE_RATE)
    clock, pos, n = 0.0, 0, len(audio_16k)
    cpu0 = time.process_time()
    while pos < n:
        clock = max(clock, pos / SAMPLE_RATE + chunk_s)  # wait for at least one chunk to arrive
        end = min(n, int(round(clock * SAMPLE_RATE)))
        chunk = audio_16k[pos:end]
        pos = end
        t0 = timer()
        if denoiser is not None:  # in pieces of its block size: a late call receives more than one chunk
            chunk = chunk.copy().reshape(-1, 1)
            for i in range(0, len(chunk), denoiser.block_size):
                denoiser.process(chunk[i:i + denoiser.block_size])
            chunk = chunk.ravel()
        u = recognizer.accept(chunk, backlog_s=max(0.0, len(chunk) / SAMPLE_RATE - chunk_s))
        dt = timer() - t0
        run.compute_s += dt
        clock += dt
        if u is not None:
            run.events.append((clock, u))
    t0 = timer()
    u = recognizer.flush()
    dt = timer() - t0
    clock += dt
    run.compute_s += dt
    if u is not None:
        run.events.append((clock, u))
    run.cpu_s = time.process_time() - cpu0
    run.wall_s = clock
    run.input_delay_s = getattr(denoiser, "latency_samples", 0) / SAMPLE_RATE if denoiser is not None else 0.0
    return run


def display_history(run: LiveRun) -> list[tuple[float, list[Word]]]:
    """The displayed word list (committed + tentative) after each update, with its display time (s)."""
    committed: list[Word] = []
    out = []
    for t, u in run.events:
        committed += u.committed
        out.append((t, committed + list(u.tentative)))
    return out


def word_latencies(run: LiveRun) -> tuple[list[float], list[float]]:
    """Per committed word: s from its end in the audio to its first display, and to its commit."""
    history = display_history(run)
    first_shown: list[float] = []
    commit_lat: list[float] = []
    idx = 0
    for t, u in run.events:
        for w in u.committed:
            key = normalize_key(w.text)
            shown = next((ht for ht, words in history if ht <= t and len(words) > idx
                          and normalize_key(words[idx].text) == key), t)
            first_shown.append(shown - w.end + run.input_delay_s)
            commit_lat.append(t - w.end + run.input_delay_s)
            idx += 1
    return first_shown, commit_lat


def erasure_ratio(run: LiveRun) -> float:
    """Flicker: characters removed from the displayed text over the run / characters of the final text."""
    removed = 0
    prev = ""
    for _, words in display_history(run):
        cur = " ".join(w.text for w in words)
        common = len(os.path.commonprefix([prev, cur]))
        removed += len(prev) - common
        prev = cur
    final = " ".join(w.text for w in run.committed)
    return removed / max(1, len(final))


@dataclass(frozen=True)
class LiveStats:
    """Latency (s), flicker and CPU figures of one simulated live run."""

    display_latency_p50_s: float
    display_latency_p90_s: float
    commit_latency_p50_s: float
    commit_latency_p90_s: float
    erasure: float
    cpu_percent_of_2_cores: float
    real_time_factor: float  # recognizer wall time / audio duration
    words: int


def live_stats(run: LiveRun, cores: int = 2) -> LiveStats:
    """Summarise a :class:`LiveRun`: latency percentiles (s), erasure ratio, CPU % of ``cores`` cores."""
    shown, commit = word_latencies(run)

    def pct(v: list[float], q: float) -> float:
        return float(np.percentile(v, q)) if v else float("nan")

    return LiveStats(pct(shown, 50), pct(shown, 90), pct(commit, 50), pct(commit, 90), erasure_ratio(run),
                     100.0 * run.cpu_s / max(1e-9, run.wall_s) / cores, run.compute_s / max(1e-9, run.audio_s),
                     len(commit))


def caption_file_live(path: str | Path, engine: Engine | None = None, config: StreamingConfig = StreamingConfig(),
                      chunk_s: float = LIVE_CHUNK_S) -> tuple[CaptionSnapshot, LiveStats]:
    """Caption a recording through the live path in simulated real time; returns captions and latency stats."""
    from hearing_assist.asr.engine import shared_engine

    audio = load_audio_16k(path)
    rec = StreamingRecognizer(engine or shared_engine(), config)
    run = simulate_live(audio, rec, chunk_s)
    model = CaptionModel()
    for _, u in run.events:
        model.apply(u)
    return model.snapshot(), live_stats(run)
