"""Provider emulations for FakeScmHost, one module per provider.

Each module defines ``install(host: FakeScmHost, **options) -> None`` that registers its
routes with ``host.route(...)`` and keeps any state in ``host.state[<provider name>]``.
``host.enable(name)`` imports ``scmreader.testing.routes.<name>`` by name, so adding a
provider needs no edit here or in the server.

Conventions for route modules:

- Route patterns match the whole raw path (percent-encoding kept); use named groups and
  read them decoded from ``request.params``. Return None to let older routes answer.
- Find repositories with ``host.get_repo(full_name)`` (case-insensitive fallback) and
  answer 404 the way the real host does when it is None or a ref/path is unknown
  (``FakeRepo`` raises ``UnknownRefError`` / ``UnknownPathError``, both LookupErrors).
- Build self-links from ``request.base_url`` (the client's Host header), not from the
  bound address, so name-mapped hosts keep their names.
- Serve archives with ``repo.archive_to_file(...)`` (a Path: Content-Length, streamed,
  cached per commit) or ``repo.iter_archive(...)`` (chunked, like codeload); ``paths=``
  and ``subdir=`` cover server-side path filters.
- Faults, the request log and HEAD handling come from the host: do not re-implement them.
"""
