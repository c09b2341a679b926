"""Discovery on Bitbucket Server through FakeScmHost: Backstage's target form and the
browse form, project wildcards, paging by nextPageStart, skipped kinds, state."""

from __future__ import annotations

import pytest
from discover_support import counts, rediscover

from scmreader.errors import NotFoundError
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.messages import FakeResponse
from scmreader.testing.routes.bitbucket_server import bitbucket_server, integration_config


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    bitbucket_server(fake_scm_host).default_limit = 25
    for n in range(5):
        fake_scm_host.add_repo(f"proj/service-{n}", {"catalog-info.yaml": f"name: {n}\n"})
    fake_scm_host.add_repo("proj/service-dev", {"catalog-info.yaml": "x\n"}, default_branch="dev")
    fake_scm_host.add_repo("proj/website", {"catalog-info.yaml": "name: web\n"})
    fake_scm_host.add_repo("proj/service-bare", {"README.md": "x\n"})
    fake_scm_host.add_repo("proj/service-old", {"catalog-info.yaml": "x\n"}).archived = True
    fake_scm_host.add_repo("proj/service-fork", {"catalog-info.yaml": "x\n"}).fork = True
    fake_scm_host.add_repo("plat/service-x", {"catalog-info.yaml": "name: x\n"})
    fake_scm_host.add_repo("misc/service-y", {"catalog-info.yaml": "name: y\n"})
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return UrlReaders.default({"integrations": {"bitbucketServer": [integration_config(host)]}})


@pytest.mark.parametrize(
    ("path", "repos"),
    [
        ("projects/PROJ/repos/service-*/catalog-info.yaml", 6),  # Backstage's form
        ("projects/PROJ/repos/service-*", 6),  # the path defaults to catalog-info.yaml
        ("projects/PROJ/repos/*/browse/catalog-info.yaml", 7),  # the browse form
        ("projects/P*/repos/service-*/catalog-info.yaml", 7),  # PROJ and PLAT
        ("projects/*/repos/service-[xy]/catalog-info.yaml", 2),
    ],
)
def test_forms_and_wildcards(host: FakeScmHost, readers: UrlReaders, path, repos):
    found = readers.discover(f"{host.base_url}/{path}")
    results = list(found)
    assert len(results) == repos and {r.status for r in results} == {"added"}
    assert not any(r.repository.endswith(("-old", "-fork")) for r in results)


def test_default_branches_paging_and_missing(host: FakeScmHost, readers: UrlReaders):
    bitbucket_server(host).max_limit = 3  # a server whose pages hold 3 repositories
    found = readers.discover(f"{host.base_url}/projects/PROJ/repos/*/catalog-info.yaml")
    results = {r.repository: r for r in found}
    assert results["PROJ/service-dev"].content() == b"x\n"
    assert results["PROJ/website"].url.endswith(
        "/projects/PROJ/repos/website/browse/catalog-info.yaml"
    )
    assert found.summary.missing == 1  # service-bare
    assert len(host.requests_to(r"/rest/api/1.0/projects/PROJ/repos$")) == 4  # 10 repos, 3 a page
    pages = len(host.requests_to(r"/rest/api/1.0/projects$"))
    assert pages == 0  # a literal project key is not looked up


def test_skipped_kinds_explicit_branch_and_errors(host: FakeScmHost, readers: UrlReaders):
    host.route("GET", r".*/repos/service-3/commits", lambda r: FakeResponse.text("x", status=500))
    url = f"{host.base_url}/projects/PROJ/repos/service-*/browse/catalog-info.yaml?at=main"
    found = readers.discover(url, include_archived=True, include_forks=True)
    results = {r.repository: r for r in found}
    assert {"PROJ/service-old", "PROJ/service-fork"} <= set(results)
    assert results["PROJ/service-3"].status == "error"
    assert found.summary.missing == 2  # service-dev has no branch main; service-bare no file
    with pytest.raises(NotFoundError):
        list(readers.discover(f"{host.base_url}/projects/NOPE/repos/*/catalog-info.yaml"))


def test_rediscovery_with_state(host: FakeScmHost, readers: UrlReaders):
    url = f"{host.base_url}/projects/PROJ/repos/service-*/catalog-info.yaml"
    again, results = rediscover(readers, host, url, "proj/service-2", "name: new\n")
    assert counts(again) == (0, 1, 5, 0) and again.summary.missing == 1
    raw = host.requests_to(r"/raw/")
    assert sorted(r.path.split("/")[7] for r in raw) == ["service-2"]
    # the missing file is told by the last-commit lookup that comes before any download
    assert [r.path.split("/")[-1] for r in host.requests_to(r"/service-bare/")] == ["commits"]
    assert results["PROJ/service-2"].content() == b"name: new\n"
