"""AwsCodeCommitUrlReader against FakeScmHost's CodeCommit emulation (urlreader spec §2.11).

Requests per call, as asserted here: read_url = GetBranch (or GetCommit / GetRepository +
GetBranch / GetBranch + root GetFolder for a tag) then 1 GetFile; an unchanged etag stops
after the lookup. read_tree = the lookup, 1 GetFolder per folder, 1 GetFile per selected
file when read. Glob search walks only the glob's static prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scmreader.errors import (
    AuthenticationError,
    ChangedWhileReadingError,
    HttpStatusError,
    InvalidUrlError,
    NotAllowedError,
    NotFoundError,
    NotModifiedError,
    PermissionDeniedError,
    RateLimitedError,
    ScmReaderError,
    UpstreamError,
)
from scmreader.http import HttpClient, HttpSettings
from scmreader.integrations.aws_codecommit import (
    AwsCodeCommitIntegration,
    AwsCodeCommitIntegrationConfig,
)
from scmreader.readers import UrlReaders
from scmreader.readers.aws_codecommit import READER_FACTORY, AwsCodeCommitUrlReader
from scmreader.readers.tree import TreeResponseFactory
from scmreader.readers.types import FileInfo
from scmreader.redact import Secret
from scmreader.testing import FakeResponse, FakeScmHost, executable, submodule, symlink
from scmreader.testing.routes import aws_codecommit as routes

pytest.importorskip("boto3")

ACCESS_KEY = "AKIAEXAMPLECODECOMMIT"
CANARY = "canaryCodeCommitSecret/DoNotLeak+0123456789ab"
REGION = "eu-west-1"
CONSOLE = f"https://{REGION}.console.aws.amazon.com"
REPO_URL = f"{CONSOLE}/codesuite/codecommit/repositories/widgets"
FILES = {
    "catalog-info.yaml": "kind: Component\n",
    "docs/index.md": "# Index\n",
    "docs/sub/page.md": "# Page\n",
    "docs/sub/deep/notes.txt": "notes\n",
    "src/app.py": "print('hi')\n",
}


def browse(path: str, ref: str = "main") -> str:
    return f"{REPO_URL}/browse/{ref}/--/{path}" if ref else f"{REPO_URL}/browse/--/{path}"


@pytest.fixture
def host(fake_scm_host: FakeScmHost, monkeypatch: pytest.MonkeyPatch) -> FakeScmHost:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CODECOMMIT", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    fake_scm_host.add_repo("acme/widgets", FILES, tags={"v1": "main"})
    routes.codecommit(fake_scm_host).allow_key(ACCESS_KEY)
    return fake_scm_host


def make_reader(
    host: FakeScmHost, *, secret: str = CANARY, max_folders: int = 10_000
) -> AwsCodeCommitUrlReader:
    config = AwsCodeCommitIntegrationConfig(
        region=REGION,
        host=f"{REGION}.console.aws.amazon.com",
        access_key_id=ACCESS_KEY,
        secret_access_key=Secret(secret),
    )
    return AwsCodeCommitUrlReader(
        AwsCodeCommitIntegration(config),
        tree=TreeResponseFactory(),
        settings=HttpSettings(max_attempts=1, connect_timeout=5, read_timeout=5),
        endpoint=host.base_url,
        max_folders=max_folders,
    )


@pytest.fixture
def reader(host: FakeScmHost) -> AwsCodeCommitUrlReader:
    return make_reader(host)


def ops(host: FakeScmHost) -> list[str]:
    return [routes.operation_of(r) for r in host.requests]


def folder_paths(host: FakeScmHost) -> list[str]:
    return [r.json()["folderPath"] for r in host.requests if routes.operation_of(r) == "GetFolder"]


# --- factory and predicate ------------------------------------------------------------


@pytest.fixture
def readers() -> Iterator[UrlReaders]:
    entries = [{"region": REGION}, {"region": "us-east-1", "host": "codecommit.example.com"}]
    yield UrlReaders.default({"integrations": {"awsCodeCommit": entries}})


@pytest.mark.parametrize(
    ("url", "claimed"),
    [
        (browse("catalog-info.yaml"), True),
        (f"{REPO_URL}/browse/refs/heads/main/--/a.yaml?region=eu-west-1", True),
        (f"{CONSOLE}/codesuite/codecommit/repositories", True),
        (f"{CONSOLE}/codesuite/codecommit", True),
        ("https://x.eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/r", True),
        ("https://codecommit.example.com/codesuite/codecommit/repositories/r/browse", True),
        ("https://sub.codecommit.example.com/codesuite/codecommit/repositories/r", True),
        (f"{CONSOLE}/codesuite/codecommitx/repositories/r", False),
        (f"{CONSOLE}/codesuite/codebuild/projects", False),
        (f"{CONSOLE}/s3/buckets/b", False),
        ("https://us-east-1.console.aws.amazon.com/codesuite/codecommit/repositories/r", False),
        ("https://evileu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/r", False),
        ("https://eu-west-1.console.aws.amazon.com.evil.io/codesuite/codecommit/x", False),
    ],
)
def test_predicate(readers: UrlReaders, url: str, claimed: bool) -> None:
    if claimed:
        assert isinstance(readers.reader_for(url), AwsCodeCommitUrlReader)
    else:
        with pytest.raises(NotAllowedError):
            readers.reader_for(url)


def test_factory_makes_one_reader_per_entry(readers: UrlReaders) -> None:
    found = [r for r in readers.readers if isinstance(r, AwsCodeCommitUrlReader)]
    assert [repr(r) for r in found] == [
        "awsCodeCommit{host=eu-west-1.console.aws.amazon.com,authed=false}",
        "awsCodeCommit{host=codecommit.example.com,authed=false}",
    ]
    assert (READER_FACTORY.name, READER_FACTORY.order) == ("awsCodeCommit", 130)


@pytest.mark.parametrize(
    "url",
    [
        f"{REPO_URL}/files/edit/refs/heads/main/--/catalog-info.yaml",
        f"{REPO_URL}",
        f"{REPO_URL}/browse/main/--/",
        f"{REPO_URL}/browse/main/--/docs/../secret",
        f"{REPO_URL}/browse/main/--/docs/%2e%2e/secret",
    ],
)
def test_read_url_rejects_urls_that_name_no_file(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost, url: str
) -> None:
    with pytest.raises(InvalidUrlError):
        reader.read_url(url)
    assert host.requests == []


# --- read_url -------------------------------------------------------------------------


def test_read_url_content_and_commit_etag(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost
) -> None:
    response = reader.read_url(browse("docs/index.md"))
    assert response.buffer() == b"# Index\n"
    assert response.etag == host.repo("acme/widgets").sha("main")
    assert ops(host) == ["GetBranch", "GetFile"]
    get_file = host.requests[-1].json()
    assert get_file["commitSpecifier"] == response.etag  # pinned to the looked-up commit
    assert get_file["filePath"] == "/docs/index.md"


@pytest.mark.parametrize(
    ("ref", "lookup"),
    [
        ("main", ["GetBranch"]),
        ("refs/heads/main", ["GetBranch"]),
        ("", ["GetRepository", "GetBranch"]),
        ("v1", ["GetBranch", "GetFolder"]),
        ("COMMIT", ["GetCommit"]),
    ],
)
def test_read_url_resolves_each_kind_of_ref(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost, ref: str, lookup: list[str]
) -> None:
    sha = host.repo("acme/widgets").sha("main")
    ref = sha if ref == "COMMIT" else ref
    response = reader.read_url(browse("src/app.py", ref))
    assert response.buffer() == b"print('hi')\n"
    assert response.etag == sha
    assert ops(host) == [*lookup, "GetFile"]


def test_read_url_sees_a_new_commit(reader: AwsCodeCommitUrlReader, host: FakeScmHost) -> None:
    first = reader.read_url(browse("catalog-info.yaml"))
    host.repo("acme/widgets").commit({"catalog-info.yaml": "kind: API\n"})
    second = reader.read_url(browse("catalog-info.yaml"), etag=first.etag)
    assert second.buffer() == b"kind: API\n"
    assert second.etag != first.etag


def test_read_url_not_modified_before_get_file(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost
) -> None:
    etag = reader.read_url(browse("catalog-info.yaml")).etag
    host.clear_requests()
    with pytest.raises(NotModifiedError) as caught:
        reader.read_url(browse("catalog-info.yaml"), etag=etag)
    assert caught.value.etag == etag
    assert ops(host) == ["GetBranch"]


@pytest.mark.parametrize(
    "url",
    [
        browse("docs/missing.md"),
        browse("docs"),  # a folder is no file
        browse("catalog-info.yaml", "no-such-branch"),
        browse("catalog-info.yaml", "0" * 40),
        f"{CONSOLE}/codesuite/codecommit/repositories/nope/browse/main/--/a.yaml",
    ],
)
def test_read_url_missing_things_are_not_found(reader: AwsCodeCommitUrlReader, url: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        reader.read_url(url)
    assert caught.value.status == 404


def test_empty_repository_is_not_found(reader: AwsCodeCommitUrlReader, host: FakeScmHost) -> None:
    host.add_repo("empty", {})
    with pytest.raises(NotFoundError):
        reader.read_url(f"{CONSOLE}/codesuite/codecommit/repositories/empty/browse/--/a.md")


# --- read_tree ------------------------------------------------------------------------


def test_read_tree_root(reader: AwsCodeCommitUrlReader, host: FakeScmHost) -> None:
    tree = reader.read_tree(f"{REPO_URL}/browse/main")
    assert tree.etag == host.repo("acme/widgets").sha("main")
    assert {f.path: f.content().decode() for f in tree.files()} == FILES
    assert sorted(folder_paths(host)) == ["/", "/docs", "/docs/sub", "/docs/sub/deep", "/src"]
    assert ops(host).count("GetFile") == len(FILES)


def test_read_tree_sub_folder_and_dir(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost, tmp_path: Path
) -> None:
    tree = reader.read_tree(browse("docs/sub"))
    target = tree.dir(tmp_path / "out")
    written = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert written == {"page.md", "deep/notes.txt"}
    assert "/" not in folder_paths(host)


def test_read_tree_not_modified_before_any_listing(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost
) -> None:
    etag = reader.read_tree(browse("docs")).etag
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        reader.read_tree(browse("docs"), etag=etag)
    assert ops(host) == ["GetBranch"]


def test_read_tree_missing_folder_is_not_found(reader: AwsCodeCommitUrlReader) -> None:
    with pytest.raises(NotFoundError):
        reader.read_tree(browse("nowhere"))


def test_path_filter_downloads_only_selected_files(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost
) -> None:
    tree = reader.read_tree(browse("docs"), filter=lambda path, info: path.endswith(".md"))
    assert sorted(f.path for f in tree.files()) == ["index.md", "sub/page.md"]
    assert ops(host).count("GetFile") == 2


def test_size_filter_fetches_each_file_once(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost
) -> None:
    seen: dict[str, int] = {}

    def small(path: str, info: FileInfo) -> bool:
        seen[path] = info.size
        return info.size < 7

    tree = reader.read_tree(browse("docs"), filter=small)
    assert {f.path: f.content() for f in tree.files()} == {"sub/deep/notes.txt": b"notes\n"}
    assert seen == {"index.md": 8, "sub/page.md": 7, "sub/deep/notes.txt": 6}
    assert ops(host).count("GetFile") == 3


def test_symlinks_and_submodules_are_not_tree_files(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost
) -> None:
    host.add_repo(
        "special",
        {
            "run.sh": executable("#!/bin/sh\n"),
            "link": symlink("run.sh"),
            "vendor/lib": submodule("a" * 40),
        },
    )
    tree = reader.read_tree(f"{CONSOLE}/codesuite/codecommit/repositories/special/browse/main")
    assert {f.path: f.content() for f in tree.files()} == {"run.sh": b"#!/bin/sh\n"}


def test_folder_walk_is_bounded(host: FakeScmHost) -> None:
    with pytest.raises(UpstreamError, match="max_folders"):
        make_reader(host, max_folders=2).read_tree(f"{REPO_URL}/browse/main")


# --- search ---------------------------------------------------------------------------


def test_search_glob_walks_only_the_static_prefix(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost
) -> None:
    result = reader.search(browse("docs/**/*.md") + "?region=eu-west-1")
    assert result.etag == host.repo("acme/widgets").sha("main")
    assert sorted(folder_paths(host)) == ["/docs", "/docs/sub", "/docs/sub/deep"]
    assert "GetFile" not in ops(host)  # contents are lazy
    by_url = {f.url: f.content() for f in result.files}
    assert by_url == {
        browse("docs/index.md") + "?region=eu-west-1": b"# Index\n",
        browse("docs/sub/page.md") + "?region=eu-west-1": b"# Page\n",
    }


def test_search_glob_not_modified_lists_nothing(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost
) -> None:
    etag = reader.search(browse("**/*.py")).etag
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        reader.search(browse("**/*.py"), etag=etag)
    assert ops(host) == ["GetBranch"]


def test_search_glob_under_a_missing_folder_is_empty(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost
) -> None:
    result = reader.search(browse("nowhere/*.md"))
    assert result.files == []
    assert result.etag == host.repo("acme/widgets").sha("main")


def test_search_glob_in_a_missing_repository_is_not_found(reader: AwsCodeCommitUrlReader) -> None:
    with pytest.raises(NotFoundError):
        reader.search(f"{CONSOLE}/codesuite/codecommit/repositories/nope/browse/main/--/*.md")


def test_search_exact_and_miss(reader: AwsCodeCommitUrlReader, host: FakeScmHost) -> None:
    exact = reader.search(browse("src/app.py"))
    assert [(f.url, f.content()) for f in exact.files] == [(browse("src/app.py"), b"print('hi')\n")]
    assert exact.etag == host.repo("acme/widgets").sha("main")
    miss = reader.search(browse("src/none.py"))
    assert (miss.files, miss.etag) == ([], "")


# --- changed while reading -----------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "code"),
    [
        ("GetFile", "CommitDoesNotExistException"),  # history rewritten, commit collected
        ("GetFile", "RepositoryDoesNotExistException"),  # repository deleted mid-read
        ("GetFolder", "FolderDoesNotExistException"),
    ],
)
def test_listed_path_gone_mid_read_is_changed_while_reading(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost, operation: str, code: str
) -> None:
    """A path that a GetFolder at the pinned commit listed cannot be missing unless the
    repository changed: the same ChangedWhileReadingError as the object stores."""
    walked: list[str] = []

    @host.route("POST", "/")
    def vanish(request: Any) -> FakeResponse | None:
        op = routes.operation_of(request)
        if op == operation and (op == "GetFile" or walked):
            return FakeResponse.json({"__type": code, "message": "gone"}, 400)
        if op == "GetFolder":
            walked.append(op)
        return None

    with pytest.raises(ChangedWhileReadingError, match="read it again"):
        list(reader.read_tree(browse("docs")).files())


def test_search_match_gone_before_content_is_changed_while_reading(
    reader: AwsCodeCommitUrlReader, host: FakeScmHost
) -> None:
    [found] = reader.search(browse("src/*.py")).files

    @host.route("POST", "/")
    def vanish(request: Any) -> FakeResponse | None:
        if routes.operation_of(request) == "GetFile":
            body = {"__type": "FileDoesNotExistException", "message": "gone"}
            return FakeResponse.json(body, 400)
        return None

    with pytest.raises(ChangedWhileReadingError):
        found.content()
    with pytest.raises(NotFoundError) as info:  # a path nobody listed stays a NotFoundError
        reader.read_url(browse("src/app.py"))
    assert not isinstance(info.value, ChangedWhileReadingError)


# --- errors and secrets ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("AccessDeniedException", 400, PermissionDeniedError),
        ("EncryptionKeyAccessDeniedException", 400, PermissionDeniedError),
        ("UnrecognizedClientException", 400, AuthenticationError),
        ("ThrottlingException", 400, RateLimitedError),
        ("InvalidRepositoryNameException", 400, InvalidUrlError),
        ("FileTooLargeException", 400, HttpStatusError),
        ("InternalFailure", 500, UpstreamError),
        ("SomethingNewException", 400, HttpStatusError),
    ],
)
def test_service_errors_are_typed_and_redacted(
    reader: AwsCodeCommitUrlReader,
    host: FakeScmHost,
    caplog: pytest.LogCaptureFixture,
    code: str,
    status: int,
    error: type[ScmReaderError],
) -> None:
    caplog.set_level(logging.DEBUG)

    @host.route("POST", "/")
    def fail(request: object) -> FakeResponse:
        body = {"__type": code, "message": f"echoing {CANARY} back"}
        return FakeResponse.json(body, status, [("x-amzn-ErrorType", code)])

    with pytest.raises(error) as caught:
        reader.read_url(browse("catalog-info.yaml"))
    assert code in str(caught.value)
    assert CANARY not in str(caught.value)
    assert CANARY not in caplog.text


def test_secret_key_never_in_messages_or_logs(
    host: FakeScmHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    routes.codecommit(host).allow_key("AKIASOMEONEELSE00000")
    routes.codecommit(host).access_keys.discard(ACCESS_KEY)
    reader = make_reader(host)
    with pytest.raises(AuthenticationError) as caught:
        reader.read_url(browse("catalog-info.yaml"))
    assert "rejected the credentials" in str(caught.value)
    assert CANARY not in str(caught.value)
    assert CANARY not in repr(reader)
    assert "botocore" in caplog.text  # the logs were really captured
    assert CANARY not in caplog.text
    assert all(CANARY not in r.body.decode() for r in host.requests)


def test_unreachable_endpoint_is_a_transport_error(host: FakeScmHost) -> None:
    reader = make_reader(host)
    host.stop()
    with pytest.raises(ScmReaderError) as caught:
        reader.read_url(browse("catalog-info.yaml"))
    assert type(caught.value).__name__ in ("TransportError", "RequestTimeoutError")
    assert CANARY not in str(caught.value)


def test_readers_find_the_endpoint_in_botocore_environment(
    host: FakeScmHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODECOMMIT", host.base_url)
    entry = {"region": REGION, "accessKeyId": ACCESS_KEY, "secretAccessKey": CANARY}
    readers = UrlReaders.default(
        {"integrations": {"awsCodeCommit": [entry]}}, http=HttpClient(sleep=lambda _: None)
    )
    assert readers.read(browse("catalog-info.yaml")) == b"kind: Component\n"
    assert ops(host) == ["GetBranch", "GetFile"]
