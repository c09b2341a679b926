"""Writing git objects straight into a repository's loose object store.

Faster than one ``git hash-object`` process per object, and byte-identical to what git
writes: ``zlib(b"<type> <size>\\0" + data)`` at ``objects/xx/yyyy...``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from collections.abc import Mapping
from pathlib import Path

from scmreader.testing.exceptions import FakeHostError

MODE_FILE = 0o100644
MODE_EXECUTABLE = 0o100755
MODE_SYMLINK = 0o120000
MODE_GITLINK = 0o160000
MODE_TREE = 0o040000

#: path -> (mode, 20-byte object id) of every file in one commit.
Flat = dict[str, tuple[int, bytes]]
_Node = dict[str, "_Node | tuple[int, bytes]"]


class ObjectWriter:
    """Stores blobs, trees, commits and tags as loose objects of one git directory."""

    def __init__(self, git_dir: Path) -> None:
        self.objects = git_dir / "objects"

    def store(self, kind: str, data: bytes) -> bytes:
        """Store one object; returns its binary id."""
        header = f"{kind} {len(data)}\0".encode()
        binsha = hashlib.sha1(header + data, usedforsecurity=False).digest()
        target = self._path(binsha)
        if not target.exists():
            self._write(target, [header, data])
        return binsha

    def store_file(self, source: Path) -> bytes:
        """Store a file's content as a blob, streaming (memory does not grow with size)."""
        size = source.stat().st_size
        header = f"blob {size}\0".encode()
        digest = hashlib.sha1(header, usedforsecurity=False)
        compressor = zlib.compressobj()
        fd, tmp = tempfile.mkstemp(dir=self.objects, prefix="tmp_obj_")
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as stream:
                out.write(compressor.compress(header))
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
                    out.write(compressor.compress(chunk))
                out.write(compressor.flush())
            target = self._path(digest.digest())
            target.parent.mkdir(exist_ok=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest.digest()

    def store_tree(self, flat: Mapping[str, tuple[int, bytes]]) -> bytes:
        """Store the nested trees of a flat ``path -> (mode, id)`` map; returns the root id."""
        root: _Node = {}
        for path, entry in flat.items():
            node = root
            parts = path.split("/")
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise FakeHostError(f"{path!r} needs {part!r} to be a folder, but it is a file")
                node = child
            if isinstance(node.get(parts[-1]), dict):
                raise FakeHostError(f"{path!r} is both a file and a folder")
            node[parts[-1]] = entry
        return self._store_node(root)

    def _store_node(self, node: _Node) -> bytes:
        entries: list[tuple[bytes, int, bytes]] = []
        for name, child in node.items():
            if isinstance(child, dict):
                entries.append((name.encode(), MODE_TREE, self._store_node(child)))
            else:
                entries.append((name.encode(), child[0], child[1]))
        # git orders entries by name, comparing a tree's name as if it ended with "/".
        entries.sort(key=lambda e: e[0] + (b"/" if e[1] == MODE_TREE else b""))
        data = b"".join(b"%o %s\0%s" % (mode, name, binsha) for name, mode, binsha in entries)
        return self.store("tree", data)

    def _path(self, binsha: bytes) -> Path:
        hexsha = binsha.hex()
        return self.objects / hexsha[:2] / hexsha[2:]

    def _write(self, target: Path, parts: list[bytes]) -> None:
        target.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix="tmp_obj_")
        with os.fdopen(fd, "wb") as out:
            out.write(zlib.compress(b"".join(parts)))
        os.replace(tmp, target)


def read_folder(writer: ObjectWriter, folder: Path) -> Flat:
    """Store every file below ``folder`` (``.git`` skipped) and return the flat map."""
    flat: Flat = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(Path(dirpath, d))]):
            full = Path(dirpath, name)
            rel = full.relative_to(folder).as_posix()
            if full.is_symlink():
                target = os.readlink(full).encode()
                flat[rel] = (MODE_SYMLINK, writer.store("blob", target))
            elif full.is_file():
                mode = MODE_EXECUTABLE if os.access(full, os.X_OK) else MODE_FILE
                flat[rel] = (mode, writer.store_file(full))
        dirnames[:] = [d for d in dirnames if not os.path.islink(Path(dirpath, d))]
    return flat
