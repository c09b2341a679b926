"""Discovery on GitLab through FakeScmHost: group listings with subgroups, both URL forms,
default branches, skipped kinds, several pages, missing files, re-discovery with state."""

from __future__ import annotations

import pytest
from discover_support import counts, rediscover

from scmreader.errors import InvalidUrlError, NotFoundError
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes.gitlab import gitlab, integration_config


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("gitlab")
    for n in range(7):
        fake_scm_host.add_repo(f"acme/svc-{n}", {"catalog-info.yaml": f"name: {n}\n"})
    fake_scm_host.add_repo(
        "acme/platform/infra", {"catalog-info.yaml": "name: infra\n"}, default_branch="trunk"
    )
    fake_scm_host.add_repo("acme/platform/deep/tool", {"catalog-info.yaml": "name: tool\n"})
    fake_scm_host.add_repo("acme/docs", {"README.md": "# no catalog\n"})
    fake_scm_host.add_repo("acme/old", {"catalog-info.yaml": "x\n"}).archived = True
    fake_scm_host.add_repo("acme/copy", {"catalog-info.yaml": "x\n"}).fork = True
    fake_scm_host.add_repo("acme/empty", {})
    fake_scm_host.add_repo("other/svc", {"catalog-info.yaml": "x\n"})
    gitlab(fake_scm_host).max_per_page = 4  # a GitLab capped at 4: several pages
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return UrlReaders.default({"integrations": {"gitlab": [integration_config(host)]}})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # Backstage's GitLab discovery form: the group, then blob/<branch or *>/<file>
        ("acme/blob/*/catalog-info.yaml", 9),
        ("acme/*/-/blob/-/catalog-info.yaml", 9),  # uniform form: subgroups included
        ("acme/platform/*/-/blob/-/catalog-info.yaml", 2),
        ("acme/platform/deep/*/-/blob/-/catalog-info.yaml", 1),
        ("acme/p*/*/-/blob/-/catalog-info.yaml", 2),  # a wildcard in the group path
        ("acme/svc-[0-2]/-/blob/-/catalog-info.yaml", 3),
    ],
)
def test_wildcards_subgroups_and_forms(host: FakeScmHost, readers: UrlReaders, path, expected):
    found = readers.discover(f"{host.base_url}/{path}")
    results = list(found)
    assert len(results) == expected and all(r.status == "added" for r in results)
    assert not any(r.repository in ("acme/old", "acme/copy", "other/svc") for r in results)


def test_default_branch_pages_and_missing(host: FakeScmHost, readers: UrlReaders):
    found = readers.discover(f"{host.base_url}/acme/blob/*/catalog-info.yaml")
    results = {r.repository: r for r in found}
    infra = results["acme/platform/infra"]
    assert infra.branch == "trunk" and infra.content() == b"name: infra\n"
    assert infra.url == f"{host.base_url}/acme/platform/infra/-/blob/trunk/catalog-info.yaml"
    assert found.summary.repositories == 10 and found.summary.missing == 1  # acme/docs
    assert len(host.requests_to(r"/api/v4/groups/acme/projects")) == 4  # 13 projects / 4


def test_skipped_kinds_when_asked(host: FakeScmHost, readers: UrlReaders):
    url = f"{host.base_url}/acme/*/-/blob/-/catalog-info.yaml"
    found = readers.discover(url, include_archived=True, include_forks=True)
    assert {"acme/old", "acme/copy"} <= {r.repository for r in found}


def test_listing_errors(host: FakeScmHost, readers: UrlReaders):
    with pytest.raises(NotFoundError):
        list(readers.discover(f"{host.base_url}/nobody/*/-/blob/-/catalog-info.yaml"))
    with pytest.raises(InvalidUrlError):
        readers.discover(f"{host.base_url}/*/x/-/blob/-/catalog-info.yaml")


def test_rediscovery_with_state(host: FakeScmHost, readers: UrlReaders):
    url = f"{host.base_url}/acme/blob/*/catalog-info.yaml"
    again, results = rediscover(readers, host, url, "acme/svc-3", "name: changed\n")
    assert counts(again) == (0, 1, 8, 0)
    assert results["acme/svc-3"].content() == b"name: changed\n"
    versions = host.requests_to(r"/repository/files/catalog-info\.yaml$")
    downloads = host.requests_to(r"/repository/files/catalog-info\.yaml/raw$")
    assert len(versions) == 9  # GitLab: the blob id is looked up before any download
    assert sorted(r.path.split("/")[4] for r in downloads) == ["acme%2Fdocs", "acme%2Fsvc-3"]
