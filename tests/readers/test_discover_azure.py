"""Discovery on Azure DevOps through FakeScmHost: project URLs (Backstage's target),
project and repository wildcards, default branches, skipped kinds, state."""

from __future__ import annotations

import pytest
from discover_support import counts, rediscover

from scmreader.errors import InvalidUrlError, NotFoundError
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.messages import FakeResponse
from scmreader.testing.routes.azure import integration_config


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("azure")
    # re-runs are counted in 304s: file answers carry an ETag, as Azure is seen to send
    fake_scm_host.state["azure"].items_etag = True
    for n in range(4):
        fake_scm_host.add_repo(f"org/shop/svc-{n}", {"catalog-info.yaml": f"name: {n}\n"})
    fake_scm_host.add_repo(
        "org/shop/legacy", {"catalog-info.yaml": "name: legacy\n"}, default_branch="master"
    )
    fake_scm_host.add_repo("org/shop/notes", {"README.md": "x\n"})
    fake_scm_host.add_repo("org/shop/frozen", {"catalog-info.yaml": "x\n"}).disabled = True
    fake_scm_host.add_repo("org/shop/mirror", {"catalog-info.yaml": "x\n"}).fork = True
    fake_scm_host.add_repo("org/shop/blank", {})
    fake_scm_host.add_repo("org/ops/svc-ops", {"catalog-info.yaml": "name: ops\n"})
    fake_scm_host.add_repo("other/shop/svc-9", {"catalog-info.yaml": "x\n"})
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return UrlReaders.default({"integrations": {"azure": [integration_config(host)]}})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("org/shop", 5),  # Backstage's project URL: every repository, /catalog-info.yaml
        ("org/shop/_git/svc-*?path=/catalog-info.yaml", 4),
        ("org/*/_git/svc-*?path=/catalog-info.yaml", 5),  # all projects: one listing
        ("org/shop?path=/**/*.yaml", 5),  # a glob in each repository
    ],
)
def test_forms_and_wildcards(host: FakeScmHost, readers: UrlReaders, path, expected):
    found = readers.discover(f"{host.base_url}/{path}")
    results = list(found)
    assert len(results) == expected and {r.status for r in results} == {"added"}
    assert not {"org/shop/frozen", "org/shop/mirror", "org/shop/blank"} & {
        r.repository for r in results
    }
    assert len(host.requests_to(r"/_apis/git/repositories/?$")) == 1


def test_default_branch_and_missing(host: FakeScmHost, readers: UrlReaders):
    found = readers.discover(f"{host.base_url}/org/shop")
    results = {r.repository: r for r in found}
    legacy = results["org/shop/legacy"]
    assert legacy.branch == "master" and legacy.content() == b"name: legacy\n"
    assert legacy.url == (
        f"{host.base_url}/org/shop/_git/legacy?path=%2Fcatalog-info.yaml&version=GBmaster"
    )
    assert found.summary.missing == 1  # notes


def test_skipped_kinds_errors_and_bad_urls(host: FakeScmHost, readers: UrlReaders):
    host.route(
        "GET", r"/org/shop/_apis/git/repositories/svc-2/items", lambda r: FakeResponse.text("", 500)
    )
    found = readers.discover(
        f"{host.base_url}/org/shop", include_forks=True, include_disabled=True, include_empty=True
    )
    results = {r.repository: r for r in found}
    assert {"org/shop/frozen", "org/shop/mirror"} <= set(results)
    assert results["org/shop/svc-2"].status == "error"
    assert found.summary.missing == 2  # notes, and blank (empty)
    with pytest.raises(NotFoundError):
        list(readers.discover(f"{host.base_url}/org/nope"))
    with pytest.raises(InvalidUrlError):
        readers.discover(f"{host.base_url}/org/shop/_git/x?version=GTv1")


def test_rediscovery_with_state(host: FakeScmHost, readers: UrlReaders):
    url = f"{host.base_url}/org/shop"
    again, results = rediscover(readers, host, url, "org/shop/svc-1", "name: one\n")
    assert counts(again) == (0, 1, 4, 0)
    items = host.requests_to(r"/items$")
    assert len(items) == 6  # one conditional request per listed repository
    assert sum(1 for r in items if r.headers.get("If-None-Match")) == 5
    assert results["org/shop/svc-1"].content() == b"name: one\n"
