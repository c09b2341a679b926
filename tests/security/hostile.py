"""Builders of hostile answers and archives for the security suite and the scorecard.

Everything is generated here, never committed as opaque bytes, so each case documents its
own shape.
"""

from __future__ import annotations

import functools
import io
import json
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

MIB = 1024 * 1024


@functools.lru_cache(maxsize=8)
def gzip_zeros(inflated: int) -> bytes:
    """A gzip member inflating to ``inflated`` zero bytes (about 1/1000 of that on the wire)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MIB)
    parts = [c.compress(block) for _ in range(inflated // MIB)]
    parts.append(c.compress(bytes(inflated % MIB)))
    parts.append(c.flush())
    return b"".join(parts)


@functools.lru_cache(maxsize=4)
def gzip_json_listing(inflated: int) -> bytes:
    """A gzip-encoded JSON listing ``{"tree": [...], "pad": "   ..."}`` of about
    ``inflated`` bytes: valid JSON, absurdly large, tiny on the wire."""
    head = b'{"tree": [], "pad": "'
    tail = b'"}'
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [c.compress(head)]
    spaces = b" " * MIB
    for _ in range((inflated - len(head) - len(tail)) // MIB):
        parts.append(c.compress(spaces))
    parts.append(c.compress(tail))
    parts.append(c.flush())
    return b"".join(parts)


def tar_with(entries: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> bytes:
    """An uncompressed tar of ``entries`` (regular files get ``data[name]``)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info in entries:
            body = (data or {}).get(info.name, b"")
            if info.isreg():
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
            else:
                tar.addfile(info)
    return out.getvalue()


class _Zeros(io.RawIOBase):
    def readinto(self, buffer: object) -> int:
        view = memoryview(buffer)  # type: ignore[arg-type]
        view[:] = bytes(len(view))
        return len(view)

    def readable(self) -> bool:
        return True


def write_tar_gz_of_zeros(path: Path, size: int) -> None:
    """A tar.gz holding one file of ``size`` zero bytes, written without holding it in
    memory (a classic gzip bomb: about 1/1000 of ``size`` on disk)."""
    info = tarfile.TarInfo("top/zeros")
    info.size = size
    with tarfile.open(path, "w:gz", compresslevel=9) as tar:
        tar.addfile(info, io.BufferedReader(_Zeros(), MIB))


def volume_header_tar(count: int, size: int = 0) -> bytes:
    """A tar of ``count`` GNU volume-label (type ``V``) entries, each claiming ``size``
    bytes of data (written as zeros), then one file."""
    blocks = []
    for i in range(count):
        info = tarfile.TarInfo(f"vol{i}")
        info.type = b"V"
        info.size = size
        blocks.append(info.tobuf(tarfile.GNU_FORMAT) + bytes(-(-size // 512) * 512))
    top = tarfile.TarInfo("top/a.txt")
    top.size = 1
    blocks.append(top.tobuf(tarfile.GNU_FORMAT) + b"a" + bytes(511))
    return b"".join(blocks) + bytes(1024)


def zip_of(names: list[str], *, declared_entries: int | None = None) -> bytes:
    """A zip of empty files ``names``; ``declared_entries`` overwrites the entry counts in
    the end-of-central-directory record (a lying count)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name in names:
            z.writestr(name, b"")
    data = bytearray(out.getvalue())
    if declared_entries is not None:
        at = data.rfind(b"PK\x05\x06")
        struct.pack_into("<HH", data, at + 8, declared_entries, declared_entries)
    return bytes(data)


def zip_declaring(entries: int) -> bytes:
    """A tiny zip whose end record claims ``entries`` entries (0xFFFF caps the 16-bit
    field; more is written as a zip64 end record)."""
    if entries < 0xFFFF:
        return zip_of(["a.txt"], declared_entries=entries)
    data = bytearray(zip_of(["a.txt"]))
    at = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<II", data, at + 12)
    struct.pack_into("<HH", data, at + 8, 0xFFFF, 0xFFFF)
    zip64_end = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, cd_size, cd_offset
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, at, 1)
    return bytes(data[:at]) + zip64_end + locator + bytes(data[at:])


def json_body(size: int) -> bytes:
    """A plain JSON document of ``size`` bytes."""
    pad = size - len(json.dumps({"pad": ""}))
    return json.dumps({"pad": " " * pad}).encode()


_RSS_CHILD = r"""
import json, sys, tempfile
from pathlib import Path
from scmreader.errors import ScmReaderError
from scmreader.http import HttpClient, body_stream, parse_json
from scmreader.readers.tree import TreeResponseFactory
from scmreader.testing import FakeResponse, FakeScmHost
body, how, encoding = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
headers = {"Content-Encoding": encoding} if encoding else {}
def peak_kib():
    # VmHWM belongs to this address space (ru_maxrss would carry the parent's peak
    # across fork and exec).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
before = peak_kib()
with FakeScmHost() as host, tempfile.TemporaryDirectory() as work:
    host.route("GET", r"/bomb", lambda r: FakeResponse(200, body, headers))
    outcome = "accepted"
    client = HttpClient()
    try:
        response = client.get(host.url("/bomb"))
        if how == "json":
            parse_json(response, client)
        elif how == "file":
            stream = body_stream(response, client)
            while stream.read(1 << 20):
                pass
        else:
            stream = body_stream(response, client)
            TreeResponseFactory(work_dir=work).from_archive(stream, etag="x").dir(work + "/out")
    except ScmReaderError as exc:
        outcome = type(exc).__name__
    written = sum(p.stat().st_size for p in Path(work).rglob("*") if p.is_file())
after = peak_kib()
print(json.dumps({"outcome": outcome, "peak_mib": after / 1024, "before_mib": before / 1024,
                  "left_on_disk": written}))
"""


def bomb_in_subprocess(body: Path, how: str = "json", encoding: str = "gzip") -> dict[str, object]:
    """Serve the bytes stored at ``body`` (with ``Content-Encoding: encoding`` unless empty)
    from a FakeScmHost in a fresh interpreter and read them there ``how``: ``json``
    (parse_json), ``file`` (streamed and dropped) or ``archive`` (a tree written to disk).
    Returns the outcome (error class name, or "accepted"), peak RSS in MiB and the bytes
    left in the work dir afterwards."""
    out = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(body), how, encoding],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result
