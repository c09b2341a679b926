"""Errors raised by the FakeScmHost testing kit when it is used wrongly.

They sit in the package's own hierarchy (:class:`scmreader.errors.InputError`), so a test
that misuses the kit gets a typed error whose message says what to change.
"""

from __future__ import annotations

from scmreader.errors import InputError


class FakeHostError(InputError):
    """The testing kit was called with an impossible argument or in the wrong state."""


class UnknownRefError(FakeHostError, LookupError):
    """A branch, tag or commit that the fake repository does not have."""


class UnknownPathError(FakeHostError, LookupError):
    """A path that does not exist at the requested commit of a fake repository."""
