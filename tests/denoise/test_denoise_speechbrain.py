"""SpeechBrain model from a local folder: a tiny MetricGAN-style model the test builds and saves itself."""

import importlib.util

import numpy as np
import pytest

from hearing_assist.denoise import DenoiseError, ModelFileError, create_denoiser
from hearing_assist.denoise.speechbrain_folder import check_hparams

from .helpers import pink_noise, run_blocks

# speechbrain is imported only when a test runs: importing it at collection time leaves lazy modules in
# sys.modules (speechbrain.integrations.k2_fsa) that break plugins scanning sys.modules (hypothesis).
if importlib.util.find_spec("speechbrain") is None or importlib.util.find_spec("torch") is None:
    pytest.skip("speechbrain and torch are not installed", allow_module_level=True)
import torch  # noqa: E402

HPARAMS = """
sample_rate: 16000
compute_stft: !new:speechbrain.processing.features.STFT
    sample_rate: 16000
    win_length: 32
    hop_length: 16
    n_fft: 512
    window_fn: !name:torch.hamming_window
compute_istft: !new:speechbrain.processing.features.ISTFT
    sample_rate: 16000
    win_length: 32
    hop_length: 16
    window_fn: !name:torch.hamming_window
spectral_magnitude: !name:speechbrain.processing.features.spectral_magnitude
    power: 0.5
resynth: !name:speechbrain.processing.signal_processing.resynthesize
    stft: !ref <compute_stft>
    istft: !ref <compute_istft>
enhance_model: !new:speechbrain.lobes.models.MetricGAN.EnhancementGenerator
    input_size: 257
    hidden_size: 200  # the class hard-codes 2 x 200 after the BLSTM
    num_layers: 1
modules:
    enhance_model: !ref <enhance_model>
pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer
    loadables:
        enhance_model: !ref <enhance_model>
"""


class NotATensor:
    pass


def tiny_model_folder(path, fmt="ckpt"):
    from hyperpyyaml import load_hyperpyyaml

    path.mkdir(parents=True, exist_ok=True)
    (path / "hyperparams.yaml").write_text(HPARAMS)
    torch.manual_seed(0)
    model = load_hyperpyyaml(HPARAMS)["enhance_model"]
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if fmt == "ckpt":
        torch.save(state, path / "enhance_model.ckpt")
    else:
        from safetensors.torch import save_file

        save_file(state, str(path / "enhance_model.safetensors"))
    return path, state


def make(folder, block, strength=30.0):
    d = create_denoiser("speechbrain", folder=folder, chunk_s=0.5, overlap_s=0.1, strength_db=strength)
    d.prepare(16000, block, 1)
    return d


@pytest.fixture(scope="module")
def noisy(synth_speech_16k):
    x = synth_speech_16k[:40000]
    return x + 0.03 * pink_noise(len(x), 12)


@pytest.mark.parametrize("fmt", ["ckpt", "safetensors"])
def test_loads_saved_weights_from_the_folder(tmp_path, fmt):
    folder, state = tiny_model_folder(tmp_path / "m", fmt)
    d = create_denoiser("speechbrain", folder=folder)
    loaded = d.backend.model.mods.enhance_model.state_dict()
    for k, v in state.items():
        assert torch.equal(loaded[k], v), k


def test_block_sizes_give_the_same_output_and_documented_delay(tmp_path, noisy):
    folder, _ = tiny_model_folder(tmp_path / "m")
    d = make(folder, len(noisy))
    ref = run_blocks(d, noisy, len(noisy))
    assert d.latency_samples == 8000 - 1 + 1600
    assert np.isfinite(ref).all() and np.abs(ref).max() > 1e-3
    for block in (64, 1000, [441, 128]):
        y = run_blocks(make(folder, max(block) if isinstance(block, list) else block), noisy, block)
        np.testing.assert_allclose(y, ref, atol=1e-5, err_msg=f"block {block}")
    # A mask model keeps the phase, so the output lines up with the input at the documented delay.
    lat = d.latency_samples
    assert int(np.argmax(np.correlate(ref, noisy, "full")[len(noisy) - 1 :][: 2 * lat])) == lat


def test_strength_zero_is_pass_through(tmp_path, noisy):
    folder, _ = tiny_model_folder(tmp_path / "m")
    d = make(folder, 256, strength=0.0)
    y = run_blocks(d, noisy, 256)
    lat = d.latency_samples
    np.testing.assert_array_equal(y[lat:], noisy[: len(noisy) - lat])


def test_pickled_objects_in_a_checkpoint_are_refused(tmp_path):
    folder, state = tiny_model_folder(tmp_path / "m")
    state["extra"] = NotATensor()
    torch.save(state, folder / "enhance_model.ckpt")
    with pytest.raises(ModelFileError, match="never pickled objects"):
        create_denoiser("speechbrain", folder=folder)


def test_hparams_that_would_run_other_code_are_refused(tmp_path):
    folder, _ = tiny_model_folder(tmp_path / "m")
    marker = tmp_path / "ran"
    (folder / "hyperparams.yaml").write_text(HPARAMS + f'\nboom: !apply:os.system ["touch {marker}"]\n')
    with pytest.raises(DenoiseError, match="os.system"):
        create_denoiser("speechbrain", folder=folder)
    assert not marker.exists()
    with pytest.raises(DenoiseError, match="include"):
        check_hparams("x: !include:/etc/other.yaml")
    with pytest.raises(DenoiseError, match="python/object/apply:os.system"):
        check_hparams('x: !!python/object/apply:os.system ["true"]')
    check_hparams(HPARAMS)  # the published model layout passes


def test_missing_folder_weights_and_mismatched_weights(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        create_denoiser("speechbrain", folder=tmp_path / "nowhere")
    folder, _ = tiny_model_folder(tmp_path / "m")
    (folder / "enhance_model.ckpt").unlink()
    with pytest.raises(ModelFileError, match="no weights"):
        create_denoiser("speechbrain", folder=folder)
    torch.save({"blstm.weight": torch.zeros(3)}, folder / "enhance_model.ckpt")
    with pytest.raises(ModelFileError, match="do not fit"):
        create_denoiser("speechbrain", folder=folder)
    (folder / "enhance_model.ckpt").write_bytes(b"truncated")
    with pytest.raises(ModelFileError, match="cannot read weights"):
        create_denoiser("speechbrain", folder=folder)
