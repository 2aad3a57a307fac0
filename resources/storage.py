"""The object store: where every phase's files live, so any step can run on any machine."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import dagster as dg


class ObjectNotFound(KeyError):
    """The key is not in the store."""


def check_key(key: str) -> str:
    """The key itself when it is a relative '/'-separated path with no empty, '.' or '..' part; else ValueError."""
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in key.split("/")):
        raise ValueError(f"invalid object key {key!r}")
    return key


class ObjectStore(dg.ConfigurableResource, ABC):
    """Keys are '/'-separated paths such as videos/{id}/script/scenario.json."""

    @abstractmethod
    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> int:
        """Store a local file under key (atomically: readers never see half a file); returns its size."""

    @abstractmethod
    def get_file(self, key: str, dest: Path) -> Path:
        """Copy the object to dest; raises ObjectNotFound."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int: ...

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]: ...

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under prefix; returns how many went."""

    @abstractmethod
    def url(self, key: str) -> str:
        """Where a person (or the API) can fetch the object from."""

    def delete(self, key: str) -> None:
        """Remove one object; an absent one is no error. (A key is a prefix of itself in a flat store;
        stores whose prefixes are folders override this.)"""
        self.delete_prefix(key)

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> int:
        with tempfile.TemporaryDirectory(prefix="nexus-put-") as tmp:
            path = Path(tmp) / "blob"
            path.write_bytes(data)
            return self.put_file(key, path, content_type=content_type)

    def get_bytes(self, key: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="nexus-get-") as tmp:
            return self.get_file(key, Path(tmp) / "blob").read_bytes()

    def put_json(self, key: str, value: Any) -> int:
        data = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode()
        return self.put_bytes(key, data, content_type="application/json")

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    @contextmanager
    def local_copy(self, key: str, workdir: Path) -> Iterator[Path]:
        """A readable local path for the object (the store's own file where it has one)."""
        dest = workdir / key.replace("/", "__")
        yield self.get_file(key, dest)


@lru_cache(maxsize=1)
def _umask() -> int:
    """The process umask, read once (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class LocalObjectStore(ObjectStore):
    """A folder on disk: the embedded default."""

    root: str

    def _path(self, key: str) -> Path:
        return Path(self.root).joinpath(*check_key(key).split("/"))

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> int:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=dest.parent)
        os.close(fd)
        try:
            shutil.copyfile(path, tmp)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a stored file follows the umask
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return dest.stat().st_size

    def get_file(self, key: str, dest: Path) -> Path:
        src = self._path(key)
        if not src.is_file():
            raise ObjectNotFound(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return dest

    @contextmanager
    def local_copy(self, key: str, workdir: Path) -> Iterator[Path]:
        src = self._path(key)
        if not src.is_file():
            raise ObjectNotFound(key)
        yield src

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        return path.stat().st_size

    def list_keys(self, prefix: str) -> list[str]:
        root = Path(self.root)
        base = root.joinpath(*[p for p in prefix.split("/") if p])
        if not base.exists():
            return []
        keys = [
            p.relative_to(root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".part-")
        ]
        return sorted(k for k in keys if k.startswith(prefix))

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix)
        for key in keys:
            self._path(key).unlink(missing_ok=True)
        return len(keys)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return self._path(key).resolve().as_uri()

    def path_of(self, key: str) -> Path:
        """The file behind a key (local store only): what the CLI prints."""
        return self._path(key).resolve()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

