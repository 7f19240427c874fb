"""The main window offscreen: listening to a file drives the meters and the spectrogram; closing cleans up."""

import multiprocessing
import threading

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pytestqt")

from hearing_assist.gui.main_window import MainWindow  # noqa: E402
from hearing_assist.pipeline.engine import NO_OUTPUT  # noqa: E402
from hearing_assist.profiles.user import ProfileStore  # noqa: E402


@pytest.fixture
def tone_file(tmp_path):
    sr = 48000
    t = np.arange(2 * sr) / sr
    x = 0.25 * np.sin(2 * np.pi * 2000 * t)
    path = tmp_path / "tone.wav"
    sf.write(path, x.astype(np.float32), sr)
    return path


def _select_output(window, data):
    window.output_combo.setCurrentIndex(window.output_combo.findData(data))


def test_window_listens_to_a_file_and_updates_meters_and_spectrogram(qtbot, tmp_path, tone_file):
    threads_before = set(threading.enumerate())
    window = MainWindow(store=ProfileStore(tmp_path / "profiles"))
    qtbot.addWidget(window)
    window.show()
    window.set_file_source(tone_file)
    _select_output(window, NO_OUTPUT)  # no sound card needed: the file is paced in real time
    window.toggle_listening()
    qtbot.waitUntil(lambda: window.bridge.running, timeout=20000)
    qtbot.waitUntil(lambda: window.spectrogram.columns_drawn > 10, timeout=10000)
    qtbot.waitUntil(lambda: window.meters.levels_db[0] > -20, timeout=5000)
    assert window.meters.levels_db[0] == pytest.approx(-12.0, abs=1.0)  # 0.25 peak = -12 dBFS
    spectrum = window.spectrogram.analyzer.image[-1]
    peak_hz = window.spectrogram.analyzer.frequencies_hz[int(np.argmax(spectrum))]
    assert abs(peak_hz - 2000) < 100
    assert "Listening" in window.state_label.text()
    assert window.cpu_label.text().startswith("CPU:")

    window.volume_slider.setValue(-10)
    qtbot.waitUntil(lambda: window.meters.levels_db[1] < -20, timeout=5000)
    assert window.meters.levels_db[1] == pytest.approx(-22.0, abs=1.0)

    window.toggle_listening()  # stop
    assert not window.bridge.running
    assert window.listen_button.text() == "Start listening"
    window.close()
    assert not multiprocessing.active_children()
    leftover = {t for t in threading.enumerate() if t not in threads_before and t.is_alive()}
    assert not leftover, f"threads left running: {leftover}"
    # The chosen volume was saved in the profile.
    assert ProfileStore(tmp_path / "profiles").load("default").settings.volume_db == -10


def test_close_while_streaming_stops_audio(qtbot, tmp_path, tone_file):
    window = MainWindow(store=ProfileStore(tmp_path / "profiles"))
    qtbot.addWidget(window)
    window.set_file_source(tone_file)
    _select_output(window, NO_OUTPUT)
    window.toggle_listening()
    qtbot.waitUntil(lambda: window.bridge.running, timeout=20000)
    window.close()
    assert window.bridge.engine is None
    assert not multiprocessing.active_children()


def test_missing_file_is_reported_in_the_status_bar(qtbot, tmp_path):
    window = MainWindow(store=ProfileStore(tmp_path / "profiles"))
    qtbot.addWidget(window)
    window.set_file_source(tmp_path / "nope.wav")
    window.toggle_listening()
    assert "not found" in window.statusBar().currentMessage()
    assert not window.bridge.running


def test_damaged_profile_is_not_overwritten(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    store = ProfileStore(tmp_path / "profiles")
    store.root.mkdir(parents=True)
    store.path("default").write_text("{ not json")
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: None)
    window = MainWindow(store=store)
    qtbot.addWidget(window)
    window.close()
    assert store.path("default").read_text() == "{ not json"


def test_live_captions_from_a_file_appear_and_can_be_saved(qtbot, tmp_path):
    from hearing_assist.asr.wer import normalize, wer
    from hearing_assist.bench.corpus import have_synthesizer, synthesize

    if not have_synthesizer():
        pytest.skip("espeak-ng is not installed (installer/bootstrap.sh test installs it)")
    sentence = "Please bring the blue umbrella to the station tomorrow morning."
    speech = synthesize(sentence, 48000)
    path = tmp_path / "speech.wav"
    sf.write(path, np.concatenate([np.zeros(24000, np.float32), speech, np.zeros(96000, np.float32)]), 48000)
    window = MainWindow(store=ProfileStore(tmp_path / "profiles"))
    qtbot.addWidget(window)
    window.show()
    window.set_file_source(path)
    _select_output(window, NO_OUTPUT)
    window.toggle_listening()
    # the whole sentence, recognised well enough to read (synthetic speech: one word may come out wrong)
    qtbot.waitUntil(lambda: wer(sentence, window.captions.snapshot().committed_text).wer <= 0.25, timeout=60000)
    said = normalize(window.captions.snapshot().committed_text)
    qtbot.waitUntil(lambda: said in normalize(window.caption_view.text.toPlainText()), timeout=5000)
    window.toggle_listening()
    out = tmp_path / "captions.srt"
    window.save_captions(out, "srt")
    assert "-->" in out.read_text() and said in normalize(out.read_text())
    window.close()
    assert not multiprocessing.active_children()


def test_amplification_applies_live_and_output_stays_under_the_maximum(qtbot, tmp_path):
    """A fitted profile amplifies the running stream; caregiver volume is clipped; the MPO holds at full scale."""
    from hearing_assist.dsp.audiogram import Audiogram
    from hearing_assist.fitting import output_ceiling_dbfs
    from hearing_assist.profiles.amplification import AmplificationProfile, AudiologistLimits

    store = ProfileStore(tmp_path / "profiles")
    profile = store.load_or_create("default")
    loss = {250: 30, 500: 40, 1000: 50, 2000: 60, 4000: 70}
    amp = AmplificationProfile(Audiogram.from_thresholds(loss, loss))
    amp = AmplificationProfile.from_dict({**amp.to_dict(), "limits": AudiologistLimits(
        amp.limits.max_gain_db, max_output_db_spl=90.0, max_volume_db=3.0).to_dict()})
    profile.amplification, profile.amplification_enabled = amp, True
    store.save(profile)
    path = tmp_path / "loud.wav"
    rng = np.random.default_rng(0)
    sf.write(path, np.clip(rng.standard_normal(96000), -1, 1).astype(np.float32), 48000)  # full-scale noise

    window = MainWindow(store=store)
    qtbot.addWidget(window)
    window.captions_check.setChecked(False)
    window.set_file_source(path)
    _select_output(window, NO_OUTPUT)
    window.toggle_listening()
    qtbot.waitUntil(lambda: window.state_label.text().startswith("Listening"), timeout=20000)
    window.volume_slider.setValue(20)  # the caregiver pushes volume to the top
    assert window.profile.amplification.volume_db == 3.0  # clipped to the audiologist's maximum
    qtbot.wait(1500)
    ceiling_db = output_ceiling_dbfs(window.profile.amplification)
    _, out_db = window.bridge.engine.levels_dbfs()
    assert np.all(out_db <= ceiling_db + 0.01)
    assert out_db.max() > ceiling_db - 6  # and it is really amplifying up to the limit, not silent
    qtbot.waitUntil(lambda: window.bridge.engine.stats().limiter_db > 0.5, timeout=5000)
    window.amplify_check.setChecked(False)  # back to pass-through, live
    qtbot.wait(800)
    assert window.bridge.engine.stats().limiter_db == 0.0
    window.close()
    assert store.load("default").amplification.volume_db == 3.0
