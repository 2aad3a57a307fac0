"""The object-store contract, over every implementation available here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resources.storage import LocalObjectStore, ObjectNotFound, ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "s3":  # SeaweedFS on loopback (tests/resources/conftest.py)
        s3_store: ObjectStore = request.getfixturevalue("s3_store")
        return s3_store
    return LocalObjectStore(root=str(tmp_path / "store"))


def test_put_get_roundtrip_and_size(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(b"\x00\x01" * 5000)
    assert store.put_file("videos/abc/x/in.bin", src) == 10000
    assert store.exists("videos/abc/x/in.bin")
    assert store.size("videos/abc/x/in.bin") == 10000
    assert store.get_file("videos/abc/x/in.bin", tmp_path / "out.bin").read_bytes() == src.read_bytes()


def test_json_and_bytes(store: ObjectStore) -> None:
    store.put_json("videos/abc/m.json", {"b": [1, 2], "a": "é"})
    assert store.get_json("videos/abc/m.json") == {"a": "é", "b": [1, 2]}
    store.put_bytes("videos/abc/raw", b"hello")
    assert store.get_bytes("videos/abc/raw") == b"hello"


def test_missing_key_raises(store: ObjectStore, tmp_path: Path) -> None:
    assert not store.exists("videos/none/here")
    with pytest.raises(ObjectNotFound):
        store.get_file("videos/none/here", tmp_path / "x")
    with pytest.raises(ObjectNotFound):
        store.size("videos/none/here")


def test_list_and_delete_prefix(store: ObjectStore) -> None:
    for name in ("a", "b", "sub/c"):
        store.put_bytes(f"videos/v1/{name}", b"1")
    store.put_bytes("videos/v2/a", b"2")
    assert store.list_keys("videos/v1/") == ["videos/v1/a", "videos/v1/b", "videos/v1/sub/c"]
    assert store.delete_prefix("videos/v1/") == 3
    assert store.list_keys("videos/v1/") == []
    assert store.exists("videos/v2/a")


def test_overwrite_is_atomic_and_leaves_no_partial_files(store: ObjectStore, tmp_path: Path) -> None:
    store.put_bytes("videos/v/a", b"old")
    store.put_bytes("videos/v/a", b"new")
    assert store.get_bytes("videos/v/a") == b"new"
    assert store.list_keys("videos/v/") == ["videos/v/a"]


@pytest.mark.parametrize("key", ["", "/abs", "videos/../etc", "videos//x", "videos/./x"])
def test_unsafe_keys_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.put_bytes(key, b"x")


def test_local_copy_gives_a_readable_path(store: ObjectStore, tmp_path: Path) -> None:
    store.put_bytes("videos/v/a.txt", b"content")
    with store.local_copy("videos/v/a.txt", tmp_path) as path:
        assert path.read_bytes() == b"content"
    assert store.url("videos/v/a.txt")


def test_local_files_follow_the_umask(tmp_path: Path) -> None:
    store = LocalObjectStore(root=str(tmp_path / "store"))
    source = tmp_path / "a.txt"
    source.write_text("x")
    store.put_file("videos/v/a.txt", source)
    mode = (tmp_path / "store" / "videos" / "v" / "a.txt").stat().st_mode & 0o777
    mask = os.umask(0o022)
    os.umask(mask)
    assert mode == 0o666 & ~mask  # not mkstemp's 0600: a web server or another user can read it
