"""Discovery on Bitbucket Cloud through FakeScmHost (served as bitbucket.org): Backstage's
workspace/project/repos target and the browse form, "next" pages, kinds, state."""

from __future__ import annotations

import pytest
from discover_support import counts, rediscover

from scmreader.errors import InvalidUrlError, NotFoundError
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.messages import FakeResponse
from scmreader.testing.routes import bitbucket_cloud as bb

WEB = "https://bitbucket.org"


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    state = bb.bitbucket(fake_scm_host)
    state.page_cap = 4  # pages of 4 whatever pagelen asks: several pages
    for n in range(6):
        fake_scm_host.add_repo(f"acme/svc-{n}", {"catalog-info.yaml": f"name: {n}\n"})
    fake_scm_host.add_repo("acme/svc-dev", {"catalog-info.yaml": "dev\n"}, default_branch="dev")
    fake_scm_host.add_repo("acme/svc-bare", {"README.md": "x\n"})
    fake_scm_host.add_repo("acme/svc-fork", {"catalog-info.yaml": "x\n"}).fork = True
    fake_scm_host.add_repo("acme/svc-empty", {})
    fake_scm_host.add_repo("acme/web", {"docs/catalog.yaml": "web\n"})
    state.projects.update({"acme/web": "SITE", "acme/svc-0": "SITE"})
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    config = {"integrations": {"bitbucketCloud": [bb.integration_config(host)]}}
    return UrlReaders.default(config, http=bb.http_client(host, sleep=lambda _: None))


@pytest.mark.parametrize(
    ("url", "repos"),
    [
        (f"{WEB}/workspaces/acme/projects/PROJ/repos/svc-*", 6),  # Backstage's form
        (f"{WEB}/workspaces/acme/projects/*/repos/svc-*", 7),
        (f"{WEB}/workspaces/acme/projects/SITE/repos/*?catalogPath=/docs/catalog.yaml", 1),
        (f"{WEB}/acme/svc-*/src/-/catalog-info.yaml", 7),  # the browse form
    ],
)
def test_forms_and_wildcards(readers: UrlReaders, url, repos):
    found = readers.discover(url)
    results = list(found)
    assert len(results) == repos and {r.status for r in results} == {"added"}
    assert not any(r.repository in ("acme/svc-fork", "acme/svc-empty") for r in results)


def test_default_branch_pages_errors(host: FakeScmHost, readers: UrlReaders):
    host.route("GET", r"/2.0/repositories/acme/svc-3/src/.*", lambda r: FakeResponse.text("", 500))
    found = readers.discover(f"{WEB}/acme/*/src/-/catalog-info.yaml", include_forks=True)
    results = {r.repository: r for r in found}
    dev = results["acme/svc-dev"]
    assert (dev.branch, dev.content()) == ("dev", b"dev\n")
    assert dev.url == f"{WEB}/acme/svc-dev/src/dev/catalog-info.yaml"
    assert "acme/svc-fork" in results and results["acme/svc-3"].status == "error"
    assert found.summary.missing == 2  # svc-bare, web
    assert len(host.requests_to(r"/2.0/repositories/acme$")) == 3  # 11 repositories, 4 a page
    with pytest.raises(NotFoundError):
        list(readers.discover(f"{WEB}/nobody/*/src/-/catalog-info.yaml"))
    with pytest.raises(InvalidUrlError):
        readers.discover(f"{WEB}/workspaces/acme/repos/x")


def test_rediscovery_with_state(host: FakeScmHost, readers: UrlReaders):
    url = f"{WEB}/workspaces/acme/projects/*/repos/*"
    again, results = rediscover(readers, host, url, "acme/svc-5", "name: five\n")
    assert counts(again) == (0, 1, 6, 0)
    assert results["acme/svc-5"].content() == b"name: five\n"
    files = host.requests_to(r"/src/[^/]+/catalog-info\.yaml$")
    assert len(files) == 9  # one (conditional) request per listed repository
