"""`hearing-assist bench audio`: added latency, xruns under CPU load, GUI event-loop stalls.

Runs against the default PulseAudio devices; ``installer/with-test-audio.sh`` provides a null sink whose monitor is
the default input, so the benchmark is a real loopback:

- **added latency**: the raw loopback round trip R (``sd.playrec`` of a click through the sink and its monitor) is
  the baseline; then the app's audio process (pass-through chain) listens to the monitor and plays into the same
  sink, so a click played once comes back as an echo E later. E − R is what the app adds on top of one device
  round trip.
- **xruns**: the app's audio process, duplex pass-through, for 60 s while a pure-Python thread in the app's
  process burns CPU beside it.
- **GUI stalls**: the main window with live meters and spectrogram from a file, a busy worker thread, and a 10 ms
  timer measuring how late each tick runs.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from hearing_assist.audio.devices import sounddevice
from hearing_assist.audio.sources import DeviceSource
from hearing_assist.bench.report import BenchReport, summary
from hearing_assist.gui.responsiveness import busy_python_worker
from hearing_assist.pipeline.audio_process import AudioProcess
from hearing_assist.pipeline.engine import NO_OUTPUT, Engine, EngineConfig

SR = 48000
BLOCK = 128


def _click(n: int = SR // 2, at: int = SR // 10, amp: float = 0.5) -> np.ndarray:
    x = np.zeros((n, 2), np.float32)
    x[at] = amp
    return x


def raw_round_trip_ms(runs: int) -> list[float]:
    """Loopback round trips (ms) with ``sd.playrec`` at the engine's block size and latency setting."""
    sd = sounddevice()
    out = []
    for _ in range(runs):
        x = _click()
        y = sd.playrec(x, SR, channels=1, blocksize=BLOCK, latency="low", blocking=True)[:, 0]
        onset = int(np.argmax(y > 0.25))
        if onset > 0:
            out.append((onset - SR // 10) / SR * 1000)
    return out


def engine_echo_ms(runs: int) -> tuple[list[float], int]:
    """Delays (ms) from a click in the sink to its copy played back by a pass-through engine, and its xruns."""
    sd = sounddevice()
    recorder = Engine(DeviceSource(), config=EngineConfig(output_device=NO_OUTPUT, block_size=BLOCK))
    tap = recorder.open_tap(seconds=5, point="input")
    passthrough = AudioProcess(DeviceSource(), config=EngineConfig(block_size=BLOCK))
    passthrough.volume_db = -6.0
    delays = []
    with recorder, passthrough:
        _wait_blocks(recorder, passthrough)
        time.sleep(0.5)
        for _ in range(runs):
            tap.clear()
            sd.play(_click(), SR, blocking=True)
            time.sleep(0.2)
            y = tap.read()[:, 0]
            direct = int(np.argmax(y > 0.4))
            if direct == 0:
                continue
            start = direct + 24
            echo = start + int(np.argmax(y[start : start + SR // 10]))
            if y[echo] > 0.1:
                delays.append((echo - direct) / SR * 1000)
        xruns = passthrough.stats().xruns
    return delays, xruns


def _wait_blocks(*engines, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not all(e.stats().blocks > 0 for e in engines):
        time.sleep(0.05)


def xruns_under_load(seconds: float) -> dict:
    """Duplex pass-through for ``seconds`` with a CPU-heavy Python thread; xruns and callback load."""
    engine = AudioProcess(DeviceSource(), config=EngineConfig(block_size=BLOCK))
    stop = threading.Event()
    worker = threading.Thread(target=busy_python_worker, args=(stop,), daemon=True)
    with engine:
        _wait_blocks(engine)
        time.sleep(1.0)  # count from a settled stream, not its start-up priming
        start_xruns = engine.stats().xruns
        worker.start()
        time.sleep(seconds)
        stop.set()
        worker.join()
        st = engine.stats()
    return {"seconds": seconds, "xruns": st.xruns - start_xruns, "blocks": st.blocks,
            "callback_errors": st.callback_errors, "cpu_load_mean": st.cpu_load, "cpu_load_peak": st.cpu_load_peak}


def run(quick: bool = False) -> BenchReport:
    """Run the audio benchmark; ``quick`` shortens the soak and the GUI measurement."""
    sys.setswitchinterval(0.001)  # the app's own setting: hand the GIL to the audio callback quickly
    rep = BenchReport("audio", "installer/with-test-audio.sh .venv/bin/hearing-assist bench audio")
    runs = 5 if quick else 15
    raw = raw_round_trip_ms(runs)
    echo, echo_xruns = engine_echo_ms(runs)
    r_med = float(np.median(raw))
    added = [e - r_med for e in echo]
    rep.data.update(raw_round_trip_ms=raw, engine_echo_ms=echo, echo_xruns=echo_xruns)
    rep.add("raw loopback round trip (baseline)", r_med, "ms", detail=f"median of {len(raw)}, sd.playrec")
    rep.add("engine pass-through round trip", float(np.median(echo)), "ms",
            detail=f"median of {len(echo)}, p90 {summary(echo).get('p90', float('nan')):.1f} ms")
    a = summary(added)
    rep.add("latency added over raw round trip", a["median"], "ms", "≤ 10 ms", a["median"] <= 10,
            detail=f"p90 {a['p90']:.1f} ms")

    soak = xruns_under_load(10.0 if quick else 60.0)
    rep.data["soak"] = soak
    rep.add(f"xruns in {soak['seconds']:.0f} s duplex with a busy Python thread", soak["xruns"], "", "0",
            soak["xruns"] == 0, detail=f"callback load mean {soak['cpu_load_mean'] * 100:.1f}%, "
                                       f"peak {soak['cpu_load_peak'] * 100:.0f}% of the block period")

    from hearing_assist.bench.corpus import synthesize
    from hearing_assist.gui.responsiveness import measure_event_loop_stalls

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        sf.write(wav, synthesize("The quick brown fox jumps over the lazy dog. " * 3, SR), SR)
        gui = measure_event_loop_stalls(wav, seconds=5.0 if quick else 20.0)
    rep.data["gui"] = gui
    rep.add("GUI event-loop stall p99", gui["p99_ms"], "ms", "≤ 30 ms", gui["p99_ms"] <= 30,
            detail=f"{gui['ticks']} ticks of 10 ms, busy worker thread, live meters + spectrogram")
    rep.add("GUI event-loop stall max", gui["max_ms"], "ms", "≤ 100 ms", gui["max_ms"] <= 100)
    rep.notes.append("Devices: private PulseAudio null sink at 48 kHz (its monitor is the input), block 128, "
                     "PortAudio ALSA host API, 5 ms suggested latency.")
    return rep
