"""BaseUrlReader's shared pieces that the provider readers call directly."""

from __future__ import annotations

import pytest

from scmreader.errors import NotModifiedError
from scmreader.readers.base import BaseUrlReader

URL = "https://gitiles.example.com/p/+/refs/heads/main/docs?access_token=tok-secret-77"
SHA = "7911bbf080089e7a36f407e65304eec9c0991d7d"


@pytest.mark.parametrize(
    ("etag", "current"),
    [(None, SHA), ("", SHA), ("", ""), (SHA.upper(), SHA), (f'"{SHA}"', SHA), ("abc", "abd")],
)
def test_a_different_or_missing_etag_goes_on(etag: str | None, current: str) -> None:
    BaseUrlReader._raise_if_not_modified(URL, etag, current)


@pytest.mark.parametrize("current", [SHA, "blob-id-1", 'W/"abc"'])
def test_the_current_etag_raises_not_modified_with_it(current: str) -> None:
    with pytest.raises(NotModifiedError) as info:
        BaseUrlReader._raise_if_not_modified(URL, current, current)
    assert info.value.etag == current
    message = str(info.value)
    assert f"has not changed (etag {current})" in message
    assert "tok-secret-77" not in message
    assert message.startswith("https://gitiles.example.com/p/+/refs/heads/main/docs?")
