"""Catalogue: bodies are read through one bounded reader (issue items 1, 6, 7; H04, H06,
H11, H12, A14-shaped listings)."""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import hostile
import pytest

from scmreader.cache import MemoryCache
from scmreader.errors import (
    ResponseTooLargeError,
    ScmReaderError,
    TransportError,
    UpstreamError,
)
from scmreader.http import HttpClient, HttpSettings, body_stream, parse_json, read_body
from scmreader.testing import FakeResponse, FakeScmHost

ROOT = Path(__file__).resolve().parents[2]
SMALL = HttpSettings(max_metadata_bytes=64 * 1024, max_file_bytes=256 * 1024, max_attempts=1)
RAW_BODY_ACCESS = re.compile(r"\.(?:content|text)\b(?!\s*\()|\.json\(\)")


def test_no_body_is_read_outside_the_bounded_reader() -> None:
    """No ``response.content`` / ``.text`` / ``.json()`` anywhere in the library (the fake
    host in scmreader/testing is a server, not a reader of answers)."""
    found = []
    for path in sorted((ROOT / "scmreader").rglob("*.py")):
        if "testing" in path.relative_to(ROOT / "scmreader").parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if RAW_BODY_ACCESS.search(code):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "bodies read around scmreader.http.read_body:\n" + "\n".join(found)


def test_the_grep_pattern_catches_what_it_must() -> None:
    for line in ("r.content", "x = response.text.strip()", "body = resp.json()"):
        assert RAW_BODY_ACCESS.search(line), line
    for line in ("f.content()", "read_text(response)", "FakeResponse.text('x')"):
        assert not RAW_BODY_ACCESS.search(line), line


@pytest.mark.parametrize(
    ("name", "answer", "error"),
    [
        (
            "declared length over the metadata cap",
            FakeResponse(200, hostile.json_body(100_000), {"Content-Type": "application/json"}),
            ResponseTooLargeError,
        ),
        (
            "chunked body over the metadata cap",
            FakeResponse(200, iter([hostile.json_body(100_000)]), chunked=True),
            ResponseTooLargeError,
        ),
        (
            "gzip listing inflating past the cap",
            FakeResponse(
                200, hostile.gzip_json_listing(4 * hostile.MIB), {"Content-Encoding": "gzip"}
            ),
            ResponseTooLargeError,
        ),
        (
            "gzip cut short, framing complete",
            FakeResponse(
                200,
                gzip.compress(b'{"a": "' + b"x" * 5000 + b'"}')[:-12],
                {"Content-Encoding": "gzip"},
            ),
            TransportError,
        ),
        (
            "gzip garbage",
            FakeResponse(200, b"\x1f\x8b\x08\x00garbage-garbage", {"Content-Encoding": "gzip"}),
            TransportError,
        ),
        (
            "double gzip (CVE-2025-66418 shape)",
            FakeResponse(
                200, gzip.compress(gzip.compress(b"{}")), {"Content-Encoding": "gzip, gzip"}
            ),
            UpstreamError,
        ),
        (
            "an encoding never asked for",
            FakeResponse(200, b"\x0b\x01\x80{}\x03", {"Content-Encoding": "br"}),
            UpstreamError,
        ),
        ("HTML from a proxy", FakeResponse(200, b"<html>login</html>"), UpstreamError),
        ("empty 200", FakeResponse(200, b""), UpstreamError),
    ],
)
def test_hostile_json_answers_raise_typed_errors(
    fake_scm_host: FakeScmHost, name: str, answer: FakeResponse, error: type[Exception]
) -> None:
    fake_scm_host.route("GET", r"/listing", lambda r: answer)
    client = HttpClient(SMALL)
    with pytest.raises(error):
        parse_json(client.get(fake_scm_host.url("/listing")))


def test_a_real_sized_listing_passes_the_default_cap(fake_scm_host: FakeScmHost) -> None:
    """GitHub's largest recursive tree answer is about 7 MB: the default cap takes it."""
    body = gzip.compress(hostile.json_body(7_500_000), 6)
    fake_scm_host.route(
        "GET", r"/tree", lambda r: FakeResponse(200, body, {"Content-Encoding": "gzip"})
    )
    assert len(parse_json(HttpClient().get(fake_scm_host.url("/tree")))["pad"]) > 7_000_000


def test_deflate_both_spellings_and_multi_member_gzip(fake_scm_host: FakeScmHost) -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    answers = {
        "/zlib": (zlib.compress(b'{"a": 1}'), "deflate"),
        "/raw": (raw.compress(b'{"a": 1}') + raw.flush(), "deflate"),
        "/members": (gzip.compress(b'{"a"') + gzip.compress(b": 1}"), "gzip"),
    }
    for path, (body, coding) in answers.items():
        answer = FakeResponse(200, body, {"Content-Encoding": coding})
        fake_scm_host.route("GET", re.escape(path), lambda r, a=answer: a)
        assert parse_json(HttpClient().get(fake_scm_host.url(path))) == {"a": 1}, path


def test_truncated_body_is_a_transport_error(fake_scm_host: FakeScmHost) -> None:
    fake_scm_host.route("GET", r"/f", lambda r: FakeResponse(200, b"x" * 10_000))
    fake_scm_host.faults.truncate(r"/f", 500)
    with pytest.raises(TransportError, match="cut off"):
        read_body(HttpClient().get(fake_scm_host.url("/f")))


def test_file_cap_and_ratio_on_streamed_files(fake_scm_host: FakeScmHost) -> None:
    zeros = hostile.gzip_zeros(64 * hostile.MIB)
    fake_scm_host.route(
        "GET", r"/bomb", lambda r: FakeResponse(200, zeros, {"Content-Encoding": "gzip"})
    )
    fake_scm_host.route("GET", r"/big", lambda r: FakeResponse(200, bytes(300 * 1024)))
    with pytest.raises(ResponseTooLargeError, match="decompression bomb"):
        body_stream(HttpClient().get(fake_scm_host.url("/bomb"))).read()
    with pytest.raises(ResponseTooLargeError, match="max_file_bytes"):
        body_stream(HttpClient(SMALL).get(fake_scm_host.url("/big"))).read()


def test_nothing_enters_the_cache_unless_read_completely(fake_scm_host: FakeScmHost) -> None:
    """Issue item 6: a gzip body cut short while the HTTP framing is complete used to be
    stored and served again on every 304."""
    whole = gzip.compress(b'{"sha": "' + b"a" * 4000 + b'"}')
    answers = [whole[:-12], whole]
    seen: list[str | None] = []

    def handler(request: object) -> FakeResponse:
        seen.append(getattr(request, "headers").get("If-None-Match"))  # noqa: B009
        return FakeResponse(200, answers.pop(0), {"Content-Encoding": "gzip", "ETag": '"v1"'})

    fake_scm_host.route("GET", r"/meta", handler)
    cache = MemoryCache()
    client = HttpClient(cache=cache)
    with pytest.raises(TransportError):
        parse_json(client.get(fake_scm_host.url("/meta")))
    assert len(cache) == 0
    assert parse_json(client.get(fake_scm_host.url("/meta")))["sha"].startswith("aaa")
    assert seen == [None, None]  # the second request did not revalidate a broken entry
    assert len(cache) == 1


def test_cut_commit_sha_answer_is_typed(fake_scm_host: FakeScmHost) -> None:
    """Issue item 7: GitHub's commit lookup used ``.text`` and leaked requests'
    ChunkedEncodingError when the answer was cut."""
    from scmreader.readers import UrlReaders
    from scmreader.testing.routes import github as github_routes

    fake_scm_host.enable("github")
    fake_scm_host.add_repo("acme/widgets", {"a.txt": "a\n"})
    entry = github_routes.integration_config(fake_scm_host)
    readers = UrlReaders.default(
        {"integrations": {"github": [entry]}}, http=HttpClient(HttpSettings(max_attempts=1))
    )
    fake_scm_host.faults.truncate(r"/commits/", 5)
    with pytest.raises(ScmReaderError) as caught:
        readers.read_tree(f"{fake_scm_host.base_url}/acme/widgets/tree/main")
    assert isinstance(caught.value, TransportError)


def test_hostile_listing_keeps_peak_memory_under_200_mb(tmp_path: Path) -> None:
    """A 1 MB gzip answer inflating to 1 GiB (the issue's reproduction) is refused with a
    peak RSS well under 200 MB, measured in a fresh interpreter."""
    body = tmp_path / "listing.gz"
    body.write_bytes(hostile.gzip_json_listing(1024 * hostile.MIB))
    result = hostile.bomb_in_subprocess(body)
    assert result["outcome"] == "ResponseTooLargeError"
    assert float(str(result["peak_mib"])) < 200
