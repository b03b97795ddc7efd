"""Where an S3 server is and how to sign requests to it. The `minio` client library is
imported when a client is made (`S3Connection.client`), not with the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs

from voxcore_domain.errors import ValidationError

if TYPE_CHECKING:
    from minio import Minio


def _endpoint_url(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    parts = urlsplit(value) if isinstance(value, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.username
    ):
        raise ValidationError(attribute.name, f"{value!r} must look like http://host:port")


def _non_empty(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(attribute.name, "must not be empty")


def _positive(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValidationError(attribute.name, f"must be greater than 0, got {value!r}")


@attrs.frozen
class S3Connection:
    """An S3 endpoint (MinIO, SeaweedFS, AWS) and the credentials to use it.

    The secret key never appears in `repr`, so logging a connection is safe.
    """

    url: str = attrs.field(validator=_endpoint_url)
    """`http(s)://host:port`, without a path."""
    access_key: str = attrs.field(validator=_non_empty)
    secret_key: str = attrs.field(validator=_non_empty, repr=False)
    region: str = attrs.field(default="us-east-1", validator=_non_empty)
    """Fixed so the client never asks the server for a bucket's location first."""
    timeout_s: float = attrs.field(default=30.0, validator=_positive)

    @property
    def endpoint(self) -> str:
        """`host:port`, as the minio client wants it."""
        return urlsplit(self.url).netloc

    @property
    def secure(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    def client(self, *, retries: int = 3) -> Minio:
        """A minio client with bounded timeouts (its default waits five minutes) and retries."""
        import urllib3
        from minio import Minio

        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(self.timeout_s, 5.0), read=self.timeout_s),
            retries=urllib3.Retry(
                total=retries,
                backoff_factor=0.2,
                status_forcelist=(500, 502, 503, 504),
                allowed_methods=None,
            )
            if retries
            else False,
        )
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=self.secure,
            region=self.region,
            http_client=http,
        )
