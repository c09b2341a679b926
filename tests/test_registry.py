"""Reader routing (predicate mux) and the integrations registry."""

from __future__ import annotations

from datetime import datetime

import pytest

from scmreader.errors import InvalidUrlError, NotAllowedError
from scmreader.integrations import ScmIntegrations, integration_types
from scmreader.readers import (
    BaseUrlReader,
    ReaderContext,
    ReaderFactory,
    ReaderTuple,
    UrlReaders,
    reader_factories,
)
from scmreader.readers.types import ReadUrlResponse


class EchoReader(BaseUrlReader):
    """Answers every read with its own label."""

    name = "echo"

    def __init__(self, label: str) -> None:
        super().__init__(host=label)
        self.label = label

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        return ReadUrlResponse(self.label.encode(), etag=self.label)


def factory(name: str, host: str, order: int = 0) -> ReaderFactory:
    def create(context: ReaderContext) -> list[ReaderTuple]:
        reader = EchoReader(name)
        return [ReaderTuple(reader, lambda url: url.host == host)]

    return ReaderFactory(name=name, order=order, create=create)


def test_unknown_host_is_not_allowed_with_a_helpful_message() -> None:
    readers = UrlReaders.default({})
    with pytest.raises(NotAllowedError) as info:
        readers.read_url("https://unknown.example.org/a/b.yaml")
    message = str(info.value)
    assert "unknown.example.org" in message
    assert "backend.reading.allow" in message
    assert "integrations" in message


def test_first_matching_predicate_wins_and_custom_factories_come_first() -> None:
    readers = UrlReaders.default(
        {}, factories=[factory("first", "a.test"), factory("second", "a.test")]
    )
    assert readers.read("https://a.test/x") == b"first"
    assert readers.readers[0].label == "first"  # type: ignore[attr-defined]


def test_create_uses_only_the_given_factories() -> None:
    readers = UrlReaders.create({}, factories=[factory("only", "b.test")])
    assert len(readers.readers) == 1
    with pytest.raises(NotAllowedError):
        readers.read("https://github.com/o/r/blob/main/x")


@pytest.mark.parametrize(
    "url", ["https://user:pw@a.test/x", "ftp://a.test/x", " https://a.test/x", "not a url"]
)
def test_bad_urls_are_input_errors_before_routing(url: str) -> None:
    readers = UrlReaders.create({}, factories=[factory("only", "a.test")])
    with pytest.raises(InvalidUrlError):
        readers.read_url(url)


def test_built_in_reader_order_follows_backstage() -> None:
    names = [f.name for f in reader_factories()]
    assert names[-1] == "fetch"
    backstage = [
        "azure",
        "bitbucketCloud",
        "bitbucketServer",
        "gerrit",
        "github",
        "gitea",
        "gitlab",
        "googleGcs",
        "harness",
        "awsS3",
        "azureBlobStorage",
        "awsCodeCommit",
        "fetch",
    ]
    present = [n for n in backstage if n in names]
    assert names == present


def test_integration_types_follow_registry_order() -> None:
    keys = [k.key for k in integration_types()]
    backstage = [
        "awsS3",
        "awsCodeCommit",
        "azureBlobStorage",
        "azure",
        "bitbucketCloud",
        "bitbucketServer",
        "gerrit",
        "github",
        "gitlab",
        "gitea",
        "googleGcs",
        "harness",
    ]
    assert keys == [k for k in backstage if k in keys]


def test_empty_registry_resolves_with_the_default_rules() -> None:
    integrations = ScmIntegrations({})
    assert integrations.by_url("not a url") is None
    assert (
        integrations.resolve_url(url="c.yaml", base="https://unknown.example.com/x/y/z.yaml")
        == "https://unknown.example.com/x/y/c.yaml"
    )
    assert integrations.resolve_edit_url("https://unknown.example.com/x") == (
        "https://unknown.example.com/x"
    )


def test_repr_lists_readers() -> None:
    readers = UrlReaders.create({}, factories=[factory("only", "b.test")])
    assert repr(readers) == "predicateMux{readers=echo{host=only,authed=false}}"
