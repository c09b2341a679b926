"""What the object-store readers must get right on real servers, which mocks did not show.

Each case runs on every store, against real server implementations started once per
session (see object_servers.py): SeaweedFS (S3, read with a read-only SigV4 identity),
fake-gcs-server (Cloud Storage, which drops an overwritten generation as GCS does without
Object Versioning), Azurite (Blob Storage), and moto (S3), each on a fresh bucket:

- an object overwritten or deleted mid-tree, or between the ranges of a large read_url,
  is the same ChangedWhileReadingError on every store (never a NotFoundError for a
  location that exists, never a mix of two states);
- multipart ETags (``"<md5>-<parts>"``) work with If-Match and If-None-Match;
- folder-marker objects (``dir/``) are no files, and ``docs`` never takes in ``docs2/``;
- listings past 1,000 names are read to the end, one page per page size;
- names with spaces, unicode and ``+&%?#`` round-trip through read_url, read_tree and
  search URLs (a table, and hypothesis-drawn names); an empty object is an empty file.

gcp-storage-emulator is not among them: it ignores a download's ``generation``, so it
cannot show the overwrite race (its own tests cover the rest).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from object_servers import AZURITE_ACCOUNT, AZURITE_KEY, SEAWEED_READER, Recorded, gcs_factory
from test_aws_s3_reader import ACCESS_KEY, CANARY, MotoS3, aws_env
from test_google_gcs_reader import CLIENT_EMAIL, GCS, PRIVATE_KEY, gcp_env

from scmreader.errors import ChangedWhileReadingError, NotModifiedError
from scmreader.readers import UrlReaders
from scmreader.readers.types import FileInfo
from scmreader.urls import encode_path

__all__ = ["aws_env", "gcp_env"]  # autouse fixtures that isolate the AWS/Google environment

#: Cloud Storage range size for these tests, so a LARGE object takes several ranges.
GCS_CHUNK = 256 * 1024
#: Larger than Azure's first Get Blob range (4 MiB), so it takes a second range.
LARGE = 4 * 1024 * 1024 + 1024
ODD_NAMES = [
    "odd/with space.md",
    "odd/ünïcødé 名前.md",
    "odd/a+b&c%d?e#f.md",
    "odd/100%25 done.md",
]


@dataclass
class Store:
    """One fresh bucket on one server, and readers configured for it."""

    kind: str  # "s3", "gcs" or "azure"
    server: Any  # a server with a request log (object_servers, or MotoS3)
    bucket: str
    readers: UrlReaders
    base: str  # the browse URL up to the bucket, ending in "/"
    write: Callable[[dict[str, bytes | str]], None]
    remove: Callable[[str], None]

    def url(self, name: str) -> str:
        return f"{self.base}{encode_path(name)}"

    def put(self, files: dict[str, bytes | str]) -> None:
        """Overwrite objects a reader has seen (``write`` is for the first upload)."""
        if self.kind == "azure":
            time.sleep(1.1)  # Azurite's ETags have one-second resolution (Azure's do not)
        self.write(files)

    def requests(self) -> list[Any]:
        return list(self.server.requests)

    def downloads(self) -> list[Any]:
        return [r for r in self.requests() if _is_download(self.kind, r)]

    def listings(self) -> list[Any]:
        return [r for r in self.requests() if _is_listing(self.kind, r)]


def _is_download(kind: str, r: Recorded) -> bool:
    route = r.path.strip("/")
    if kind == "gcs":
        return r.path.startswith("/download/") or r.query.get("alt") == ["media"]
    if kind == "azure":
        return r.method == "GET" and route.count("/") >= 2 and "comp" not in r.query
    return r.method == "GET" and route.count("/") >= 1


def _is_listing(kind: str, r: Recorded) -> bool:
    if kind == "gcs":
        return r.method == "GET" and r.path.endswith("/o")
    if kind == "azure":
        return r.query.get("comp") == ["list"]
    return r.method == "GET" and "list-type" in r.query


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoS3]:
    server = MotoS3()
    yield server
    server.stop()


_fresh = itertools.count()  # bucket and folder names no test used yet


def _s3_store(server: Any, bucket: str, keys: tuple[str, str], client: Any) -> Store:
    entry = {
        "endpoint": server.endpoint,
        "s3ForcePathStyle": True,
        "accessKeyId": keys[0],
        "secretAccessKey": keys[1],
    }
    return Store(
        kind="s3",
        server=server,
        bucket=bucket,
        readers=UrlReaders.default({"integrations": {"awsS3": [entry]}}),
        base=f"{server.endpoint}/{bucket}/",
        write=lambda files: server.put(bucket, files),
        remove=lambda name: client.delete_object(Bucket=bucket, Key=name),
    )


def make_store(request: pytest.FixtureRequest, name: str) -> Store:
    """A fresh bucket on the server called ``name``."""
    if name == "seaweedfs":
        seaweed = request.getfixturevalue("seaweedfs")
        bucket = seaweed.new_bucket("objects")
        return _s3_store(seaweed, bucket, SEAWEED_READER, seaweed.client())
    if name == "moto":
        moto: MotoS3 = request.getfixturevalue("moto_server")
        bucket = f"objects-{next(_fresh)}"
        moto.client().create_bucket(Bucket=bucket)
        return _s3_store(moto, bucket, (ACCESS_KEY, CANARY), moto.client())
    if name == "fake-gcs-server":
        gcs = request.getfixturevalue("fake_gcs")
        bucket = gcs.new_bucket("objects")
        config = {
            "integrations": {"googleGcs": {"clientEmail": CLIENT_EMAIL, "privateKey": PRIVATE_KEY}}
        }
        return Store(
            kind="gcs",
            server=gcs,
            bucket=bucket,
            readers=UrlReaders.default(
                config, factories=[gcs_factory(gcs.endpoint, chunk_size=GCS_CHUNK)]
            ),
            base=f"{GCS}/{bucket}/",
            write=lambda files: gcs.put(bucket, files),
            remove=lambda name: gcs.client().bucket(bucket).blob(name).delete(),
        )
    azurite = request.getfixturevalue("azurite")
    container = azurite.new_bucket("objects")
    entry = {
        "accountName": AZURITE_ACCOUNT,
        "endpoint": azurite.endpoint,
        "accountKey": AZURITE_KEY,
    }
    return Store(
        kind="azure",
        server=azurite,
        bucket=container,
        readers=UrlReaders.default({"integrations": {"azureBlobStorage": [entry]}}),
        base=f"{azurite.endpoint}/{AZURITE_ACCOUNT}/{container}/",
        write=lambda files: azurite.put(container, files),
        remove=lambda name: azurite.service().get_container_client(container).delete_blob(name),
    )


@pytest.fixture(params=["seaweedfs", "moto", "fake-gcs-server", "azurite"])
def store(request: pytest.FixtureRequest) -> Store:
    made = make_store(request, request.param)
    made.server.clear_requests()
    return made


@pytest.fixture(params=["seaweedfs", "moto"])
def s3_store(request: pytest.FixtureRequest) -> Store:
    made = make_store(request, request.param)
    made.server.clear_requests()
    return made


# --- changed while reading -------------------------------------------------------------


@pytest.mark.parametrize("change", ["overwrite", "delete"])
def test_object_changed_mid_tree(store: Store, change: str) -> None:
    store.write({"t/a.md": "# A\n", "t/b.md": "# B\n", "t/c.md": "# C\n"})
    tree = store.readers.read_tree(store.url("t"))
    files = iter(tree.files())
    first = next(files)
    assert (first.path, first.content()) == ("a.md", b"# A\n")
    if change == "overwrite":
        store.put({"t/b.md": "# B, changed\n"})
    else:
        store.remove("t/b.md")
    with pytest.raises(ChangedWhileReadingError) as info:
        for item in files:
            item.content()
    assert type(info.value) is ChangedWhileReadingError
    assert "read it again" in str(info.value)


def test_object_changed_between_search_and_content(store: Store) -> None:
    store.write({"s/a.yaml": "a: 1\n"})
    [found] = store.readers.search(store.url("s/*.yaml")).files
    store.put({"s/a.yaml": "a: 2\n"})
    with pytest.raises(ChangedWhileReadingError):
        found.content()


@pytest.mark.parametrize("change", ["overwrite", "delete"])
def test_object_changed_between_ranges_of_read_url(store: Store, change: str) -> None:
    old, new = b"o" * LARGE, b"n" * LARGE
    store.write({"big.bin": old})
    stream = store.readers.read_url(store.url("big.bin")).stream()
    head = stream.read(1000)
    if change == "overwrite":
        store.put({"big.bin": new})
    else:
        store.remove("big.bin")
    if store.kind == "s3":
        # One GetObject: S3 serves one version per request, there are no ranges to mix.
        assert head + stream.read() == old
        assert len(store.downloads()) == 1
        return
    with pytest.raises(ChangedWhileReadingError):
        stream.read()
    assert len(store.downloads()) >= 2


# --- multipart ETags (S3) --------------------------------------------------------------


def test_multipart_etag_with_if_match(s3_store: Store) -> None:
    client = s3_store.server.client()
    parts = [b"A" * (5 * 1024 * 1024), b"B" * 10]
    upload = client.create_multipart_upload(Bucket=s3_store.bucket, Key="mp/object.bin")
    done = [
        {
            "PartNumber": number,
            "ETag": client.upload_part(
                Bucket=s3_store.bucket,
                Key="mp/object.bin",
                PartNumber=number,
                UploadId=upload["UploadId"],
                Body=body,
            )["ETag"],
        }
        for number, body in enumerate(parts, start=1)
    ]
    client.complete_multipart_upload(
        Bucket=s3_store.bucket,
        Key="mp/object.bin",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": done},
    )
    response = s3_store.readers.read_url(s3_store.url("mp/object.bin"))
    assert response.etag is not None and response.etag.endswith('-2"')
    with pytest.raises(NotModifiedError):
        s3_store.readers.read_url(s3_store.url("mp/object.bin"), etag=response.etag)
    s3_store.server.clear_requests()
    [item] = list(s3_store.readers.read_tree(s3_store.url("mp")).files())
    assert item.content() == b"".join(parts)
    [get] = s3_store.downloads()
    assert get.headers["If-Match"] == response.etag
    tree = s3_store.readers.read_tree(s3_store.url("mp"))
    s3_store.put({"mp/object.bin": b"single part now"})
    with pytest.raises(ChangedWhileReadingError):
        list(tree.files())


# --- names -----------------------------------------------------------------------------


def test_folder_markers_and_sibling_prefixes(store: Store, tmp_path: Path) -> None:
    store.write(
        {
            "docs/": b"",
            "docs/sub/": b"",
            "docs/index.md": "# Index\n",
            "docs/sub/page.md": "# Page\n",
            "docs2/other.md": "# Other\n",
            "docs.md": "# Sibling file\n",
        }
    )
    tree = store.readers.read_tree(store.url("docs"))
    assert {f.path: f.content() for f in tree.files()} == {
        "index.md": b"# Index\n",
        "sub/page.md": b"# Page\n",
    }
    root = store.readers.read_tree(store.url("")).dir(tmp_path / "root")
    written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert written == ["docs.md", "docs/index.md", "docs/sub/page.md", "docs2/other.md"]
    found = store.readers.search(store.url("docs/**"))
    assert sorted(f.url for f in found.files) == [
        store.url("docs/index.md"),
        store.url("docs/sub/page.md"),
    ]


def test_listing_past_1000_names(store: Store) -> None:
    names = {f"many/{i:04d}.txt": str(i) for i in range(1005)}
    batches = [dict(list(names.items())[i::8]) for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(store.write, batches))
    store.server.clear_requests()
    seen: list[str] = []

    def first_only(path: str, info: FileInfo) -> bool:
        seen.append(path)
        return path == "0000.txt"

    tree = store.readers.read_tree(store.url("many"), filter=first_only)
    assert [(f.path, f.content()) for f in tree.files()] == [("0000.txt", b"0")]
    assert sorted(seen) == sorted(name.removeprefix("many/") for name in names)
    page = 5000 if store.kind == "azure" else 1000
    assert len(store.listings()) == math.ceil(len(names) / page)
    assert len(store.downloads()) == 1
    found = store.readers.search(store.url("many/*.txt"))
    assert len(found.files) == len(names)


def test_names_with_spaces_unicode_and_reserved_characters(store: Store) -> None:
    store.write({name: name.encode() for name in ODD_NAMES})
    for name in ODD_NAMES:
        assert store.readers.read_url(store.url(name)).buffer() == name.encode()
    tree = store.readers.read_tree(store.url("odd"))
    assert {f.path: f.content() for f in tree.files()} == {
        name.removeprefix("odd/"): name.encode() for name in ODD_NAMES
    }
    found = store.readers.search(store.url("odd/*.md"))
    assert sorted(f.url for f in found.files) == sorted(store.url(n) for n in ODD_NAMES)
    for item in found.files:
        assert store.readers.read_url(item.url).buffer() == item.content()


def test_empty_object(store: Store) -> None:
    store.write({"e/empty.txt": b"", "e/x.txt": "x"})
    response = store.readers.read_url(store.url("e/empty.txt"))
    assert response.buffer() == b""
    assert response.etag
    tree = store.readers.read_tree(store.url("e"))
    assert {f.path: f.content() for f in tree.files()} == {"empty.txt": b"", "x.txt": b"x"}
    [found] = store.readers.search(store.url("e/empty.*")).files
    assert found.content() == b""


SEGMENT = st.text(
    alphabet=st.sampled_from(list("aZ09 -_.~+&%?#=;:@!$'()*,[]{}^`|<>\"é名ü€🙂")),
    min_size=1,
    max_size=8,
).filter(lambda s: s not in (".", "..") and not s.endswith((".", " ")))


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_name_round_trips(store: Store, data: st.DataObject) -> None:
    """Whatever the name (spaces, unicode, URL-reserved characters), the browse URL the
    reader builds reads the object back, and a search finds it under that URL."""
    folder = f"h{next(_fresh)}"
    segments = data.draw(st.lists(SEGMENT, min_size=1, max_size=3), label="segments")
    name = "/".join([folder, *segments])
    store.write({name: name.encode()})
    assert store.readers.read_url(store.url(name)).buffer() == name.encode()
    found = store.readers.search(store.url(f"{folder}/**")).files
    if any(segment.startswith(".") for segment in segments):
        assert found == []  # globs skip dot-names unless the pattern names them (minimatch)
    else:
        assert [(f.url, f.content()) for f in found] == [(store.url(name), name.encode())]
    [item] = store.readers.read_tree(store.url(folder)).files()
    assert item.path == "/".join(segments)
