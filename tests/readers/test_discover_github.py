"""Discovery on GitHub through FakeScmHost: listing pages, wildcards, default branches,
skipped kinds, missing files, a failing repository, and cheap re-discovery with state."""

from __future__ import annotations

from typing import Any

import pytest

from scmreader.errors import InputError, InvalidUrlError, NotFoundError, UpstreamError
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.messages import FakeResponse
from scmreader.testing.routes.github import github, integration_config


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("github")
    for n in range(33):
        fake_scm_host.add_repo(f"acme/service-{n:02d}", {"catalog-info.yaml": f"name: s{n}\n"})
    fake_scm_host.add_repo(
        "acme/trunk", {"catalog-info.yaml": "name: trunk\n"}, default_branch="trunk"
    )
    fake_scm_host.add_repo("acme/no-catalog", {"README.md": "# nothing\n"})
    fake_scm_host.add_repo("acme/old", {"catalog-info.yaml": "name: old\n"}).archived = True
    fake_scm_host.add_repo("acme/copy", {"catalog-info.yaml": "name: copy\n"}).fork = True
    fake_scm_host.add_repo("acme/empty", {})
    fake_scm_host.add_repo("other/thing", {"catalog-info.yaml": "name: other\n"})
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return UrlReaders.default({"integrations": {"github": [integration_config(host)]}})


def run(readers: UrlReaders, url: str, **options: Any) -> tuple[Any, dict[str, Any]]:
    found = readers.discover(url, **options)
    return found, {r.url: r for r in found}


def test_default_branches_wildcards_and_skipped_kinds(host: FakeScmHost, readers: UrlReaders):
    base = host.base_url
    found, results = run(readers, f"{base}/acme/*/blob/-/catalog-info.yaml")
    assert found.summary.repositories == 35  # 33 services, trunk, no-catalog
    assert found.summary.added == 34 and found.summary.missing == 1
    trunk = results[f"{base}/acme/trunk/blob/trunk/catalog-info.yaml"]
    assert (trunk.repository, trunk.branch, trunk.content()) == (
        "acme/trunk",
        "trunk",
        b"name: trunk\n",
    )
    assert trunk.etag and trunk.status == "added"
    assert not any("acme/old" in u or "acme/copy" in u or "other/" in u for u in results)
    # the branch came from the listing: a missing file costs its one request, no ref lookup
    assert [r.path for r in host.requests if "no-catalog" in r.path] == [
        "/raw/acme/no-catalog/main/catalog-info.yaml"
    ]
    listings = host.requests_to(r"/api/v3/orgs/acme/repos")
    assert len(listings) == 1  # 35 listed repositories fit on one page of 100


def test_pagination_over_several_pages(host: FakeScmHost, readers: UrlReaders, monkeypatch):
    reader = readers.reader_for(f"{host.base_url}/acme/x/blob/main/a")
    listing = list(reader.list_repositories("acme", "service-*"))  # type: ignore[attr-defined]
    assert len(listing) == 33
    host.clear_requests()
    import scmreader.readers.github as module

    monkeypatch.setattr(module, "_LIST_PAGE", 10)
    names = [r.name for r in reader.list_repositories("acme", "service-*")]  # type: ignore[attr-defined]
    assert names == sorted(names) and len(names) == 33
    assert len(host.requests_to(r"/api/v3/orgs/acme/repos")) == 4  # 10+10+10+5 (Link next)


@pytest.mark.parametrize(
    ("options", "extra"),
    [
        ({"include_archived": True}, {"acme/old"}),
        ({"include_forks": True}, {"acme/copy"}),
        ({"include_archived": True, "include_forks": True}, {"acme/old", "acme/copy"}),
    ],
)
def test_skipped_kinds_when_asked(readers: UrlReaders, host: FakeScmHost, options, extra):
    found, results = run(readers, f"{host.base_url}/acme/*/blob/-/catalog-info.yaml", **options)
    repos = {r.repository for r in results.values()}
    assert extra <= repos and found.summary.added == 34 + len(extra)


def test_user_owner_uses_the_users_listing(host: FakeScmHost, readers: UrlReaders):
    github(host).users.add("other")
    _found, results = run(readers, f"{host.base_url}/other/*/blob/-/catalog-info.yaml")
    assert [r.repository for r in results.values()] == ["other/thing"]
    assert host.requests_to(r"/api/v3/users/other/repos")


def test_repository_pattern_and_explicit_branch(host: FakeScmHost, readers: UrlReaders):
    host.repo("acme/service-01").commit({"catalog-info.yaml": "name: dev\n"}, branch="dev")
    found, results = run(readers, f"{host.base_url}/acme/service-0[1-2]/blob/dev/catalog-info.yaml")
    assert {r.repository for r in results.values()} == {"acme/service-01"}
    assert found.summary.missing == 1  # service-02 has no branch dev


def test_glob_in_each_repository(host: FakeScmHost, readers: UrlReaders):
    host.repo("acme/service-03").commit({"docs/a/catalog-info.yaml": "name: a\n"})
    _found, results = run(
        readers, f"{host.base_url}/acme/service-0[3-4]/blob/-/**/catalog-info.yaml"
    )
    assert sorted(results) == [
        f"{host.base_url}/acme/service-03/blob/main/catalog-info.yaml",
        f"{host.base_url}/acme/service-03/blob/main/docs/a/catalog-info.yaml",
        f"{host.base_url}/acme/service-04/blob/main/catalog-info.yaml",
    ]
    assert results[sorted(results)[1]].content() == b"name: a\n"


def test_a_failing_repository_is_one_result(host: FakeScmHost, readers: UrlReaders):
    host.route(
        "GET", r"/raw/acme/service-07/.*", lambda request: FakeResponse.text("no", status=500)
    )
    found, results = run(readers, f"{host.base_url}/acme/service-0*/blob/-/catalog-info.yaml")
    failed = [r for r in results.values() if r.status == "error"]
    assert [r.repository for r in failed] == ["acme/service-07"]
    assert isinstance(failed[0].error, UpstreamError)
    with pytest.raises(UpstreamError):
        failed[0].content()
    assert found.summary.added == 9 and found.summary.errors == 1


def test_only_the_listing_fails_the_run(host: FakeScmHost, readers: UrlReaders):
    with pytest.raises(NotFoundError):
        list(readers.discover(f"{host.base_url}/nobody/*/blob/-/catalog-info.yaml"))
    with pytest.raises(InvalidUrlError):
        readers.discover(f"{host.base_url}/ac*/*/blob/-/catalog-info.yaml")


def test_rediscovery_with_state_downloads_nothing(host: FakeScmHost, readers: UrlReaders, tmp_path):
    url = f"{host.base_url}/acme/*/blob/-/catalog-info.yaml"
    first = readers.discover(url)
    list(first)
    state_file = tmp_path / "state.json"
    first.save_state(state_file)
    host.repo("acme/service-05").commit({"catalog-info.yaml": "name: changed\n"})
    host.add_repo("acme/service-new", {"catalog-info.yaml": "name: new\n"})
    host.repo("acme/service-06").archived = True  # no longer listed: removed
    host.clear_requests()
    again = readers.discover(url, state=str(state_file))
    results = {r.url: r for r in again}
    s = again.summary
    assert (s.added, s.changed, s.unchanged, s.removed, s.missing) == (1, 1, 32, 1, 1)
    assert results[f"{host.base_url}/acme/service-05/blob/main/catalog-info.yaml"].content() == (
        b"name: changed\n"
    )
    file_requests = [r for r in host.requests if r.path.startswith("/raw/")]
    assert len(file_requests) == 35  # one conditional request per listed repository
    conditional = [r for r in file_requests if r.headers.get("If-None-Match")]
    assert len(conditional) == 33  # all but the new repository and the one without the file
    unchanged = results[f"{host.base_url}/acme/service-09/blob/main/catalog-info.yaml"]
    assert unchanged.status == "unchanged" and unchanged.content() == b"name: s9\n"


def test_glob_rediscovery_reports_removed_files(host: FakeScmHost, readers: UrlReaders):
    host.repo("acme/service-03").commit({"docs/a/catalog-info.yaml": "name: a\n"})
    url = f"{host.base_url}/acme/service-0[3-4]/blob/-/**/catalog-info.yaml"
    first = readers.discover(url)
    list(first)
    host.repo("acme/service-03").commit(delete=["docs/a/catalog-info.yaml"])
    host.clear_requests()
    again = readers.discover(url, state=first.state)
    results = {r.url: r for r in again}
    s = again.summary
    assert (s.added, s.changed, s.unchanged, s.removed) == (0, 1, 1, 1)
    gone = results[f"{host.base_url}/acme/service-03/blob/main/docs/a/catalog-info.yaml"]
    assert gone.status == "removed"
    with pytest.raises(InputError, match="was removed"):
        gone.content()
    # the unchanged repository cost one conditional commit lookup, nothing else
    assert [r.path for r in host.requests if "service-04" in r.path] == [
        "/api/v3/repos/acme/service-04/commits/main"
    ]
