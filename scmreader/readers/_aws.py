"""boto3 plumbing shared by the AWS readers (S3, CodeCommit).

One :class:`AwsClients` per integration entry: boto3 imported lazily (the ``s3`` extra),
static keys or the default credential chain, optional STS AssumeRole (asked on first use
and again before expiry), one client per region with scmreader's timeouts, retries and
proxies, and botocore's loggers filtered so that no registered secret and no credential
in an STS answer reaches a log.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from scmreader.errors import ConfigError, ScmReaderError
from scmreader.redact import redact, register_secret

if TYPE_CHECKING:
    from scmreader.http import HttpSettings

INSTALL_HINT = "pip install 'scmreader[s3]'"

#: Loggers of botocore that may print request headers, signing input or response bodies.
_BOTOCORE_LOGGERS = (
    "botocore.auth",
    "botocore.awsrequest",
    "botocore.client",
    "botocore.credentials",
    "botocore.endpoint",
    "botocore.hooks",
    "botocore.httpsession",
    "botocore.parsers",
    "botocore.retries.standard",
    "botocore.retryhandler",
    "botocore.utils",
    "urllib3.connectionpool",
)
_CREDENTIAL_FIELDS = re.compile(
    r"(<(SecretAccessKey|SessionToken)>)[^<]*(</\2>)"
    r"|(\"(?:SecretAccessKey|SessionToken|secretAccessKey|sessionToken)\"\s*:\s*\")[^\"]*"
)
_log_filter_lock = threading.Lock()
_log_filter_installed = False


class _BotocoreLogRedaction(logging.Filter):
    """Masks registered secrets, and the credentials in STS answers (logged by botocore at
    DEBUG before scmreader sees them), in botocore's log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _CREDENTIAL_FIELDS.sub(_mask_field, redact(message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _mask_field(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}***{match.group(3)}"
    return f"{match.group(4)}***"


def install_log_redaction() -> None:
    """Attach the redacting filter to botocore's loggers (once per process)."""
    global _log_filter_installed
    with _log_filter_lock:
        if not _log_filter_installed:
            for name in _BOTOCORE_LOGGERS:
                logging.getLogger(name).addFilter(_BotocoreLogRedaction())
            _log_filter_installed = True


def import_boto3(service: str) -> tuple[Any, Any]:
    """boto3 and botocore.config.Config, or a ConfigError saying how to install them."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ConfigError(
            f"Reading from {service} needs boto3, which is not installed; install the s3 "
            f"extra: {INSTALL_HINT}"
        ) from None
    return boto3, Config


def has_credentials(config: Any) -> bool:
    """Whether an AWS entry configures credentials (static keys or a role) for ``repr``."""
    return bool(config.access_key_id and config.secret_access_key) or bool(config.role_arn)


class AwsClients:
    """boto3 clients of one AWS service for one integration entry, one per region."""

    def __init__(
        self,
        *,
        service: str,
        label: str,
        config: Any,
        translate: Callable[[BaseException], ScmReaderError],
        settings: HttpSettings | None = None,
        endpoint: str | None = None,
        region: str | None = None,
        role_session_name: str,
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        """``config`` has ``host``, ``access_key_id``, ``secret_access_key``, ``role_arn``
        and ``external_id``; ``label`` names the service in messages ("AWS S3");
        ``translate`` turns a botocore exception into scmreader's error."""
        self._service = service
        self._label = label
        self._config = config
        self._translate = translate
        self._settings = settings
        self._endpoint = endpoint
        self._region = region
        self._role_session_name = role_session_name
        self._extra_config = dict(extra_config or {})
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    def client(self, region: str) -> Any:
        """The client for ``region`` (boto3 clients are thread-safe)."""
        client = self._clients.get(region)
        if client is not None:
            return client
        boto3, config_class = import_boto3(self._label)
        install_log_redaction()
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                if self._session is None:
                    self._session = self._make_session(boto3)
                client = self._session.client(
                    self._service,
                    region_name=region,
                    endpoint_url=self._endpoint,
                    config=self._botocore_config(config_class),
                    verify=self._settings.verify if self._settings else None,
                )
                self._clients[region] = client
        return client

    def _botocore_config(self, config_class: Any) -> Any:
        settings = self._settings
        options: dict[str, Any] = {"user_agent_extra": "scmreader", **self._extra_config}
        if settings is not None:
            options.update(
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                retries={"total_max_attempts": settings.max_attempts, "mode": "standard"},
            )
            if settings.proxies:
                options["proxies"] = dict(settings.proxies)
        return config_class(**options)

    def _make_session(self, boto3: Any) -> Any:
        """A boto3 Session with the entry's static keys (or the default chain), assuming
        ``roleArn`` when one is configured."""
        config = self._config
        if bool(config.access_key_id) != bool(config.secret_access_key):
            raise ConfigError(
                f"The {self._label} integration for {config.host} sets only one of "
                "accessKeyId and secretAccessKey; set both, or neither to use the default AWS "
                "credential chain."
            )
        if config.secret_access_key:
            register_secret(config.secret_access_key)
        base = boto3.Session(
            aws_access_key_id=config.access_key_id or None,
            aws_secret_access_key=config.secret_access_key or None,
            region_name=self._region,
        )
        if not config.role_arn:
            return base
        return self._assume_role_session(boto3, base, config.role_arn, config.external_id)

    def _assume_role_session(
        self, boto3: Any, base: Any, role_arn: str, external_id: str | None
    ) -> Any:
        """A Session whose credentials come from STS AssumeRole, asked on first use and
        again before they expire; ``base``'s credentials sign the STS call."""
        import botocore.session
        from botocore.credentials import (
            CredentialProvider,
            CredentialResolver,
            DeferredRefreshableCredentials,
        )

        lock = threading.Lock()
        sts: list[Any] = []
        label, translate, session_name = self._label, self._translate, self._role_session_name

        def refresh() -> dict[str, str]:
            with lock:
                if not sts:
                    sts.append(base.client("sts", region_name=base.region_name or "us-east-1"))
            params = {"RoleArn": role_arn, "RoleSessionName": session_name}
            if external_id:
                params["ExternalId"] = external_id
            try:
                answer = sts[0].assume_role(**params)
            except Exception as exc:
                error = translate(exc)
                raise type(error)(
                    f"Could not assume the role {role_arn} for {label}: {error}. Check roleArn, "
                    "externalId and the role's trust policy."
                ) from None
            credentials = answer["Credentials"]
            register_secret(credentials["SecretAccessKey"])
            register_secret(credentials["SessionToken"])
            return {
                "access_key": credentials["AccessKeyId"],
                "secret_key": credentials["SecretAccessKey"],
                "token": credentials["SessionToken"],
                "expiry_time": credentials["Expiration"].isoformat(),
            }

        class _AssumedRole(CredentialProvider):  # type: ignore[misc]
            METHOD = "scmreader-assume-role"

            def load(self) -> Any:
                return DeferredRefreshableCredentials(refresh_using=refresh, method=self.METHOD)

        core = botocore.session.Session()
        core.register_component("credential_provider", CredentialResolver([_AssumedRole()]))
        return boto3.Session(botocore_session=core)


def transport_error(
    exc: BaseException, *, shown: str, where: str, integration: str, names: str
) -> ScmReaderError:
    """scmreader's error for a botocore exception that is not a service answer (no or
    partial credentials, timeouts, invalid parameters, connection failures); redacted.

    ``integration`` is the config key (``awsS3``) and ``names`` what a valid URL names
    ("S3 bucket and key"), both for the message.
    """
    from botocore import exceptions as bx

    from scmreader.errors import (
        AuthenticationError,
        InvalidUrlError,
        RequestTimeoutError,
        TransportError,
    )

    detail = redact(str(exc))
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return AuthenticationError(
            f"No usable AWS credentials for {where} ({detail}); set accessKeyId and "
            f"secretAccessKey in the {integration} integration, or provide them to the default "
            "AWS credential chain (environment, shared config, instance role).",
            url=shown,
        )
    if isinstance(exc, bx.ReadTimeoutError | bx.ConnectTimeoutError):
        return RequestTimeoutError(
            f"Timed out {where} ({detail}); retry later or raise the timeouts."
        )
    if isinstance(exc, bx.ParamValidationError):
        return InvalidUrlError(f"The URL {shown} does not name a valid {names} ({detail}).")
    if isinstance(exc, bx.BotoCoreError | OSError):
        return TransportError(
            f"The connection failed while {where} ({type(exc).__name__}: {detail}); check the "
            "endpoint and the network, then retry."
        )
    return TransportError(f"Unexpected failure while {where}: {type(exc).__name__}: {detail}")
