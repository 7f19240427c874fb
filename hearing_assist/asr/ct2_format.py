"""Reader for CTranslate2 ``model.bin`` files (binary format version 6), from the raw bytes with numpy only.

Layout, as written by ``ctranslate2.specs.model_spec.ModelSpec._serialize`` (all integers little-endian):

- ``uint32`` binary version (the file has no other magic number; 6 for ctranslate2 >= 3.x);
- string spec name (``WhisperSpec``), ``uint32`` spec revision;
- ``uint32`` variable count, then per variable: string name, ``uint8`` rank, ``rank x uint32`` shape,
  ``uint8`` dtype id (order of ``DataType`` in ``include/ctranslate2/types.h``), ``uint32`` byte count, raw data;
- ``uint32`` alias count, then per alias: string alias name, string target name.

A string is a ``uint16`` length that counts a trailing NUL, the UTF-8 bytes, then the NUL.

Nothing here unpickles or executes file content: a corrupt file can only raise :class:`CT2FormatError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SUPPORTED_BINARY_VERSION = 6

# Index = dtype id written by CTranslate2. bfloat16 has no numpy dtype: read as uint16 and widened by hand.
_DTYPES: tuple[str, ...] = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_NUMPY_DTYPES = {"float32": np.float32, "int8": np.int8, "int16": np.int16, "int32": np.int32,
                 "float16": np.float16, "bfloat16": np.uint16}


class CT2FormatError(ValueError):
    """A file is not a readable CTranslate2 model; the message names the file and what is wrong."""


@dataclass
class CT2Model:
    """Variables of one CTranslate2 model file, as stored (float16 stays float16 unless asked otherwise)."""

    spec_name: str
    spec_revision: int
    binary_version: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)  # variable name -> CTranslate2 dtype name

    def get(self, name: str) -> np.ndarray:
        """The variable ``name``, following an alias to the variable it shares storage with."""
        return self.variables[self.aliases.get(name, name)]


class _Cursor:
    """Bounds-checked reads over a bytes buffer; any overrun is a truncated file."""

    def __init__(self, data: bytes | memoryview, path: Path):
        self.data = data
        self.pos = 0
        self.path = path

    def need(self, n: int, what: str) -> None:
        if self.pos + n > len(self.data):
            raise CT2FormatError(f"{self.path}: truncated while reading {what} at byte {self.pos} "
                                 f"(needs {n} bytes, file has {len(self.data)}); re-install the model package.")

    def unpack(self, fmt: str, what: str) -> int:
        size = struct.calcsize(fmt)
        self.need(size, what)
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value

    def string(self, what: str) -> str:
        n = self.unpack("<H", what)
        if n == 0:
            raise CT2FormatError(f"{self.path}: empty {what} at byte {self.pos}; not a CTranslate2 model.")
        self.need(n, what)
        raw = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        if raw[-1] != 0:
            raise CT2FormatError(f"{self.path}: {what} at byte {self.pos - n} is not NUL-terminated; "
                                 "not a CTranslate2 model or corrupt.")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CT2FormatError(f"{self.path}: {what} is not UTF-8 ({exc}); corrupt file.") from None

    def take(self, n: int, what: str) -> memoryview:
        self.need(n, what)
        view = memoryview(self.data)[self.pos:self.pos + n]
        self.pos += n
        return view


def read_ct2_model(path: str | Path, *, float32: bool = False) -> CT2Model:
    """Parse a CTranslate2 ``model.bin``; ``float32=True`` widens float16/bfloat16 weights to float32."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CT2FormatError(f"{path}: cannot read model file ({exc.strerror or exc}).") from None
    cur = _Cursor(data, path)

    version = cur.unpack("<I", "binary version")
    if version != SUPPORTED_BINARY_VERSION:
        # The version word is the only magic number the format has, so a wrong one means "not this format".
        raise CT2FormatError(f"{path}: binary version {version} (bytes {data[:4].hex()}) is not the supported "
                             f"CTranslate2 version {SUPPORTED_BINARY_VERSION}; not a CTranslate2 model.bin, "
                             "or one written by an incompatible ctranslate2.")
    spec_name = cur.string("spec name")
    spec_revision = cur.unpack("<I", "spec revision")

    n_vars = cur.unpack("<I", "variable count")
    variables: dict[str, np.ndarray] = {}
    dtypes: dict[str, str] = {}
    for i in range(n_vars):
        name = cur.string(f"name of variable {i}")
        rank = cur.unpack("<B", f"rank of {name}")
        shape = tuple(cur.unpack("<I", f"shape of {name}") for _ in range(rank))
        type_id = cur.unpack("<B", f"dtype of {name}")
        if type_id >= len(_DTYPES):
            raise CT2FormatError(f"{path}: variable {name} has unknown dtype id {type_id}; corrupt file.")
        dtype = _DTYPES[type_id]
        nbytes = cur.unpack("<I", f"byte count of {name}")
        item = np.dtype(_NUMPY_DTYPES[dtype]).itemsize
        if nbytes != item * int(np.prod(shape, dtype=np.int64)):
            raise CT2FormatError(f"{path}: variable {name} declares {nbytes} bytes but shape {shape} x {dtype} "
                                 f"needs {item * int(np.prod(shape, dtype=np.int64))}; corrupt file.")
        # Copy out of the file buffer so arrays are writable and do not pin the whole file in memory.
        arr = np.frombuffer(cur.take(nbytes, f"data of {name}"), dtype=_NUMPY_DTYPES[dtype]).reshape(shape).copy()
        if float32 and dtype == "float16":
            arr = arr.astype(np.float32)
        elif float32 and dtype == "bfloat16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        variables[name] = arr
        dtypes[name] = dtype

    n_aliases = cur.unpack("<I", "alias count")
    aliases: dict[str, str] = {}
    for _ in range(n_aliases):
        alias = cur.string("alias name")
        target = cur.string(f"target of alias {alias}")
        if target not in variables:
            raise CT2FormatError(f"{path}: alias {alias} points to missing variable {target}; corrupt file.")
        aliases[alias] = target

    if cur.pos != len(data):
        raise CT2FormatError(f"{path}: {len(data) - cur.pos} unexpected trailing bytes after the aliases; "
                             "corrupt or not a version-6 CTranslate2 model.")
    return CT2Model(spec_name=spec_name, spec_revision=spec_revision, binary_version=version,
                    variables=variables, aliases=aliases, dtypes=dtypes)
