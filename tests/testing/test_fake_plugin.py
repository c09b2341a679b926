"""The pytest plugin: fixtures, entry-point registration, cheap import."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import requests

from scmreader.testing import FakeScmHost
from scmreader.testing.server import FakeScmHostFactory


def test_fake_scm_host_is_started_on_loopback(fake_scm_host: FakeScmHost) -> None:
    assert fake_scm_host.running
    assert fake_scm_host.base_url == f"http://127.0.0.1:{fake_scm_host.port}"
    fake_scm_host.serve_file("/ping", "pong")
    assert requests.get(fake_scm_host.url("/ping"), timeout=5).text == "pong"


def test_factory_makes_independent_hosts(fake_scm_host_factory: FakeScmHostFactory) -> None:
    a = fake_scm_host_factory()
    b = fake_scm_host_factory("127.0.0.2", providers=["plain"])
    assert a.running and b.running and a.port != 0 and b.bind == "127.0.0.2"
    assert b.enabled == {"plain": {}} and a.enabled == {}


def _run_pytest(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(source))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:hypothesispytest",
            "-p",
            "no:cacheprovider",
            "test_sample.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_entry_point_provides_fixtures_and_reports_handler_errors(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        """
        import requests
        from scmreader.testing import FakeResponse

        HOSTS = []

        def test_fixture_without_conftest(fake_scm_host):
            HOSTS.append(fake_scm_host)
            fake_scm_host.serve_file("/a", "a")
            assert requests.get(fake_scm_host.url("/a")).text == "a"

        def test_closed_after_the_test():
            assert not HOSTS[0].running

        def test_handler_bug(fake_scm_host):
            def broken(request):
                raise RuntimeError("bug in route")
            fake_scm_host.route("GET", "/b", broken)
            assert requests.get(fake_scm_host.url("/b")).status_code == 500
        """,
    )
    assert "3 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "FakeScmHost route handler raised" in result.stdout
    assert "RuntimeError: bug in route" in result.stdout


def test_plugin_import_is_cheap() -> None:
    code = (
        "import sys, scmreader.testing.pytest_plugin, scmreader.testing; "
        "print(sorted(m for m in ('git', 'http.server', 'scmreader.testing.server') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
