"""Tests for scmreader.urls: the safe parser (reliability cases U01-U14), git web URLs,
link resolution, globs and encodeURIComponent.

Expected values for git URLs, link resolution and is_glob were cross-checked against the
npm packages Backstage uses (git-url-parse 15, is-glob 4.0.3, WHATWG URL in Node 20);
the places where scmreader deliberately differs are marked "deliberate".
"""

from __future__ import annotations

import re
import socket
import urllib.parse

import pytest
import requests
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scmreader.errors import InputError, InvalidUrlError
from scmreader.urls import (
    MAX_DECODE_ROUNDS,
    TRAVERSAL_MESSAGE,
    GitUrl,
    ParsedUrl,
    decode_fully,
    default_scm_resolve_url,
    encode_path,
    encode_uri_component,
    glob_static_prefix,
    is_commit_sha,
    is_glob,
    join_url,
    parse_git_url,
    parse_url,
    reject_traversal,
    remove_dot_segments,
    same_origin,
)


def rejected(url: str, **kwargs: object) -> str:
    """Parse ``url``, expect InvalidUrlError and return its message."""
    with pytest.raises(InvalidUrlError) as info:
        parse_url(url, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


# --- U01-U14: the adversarial URL catalogue -------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com@evil.com/o/r",  # U01: userinfo that looks like the host
        "https://user:tok@github.com/o/r",  # U02
        "https://ghp_abcdef0123456789@github.com/o/r",
        "https://x-access-token:ghs_abc@github.com/o/r.git",
        "https://@github.com/o/r",
        "https://github.com%2F@evil.com/",  # U04 second form: userinfo + '%'
    ],
)
def test_u01_u02_userinfo_is_rejected_without_echoing_it(url: str) -> None:
    message = rejected(url)
    assert "user name or password" in message
    for secret in ("tok", "ghp_", "ghs_", "x-access-token", "user", "evil"):
        assert secret not in message.replace("user name", "")


def test_u02_password_in_port_position_is_not_echoed() -> None:
    # 'https://alice:s3cr3t/' has no '@': the password parses as a port. Still no echo.
    message = rejected("https://alice:s3cr3t/o/r")
    assert "s3cr3t" not in message
    assert "port" in message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080\\@allowed.example.com/x",  # U03, the checked differential
        "https://github.com\\@evil.com/",
        "https:\\\\github.com/o/r",
        "https://github.com\\o/r",
        "https://github.com/o\\..\\r",
    ],
)
def test_u03_backslash_before_the_query_is_rejected(url: str) -> None:
    assert "backslash" in rejected(url)


def test_u03_backslash_in_query_and_fragment_is_encoded_not_rejected() -> None:
    parsed = parse_url("https://github.com/o/r?q=a\\b#c\\d")
    assert parsed.hostname == "github.com"
    assert str(parsed) == "https://github.com/o/r?q=a%5Cb#c%5Cd"


@pytest.mark.parametrize(
    "url",
    ["https://github.com%2eevil.com/x", "https://%67ithub.com/", "https://github.com%00/x"],
)
def test_u04_percent_in_host_is_rejected(url: str) -> None:
    assert "'%'" in rejected(url)


@pytest.mark.parametrize(
    ("url", "hostname"),
    [
        ("https://github.com.evil.com/o/r", "github.com.evil.com"),
        ("https://evilgithub.com/", "evilgithub.com"),
        ("https://a.b.example.com/", "a.b.example.com"),
    ],
)
def test_u05_lookalike_hosts_keep_their_own_name(url: str, hostname: str) -> None:
    parsed = parse_url(url)
    assert parsed.hostname == hostname
    assert not same_origin(parsed, "https://github.com/")


@pytest.mark.parametrize(
    "url",
    [
        "https://GitHub.COM/o/r",
        "HTTPS://github.com/o/r",
        "hTtPs://GITHUB.com:443/o/r",
        "https://github.com:/o/r",
    ],
)
def test_u06_scheme_and_host_are_case_insensitive(url: str) -> None:
    parsed = parse_url(url)
    assert (parsed.scheme, parsed.hostname, parsed.port) == ("https", "github.com", None)
    assert str(parsed) == "https://github.com/o/r"


def test_u06_path_case_is_kept() -> None:
    assert parse_url("https://GitHub.com/Org/Repo").path == "/Org/Repo"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://github.com./o/r", "ends with a dot"),  # U07
        ("https://localhost./", "ends with a dot"),
        ("https://github..com/", "empty label"),
        ("https://.github.com/", "empty label"),
    ],
)
def test_u07_trailing_dot_and_empty_labels_are_rejected(url: str, fragment: str) -> None:
    assert fragment in rejected(url)


def test_u08_cyrillic_lookalike_is_a_different_host_in_idna_form() -> None:
    parsed = parse_url("https://g\u0456thub.com/o/r")  # Cyrillic i
    assert parsed.hostname == "xn--gthub-n2e.com"
    assert not same_origin(parsed, "https://github.com/")
    # The same host written in its ASCII form is the same URL.
    assert parse_url("https://xn--gthub-n2e.com/o/r") == parsed


@pytest.mark.parametrize(
    ("url", "hostname"),
    [
        ("https://b\u00fccher.example/", "xn--bcher-kva.example"),
        ("https://B\u00dcCHER.example/", "xn--bcher-kva.example"),
        ("https://\u4f8b\u3048.jp/x", "xn--r8jz45g.jp"),
    ],
)
def test_u08_unicode_hosts_are_idna_encoded(url: str, hostname: str) -> None:
    assert parse_url(url).hostname == hostname


@pytest.mark.parametrize(
    "url",
    [
        "https://\uff47\uff49\uff54\uff48\uff55\uff42.com/",  # U08 full-width 'github'
        "https://github\u3002com/",  # ideographic full stop
        "https://\uff11\uff12\uff17.0.0.1/",  # full-width digits
        "https://xn--zz.example/",  # broken punycode
        "https://a\u2764b.example/",  # symbol, not allowed by IDNA 2008
    ],
)
def test_u08_invalid_idna_hosts_are_rejected(url: str) -> None:
    rejected(url)


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("https://github.com:443/o/r", None),  # U09: default port normalised away
        ("http://example.com:80/", None),
        ("http://example.com:443/", 443),
        ("https://example.com:80/", 80),
        ("https://ghe.example.com:8443/o/r", 8443),
        ("https://ghe.example.com:1/", 1),
        ("https://ghe.example.com:65535/", 65535),
    ],
)
def test_u09_ports(url: str, port: int | None) -> None:
    assert parse_url(url).port == port


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://github.com:0443/", "leading zeros"),
        ("https://github.com:00443/", "leading zeros"),
        ("https://github.com:65536/", "out of range"),
        ("https://github.com:0/", "out of range"),
        ("https://github.com:99999999999999999999999/", "out of range"),
        ("https://github.com:-1/", "decimal"),
        ("https://github.com:+443/", "decimal"),
        ("https://github.com:443a/", "decimal"),
        ("https://github.com:\u0664\u0664\u0663/", "decimal"),  # Arabic-Indic digits
        ("https://github.com:443:443/", "decimal"),
        ("https://[::1]x/", "after the URL's IPv6 host"),
    ],
)
def test_u09_bad_ports_are_rejected(url: str, fragment: str) -> None:
    assert fragment in rejected(url)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",  # U10
        "ftp://github.com/o/r",
        "gopher://127.0.0.1:6379/_",
        "data:text/plain,hi",
        "javascript:alert(1)",
        "git+ssh://git@github.com/o/r.git",
        "ext::sh -c touch% /tmp/pwned",
        "git@github.com:o/r.git",
        "//github.com/o/r",
        "/o/r/blob/main/x",
        "github.com/o/r",
    ],
)
def test_u10_other_schemes_and_relative_urls_are_rejected(url: str) -> None:
    rejected(url)


def test_u10_scheme_list_is_honoured() -> None:
    assert "https" in rejected("http://github.com/", schemes=("https",))
    assert parse_url("HTTP://github.com/", schemes=("HTTPS", "HTTP")).scheme == "http"
    assert parse_url("s3://bucket/key", schemes=("s3",)).hostname == "bucket"


@pytest.mark.parametrize(
    "url",
    ["https:github.com/o/r", "https:/github.com/o/r", "https:///github.com/o/r", "https://"],
)
def test_u10_missing_or_extra_slashes_are_rejected(url: str) -> None:
    rejected(url)


@pytest.mark.parametrize(
    ("path", "normalized"),
    [
        ("/o/r/blob/main/../../../other/repo/blob/main/secret", "/o/other/repo/blob/main/secret"),
        ("/o/r/blob/main/%2e%2e/%2E%2E/x", "/o/r/x"),
        ("/o/r/blob/main/.%2E/x", "/o/r/blob/x"),
        ("/a/./b/%2e/c", "/a/b/c"),
        ("/a/b/..", "/a/"),
        ("/../../x", "/x"),
        ("/%7Euser/%41%62c", "/~user/Abc"),
        ("/a%2Fb/%2f..%2f", "/a%2Fb/%2F..%2F"),
        ("/a%c3%bc", "/a%C3%BC"),
    ],
)
def test_u11_normalized_path_removes_dot_segments(path: str, normalized: str) -> None:
    parsed = parse_url(f"https://github.com{path}")
    assert parsed.path == path  # the raw path is kept as given
    assert parsed.normalized_path == normalized


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/r/blob/main/../../../other/repo/blob/main/secret",  # U11
        "https://github.com/o/r/blob/main/%2e%2e/x",
        "https://github.com/o/r/blob/main/.%2E/x",
        "https://github.com/o/r/blob/main/a%2F..%2F..%2Fetc",  # U12
    ],
)
def test_u11_u12_dot_segments_in_git_urls_are_rejected(url: str) -> None:
    with pytest.raises(InvalidUrlError, match=re.escape(TRAVERSAL_MESSAGE)):
        parse_git_url(url)


def test_u12_encoded_slashes_are_decoded_exactly_once() -> None:
    assert parse_git_url("https://github.com/o/r/blob/main/a%2Fb.yaml").filepath == "a/b.yaml"
    assert parse_git_url("https://github.com/o/r/blob/main/a%252Fb.yaml").filepath == "a%2Fb.yaml"
    gitlab = parse_git_url("https://gitlab.com/group%2Fsub%2Frepo/-/blob/main/x.yaml")
    assert (gitlab.owner, gitlab.name, gitlab.full_name) == ("group/sub", "repo", "group/sub/repo")


def test_u13_fragment_is_kept_but_never_part_of_the_origin() -> None:
    parsed = parse_url("https://github.com/o/r/blob/main/f.yaml#@evil.com")
    assert parsed.hostname == "github.com"
    assert parsed.fragment == "@evil.com"
    assert str(parsed.without_fragment()) == "https://github.com/o/r/blob/main/f.yaml"


def test_u13_query_is_kept_verbatim_and_hidden_from_repr() -> None:
    parsed = parse_url("https://github.com/o/r/blob/main/f.yaml?ref=x&access_token=y'z")
    assert parsed.query == "ref=x&access_token=y'z"
    assert str(parsed).endswith("?ref=x&access_token=y'z")
    assert "access_token" not in repr(parsed)
    assert repr(parsed) == "ParsedUrl('https://github.com/o/r/blob/main/f.yaml?<query>')"


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/r/blob/main/f.yaml\x00",  # U13: NUL
        "https://github.com/o/r\x00/blob/main/f.yaml",
        "https://github.com/o/r?ref=a\x00b",
        " https://github.com/x",  # U14
        "https://github.com\t/x",
        "https://github.com/x\n",
        "https://github.com/x\r\nHost: evil.com",
        "\thttps://github.com/x",
        "https://github.com/a b",
        "https://github.com/\u00a0x",  # no-break space
        "https://github.com/\u2028x",  # line separator
        "https://github.com/\u202ex",  # right-to-left override
        "https://git\u00adhub.com/",  # soft hyphen, which WHATWG would silently drop
        "https://github.com/\ufeff",
        "https://github.com/x\x7f",
    ],
)
def test_u13_u14_whitespace_and_control_characters_are_rejected(url: str) -> None:
    message = rejected(url)
    assert "whitespace or an invisible control character" in message
    assert "position" in message


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/r/blob/%00/x",
        "https://github.com/o/r/blob/main/a%0Ab.yaml",
        "https://bitbucket.example.com/projects/P/repos/r/browse/x?at=ma%00in",
    ],
)
def test_u13_encoded_control_characters_in_git_urls_are_rejected(url: str) -> None:
    parse_url(url)  # a plain URL may carry them encoded ...
    with pytest.raises(InvalidUrlError, match="control character"):
        parse_git_url(url)  # ... a repository path or ref never does


# --- parse_url: other rules and the canonical form ------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://github.com", "https://github.com/"),
        ("https://github.com?x=1", "https://github.com/?x=1"),
        ("https://github.com/o/r?", "https://github.com/o/r"),
        ("https://github.com/o/r#", "https://github.com/o/r"),
        ("https://github.com/o/r#a#b", "https://github.com/o/r#a%23b"),
        ("https://github.com/a/%7e/%2E%2e/b", "https://github.com/a/%7e/%2E%2e/b"),
        ("https://github.com/\u00fc/x?q=\u00e4", "https://github.com/%C3%BC/x?q=%C3%A4"),
        ('https://github.com/a"<>{}|^`[]', "https://github.com/a%22%3C%3E%7B%7D%7C%5E%60%5B%5D"),
        ("https://github.com/a:b@c!$&'()*+,;=", "https://github.com/a:b@c!$&'()*+,;="),
        ("http://[0:0:0:0:0:0:0:1]:8080/x", "http://[::1]:8080/x"),
        ("https://[2001:DB8::1]/", "https://[2001:db8::1]/"),
        ("https://127.0.0.1:8443/x", "https://127.0.0.1:8443/x"),
        ("https://my_host-1.internal/", "https://my_host-1.internal/"),
    ],
)
def test_canonical_string(url: str, canonical: str) -> None:
    parsed = parse_url(url)
    assert str(parsed) == canonical
    assert parse_url(canonical) == parsed


@pytest.mark.parametrize(
    ("url", "host", "origin"),
    [
        ("https://ghe.example.com:8443/a", "ghe.example.com:8443", "https://ghe.example.com:8443"),
        ("https://github.com:443/a", "github.com", "https://github.com"),
        ("http://[::1]:3000/", "[::1]:3000", "http://[::1]:3000"),
        ("http://[::1]/", "[::1]", "http://[::1]"),
    ],
)
def test_host_and_origin(url: str, host: str, origin: str) -> None:
    parsed = parse_url(url)
    assert parsed.host == host
    assert parsed.origin == origin


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/",  # decimal IPv4: inet_aton would connect to 127.0.0.1
        "https://0x7f.0.0.1/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://127.0.0.01/",
        "https://256.0.0.1/",
        "https://example.123/",
        "https://foo.0x/",
    ],
)
def test_non_canonical_numeric_hosts_are_rejected(url: str) -> None:
    assert "IPv4" in rejected(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://[fe80::1%25eth0]/",
        "https://[::1/",
        "https://[not-an-ip]/",
        "https://[1.2.3.4]/",
        "https://exa mple.com/",
        "https://exa*mple.com/",
        "https://exa!mple.com/",
        "https://a[b].com/",
        "https://" + "a" * 64 + ".com/",
        "https://" + ".".join(["abcdefghij"] * 24) + ".com/",
    ],
)
def test_malformed_hosts_are_rejected(url: str) -> None:
    rejected(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/a%zz",
        "https://github.com/100%",
        "https://github.com/?q=%",
        "https://x/#%4",
    ],
)
def test_malformed_percent_escapes_are_rejected(url: str) -> None:
    assert "%25" in rejected(url)


@pytest.mark.parametrize("value", ["", None, b"https://github.com/", "x" * 70000])
def test_empty_wrong_type_or_huge_input_is_rejected(value: object) -> None:
    with pytest.raises(InvalidUrlError):
        parse_url(value)  # type: ignore[arg-type]


def test_invalid_url_error_is_an_input_error() -> None:
    with pytest.raises(InputError):
        parse_url("ftp://x/")
    with pytest.raises(ValueError):
        parse_url("ftp://x/")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://github.com/a", "https://GITHUB.com:443/b?c#d", True),
        ("https://github.com/", "http://github.com/", False),
        ("https://github.com/", "https://github.com:8443/", False),
        ("https://github.com/", "https://api.github.com/", False),
        ("http://127.0.0.1:80/", "http://127.0.0.1/x", True),
        ("http://127.0.0.1/", "http://127.0.0.2/", False),
    ],
)
def test_same_origin(a: str, b: str, same: bool) -> None:
    assert same_origin(a, b) is same
    assert same_origin(parse_url(b), a) is same


def test_same_origin_rejects_unsafe_urls() -> None:
    with pytest.raises(InvalidUrlError):
        same_origin("https://github.com/", "https://u:p@github.com/")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a/b/c/./../../g", "/a/g"),  # RFC 3986 5.2.4 example
        ("/a/b/c/../..", "/a/"),
        ("/.", "/"),
        ("/..", "/"),
        ("/a//b/../c", "/a//c"),
        ("/a/...", "/a/..."),
        ("/a/..b/c", "/a/..b/c"),
        ("/a/b/%2E", "/a/b/"),
    ],
)
def test_remove_dot_segments(path: str, expected: str) -> None:
    assert remove_dot_segments(path) == expected


# --- parse_git_url --------------------------------------------------------------------

_FIELDS = ("owner", "name", "full_name", "ref", "filepathtype", "filepath")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://github.com/backstage/backstage/blob/master/catalog-info.yaml",
            (
                "backstage",
                "backstage",
                "backstage/backstage",
                "master",
                "blob",
                "catalog-info.yaml",
            ),
        ),
        (  # ref is only the first segment after the type (Backstage's documented behaviour)
            "https://github.com/o/r/blob/feature/x/c.yaml",
            ("o", "r", "o/r", "feature", "blob", "x/c.yaml"),
        ),
        ("https://github.com/o/r/tree/main/docs/", ("o", "r", "o/r", "main", "tree", "docs")),
        ("https://github.com/o/r/raw/main/c.yaml", ("o", "r", "o/r", "main", "raw", "c.yaml")),
        ("https://github.com/o/r/edit/main/c.yaml", ("o", "r", "o/r", "main", "edit", "c.yaml")),
        ("https://github.com/o/r/tree/main", ("o", "r", "o/r", "main", "tree", "")),
        ("https://github.com/o/r/blob", ("o", "r", "o/r", "", "", "")),
        ("https://github.com/o/r", ("o", "r", "o/r", "", "", "")),
        ("https://github.com/o/r/", ("o", "r", "o/r", "", "", "")),
        ("https://github.com/o/r.git", ("o", "r", "o/r", "", "", "")),
        ("https://github.com/backstage", ("", "backstage", "backstage", "", "", "")),
        ("https://github.com", ("", "", "", "", "", "")),
        ("https://github.com/o/r/commit/abc123", ("o", "r", "o/r", "", "", "")),
        ("https://github.com/o/r/issues/12", ("o", "r", "o/r", "", "", "")),
        (
            "https://github.com/o/r/blob/main/.github/workflows/ci.yml",
            ("o", "r", "o/r", "main", "blob", ".github/workflows/ci.yml"),
        ),
        (
            "https://github.com/o/r/tree/main/blob/x",
            ("o", "r", "o/r", "main", "tree", "blob/x"),
        ),
        (
            "https://github.com/o/r/blob/main/a%20b%23c.yaml",
            ("o", "r", "o/r", "main", "blob", "a b#c.yaml"),
        ),
        (
            "https://GitHub.com/O/R/blob/Main/X.yaml",
            ("O", "R", "O/R", "Main", "blob", "X.yaml"),
        ),
        (
            "https://ghe.example.com:8443/org/repo/blob/v1.2.3/catalog/a.yaml",
            ("org", "repo", "org/repo", "v1.2.3", "blob", "catalog/a.yaml"),
        ),
        (
            "https://gitlab.com/group/repo/-/blob/main/path/to/file.yaml",
            ("group", "repo", "group/repo", "main", "blob", "path/to/file.yaml"),
        ),
        (
            "https://gitlab.com/groupA/teams/teamA/subgroupA/repoA/-/blob/branch/filepath",
            (
                "groupA/teams/teamA/subgroupA",
                "repoA",
                "groupA/teams/teamA/subgroupA/repoA",
                "branch",
                "blob",
                "filepath",
            ),
        ),
        (
            "https://gitlab.com/g/sub/p/-/tree/main/docs",
            ("g/sub", "p", "g/sub/p", "main", "tree", "docs"),
        ),
        (
            "https://gitlab.com/g/sub/p/-/raw/main/a.md",
            ("g/sub", "p", "g/sub/p", "main", "raw", "a.md"),
        ),
        (  # unscoped (pre /-/) GitLab form
            "https://gitlab.com/g/sub/p/blob/main/a/b.md",
            ("g/sub", "p", "g/sub/p", "main", "blob", "a/b.md"),
        ),
        (  # a subgroup project called 'raw': 'blob' wins over 'raw'
            "https://gitlab.com/g/sub/raw/blob/main/x",
            ("g/sub", "raw", "g/sub/raw", "main", "blob", "x"),
        ),
        (
            "https://gitlab.com/g/r/-/blob/feat%2Bx%26y/dir/my%20file.yaml",
            ("g", "r", "g/r", "feat+x&y", "blob", "dir/my file.yaml"),
        ),
        (
            "https://gitlab.example.com/gitlab/g/r/-/blob/main/a.yaml",
            ("gitlab/g", "r", "gitlab/g/r", "main", "blob", "a.yaml"),
        ),
        (
            "https://bitbucket.org/orgname/reponame/src/master/file.yaml",
            ("orgname", "reponame", "orgname/reponame", "master", "src", "file.yaml"),
        ),
        (
            "https://gitea.example.com/o/r/src/branch/main/docs/x.md",
            ("o", "r", "o/r", "branch", "src", "main/docs/x.md"),
        ),
        (
            "https://bitbucket.company.com/projects/PROJ/repos/repo/browse/docs/index.md"
            "?at=refs%2Fheads%2Ffeat%26x",
            ("PROJ", "repo", "PROJ/repo", "refs/heads/feat&x", "browse", "docs/index.md"),
        ),
        (
            "https://bitbucket.company.com/projects/PROJ/repos/repo/browse?at=main",
            ("PROJ", "repo", "PROJ/repo", "main", "browse", ""),
        ),
        (
            "https://bitbucket.company.com/users/me/repos/repo/browse/x.yaml",
            ("~me", "repo", "~me/repo", "", "browse", "x.yaml"),
        ),
        (  # deliberate: Bitbucket Server file paths are decoded like every other filepath
            "https://bitbucket.company.com/projects/P/repos/r/raw/my%20docs/x.md",
            ("P", "r", "P/r", "", "raw", "my docs/x.md"),
        ),
        (
            "https://bitbucket.company.com/scm/proj/repo.git",
            ("proj", "repo", "proj/repo", "", "", ""),
        ),
        (
            "https://bitbucket.company.com/projectname/reponame/src/main/file.yaml",
            ("projectname", "reponame", "projectname/reponame", "main", "src", "file.yaml"),
        ),
        (  # deliberate: git-url-parse strips '.git' off the file path too (-> 'x')
            "https://github.com/o/r/blob/main/x.git",
            ("o", "r", "o/r", "main", "blob", "x.git"),
        ),
        (  # deliberate: git-url-parse reads this as Bitbucket Server owner 'x', name 'y'
            "https://github.com/o/r/blob/main/projects/x/repos/y/f",
            ("o", "r", "o/r", "main", "blob", "projects/x/repos/y/f"),
        ),
    ],
)
def test_parse_git_url(url: str, expected: tuple[str, ...]) -> None:
    parsed = parse_git_url(url)
    assert tuple(getattr(parsed, f) for f in _FIELDS) == expected
    assert parsed.organization == parsed.owner


def test_git_url_host_fields() -> None:
    parsed = parse_git_url("https://GHE.example.com:8443/o/r/blob/main/a.yaml?x=1#L3")
    assert parsed.protocol == "https"
    assert parsed.resource == "ghe.example.com"
    assert parsed.host == "ghe.example.com:8443"
    assert parsed.href == "https://ghe.example.com:8443/o/r/blob/main/a.yaml?x=1#L3"
    assert "x=1" not in repr(parsed)
    default_port = parse_git_url("https://github.com:443/o/r")
    assert (default_port.host, default_port.href) == ("github.com", "https://github.com/o/r")


def test_git_url_is_a_frozen_value() -> None:
    a = parse_git_url("https://github.com/o/r/blob/main/a.yaml")
    assert a == parse_git_url("https://GITHUB.com:443/o/r/blob/main/a.yaml")
    assert isinstance(a, GitUrl)
    with pytest.raises(AttributeError):
        a.ref = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/r/blob/main/%2e%2e%2f%2e%2e%2fuser/repos",  # spec 1.1 example
        "https://github.com/o/r/blob/main/%2E%2E%2Fsecret",
        "https://github.com/o/r/blob/main/%252e%252e/x",  # double-encoded
        "https://github.com/o/r/blob/main/%25252e%25252e%25252fx",  # triple-encoded
        "https://github.com/o/r/blob/main/docs/%2e",
        "https://github.com/o/r/blob/main/..",
        "https://github.com/o/r/blob/main/a/./b",
        "https://github.com/o/r/blob/main/..%5C..%5Cx",  # backslash separators
        "https://github.com/o/r/blob/main/a%5C.%5Cb",
        "https://github.com/o/r/blob/main/%2e%2e%2fx%25zz",
        # Backstage's decode loop stops at '%zz' before it reveals '..' and accepts this one
        "https://github.com/o/r/blob/main/%252e%252e%252fx%25zz",
        "https://github.com/o/%2e%2e/blob/main/x",  # outside the filepath too
        "https://github.com/o/r/tree/%2e%2e/x",
        "https://gitlab.com/g/%2e%2e/r/-/blob/main/x",
        "https://bitbucket.company.com/projects/P/repos/r/browse/a/%2e%2e/b?at=main",
    ],
)
def test_path_traversal_is_rejected(url: str) -> None:
    with pytest.raises(InvalidUrlError) as info:
        parse_git_url(url)
    assert str(info.value) == TRAVERSAL_MESSAGE


@pytest.mark.parametrize(
    ("url", "filepath"),
    [
        ("https://github.com/o/r/blob/main/..foo/bar..", "..foo/bar.."),
        ("https://github.com/o/r/blob/main/.../x", ".../x"),
        ("https://github.com/o/r/blob/main/%2e%2e%2e", "..."),
        ("https://github.com/o/r/blob/main/.well-known/x", ".well-known/x"),
        ("https://github.com/o/r/blob/main/a%2e%2eb", "a..b"),
        ("https://github.com/o/r/blob/main/%C3%BCber.md", "\u00fcber.md"),
        ("https://github.com/o/r/blob/main/100%25.md", "100%.md"),
        ("https://github.com/o/r/blob/main/a%3Fb%26c.md", "a?b&c.md"),
    ],
)
def test_safe_encodings_are_accepted(url: str, filepath: str) -> None:
    assert parse_git_url(url).filepath == filepath


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/o/r/blob/main/%ff.md",  # not UTF-8
        "https://user:pw@github.com/o/r",
        "git@github.com:o/r.git",
        "ssh://git@github.com/o/r.git",
    ],
)
def test_parse_git_url_rejects_unsafe_or_unsupported_urls(url: str) -> None:
    with pytest.raises(InvalidUrlError):
        parse_git_url(url)


# --- default_scm_resolve_url and join_url ---------------------------------------------

_BASE = "https://unknown.example.com/a/b/blob/main/folder/a.yaml?x=1"


@pytest.mark.parametrize(
    ("url", "base", "line", "expected"),
    [
        # integration-spec 1.3 (run) examples
        ("/b.yaml", _BASE, None, "https://unknown.example.com/a/b/blob/main/b.yaml?x=1"),
        ("c.yaml", _BASE, 3, "https://unknown.example.com/a/b/blob/main/folder/c.yaml?x=1#L3"),
        ("https://x.com/y", _BASE, None, "https://x.com/y"),
        ("https://x.com/y", "not even a url", 5, "https://x.com/y"),
        # 1.4 registry fallback example
        (
            "c.yaml",
            "https://unknown.example.com/x/y/z.yaml",
            None,
            "https://unknown.example.com/x/y/c.yaml",
        ),
        # GitHub examples of 2.2, before replaceGithubUrlType
        (
            "./b.yaml",
            "https://github.com/a/b/blob/main/folder/a.yaml",
            None,
            "https://github.com/a/b/blob/main/folder/b.yaml",
        ),
        (
            "/b.yaml",
            "https://github.com/a/b/blob/main/folder/a.yaml",
            None,
            "https://github.com/a/b/blob/main/b.yaml",
        ),
        (
            "b.yaml",
            "https://github.com/a/b/blob/main/folder/a.yaml",
            14,
            "https://github.com/a/b/blob/main/folder/b.yaml#L14",
        ),
        (
            "../c/d.yaml",
            "https://github.com/a/b/blob/main/folder/sub/a.yaml",
            None,
            "https://github.com/a/b/blob/main/folder/c/d.yaml",
        ),
        # GitLab 3.5
        (
            "../other/x.md",
            "https://gitlab.com/g/r/-/blob/main/docs/a/index.md",
            2,
            "https://gitlab.com/g/r/-/blob/main/docs/other/x.md#L2",
        ),
        (
            "/x.md",
            "https://gitlab.com/g/sub/r/-/blob/main/docs/a/index.md",
            None,
            "https://gitlab.com/g/sub/r/-/blob/main/x.md",
        ),
        # Bitbucket Server 6.4 and Cloud 5.3 (before their own fragment rewrites)
        (
            "./b.yaml",
            "https://bb.example.com/projects/P/repos/r/browse/a/c.yaml?at=main",
            None,
            "https://bb.example.com/projects/P/repos/r/browse/a/b.yaml?at=main",
        ),
        (
            "/b.yaml",
            "https://bb.example.com/projects/P/repos/r/browse/a/c.yaml?at=main",
            None,
            "https://bb.example.com/projects/P/repos/r/browse/b.yaml?at=main",
        ),
        (
            "./b.yaml",
            "https://bitbucket.org/o/r/src/main/a/c.yaml",
            42,
            "https://bitbucket.org/o/r/src/main/a/b.yaml#L42",
        ),
        # repo-root-absolute on bare repo and ref-only bases
        ("/x.yaml", "https://github.com/o/r", None, "https://github.com/o/r/x.yaml"),
        ("/x.yaml", "https://github.com/o/r/", None, "https://github.com/o/r/x.yaml"),
        (
            "/x.yaml",
            "https://github.com/o/r/tree/main/",
            None,
            "https://github.com/o/r/tree/main/x.yaml",
        ),
        # '//' is a path under the repo root, never another host (Backstage does the same)
        ("//evil.com/x", _BASE, None, "https://unknown.example.com/a/b/blob/main//evil.com/x?x=1"),
        # deliberate: '\\host' is read as '//host' first, so it cannot switch host either
        (
            "\\\\evil.com\\x",
            _BASE,
            None,
            "https://unknown.example.com/a/b/blob/main//evil.com/x?x=1",
        ),
        ("..\\c.yaml", _BASE, None, "https://unknown.example.com/a/b/blob/main/c.yaml?x=1"),
        # '..' above the root stays at the root; '.', './', '' and query-only references
        ("../../../../../../z", _BASE, None, "https://unknown.example.com/z?x=1"),
        ("./", _BASE, None, "https://unknown.example.com/a/b/blob/main/folder/?x=1"),
        (".", _BASE, None, "https://unknown.example.com/a/b/blob/main/folder/?x=1"),
        ("..", _BASE, None, "https://unknown.example.com/a/b/blob/main/?x=1"),
        ("", _BASE + "#frag", None, "https://unknown.example.com/a/b/blob/main/folder/a.yaml?x=1"),
        ("?q=2", _BASE, None, "https://unknown.example.com/a/b/blob/main/folder/a.yaml?x=1"),
        ("#sec", _BASE, None, "https://unknown.example.com/a/b/blob/main/folder/a.yaml?x=1#sec"),
        ("sub/", _BASE, None, "https://unknown.example.com/a/b/blob/main/folder/sub/?x=1"),
        ("%2e%2e/x", _BASE, None, "https://unknown.example.com/a/b/blob/main/x?x=1"),
        (
            "c d.yaml",
            _BASE,
            None,
            "https://unknown.example.com/a/b/blob/main/folder/c%20d.yaml?x=1",
        ),
        (" c.yaml\n", _BASE, None, "https://unknown.example.com/a/b/blob/main/folder/c.yaml?x=1"),
        (
            "c.yaml?y=2#h",
            _BASE,
            None,
            "https://unknown.example.com/a/b/blob/main/folder/c.yaml?x=1#h",
        ),
        ("c.yaml#h", _BASE, 7, "https://unknown.example.com/a/b/blob/main/folder/c.yaml?x=1#L7"),
        ("c.yaml", _BASE, 0, "https://unknown.example.com/a/b/blob/main/folder/c.yaml?x=1"),
        # base's own fragment survives a repo-root-absolute link (Backstage starts from href)
        ("/b.yaml", _BASE + "#L5", None, "https://unknown.example.com/a/b/blob/main/b.yaml?x=1#L5"),
        ("mailto:a@b.example", _BASE, None, "mailto:a@b.example"),
        ("HTTPS://Other.example/x", _BASE, None, "HTTPS://Other.example/x"),
    ],
)
def test_default_scm_resolve_url(url: str, base: str, line: int | None, expected: str) -> None:
    assert default_scm_resolve_url(url=url, base=base, line_number=line) == expected


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("c.yaml", "not a url"),
        ("c.yaml", "https://u:p@github.com/o/r/blob/main/a.yaml"),
        ("/c.yaml", "https://github.com/o/r/blob/main/%2e%2e%2fx/a.yaml"),
        ("https:", _BASE),
        ("https://", _BASE),
    ],
)
def test_default_scm_resolve_url_errors(url: str, base: str) -> None:
    with pytest.raises(InvalidUrlError):
        default_scm_resolve_url(url=url, base=base)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("/x/y", "https://h.example/x/y"),
        ("../z#q", "https://h.example/a/z#q"),
        ("?y=2", "https://h.example/a/b/c.yaml?y=2"),
        ("", "https://h.example/a/b/c.yaml?x=1"),
        ("#f", "https://h.example/a/b/c.yaml?x=1#f"),
        ("//other.example/p?q", "https://other.example/p?q"),
        ("\\\\other.example\\p", "https://other.example/p"),
        ("http://elsewhere.example/", "http://elsewhere.example/"),
        ("/../../etc/passwd", "https://h.example/etc/passwd"),
    ],
)
def test_join_url_follows_whatwg(reference: str, expected: str) -> None:
    assert join_url("https://h.example/a/b/c.yaml?x=1#frag", reference) == expected


def test_join_url_normalises_the_base_path() -> None:
    assert join_url(parse_url("https://h.example/a/%2e%2e/b/c"), "") == "https://h.example/b/c"


# --- globs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "*.js",
        "!*.js",
        "!foo",
        "**/abc.js",
        "abc/*.js",
        "abc/(aaa|bbb).js",
        "abc/[a-z].js",
        "abc/{a,b}.js",
        "abc/@(a).js",
        "abc/!(a).js",
        "abc/+(a).js",
        "abc/*(a).js",
        "abc/?(a).js",
        "a.?",
        "]?",
        "a/(?!x)b",
        "a/(?:x)",
        "a/(?=x)",
        "docs/**/index.*",
        "catalog/*/catalog-info.yaml",
        "a\\{b,c}*",
    ],
)
def test_is_glob_true(pattern: str) -> None:
    assert is_glob(pattern) is True


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "abc.js",
        "abc/def/ghi.js",
        "catalog-info.yaml",
        "\\!foo.js",
        "\\*.js",
        "abc/\\*.js",
        "abc/\\(aaa|bbb).js",
        "abc/\\[a-z].js",
        "abc/\\{a,b}.js",
        "abc/\\@(a).js",
        "abc/@.js",
        "abc/+.js",
        "abc/?.js",
        "file?.yaml",  # strict mode: a lone '?' is not enough
        "(|)",
        "[]",
        "{}",
        "a\\{b,c}",
        "a[\\]]",
        "my docs (old)/x.md",
    ],
)
def test_is_glob_false(pattern: str) -> None:
    assert is_glob(pattern) is False


def test_is_glob_non_string_is_false() -> None:
    assert is_glob(None) is False  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("catalog/foo/*.yaml", "catalog/foo"),
        ("**/index.*", ""),
        ("docs/**/index.*", "docs"),
        ("a/{b,c}/d", "a"),
        ("a/b/c.yaml", "a/b"),
        ("*.yaml", ""),
        ("/docs/*.md", "docs"),
        ("./docs//api/*.md", "docs/api"),
        ("a/../b/*.md", "a"),
        ("!a/b/*.md", ""),
        ("a/b?/c.md", "a"),
        ("a/[xy]/c.md", "a"),
        ("a/@(x)/c.md", "a"),
        ("a/my (old) docs/c.md", "a"),
        ("a/\\*lit/*.md", "a/*lit"),
        ("services/*/catalog-info.yaml", "services"),
    ],
)
def test_glob_static_prefix(pattern: str, prefix: str) -> None:
    assert glob_static_prefix(pattern) == prefix


# --- encode_uri_component -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("group/sub/repo", "group%2Fsub%2Frepo"),
        ("path/to/file.yaml", "path%2Fto%2Ffile.yaml"),
        ("my file.yaml", "my%20file.yaml"),
        ("feat+x&y=z?#", "feat%2Bx%26y%3Dz%3F%23"),
        ("-_.!~*'()", "-_.!~*'()"),
        ("\u00fcber/\u20ac", "%C3%BCber%2F%E2%82%AC"),
        ("100%", "100%25"),
        ("\U0001f600", "%F0%9F%98%80"),
        ("", ""),
    ],
)
def test_encode_uri_component(text: str, encoded: str) -> None:
    assert encode_uri_component(text) == encoded


def test_encode_uri_component_rejects_lone_surrogates() -> None:
    with pytest.raises(InvalidUrlError):
        encode_uri_component("\ud800")


# --- the shared path helpers: reject_traversal, decode_fully, encode_path, is_commit_sha ---


def nested(text: str, levels: int) -> str:
    """``text`` percent-encoded ``levels`` times over (every round changes it)."""
    for _ in range(levels):
        text = urllib.parse.quote(text, safe="")
    return text


@pytest.mark.parametrize(
    "path",
    [
        "..", ".", "/a/../b", "/a/./b", "a\\..\\b", "/a/%2e%2e/b", "/a/%2E./b", "/a/%252e%252e/b",
        "a%2F..%2Fb", "a%5C..%5Cb", "a%255C..%255Cb", "%2e", "/x/..", "../x",
        "%252e%252e%252fx%25zz",  # Backstage's loop stops at %zz; ours decodes past it
        "/\udcff/%2e%2e",  # a non-UTF-8 byte earlier in the path does not stop the check
        nested("/a/../b", MAX_DECODE_ROUNDS),
    ],
)  # fmt: skip
def test_reject_traversal_refuses_dot_segments_however_encoded(path: str) -> None:
    with pytest.raises(InvalidUrlError) as info:
        reject_traversal(path)
    assert str(info.value) == TRAVERSAL_MESSAGE


@pytest.mark.parametrize(
    ("path", "decoded"),
    [
        ("", ""),
        ("/a/b", "/a/b"),
        ("/a/..b/c", "/a/..b/c"),
        ("/a/b../...", "/a/b../..."),
        ("/.well-known/x", "/.well-known/x"),
        ("a%2Fb%20c", "a/b c"),
        ("a%252Fb", "a/b"),
        ("100%25", "100%"),
        ("%zz/%2", "%zz/%2"),
        ("%ff/x", "\udcff/x"),  # not UTF-8: kept as a surrogate escape, nothing raised
        ("%C3%BCber", "\u00fcber"),
        (nested("/a b/c", MAX_DECODE_ROUNDS), "/a b/c"),
    ],
)
def test_reject_traversal_returns_the_fully_decoded_path(path: str, decoded: str) -> None:
    assert reject_traversal(path) == decoded
    assert decode_fully(path) == decoded


def test_reject_traversal_names_what_was_checked() -> None:
    with pytest.raises(InvalidUrlError) as info:
        reject_traversal("/a/%2e%2e", what="the archive entry 'x'")
    assert str(info.value) == (
        "Invalid SCM URL: path traversal is not allowed in the archive entry 'x'"
    )


def test_decoding_is_bounded_and_over_deep_paths_are_refused() -> None:
    assert decode_fully(nested("/a b", MAX_DECODE_ROUNDS)) == "/a b"
    assert decode_fully(nested("/a b", MAX_DECODE_ROUNDS + 1)) is None
    with pytest.raises(InvalidUrlError, match=f"more than {MAX_DECODE_ROUNDS} levels deep"):
        reject_traversal(nested("/a b", MAX_DECODE_ROUNDS + 1))


def test_a_64k_url_of_nested_escapes_is_refused_after_a_bounded_number_of_passes() -> None:
    # Each decoding pass strips one '25' here: an unbounded loop needed ~21,000 passes.
    path = "%" + "25" * ((65536 - 60) // 2) + "2e%2e/x"
    url = f"https://github.com/o/r/blob/main/{path}"
    assert len(url) <= 65536
    calls = 0
    real_unquote = urllib.parse.unquote

    def counting_unquote(text: str, encoding: str = "utf-8", errors: str = "replace") -> str:
        nonlocal calls
        calls += 1
        return real_unquote(text, encoding, errors)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("scmreader.urls._paths.unquote", counting_unquote)
        with pytest.raises(InvalidUrlError, match="levels deep"):
            parse_git_url(url)
    assert calls == MAX_DECODE_ROUNDS + 1


@settings(max_examples=300)
@given(
    st.lists(
        st.text(st.characters(codec="utf-8", exclude_characters="/\\%"), min_size=1),
        min_size=1,
        max_size=5,
    ).filter(lambda parts: not any(p in (".", "..") for p in parts)),
    st.integers(min_value=0, max_value=MAX_DECODE_ROUNDS),
)
def test_property_reject_traversal_undoes_up_to_the_bound_of_encodings(
    parts: list[str], levels: int
) -> None:
    path = "/".join(parts)
    assert reject_traversal(nested(path, levels)) == path


@given(st.text(max_size=30))
def test_property_reject_traversal_never_returns_a_dot_segment(text: str) -> None:
    try:
        decoded = reject_traversal(text)
    except InvalidUrlError:
        return
    assert not {".", ".."} & set(re.split(r"[/\\]", decoded))
    assert decoded == decode_fully(decoded)


@pytest.mark.parametrize(
    ("path", "keep", "encoded"),
    [
        ("a/b c/d", "", "a/b%20c/d"),
        ("docs/\u00fcber.md", "", "docs/%C3%BCber.md"),
        ("a?b#c%d/e", "", "a%3Fb%23c%25d/e"),
        ("feat+x&y=z:@$,;", "", "feat%2Bx%26y%3Dz%3A%40%24%2C%3B"),
        ("feat+x&y=z:@$,;", "$&+,;=:@", "feat+x&y=z:@$,;"),
        ("a?b#c%d e", "$&+,;=:@", "a%3Fb%23c%25d%20e"),  # keep never lets these through
        ("/lead/and/trail/", "", "/lead/and/trail/"),
        ("", "", ""),
    ],
)
def test_encode_path(path: str, keep: str, encoded: str) -> None:
    assert encode_path(path, keep=keep) == encoded


@given(st.text(max_size=40), st.sampled_from(["", "$&+,;=:@"]))
def test_property_encode_path_keeps_slashes_and_round_trips(path: str, keep: str) -> None:
    try:
        encoded = encode_path(path, keep=keep)
    except InvalidUrlError:
        return
    assert encoded.count("/") == path.count("/")
    assert urllib.parse.unquote(encoded, errors="strict") == path
    for segment in encoded.split("/"):
        assert "?" not in segment and "#" not in segment


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7911bbf080089e7a36f407e65304eec9c0991d7d", True),
        ("7911BBF080089E7A36F407E65304EEC9C0991D7D", True),
        ("a" * 64, True),  # SHA-256 repositories
        ("7911bbf", False),  # abbreviated ids are refs to resolve, not shas
        ("a" * 39, False),
        ("a" * 41, False),
        ("a" * 63, False),
        ("g" * 40, False),
        ("7911bbf080089e7a36f407e65304eec9c0991d7d\n", False),
        ("", False),
        ("main", False),
    ],
)
def test_is_commit_sha(value: str, expected: bool) -> None:
    assert is_commit_sha(value) is expected


# --- properties -----------------------------------------------------------------------

_HOST_PIECES = st.sampled_from(
    ["github", "GitHub", "com", "example", "127", "0", "1", "255", "0x7f", "xn--gthub-n2e",
     "g\u0456thub", "b\u00fccher", "\uff47", "_x", "-", "a-b", "", ".", "%2e", "@", ":",
     "\\", "[::1]", "[", "]", "\u3002", " ", "\t", "\u00ad", "443", "8443"]
)  # fmt: skip
_PATH_PIECES = st.sampled_from(
    ["/", "a", "..", ".", "%2e", "%2E", "%2f", "%252e", "%25", "%", "?", "#", "\\", "@", ":",
     " ", "\u00fc", "'", '"', "<", "{", "[", "|", "\x00", "%zz", "~", "+", "&", "="]
)  # fmt: skip


_LABELS = st.sampled_from(
    ["github", "GitHub", "com", "example", "ghe", "xn--gthub-n2e", "g\u0456thub", "b\u00fccher",
     "127", "0", "1", "255", "0x7f", "_x", "a-b", "\uff47", "%2e", "x@y", "x\\y", ""]
)  # fmt: skip
_HOSTS = st.one_of(
    st.lists(_LABELS, min_size=1, max_size=4).map(".".join),
    st.lists(_LABELS, min_size=1, max_size=4).map(".".join),
    st.lists(_HOST_PIECES, min_size=0, max_size=6).map("".join),
    st.sampled_from(["127.0.0.1", "[::1]", "[2001:DB8::1]", "[::ffff:127.0.0.1]", "localhost"]),
)


@st.composite
def url_like(draw: st.DrawFn) -> str:
    """Strings shaped like URLs, built from the pieces the U-cases are made of."""
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "https", "ftp", "", "https:"]))
    host = draw(_HOSTS)
    port = draw(st.sampled_from(["", "", ":443", ":80", ":8443", ":0443", ":", ":x", ":65536"]))
    path = "".join(draw(st.lists(_PATH_PIECES, min_size=0, max_size=8)))
    return f"{scheme}://{host}{port}{path}"


_ANY_URL = st.one_of(url_like(), st.text(max_size=60), st.from_regex(r"https?://\S{0,30}"))


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_URL)
def test_property_parse_url_only_raises_invalid_url_error(text: str) -> None:
    try:
        parse_url(text)
    except InvalidUrlError:
        pass
    try:
        parse_git_url(text)
    except InvalidUrlError:
        pass


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(url_like())
def test_property_canonical_form_is_stable_and_agrees_with_requests(text: str) -> None:
    try:
        parsed = parse_url(text)
    except InvalidUrlError:
        return
    canonical = str(parsed)
    assert parse_url(canonical) == parsed
    assert str(parse_url(canonical)) == canonical
    # What urllib3, requests and urllib.parse would connect to is what was checked.
    u3 = urllib3.util.parse_url(canonical)
    assert u3.host == parsed.hostname
    assert u3.port == parsed.port
    prepared = requests.Request("GET", canonical).prepare()
    assert prepared.url is not None
    sent = urllib3.util.parse_url(prepared.url)
    assert (sent.scheme, sent.host, sent.port) == (parsed.scheme, parsed.hostname, parsed.port)
    split = urllib.parse.urlsplit(canonical)
    assert split.hostname == parsed.hostname.strip("[]")
    assert split.port == parsed.port
    # A host the C resolver reads as a number (inet_aton: '127.1', '0x7f.1', '2130706433')
    # must already be the canonical dotted address, or allow lists see another host.
    try:
        packed = socket.inet_aton(parsed.hostname)
    except OSError:
        pass
    else:
        assert socket.inet_ntoa(packed) == parsed.hostname


_GIT_PATH_PIECES = st.sampled_from(
    ["/", "a", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "%25", "%252e", "%252f", "2e",
     "blob", "tree", "-", "main", "%zz".replace("%", "%25"), "x.yaml", "%c3%bc"]
)  # fmt: skip


@settings(max_examples=800)
@given(st.lists(_GIT_PATH_PIECES, max_size=14))
def test_property_git_filepath_never_has_dot_segments(pieces: list[str]) -> None:
    url = "https://github.com/o/r/blob/main/" + "".join(pieces)
    try:
        parsed = parse_git_url(url)
    except InvalidUrlError:
        return
    decoded = parsed.filepath
    for _ in range(20):
        decoded = urllib.parse.unquote(decoded)
    segments = re.split(r"[/\\]", decoded)
    assert "." not in segments
    assert ".." not in segments


_GLOB_SEGMENTS = st.sampled_from(
    ["docs", "a", "", ".", "..", "*", "**", "*.md", "a?", "[ab]", "{a,b}", "(x)", "!(x)",
     "\\*lit", "a\\?", "x!", "!neg", "@(y)", "b.c"]
)  # fmt: skip


@given(st.lists(_GLOB_SEGMENTS, min_size=1, max_size=6))
def test_property_static_prefix_is_the_literal_leading_directories(segments: list[str]) -> None:
    pattern = "/".join(segments)
    prefix = glob_static_prefix(pattern)
    if pattern.startswith("!"):
        assert prefix == ""
        return
    directories = [s for s in segments[:-1] if s not in ("", ".")]
    kept = prefix.split("/") if prefix else []
    dynamic = re.compile(r"(?<!\\)[*?\[\]{}()]")
    for source, literal in zip(directories, kept, strict=False):
        assert source != ".." and not dynamic.search(source) and not is_glob(source)
        assert literal == source.replace("\\", "")
    if len(kept) < len(directories):
        stop = directories[len(kept)]
        assert stop == ".." or dynamic.search(stop) or is_glob(stop)


@given(st.text(max_size=40))
def test_property_encode_uri_component_round_trips(text: str) -> None:
    try:
        encoded = encode_uri_component(text)
    except InvalidUrlError:
        return
    assert urllib.parse.unquote(encoded, errors="strict") == text
    assert re.fullmatch(r"[A-Za-z0-9\-_.!~*'()%]*", encoded)


def test_parsed_url_is_hashable_and_comparable() -> None:
    a = parse_url("https://github.com/o/r")
    assert {a, parse_url("https://GITHUB.com:443/o/r")} == {a}
    assert a == ParsedUrl("https", "github.com", None, "/o/r", "", "")
