"""The command line as a user runs it (real subprocesses)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from hearing_assist.fitting import output_ceiling_dbfs, load_amplification


def run_cli(*args, env_home=None, check=True):
    env = dict(os.environ)
    if env_home is not None:
        env["HEARING_ASSIST_HOME"] = str(env_home)
    r = subprocess.run([sys.executable, "-m", "hearing_assist", *args], capture_output=True, text=True, env=env,
                       timeout=300)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture
def audiogram_file(tmp_path):
    path = tmp_path / "audiogram.json"
    path.write_text(json.dumps({
        "left": {"250": 20, "500": 25, "1000": 35, "2000": 50, "4000": 60, "8000": 65},
        "right": {"250": 15, "500": 20, "1000": 30, "2000": 45, "4000": 55, "8000": 60}}))
    return path


def test_doctor_reports_models_and_versions():
    r = run_cli("doctor", check=False)
    assert "Whisper tiny.en" in r.stdout and "DeepFilterNet3" in r.stdout and "torch:" in r.stdout
    assert r.returncode in (0, 1)


def test_fit_prints_targets_and_writes_profile(tmp_path, audiogram_file):
    home = tmp_path / "home"
    r = run_cli("fit", str(audiogram_file), "--rule", "nal-r", "--name", "ann", env_home=home)
    assert "IG@65 dB" in r.stdout and "moderate" in r.stdout
    saved = home / "profiles" / "ann.json"
    profile = load_amplification(saved)
    assert profile.rule == "nal-r" and profile.audiogram.ear("left").thresholds[4000] == 60
    # The right ear's 2 kHz NAL-R target at 65 dB (Byrne & Dillon): 0.15*(20+30+45)/3 + 0.31*45 - 1 = 17.7 dB.
    row = [ln for ln in r.stdout.splitlines() if ln.startswith("right") and ln.split()[1] == "2000"][0]
    assert float(row.split()[3]) == pytest.approx(0.15 * (20 + 30 + 45) / 3 + 0.31 * 45 - 1, abs=0.3)


def test_fit_rejects_out_of_range_audiogram_naming_ear_and_frequency(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"left": {"250": 20, "500": 25, "1000": 135, "2000": 50, "4000": 60},
                               "right": {"250": 15, "500": 20, "1000": 30, "2000": 45, "4000": 55}}))
    r = run_cli("fit", str(bad), env_home=tmp_path / "home", check=False)
    assert r.returncode == 2
    assert "left" in r.stderr and "1000" in r.stderr


def test_process_applies_profile_and_respects_the_maximum_output(tmp_path, audiogram_file):
    home = tmp_path / "home"
    run_cli("fit", str(audiogram_file), "--name", "ann", env_home=home)
    src = tmp_path / "loud.wav"
    rng = np.random.default_rng(0)
    sf.write(src, np.clip(rng.standard_normal(48000) * 0.5, -1, 1).astype(np.float32), 48000)
    out = tmp_path / "out.wav"
    run_cli("process", str(src), str(out), "--profile", str(home / "profiles" / "ann.json"), "--volume-db", "20",
            env_home=home)
    y, sr = sf.read(out)
    assert sr == 48000 and y.shape == (48000, 2)
    ceiling = 10 ** (output_ceiling_dbfs(load_amplification(home / "profiles" / "ann.json")) / 20)
    assert np.abs(y).max() <= ceiling + 1e-6


def test_process_without_profile_is_a_pass_through(tmp_path):
    src = tmp_path / "in.wav"
    x = (0.1 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.float32)
    sf.write(src, x, 16000)
    out = tmp_path / "out.wav"
    run_cli("process", str(src), str(out))
    y, sr = sf.read(out)
    assert sr == 48000 and abs(np.abs(y).max() - 0.1) < 0.005


@pytest.mark.parametrize("content, message", [(b"", "Cannot read"), (b"not audio at all", "Cannot read")])
def test_process_reports_bad_input(tmp_path, content, message):
    src = tmp_path / "bad.wav"
    src.write_bytes(content)
    r = run_cli("process", str(src), str(tmp_path / "o.wav"), check=False)
    assert r.returncode == 2 and message in r.stderr


def test_process_missing_file(tmp_path):
    r = run_cli("process", str(tmp_path / "nope.wav"), str(tmp_path / "o.wav"), check=False)
    assert r.returncode == 2 and "not found" in r.stderr


def test_caption_file_as_srt(tmp_path):
    from hearing_assist.bench.corpus import have_synthesizer, synthesize

    if not have_synthesizer():
        pytest.skip("espeak-ng is not installed (installer/bootstrap.sh test installs it)")
    wav = tmp_path / "speech.wav"
    sf.write(wav, synthesize("Please bring the blue umbrella to the station tomorrow.", 16000), 16000)
    out = tmp_path / "speech.srt"
    r = run_cli("caption", str(wav), "--format", "srt", "--out", str(out))
    assert r.stdout.startswith("1\n00:00:0")
    assert "umbrella" in out.read_text().lower()


def test_caption_missing_file_is_a_clear_error(tmp_path):
    r = run_cli("caption", str(tmp_path / "nope.wav"), check=False)
    assert r.returncode == 2 and "not found" in r.stderr
