"""Discovery on Harness Code through FakeScmHost: a project's repositories (Link pages),
repository wildcards, default branches, skipped kinds, failures, state."""

from __future__ import annotations

import pytest
from discover_support import counts, rediscover

from scmreader.errors import InvalidUrlError
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.messages import FakeResponse
from scmreader.testing.routes import harness as hr

SCOPE = "acct/org/proj"


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("harness")
    for n in range(4):
        fake_scm_host.add_repo(f"{SCOPE}/svc-{n}", {"catalog-info.yaml": f"name: {n}\n"})
    fake_scm_host.add_repo(f"{SCOPE}/svc-dev", {"catalog-info.yaml": "dev\n"}, default_branch="dev")
    fake_scm_host.add_repo(f"{SCOPE}/svc-bare", {"README.md": "x\n"})
    fake_scm_host.add_repo(f"{SCOPE}/svc-old", {"catalog-info.yaml": "x\n"}).archived = True
    fake_scm_host.add_repo(f"{SCOPE}/svc-empty", {})
    fake_scm_host.add_repo("acct/org/other/svc-x", {"catalog-info.yaml": "x\n"})
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    config = {"integrations": {"harness": [hr.integration_config(host)]}}
    return UrlReaders.default(config, http=hr.http_client(host, sleep=lambda _: None))


def test_project_listing_default_branches_and_missing(host: FakeScmHost, readers: UrlReaders):
    url = hr.browse_url(host, f"{SCOPE}/svc-*", "-", "catalog-info.yaml")
    found = readers.discover(url)
    results = {r.repository: r for r in found}
    assert sorted(results) == [*(f"{SCOPE}/svc-{n}" for n in range(4)), f"{SCOPE}/svc-dev"]
    dev = results[f"{SCOPE}/svc-dev"]
    assert (dev.branch, dev.content()) == ("dev", b"dev\n")
    assert dev.url == hr.browse_url(host, f"{SCOPE}/svc-dev", "dev", "catalog-info.yaml")
    assert found.summary.missing == 1 and found.summary.repositories == 6


def test_pages_kinds_errors(host: FakeScmHost, readers: UrlReaders):
    for n in range(100):  # 108 repositories: two pages of 100
        host.add_repo(f"{SCOPE}/bulk-{n:03d}", {"README.md": "x\n"})
    host.route("GET", r".*/svc-2/\+/raw/.*", lambda r: FakeResponse.text("", status=500))
    url = hr.browse_url(host, f"{SCOPE}/svc-*", "-", "catalog-info.yaml")
    found = readers.discover(url, include_archived=True)
    results = {r.repository: r for r in found}
    assert f"{SCOPE}/svc-old" in results and results[f"{SCOPE}/svc-2"].status == "error"
    assert len(host.requests_to(r"/gateway/code/api/v1/repos$")) == 2
    with pytest.raises(InvalidUrlError):
        readers.discover(f"https://{host.host}/ng/account/acct/module/code/repos/x")


def test_rediscovery_with_state(host: FakeScmHost, readers: UrlReaders):
    url = hr.browse_url(host, f"{SCOPE}/*", "-", "catalog-info.yaml")
    again, results = rediscover(readers, host, url, f"{SCOPE}/svc-3", "name: three\n")
    assert counts(again) == (0, 1, 4, 0)
    assert results[f"{SCOPE}/svc-3"].content() == b"name: three\n"
    raw = host.requests_to(r"/\+/raw/catalog-info\.yaml$")
    assert len(raw) == 6  # one conditional request per listed repository
    assert sum(1 for r in raw if r.headers.get("If-None-Match")) == 5
