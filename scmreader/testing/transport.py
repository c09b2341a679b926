"""Point an HttpClient's ``https://<name>`` traffic at a FakeScmHost over plain HTTP.

Readers whose hosts are fixed (``bitbucket.org``, ``api.bitbucket.org``) or always spoken
to over https (Harness, Azure DevOps) run unchanged against the fake: the request keeps its
https URL everywhere the reader can see it, the fake receives the original ``Host`` header
and ``X-Forwarded-Proto: https`` (as behind a TLS-terminating proxy), and the response
keeps the https URL so relative redirects resolve as they would on the real host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from scmreader.http import HttpClient
    from scmreader.testing.server import FakeScmHost


def https_to_fake(client: HttpClient, routes: Mapping[str, FakeScmHost]) -> HttpClient:
    """Send ``https://<name>/...`` for each ``name`` (host[:port]) in ``routes`` to its fake."""
    for name, target in routes.items():
        client.session.mount(f"https://{name}/", _adapter(target))
    return client


def _adapter(target: FakeScmHost) -> Any:
    from requests.adapters import HTTPAdapter

    class ToFakeHost(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            original = str(request.url)
            parts = urlsplit(original)
            request.headers["Host"] = parts.netloc
            request.headers["X-Forwarded-Proto"] = parts.scheme
            request.url = urlunsplit(("http", target.host, parts.path, parts.query, ""))
            response = super().send(request, *args, **kwargs)
            response.url = original
            return response

    return ToFakeHost(max_retries=0)
