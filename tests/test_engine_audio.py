"""The engine on real PortAudio streams through a PulseAudio null sink (installer/run-tests.sh starts one)."""

import subprocess
import threading
import time

import numpy as np
import pytest

from hearing_assist.audio.devices import AudioDeviceError, find_device, list_devices, sounddevice
from hearing_assist.audio.sources import DeviceSource, FileSource, SyntheticSource
from hearing_assist.pipeline.engine import NO_OUTPUT, Engine, EngineConfig, EngineState

SR = 48000


def _wait(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def _click_train(period: int, count: int, amp: float = 0.5) -> np.ndarray:
    x = np.zeros(period * count, dtype=np.float32)
    x[period // 2 :: period] = amp
    return x


def test_lists_devices(loopback):
    devices = list_devices()
    assert any(d.max_input_channels > 0 for d in devices)
    assert find_device(None, "output") is None


def test_unknown_device_names_the_alternatives(loopback):
    with pytest.raises(AudioDeviceError, match="Available input devices"):
        find_device("no such microphone", "input")


def test_capture_from_monitor_gets_signal_without_dropouts(loopback):
    """Play a click train into the null sink; the engine records its monitor; every click arrives, evenly spaced."""
    sd = sounddevice()
    engine = Engine(DeviceSource(), config=EngineConfig(output_device=NO_OUTPUT))
    tap = engine.open_tap(seconds=10, point="input")
    with engine:
        assert _wait(lambda: engine.blocks > 0), "no audio callback within 10 s"
        tap.clear()
        period = 2400  # a click every 50 ms
        # Silence around the clicks: a playback stream may lose a few ms as it opens and as it drains.
        clicks = np.concatenate([np.zeros(SR // 4, np.float32), _click_train(period, 40), np.zeros(SR // 4, np.float32)])
        t_play = time.perf_counter()
        sd.play(np.repeat(clicks[:, None], 2, axis=1), SR, blocking=True)
        time.sleep(0.3)
        got = tap.read()[:, 0]
        stats = engine.stats()
    assert stats.xruns == 0 and stats.callback_errors == 0
    onsets = np.flatnonzero((got[1:] > 0.25) & (got[:-1] <= 0.25)) + 1
    assert len(onsets) == 40, f"expected 40 clicks, found {len(onsets)}"
    spacing = np.diff(onsets)
    assert np.all(spacing == period), f"frames lost or repeated: spacings {sorted(set(spacing))}"
    assert got[onsets].max() == pytest.approx(0.5, abs=0.01)  # level preserved (s16 sink rounding)
    print(f"\nplay→capture path delivered all clicks; engine input latency {stats.input_latency_ms:.1f} ms, "
          f"first click {onsets[0] / SR * 1000:.0f} ms into the capture (after play started at t={t_play:.3f})")


def test_loopback_round_trip_through_engine(loopback):
    """Duplex pass-through: a click played into the sink comes back from the engine at volume -6 dB."""
    sd = sounddevice()
    rec_engine = Engine(DeviceSource(), config=EngineConfig(output_device=NO_OUTPUT))
    rec = rec_engine.open_tap(seconds=10, point="input")
    passthrough = Engine(DeviceSource())
    passthrough.volume.set_volume_db(-6.0)
    passthrough.volume.reset()
    with rec_engine, passthrough:
        assert _wait(lambda: rec_engine.blocks > 0 and passthrough.blocks > 0)
        time.sleep(0.5)
        rec.clear()
        click = np.zeros((SR // 2, 2), np.float32)
        click[1000] = 0.5
        sd.play(click, SR, blocking=True)
        time.sleep(0.3)
        got = rec.read()[:, 0]
        pstats = passthrough.stats()
    direct = int(np.argmax(got > 0.4))
    assert direct > 0, "the played click never reached the monitor"
    window = got[direct + 24 : direct + SR // 10]
    echo = direct + 24 + int(np.argmax(window))
    echo_level = got[echo]
    assert echo_level == pytest.approx(0.5 * 10 ** (-6 / 20), rel=0.05)
    round_trip_ms = (echo - direct) / SR * 1000
    print(f"\nengine pass-through round trip (monitor → engine → sink): {round_trip_ms:.1f} ms, "
          f"xruns {pstats.xruns}")
    assert round_trip_ms < 100


def test_file_source_plays_through_output(loopback, tmp_path):
    import soundfile as sf

    path = tmp_path / "tone.wav"
    t = np.arange(SR) / SR
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SR)
    engine = Engine(FileSource(path), config=EngineConfig())
    tap = engine.open_tap(seconds=5, point="output")
    with engine:
        assert _wait(lambda: engine.stats().source_finished, timeout=10)
    got = tap.read()[:, 0]
    assert np.abs(got).max() == pytest.approx(0.3, abs=0.01)


def test_no_output_device_paces_a_file_in_real_time():
    engine = Engine(SyntheticSource("sine", 1000, -20), config=EngineConfig(output_device=NO_OUTPUT))
    tap = engine.open_tap(seconds=5, point="output")
    t0 = time.monotonic()
    with engine:
        time.sleep(1.0)
    elapsed = time.monotonic() - t0
    frames = tap.available()
    assert 0.7 * SR * elapsed < frames < 1.3 * SR * elapsed


def test_failing_stage_outputs_silence_and_keeps_running():
    class Broken:
        def prepare(self, *a):
            pass

        def process(self, block):
            raise FloatingPointError("boom")

        def reset(self):
            pass

    engine = Engine(SyntheticSource("noise"), chain=Broken(), config=EngineConfig(output_device=NO_OUTPUT))
    tap = engine.open_tap(seconds=2, point="output")
    with engine:
        assert _wait(lambda: engine.blocks > 20)
        stats = engine.stats()
    assert stats.state == EngineState.RUNNING
    assert stats.callback_errors >= 20 and "boom" in stats.error
    assert np.all(tap.read() == 0)


def test_wrong_sample_rate_source_is_refused():
    src = SyntheticSource(sample_rate=16000)
    with pytest.raises(AudioDeviceError, match="16000 Hz"):
        Engine(src, config=EngineConfig(output_device=NO_OUTPUT)).start()


def test_missing_output_device_is_a_clear_error(loopback):
    engine = Engine(SyntheticSource(), config=EngineConfig(output_device="Headphones that are not there"))
    with pytest.raises(AudioDeviceError, match="No output device matches"):
        engine.start()
    assert engine.state == EngineState.STOPPED


def test_device_loss_is_survived_and_recovered(loopback):
    engine = Engine(DeviceSource(), config=EngineConfig(output_device=NO_OUTPUT, retry_s=0.5))
    before = set(threading.enumerate())
    engine.start()
    try:
        assert _wait(lambda: engine.blocks > 10)
        subprocess.run(["pactl", "unload-module", "module-null-sink"], check=True)
        assert _wait(lambda: engine.stats().state == EngineState.ERROR, timeout=10)
        assert "Retrying" in engine.stats().error
        subprocess.run(["pactl", "load-module", "module-null-sink", "sink_name=vsink", "rate=48000"],
                       check=True, capture_output=True)
        subprocess.run(["pactl", "set-default-sink", "vsink"], check=True)
        subprocess.run(["pactl", "set-default-source", "vsink.monitor"], check=True)
        blocks = engine.blocks
        assert _wait(lambda: engine.stats().state == EngineState.RUNNING and engine.blocks > blocks + 50,
                     timeout=20), engine.stats()
    finally:
        engine.stop()
    assert _wait(lambda: set(threading.enumerate()) <= before, timeout=5), "engine left threads running"
