"""Discovery on Gerrit/Gitiles through FakeScmHost: project listings by prefix with
n/S paging (``)]}'`` bodies), wildcards in folders and names, HEAD, kinds, state."""

from __future__ import annotations

import pytest
from discover_support import counts, rediscover

import scmreader.readers.gerrit as gerrit_reader
from scmreader.errors import InvalidUrlError
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.messages import FakeResponse
from scmreader.testing.routes import gerrit as gerrit_routes


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("gerrit")
    for n in range(5):
        fake_scm_host.add_repo(f"apps/svc-{n}", {"catalog-info.yaml": f"name: {n}\n"})
    fake_scm_host.add_repo("apps/tools/lint", {"catalog-info.yaml": "lint\n"})
    fake_scm_host.add_repo("apps/svc-dev", {"catalog-info.yaml": "dev\n"}, default_branch="dev")
    fake_scm_host.add_repo("apps/svc-bare", {"README.md": "x\n"})
    fake_scm_host.add_repo("apps/svc-old", {"catalog-info.yaml": "x\n"}).archived = True
    fake_scm_host.add_repo("apps/svc-hidden", {"catalog-info.yaml": "x\n"}).disabled = True
    fake_scm_host.add_repo("toplevel", {"catalog-info.yaml": "top\n"})
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return UrlReaders.default(gerrit_routes.app_config(host))


def gitiles(host: FakeScmHost) -> str:
    return host.base_url + gerrit_routes.site(host).gitiles_path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("apps/*/+/HEAD/catalog-info.yaml", 7),  # nested folders too (apps/tools/lint)
        ("apps/svc-*/+/-/catalog-info.yaml", 6),
        ("apps/tools/*/+/refs/heads/main/catalog-info.yaml", 1),
        ("*/+/HEAD/catalog-info.yaml", 1),  # top-level projects
    ],
)
def test_wildcards(host: FakeScmHost, readers: UrlReaders, path, expected):
    found = readers.discover(f"{gitiles(host)}/{path}")
    results = list(found)
    assert len(results) == expected and {r.status for r in results} == {"added"}
    assert not any(r.repository in ("apps/svc-old", "apps/svc-hidden") for r in results)


def test_head_pages_kinds_and_errors(host: FakeScmHost, readers: UrlReaders, monkeypatch):
    monkeypatch.setattr(gerrit_reader, "_PROJECT_PAGE", 3)
    host.route(
        "GET", r"/projects/apps%2Fsvc-2/branches/.*", lambda r: FakeResponse.text("", status=503)
    )
    url = f"{gitiles(host)}/apps/*/+/HEAD/catalog-info.yaml"
    found = readers.discover(url, include_archived=True)
    results = {r.repository: r for r in found}
    assert results["apps/svc-dev"].content() == b"dev\n"
    assert "apps/svc-old" in results and "apps/svc-hidden" not in results
    assert results["apps/svc-2"].status == "error"
    assert found.summary.missing == 1  # svc-bare
    assert len(host.requests_to(r"/projects/?$")) == 3  # 9 visible under apps/, 3 a page
    with pytest.raises(InvalidUrlError):
        readers.discover(f"{gitiles(host)}/apps/*/catalog-info.yaml")


def test_rediscovery_with_state(host: FakeScmHost, readers: UrlReaders):
    url = f"{gitiles(host)}/apps/svc-*/+/HEAD/catalog-info.yaml"
    again, results = rediscover(readers, host, url, "apps/svc-1", "name: one\n")
    assert counts(again) == (0, 1, 5, 0)
    assert results["apps/svc-1"].content() == b"name: one\n"
    contents = host.requests_to(r"/files/catalog-info\.yaml/content$")
    assert len(contents) == 2  # the changed file and the repository without it
