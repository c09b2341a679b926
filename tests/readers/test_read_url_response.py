"""ReadUrlResponse: buffer() or stream() once, and close() to leave the content unread."""

from __future__ import annotations

import io

import pytest

from scmreader.errors import ConflictError
from scmreader.readers.types import ReadUrlResponse


def test_close_releases_the_body_and_buffer_then_says_why() -> None:
    body = io.BytesIO(b"kind: Component\n")
    response = ReadUrlResponse(body, etag="e1")
    response.close()
    assert body.closed
    with pytest.raises(ConflictError, match="closed before its content was read"):
        response.buffer()


def test_close_after_buffer_keeps_the_content() -> None:
    response = ReadUrlResponse(io.BytesIO(b"a\n"))
    assert response.buffer() == b"a\n"
    response.close()
    assert response.buffer() == b"a\n"


def test_buffer_and_stream_exclude_each_other() -> None:
    response = ReadUrlResponse(io.BytesIO(b"a\n"))
    response.stream()
    with pytest.raises(ConflictError):
        response.buffer()
