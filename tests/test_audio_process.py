"""The engine in its own process: taps and status over shared memory, commands over a pipe."""

import multiprocessing
import threading
import time

import numpy as np
import pytest

from hearing_assist.audio.devices import AudioDeviceError
from hearing_assist.audio.sources import DeviceSource, SyntheticSource
from hearing_assist.dsp.level import OutputCeiling
from hearing_assist.gui.responsiveness import busy_python_worker
from hearing_assist.pipeline.audio_process import AudioProcess
from hearing_assist.pipeline.engine import NO_OUTPUT, EngineConfig, EngineState
from hearing_assist.pipeline.processor import Chain


def _wait(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_taps_status_and_commands_cross_the_process_boundary():
    src = SyntheticSource("sine", 1000, level_dbfs=-20)
    with AudioProcess(src, config=EngineConfig(output_device=NO_OUTPUT)) as audio:
        tap = audio.open_tap  # taps must exist before start
        assert audio.state == EngineState.RUNNING
        assert _wait(lambda: audio.stats().blocks > 50)
        in_db, _ = audio.levels_dbfs()
        assert in_db == pytest.approx(-17.0, abs=0.2)  # sine peak = RMS + 3 dB
        audio.set_volume_db(-12)
        time.sleep(0.3)
        _, out_db = audio.levels_dbfs()
        assert out_db[0] == pytest.approx(-29.0, abs=0.3)
        audio.set_volume_db(0)
        audio.set_chain(Chain([OutputCeiling(-40.0)]))
        time.sleep(0.3)
        _, out_db = audio.levels_dbfs()
        assert out_db[0] == pytest.approx(-40.0, abs=0.1)
        audio.call("ceiling.set_max_dbfs", -50.0)
        time.sleep(0.3)
        assert audio.levels_dbfs()[1][0] == pytest.approx(-50.0, abs=0.1)
        with pytest.raises(RuntimeError, match="private"):
            audio.call("_chain.reset")
        assert tap is not None
    assert audio.state == EngineState.STOPPED
    assert not multiprocessing.active_children()


def test_tap_carries_audio_to_this_process():
    audio = AudioProcess(SyntheticSource("noise", level_dbfs=-30), config=EngineConfig(output_device=NO_OUTPUT))
    ring = audio.open_tap(seconds=5, point="output")
    try:
        audio.start()
        time.sleep(1.0)
        x = ring.read()[:, 0]
    finally:
        audio.close()
    assert 0.6 * 48000 < len(x) < 1.4 * 48000
    assert 20 * np.log10(np.sqrt(np.mean(x**2))) == pytest.approx(-30, abs=1)


def test_start_failure_reports_the_reason():
    audio = AudioProcess(SyntheticSource(sample_rate=16000), config=EngineConfig(output_device=NO_OUTPUT))
    with pytest.raises(AudioDeviceError, match="16000 Hz"):
        audio.start()
    audio.close()
    assert not multiprocessing.active_children()


def test_busy_thread_in_the_app_does_not_cause_dropouts(loopback):
    """The reason the audio has its own process: a CPU-bound Python thread here cannot starve its callback."""
    audio = AudioProcess(DeviceSource())
    stop = threading.Event()
    worker = threading.Thread(target=busy_python_worker, args=(stop,))
    with audio:
        assert _wait(lambda: audio.stats().blocks > 200)
        time.sleep(1.0)
        start = audio.stats().xruns
        time.sleep(5.0)
        idle = audio.stats().xruns - start  # the machine's own scheduling hiccups (a VM's host preempts it)
        worker.start()
        time.sleep(5.0)
        stop.set()
        worker.join()
        busy = audio.stats().xruns - start - idle
    # In-process the same worker causes dozens of xruns in 5 s; the 0-xrun figure over 60 s on a quiet machine is
    # measured by `hearing-assist bench audio`. Here the busy 5 s may be no worse than the idle 5 s before it, beyond
    # noise: on a quiet machine that is at most one xrun; on a VM whose host preempts it, both windows get some.
    assert busy <= 2 * idle + 1, (busy, idle)


def test_listening_chain_is_built_in_the_audio_process_and_tuned_live():
    """Noise reduction (native DFN3 state) is built over there from settings; its strength changes live."""
    from hearing_assist.pipeline.listening import ListeningSettings, chain_factory

    settings = ListeningSettings(None, noise_reduction_db=6.0, denoise_backend="dfn3")
    src = SyntheticSource("noise", level_dbfs=-20)
    with AudioProcess(src, chain=chain_factory(settings), config=EngineConfig(output_device=NO_OUTPUT)) as audio:
        assert _wait(lambda: audio.stats().blocks > 300)
        time.sleep(1.0)
        mild = audio.levels_dbfs()[1][0]
        audio.call("chain.denoiser.set_strength", 30.0)
        time.sleep(1.5)
        strong = audio.levels_dbfs()[1][0]
        assert not np.isnan(audio.snr_db())
        assert audio.notice() == ""
    # White noise is all noise: more allowed attenuation means a quieter output.
    assert strong < mild - 6


def test_a_chain_that_cannot_be_built_is_reported():
    audio = AudioProcess(SyntheticSource(), chain=_Broken(), config=EngineConfig(output_device=NO_OUTPUT))
    with pytest.raises(AudioDeviceError, match="Cannot build the processing chain"):
        audio.start()
    audio.close()


class _Broken:
    """A picklable chain factory that fails, as a damaged fitting would."""

    def __call__(self):
        raise ValueError("no fitting")
