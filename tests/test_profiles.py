import json
import os
import stat
import subprocess
import sys

import pytest

from hearing_assist.dsp.audiogram import Audiogram
from hearing_assist.profiles.amplification import AmplificationProfile
from hearing_assist.profiles.store import ProfileCorrupt, ProfileError, atomic_write_json, backup_path
from hearing_assist.profiles.user import SCHEMA_VERSION, ProfileInvalid, ProfileStore, UserProfile


@pytest.fixture
def store(tmp_path):
    return ProfileStore(tmp_path / "profiles")


def test_round_trip_and_mode_0600(store):
    p = UserProfile(name="Ann Smith")
    p.settings.volume_db = -4.5
    p.amplification = AmplificationProfile(Audiogram.from_thresholds(
        {250: 20, 500: 25, 1000: 40, 2000: 50, 4000: 65}, {250: 15, 500: 20, 1000: 35, 2000: 45, 4000: 60}))
    p.amplification_enabled = True
    path = store.save(p)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = store.load("Ann Smith")
    assert loaded == p
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_second_save_keeps_previous_version_as_backup(store):
    p = UserProfile(name="ann")
    store.save(p)
    p.settings.volume_db = 6.0
    path = store.save(p)
    bak = backup_path(path)
    assert json.loads(bak.read_text())["settings"]["volume_db"] == 0.0
    assert json.loads(path.read_text())["settings"]["volume_db"] == 6.0
    assert stat.S_IMODE(os.stat(bak).st_mode) == 0o600
    assert not list(path.parent.glob("*.tmp"))


def test_truncated_file_is_reported_with_backup_offered_and_not_overwritten(store):
    p = UserProfile(name="ann")
    store.save(p)
    p.settings.volume_db = 3.0
    path = store.save(p)
    damaged = path.read_text()[:40]
    path.write_text(damaged)
    with pytest.raises(ProfileCorrupt) as err:
        store.load("ann")
    assert err.value.has_backup and "backup" in str(err.value) and "not valid JSON" in str(err.value)
    with pytest.raises(ProfileCorrupt):
        store.load_or_create("ann")  # must not silently replace the damaged file with defaults
    assert path.read_text() == damaged
    restored = store.restore_backup("ann")
    assert restored.settings.volume_db == 0.0
    assert path.with_name(path.name + ".damaged").read_text() == damaged


def test_invalid_field_is_named(store):
    path = store.path("bob")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"name": "bob", "schema_version": 2, "settings": {"volume_db": "loud"}}))
    with pytest.raises(ProfileCorrupt, match=r"settings\.volume_db: must be a number"):
        store.load("bob")


@pytest.mark.parametrize("audiogram, field", [
    ({"left": {"1000": 130}}, "audiogram.left.1000"),
    ({"right": {"20000": 30}}, "audiogram.right.20000"),
    ({"left": {"500": "x"}}, "audiogram.left.500"),
])
def test_v2_audiogram_placeholder_is_validated_on_migration(audiogram, field):
    with pytest.raises(ProfileInvalid) as err:
        UserProfile.from_dict({"name": "x", "schema_version": 2, "audiogram": audiogram})
    assert err.value.field == field


def test_complete_v2_audiogram_becomes_a_fitting_switched_off():
    left = {"250": 20, "500": 30, "1000": 40, "2000": 50, "4000": 60}
    p = UserProfile.from_dict({"name": "x", "schema_version": 2, "audiogram": {"left": left, "right": left}})
    assert p.amplification is not None and not p.amplification_enabled
    assert p.amplification.audiogram.ear("left").thresholds[1000] == 40


def test_incomplete_v2_audiogram_is_kept_out():
    p = UserProfile.from_dict({"name": "x", "schema_version": 2, "audiogram": {"left": {"1000": 40}}})
    assert p.amplification is None


def test_damaged_amplification_names_the_field():
    with pytest.raises(ProfileInvalid, match="amplification"):
        UserProfile.from_dict({"name": "x", "schema_version": 3, "amplification": {"schema_version": 1}})


def test_v1_profile_is_migrated(store):
    path = store.path("old")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"name": "old", "volume": 0.5}))
    p = store.load("old")
    assert p.settings.volume_db == pytest.approx(-6.02, abs=0.01)
    assert p.schema_version == SCHEMA_VERSION


def test_newer_schema_is_refused_with_a_clear_message():
    with pytest.raises(ProfileInvalid, match="newer than this app"):
        UserProfile.from_dict({"name": "x", "schema_version": SCHEMA_VERSION + 1})


def test_full_disk_keeps_previous_version(tmp_path):
    """A real write failure (file-size limit, EFBIG) must leave the old profile intact."""
    target = tmp_path / "p.json"
    atomic_write_json(target, {"keep": "me"})
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))\n"
        "from hearing_assist.profiles.store import atomic_write_json, ProfileError\n"
        "try:\n"
        f"    atomic_write_json({str(target)!r}, {{'big': 'x' * 10000}})\n"
        "except ProfileError as e:\n"
        "    print('ERR', e); sys.exit(3)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr
    assert "disk space" in r.stdout
    assert json.loads(target.read_text()) == {"keep": "me"}
    assert not list(tmp_path.glob("*.tmp"))


def test_unwritable_folder_gives_clear_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    with pytest.raises(ProfileError, match="previous version is unchanged"):
        atomic_write_json(folder / "p.json", {})
