"""Rebuild a transformers Whisper model from the bundled CTranslate2 captioning model, offline.

LoRA personalisation and distillation need a trainable PyTorch model with exactly the weights the app captions
with. The only copy we ship is CTranslate2's ``model.bin``; this module maps its variables back to
``WhisperForConditionalGeneration`` names (undoing the fused q/k/v projections), builds the config, tokenizer,
feature extractor and generation config from the bundled ``config.json`` / ``tokenizer.json``, and caches the result
as a local safetensors folder so later loads skip the conversion. Nothing touches a model hub.

Name map (CTranslate2 -> transformers), per ``ctranslate2.converters.transformers.WhisperLoader``:

- ``encoder/conv{1,2}`` -> ``model.encoder.conv{1,2}``; ``*/position_encodings/encodings`` -> ``*.embed_positions``
- ``*/layer_norm/{gamma,beta}`` -> ``*.layer_norm.{weight,bias}`` (final norms; pre-norm transformer)
- ``self_attention/linear_0`` = concat(q, k, v), ``linear_1`` = out_proj; layer norm -> ``self_attn_layer_norm``
- decoder ``attention/linear_0`` = q, ``linear_1`` = concat(k, v), ``linear_2`` = out_proj -> ``encoder_attn``
- ``ffn/linear_{0,1}`` -> ``fc{1,2}``, ``ffn/layer_norm`` -> ``final_layer_norm``
- ``decoder/embeddings/weight`` -> ``embed_tokens``; ``decoder/projection/weight`` is an alias of it (tied).

Whisper's k_proj has no bias; CTranslate2 stores zeros for it in the fused bias, which we check and drop.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from hearing_assist.asr.models import file_sha256
from hearing_assist.asr.ct2_format import CT2FormatError, CT2Model, read_ct2_model

# Bump when the conversion output changes, so stale caches are rebuilt instead of reused.
CONVERTER_VERSION = 1
_CACHE_SUBDIR = "whisper_transformers"
_MANIFEST = "conversion.json"

# Whisper front end: 80 mel bins over 25 ms windows every 10 ms at 16 kHz, 30 s chunks (3000 frames).
SAMPLE_RATE_HZ = 16000
_FEATURE_PARAMS = dict(feature_size=80, sampling_rate=SAMPLE_RATE_HZ, hop_length=160, chunk_length=30, n_fft=400,
                       padding_value=0.0, return_attention_mask=False)

_TIME_PRECISION_S = 0.02  # one timestamp token step


class ConversionError(RuntimeError):
    """The CTranslate2 model cannot be mapped to a transformers Whisper model; the message says why."""


# ---------------------------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------------------------

def _count_layers(ct2: CT2Model, stack: str) -> int:
    """Number of ``{stack}/layer_N`` blocks present in the file."""
    ids = {int(m.group(1)) for name in ct2.variables if (m := re.match(rf"{stack}/layer_(\d+)/", name))}
    if ids != set(range(len(ids))):
        raise ConversionError(f"{stack} layers are not numbered 0..N-1: {sorted(ids)}")
    return len(ids)


def _tensor(ct2: CT2Model, name: str) -> torch.Tensor:
    try:
        arr = ct2.get(name)
    except KeyError:
        raise ConversionError(f"CTranslate2 model lacks variable {name}; not a Whisper model this converter knows.")
    if arr.dtype not in (np.float32, np.float16):
        raise ConversionError(f"{name} is {ct2.dtypes.get(name)}; quantized (int8/int16) models cannot be converted "
                              "back to trainable weights without loss. Use a float16/float32 model.")
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))


def _split_rows(t: torch.Tensor, parts: int, name: str) -> tuple[torch.Tensor, ...]:
    if t.shape[0] % parts:
        raise ConversionError(f"{name} has {t.shape[0]} rows, not divisible into {parts} fused projections.")
    return tuple(x.clone() for x in torch.chunk(t, parts, dim=0))


def _zero_key_bias(bias: torch.Tensor, name: str) -> None:
    """Check the fused k bias is zero: transformers' Whisper k_proj has no bias to put it in."""
    worst = float(bias.abs().max())
    if worst > 0:
        raise ConversionError(f"{name}: key-projection bias is non-zero (max {worst:g}); transformers' Whisper "
                              "has no k_proj bias, so this model cannot be represented exactly.")


def _linear(sd: dict, ct2: CT2Model, src: str, dst: str, bias: bool = True) -> None:
    sd[f"{dst}.weight"] = _tensor(ct2, f"{src}/weight")
    if bias:
        sd[f"{dst}.bias"] = _tensor(ct2, f"{src}/bias")


def _norm(sd: dict, ct2: CT2Model, src: str, dst: str) -> None:
    sd[f"{dst}.weight"] = _tensor(ct2, f"{src}/gamma")
    sd[f"{dst}.bias"] = _tensor(ct2, f"{src}/beta")


def _fused_attention(sd: dict, ct2: CT2Model, src: str, dst: str, split: tuple[str, ...]) -> None:
    """Unfuse ``src`` (``q|k|v`` or ``k|v`` rows) into ``{dst}.{q,k,v}_proj``; k gets no bias."""
    weights = _split_rows(_tensor(ct2, f"{src}/weight"), len(split), src)
    biases = _split_rows(_tensor(ct2, f"{src}/bias"), len(split), src)
    for role, w, b in zip(split, weights, biases):
        sd[f"{dst}.{role}_proj.weight"] = w
        if role == "k":
            _zero_key_bias(b, src)
        else:
            sd[f"{dst}.{role}_proj.bias"] = b


def whisper_state_dict(ct2: CT2Model) -> dict[str, torch.Tensor]:
    """transformers ``WhisperForConditionalGeneration`` state dict (float32) from CTranslate2 Whisper variables."""
    if ct2.spec_name != "WhisperSpec":
        raise ConversionError(f"model spec is {ct2.spec_name!r}, not 'WhisperSpec'.")
    sd: dict[str, torch.Tensor] = {}
    for conv in ("conv1", "conv2"):
        _linear(sd, ct2, f"encoder/{conv}", f"model.encoder.{conv}")
    sd["model.encoder.embed_positions.weight"] = _tensor(ct2, "encoder/position_encodings/encodings")
    for i in range(_count_layers(ct2, "encoder")):
        s, d = f"encoder/layer_{i}", f"model.encoder.layers.{i}"
        _fused_attention(sd, ct2, f"{s}/self_attention/linear_0", f"{d}.self_attn", ("q", "k", "v"))
        _linear(sd, ct2, f"{s}/self_attention/linear_1", f"{d}.self_attn.out_proj")
        _norm(sd, ct2, f"{s}/self_attention/layer_norm", f"{d}.self_attn_layer_norm")
        _linear(sd, ct2, f"{s}/ffn/linear_0", f"{d}.fc1")
        _linear(sd, ct2, f"{s}/ffn/linear_1", f"{d}.fc2")
        _norm(sd, ct2, f"{s}/ffn/layer_norm", f"{d}.final_layer_norm")
    _norm(sd, ct2, "encoder/layer_norm", "model.encoder.layer_norm")

    sd["model.decoder.embed_tokens.weight"] = _tensor(ct2, "decoder/embeddings/weight")
    sd["model.decoder.embed_positions.weight"] = _tensor(ct2, "decoder/position_encodings/encodings")
    for i in range(_count_layers(ct2, "decoder")):
        s, d = f"decoder/layer_{i}", f"model.decoder.layers.{i}"
        _fused_attention(sd, ct2, f"{s}/self_attention/linear_0", f"{d}.self_attn", ("q", "k", "v"))
        _linear(sd, ct2, f"{s}/self_attention/linear_1", f"{d}.self_attn.out_proj")
        _norm(sd, ct2, f"{s}/self_attention/layer_norm", f"{d}.self_attn_layer_norm")
        _linear(sd, ct2, f"{s}/attention/linear_0", f"{d}.encoder_attn.q_proj")
        _fused_attention(sd, ct2, f"{s}/attention/linear_1", f"{d}.encoder_attn", ("k", "v"))
        _linear(sd, ct2, f"{s}/attention/linear_2", f"{d}.encoder_attn.out_proj")
        _norm(sd, ct2, f"{s}/attention/layer_norm", f"{d}.encoder_attn_layer_norm")
        _linear(sd, ct2, f"{s}/ffn/linear_0", f"{d}.fc1")
        _linear(sd, ct2, f"{s}/ffn/linear_1", f"{d}.fc2")
        _norm(sd, ct2, f"{s}/ffn/layer_norm", f"{d}.final_layer_norm")
    _norm(sd, ct2, "decoder/layer_norm", "model.decoder.layer_norm")

    # The output projection must be the embedding matrix (tied); anything else would need an untied head.
    proj_target = ct2.aliases.get("decoder/projection/weight")
    if proj_target != "decoder/embeddings/weight":
        raise ConversionError("decoder/projection/weight is not tied to decoder/embeddings/weight; "
                              "untied output projections are not supported.")
    if "decoder/projection/bias" in ct2.variables:
        raise ConversionError("decoder/projection/bias present; transformers' Whisper has no output bias.")
    sd["proj_out.weight"] = sd["model.decoder.embed_tokens.weight"]
    return sd


# ---------------------------------------------------------------------------------------------------------------
# Config, tokenizer, processor
# ---------------------------------------------------------------------------------------------------------------

def _scalar(ct2: CT2Model, name: str) -> int:
    return int(np.asarray(ct2.get(name)).reshape(()))


def _token_id(tokenizer, token: str) -> int:
    tid = tokenizer.convert_tokens_to_ids(token)
    if tid is None or (tid == tokenizer.unk_token_id and token != tokenizer.unk_token):
        raise ConversionError(f"tokenizer.json lacks special token {token}.")
    return int(tid)


def build_tokenizer(model_dir: Path, vocab_size: int):
    """Whisper tokenizer from the bundled ``tokenizer.json``, with special and timestamp tokens up to ``vocab_size``."""
    from transformers import AddedToken, WhisperTokenizerFast

    path = Path(model_dir) / "tokenizer.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    # Registering the <|...|> control tokens as special makes decode(skip_special_tokens=True) drop them and puts
    # the first timestamp right after the last special id, where Whisper's tokenizer looks for it.
    specials = [t["content"] for t in sorted(spec.get("added_tokens", []), key=lambda t: t["id"])
                if t.get("special") and t["content"] != "<|endoftext|>"]
    tok = WhisperTokenizerFast(tokenizer_file=str(path), additional_special_tokens=specials)
    n_timestamps = vocab_size - len(tok)
    if n_timestamps < 0:
        raise ConversionError(f"tokenizer has {len(tok)} tokens but the model only {vocab_size} embeddings.")
    # Timestamp tokens are model outputs (<|0.00|> .. <|30.00|>) absent from the bundled tokenizer.json.
    tok.add_tokens([AddedToken(f"<|{i * _TIME_PRECISION_S:.2f}|>", special=False, normalized=False,
                               lstrip=False, rstrip=False) for i in range(n_timestamps)])
    if len(tok) != vocab_size:
        raise ConversionError(f"tokenizer size {len(tok)} != model vocabulary {vocab_size}.")
    return tok


def build_feature_extractor():
    """Whisper log-mel front end with explicit tiny.en parameters (80 mels, 16 kHz, 10 ms hop, 30 s chunks)."""
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(**_FEATURE_PARAMS)


def build_config(ct2: CT2Model, ct2_config: dict, tokenizer):
    """transformers ``WhisperConfig`` whose sizes come from the weights and special ids from the tokenizer."""
    from transformers import WhisperConfig

    vocab_size, d_model = ct2.get("decoder/embeddings/weight").shape
    eot = _token_id(tokenizer, "<|endoftext|>")
    sot = _token_id(tokenizer, "<|startoftranscript|>")
    return WhisperConfig(
        vocab_size=int(vocab_size),
        num_mel_bins=int(ct2.get("encoder/conv1/weight").shape[1]),
        d_model=int(d_model),
        encoder_layers=_count_layers(ct2, "encoder"),
        decoder_layers=_count_layers(ct2, "decoder"),
        encoder_attention_heads=_scalar(ct2, "encoder/num_heads"),
        decoder_attention_heads=_scalar(ct2, "decoder/num_heads"),
        encoder_ffn_dim=int(ct2.get("encoder/layer_0/ffn/linear_0/weight").shape[0]),
        decoder_ffn_dim=int(ct2.get("decoder/layer_0/ffn/linear_0/weight").shape[0]),
        max_source_positions=int(ct2.get("encoder/position_encodings/encodings").shape[0]),
        max_target_positions=int(ct2.get("decoder/position_encodings/encodings").shape[0]),
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=True,
        bos_token_id=eot, eos_token_id=eot, pad_token_id=eot,  # as OpenAI's checkpoints: <|endoftext|> for all
        decoder_start_token_id=sot,
        suppress_tokens=list(ct2_config.get("suppress_ids", [])),
        begin_suppress_tokens=list(ct2_config.get("suppress_ids_begin", [])),
        use_cache=True,
    )


def build_generation_config(config, ct2_config: dict, tokenizer):
    """Generation settings matching CTranslate2's: transcribe, no timestamps, suppressed non-speech tokens."""
    from transformers import GenerationConfig

    gen = GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id,
        max_length=config.max_target_positions,
        suppress_tokens=list(ct2_config.get("suppress_ids", [])),
        begin_suppress_tokens=list(ct2_config.get("suppress_ids_begin", [])),
        alignment_heads=[list(h) for h in ct2_config.get("alignment_heads", [])],
        no_timestamps_token_id=_token_id(tokenizer, "<|notimestamps|>"),
        prev_sot_token_id=_token_id(tokenizer, "<|startofprev|>"),
        max_initial_timestamp_index=50,  # 1.0 s, as OpenAI and CTranslate2
        return_timestamps=False,
        do_sample=False, num_beams=1,
    )
    # English-only checkpoints have no language/task prompt; generate() then starts with <|sot|><|notimestamps|>.
    # A multilingual model would need lang_to_id/task_to_id here, which this app does not ship.
    gen.is_multilingual = False
    return gen


def _read_ct2_config(model_dir: Path) -> dict:
    path = model_dir / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConversionError(f"{path}: unreadable CTranslate2 config ({exc}).") from None


def _convert(model_dir: Path):
    """(model, processor) built in memory from ``model_dir``'s CTranslate2 files."""
    from transformers import WhisperForConditionalGeneration

    ct2 = read_ct2_model(model_dir / "model.bin")
    ct2_config = _read_ct2_config(model_dir)
    state = whisper_state_dict(ct2)
    tokenizer = build_tokenizer(model_dir, int(ct2.get("decoder/embeddings/weight").shape[0]))
    config = build_config(ct2, ct2_config, tokenizer)
    # Skip random init of 39 M parameters that the state dict overwrites anyway.
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if missing or unexpected:
        raise ConversionError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    # Buffers not in the state dict would stay on the meta device and fail only at inference time.
    left_on_meta = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left_on_meta:
        raise ConversionError(f"tensors not provided by the CTranslate2 model: {left_on_meta}")
    model.generation_config = build_generation_config(config, ct2_config, tokenizer)
    model.eval()
    return model, _processor(tokenizer)


def _processor(tokenizer):
    from transformers import WhisperProcessor

    return WhisperProcessor(feature_extractor=build_feature_extractor(), tokenizer=tokenizer)


# ---------------------------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------------------------

def _stamp(model_bin: Path) -> dict:
    """What identifies a model file: size and mtime are cheap, the sha256 settles it."""
    st = model_bin.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_root() -> Path:
    """Folder holding converted models, one subfolder per source model.bin."""
    from hearing_assist.profiles.store import cache_dir

    return cache_dir() / _CACHE_SUBDIR


def cached_folder(model_dir: str | Path) -> Path:
    """Cache folder for ``model_dir``'s conversion (may not exist yet)."""
    model_bin = Path(model_dir) / "model.bin"
    return cache_root() / f"{file_sha256(model_bin)[:32]}-v{CONVERTER_VERSION}"


def _read_manifest(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_complete(folder: Path) -> bool:
    return (folder / _MANIFEST).is_file() and (folder / "model.safetensors").is_file()


def save_converted(model, processor, out_dir: str | Path, manifest: dict | None = None) -> Path:
    """Write ``model`` (safetensors) and ``processor`` to ``out_dir`` atomically; returns ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        processor.save_pretrained(tmp)
        # Written last: its presence marks a complete folder.
        (tmp / _MANIFEST).write_text(json.dumps({"converter_version": CONVERTER_VERSION, **(manifest or {})},
                                                indent=2, sort_keys=True), encoding="utf-8")
        if out_dir.exists():
            previous = _read_manifest(out_dir)
            if previous is None and any(out_dir.iterdir()):
                raise ConversionError(f"{out_dir} exists and is not a converted-model folder; refusing to overwrite.")
            if previous is not None and manifest and previous.get("sha256") == manifest.get("sha256") \
                    and previous.get("converter_version") == CONVERTER_VERSION and _is_complete(out_dir):
                shutil.rmtree(tmp)  # another process finished the same conversion first
                return out_dir
            shutil.rmtree(out_dir)  # an older conversion or an empty folder
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def load_converted(folder: str | Path):
    """(model, processor) from a folder written by :func:`save_converted`; local files only."""
    from transformers import WhisperProcessor

    processor = WhisperProcessor.from_pretrained(Path(folder), local_files_only=True)
    return _load_cached_model(folder), processor


def _load_cached_model(folder: str | Path):
    """The model alone from a converted folder (safetensors; no pickle is ever read)."""
    from transformers import WhisperForConditionalGeneration

    model = WhisperForConditionalGeneration.from_pretrained(Path(folder), local_files_only=True,
                                                            dtype=torch.float32, use_safetensors=True)
    return model.eval()


def ct2_to_transformers(model_dir: str | Path, out_dir: str | Path | None = None):
    """Convert the CTranslate2 Whisper in ``model_dir`` to (model, processor); save to ``out_dir`` if given."""
    model_dir = Path(model_dir)
    if not (model_dir / "model.bin").is_file():
        raise CT2FormatError(f"{model_dir / 'model.bin'}: no CTranslate2 model file there.")
    model, processor = _convert(model_dir)
    if out_dir is not None:
        model_bin = model_dir / "model.bin"
        save_converted(model, processor, out_dir,
                       {"source": str(model_bin.resolve()), "sha256": file_sha256(model_bin), **_stamp(model_bin)})
    return model, processor


def load_transformers_whisper(model_dir: str | Path):
    """(model, processor) for the CTranslate2 model in ``model_dir``, converted once and then read from the cache."""
    model_dir = Path(model_dir)
    if not (model_dir / "model.bin").is_file():
        raise CT2FormatError(f"{model_dir / 'model.bin'}: no CTranslate2 model file there.")
    folder = cached_folder(model_dir)
    if folder.exists() and not _is_complete(folder):
        shutil.rmtree(folder, ignore_errors=True)  # left by a crash mid-save; ours to remove
    if _is_complete(folder):
        try:
            model = _load_cached_model(folder)
        except Exception:  # noqa: BLE001 - safetensors/json/transformers each raise their own types on damage
            shutil.rmtree(folder, ignore_errors=True)  # damaged cache: rebuild below rather than fail
        else:
            # transformers reads its own saved tokenizer (1,607 added tokens) about 2x slower than we build one
            # from the bundled tokenizer.json, so only the weights come from the cache.
            tokenizer = build_tokenizer(model_dir, model.config.vocab_size)
            return model, _processor(tokenizer)
    model, processor = _convert(model_dir)
    try:
        model_bin = model_dir / "model.bin"
        save_converted(model, processor, folder,
                       {"source": str(model_bin.resolve()), "sha256": file_sha256(model_bin), **_stamp(model_bin)})
    except OSError:
        pass  # an unwritable cache costs speed, not function
    return model, processor
