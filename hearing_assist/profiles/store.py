"""Profile files on disk: atomic writes with a kept backup, mode 0600, clear errors for corrupt files.

A save writes ``NAME.json.tmp``, fsyncs it, copies the current ``NAME.json`` to ``NAME.json.bak`` and renames the
temp file over ``NAME.json``; a crash or a full disk at any point leaves the previous version readable. A load that
finds a corrupt or truncated file raises :class:`ProfileCorrupt` saying whether a backup exists; nothing is
overwritten until the user chooses to restore the backup or save anew.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "hearing-assist"


class ProfileError(Exception):
    """A profile cannot be read or written; the message says what to do."""


class ProfileCorrupt(ProfileError):
    """The file exists but is not a valid profile."""

    def __init__(self, path: Path, reason: str):
        self.path = path
        self.backup = backup_path(path)
        self.has_backup = self.backup.is_file()
        hint = (f" A backup from the previous save exists ({self.backup.name}); restore it to continue."
                if self.has_backup else " No backup exists.")
        super().__init__(f"Profile {path} is damaged: {reason}.{hint}")


def data_dir() -> Path:
    """The user data folder (``$HEARING_ASSIST_HOME`` overrides the platform default)."""
    env = os.environ.get("HEARING_ASSIST_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """The user cache folder for derived files (model conversions, hashes)."""
    env = os.environ.get("HEARING_ASSIST_HOME")
    return Path(env) / "cache" if env else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def backup_path(path: Path) -> Path:
    """Where the previous version of ``path`` is kept."""
    return path.with_name(path.name + ".bak")


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically, keep the previous version as a backup, mode 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        finally:
            os.chmod(tmp, 0o600)
        if path.exists():
            bak_tmp = path.with_name(path.name + ".bak.tmp")
            shutil.copyfile(path, bak_tmp)
            os.chmod(bak_tmp, 0o600)
            os.replace(bak_tmp, backup_path(path))
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        for leftover in (tmp, path.with_name(path.name + ".bak.tmp")):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise ProfileError(f"Not enough disk space to save {path.name}; the previous version is unchanged. "
                               f"Free some space and save again.") from exc
        raise ProfileError(f"Cannot save {path}: {exc.strerror or exc}. The previous version is unchanged.") \
            from exc


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename is still atomic
    finally:
        os.close(fd)


def read_json(path: Path) -> Any:
    """Read a JSON file; raises ProfileCorrupt for unreadable or truncated content."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileCorrupt(path, f"cannot be read ({exc})") from exc
    if not text.strip():
        raise ProfileCorrupt(path, "the file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileCorrupt(path, f"not valid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})") from exc


def slug(name: str) -> str:
    """A file-name-safe form of a profile name."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip()).strip("._")
    if not s:
        raise ProfileError(f"Profile name {name!r} has no usable characters")
    return s[:80]
