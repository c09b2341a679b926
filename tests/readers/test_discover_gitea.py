"""Discovery on Gitea through FakeScmHost: organisation and user listings (Link pages,
X-Total-Count), wildcards, default branches, skipped kinds, failures, state."""

from __future__ import annotations

import pytest
from discover_support import counts, rediscover

from scmreader.errors import InvalidUrlError, NotFoundError
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.messages import FakeResponse
from scmreader.testing.routes.gitea import gitea, integration_config


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    gitea(fake_scm_host).max_response_items = 3  # a Gitea whose pages hold 3 items
    for n in range(5):
        fake_scm_host.add_repo(f"team/app-{n}", {"catalog-info.yaml": f"name: {n}\n"})
    fake_scm_host.add_repo("team/app-dev", {"catalog-info.yaml": "dev\n"}, default_branch="dev")
    fake_scm_host.add_repo("team/app-bare", {"README.md": "x\n"})
    fake_scm_host.add_repo("team/app-old", {"catalog-info.yaml": "x\n"}).archived = True
    fake_scm_host.add_repo("team/app-fork", {"catalog-info.yaml": "x\n"}).fork = True
    fake_scm_host.add_repo("team/app-empty", {})
    fake_scm_host.add_repo("alice/notes", {"catalog-info.yaml": "alice\n"})
    gitea(fake_scm_host).add_user("alice", "secret")
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return UrlReaders.default({"integrations": {"gitea": [integration_config(host)]}})


def test_wildcards_default_branches_and_pages(host: FakeScmHost, readers: UrlReaders):
    found = readers.discover(f"{host.base_url}/team/app-*/src/branch/-/catalog-info.yaml")
    results = {r.repository: r for r in found}
    assert sorted(results) == [*(f"team/app-{n}" for n in range(5)), "team/app-dev"]
    dev = results["team/app-dev"]
    assert dev.branch == "dev" and dev.content() == b"dev\n"
    assert dev.url == f"{host.base_url}/team/app-dev/src/branch/dev/catalog-info.yaml"
    assert found.summary.missing == 1  # app-bare
    assert len(host.requests_to(r"/api/v1/orgs/team/repos")) == 4  # 10 repositories, 3 a page


def test_users_kinds_and_errors(host: FakeScmHost, readers: UrlReaders):
    found = readers.discover(f"{host.base_url}/alice/*/src/branch/-/catalog-info.yaml")
    assert [r.repository for r in found] == ["alice/notes"]
    host.route(
        "GET", r".*/team/app-2/(raw|contents)/.*", lambda r: FakeResponse.text("", status=502)
    )
    url = f"{host.base_url}/team/*/src/branch/main/catalog-info.yaml"
    found = readers.discover(url, include_archived=True, include_forks=True)
    results = {r.repository: r for r in found}
    assert {"team/app-old", "team/app-fork"} <= set(results)
    assert results["team/app-2"].status == "error" and found.summary.errors == 1
    with pytest.raises(NotFoundError):
        list(readers.discover(f"{host.base_url}/nobody/*/src/branch/-/catalog-info.yaml"))
    with pytest.raises(InvalidUrlError):
        readers.discover(f"{host.base_url}/te*/x/src/branch/-/catalog-info.yaml")


def test_rediscovery_with_state(host: FakeScmHost, readers: UrlReaders):
    url = f"{host.base_url}/team/*/src/branch/-/catalog-info.yaml"
    again, results = rediscover(readers, host, url, "team/app-4", "name: four\n")
    assert counts(again) == (0, 1, 5, 0)
    # Gitea: an etag is checked against the folder listing (blob ids, no content)
    assert len(host.requests_to(r"/contents/?$")) == 6
    files = host.requests_to(r"/contents/catalog-info\.yaml$")
    assert sorted(r.path.split("/")[5] for r in files) == ["app-4", "app-bare"]
    assert results["team/app-4"].content() == b"name: four\n"
