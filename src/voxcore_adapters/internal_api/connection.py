"""One HTTP client to the API, with the internal token on every request."""

from __future__ import annotations

import httpx


class ApiConnection:
    """An `httpx.AsyncClient` for `url` that authenticates with `token`. Opened lazily on first
    use, so a worker starts while the API is down."""

    def __init__(self, url: str, token: str, *, timeout_s: float = 5.0) -> None:
        self._url = url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self._url,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self._timeout_s,
            )
        return self._client

    def __repr__(self) -> str:
        # The token stays out of logs.
        return f"ApiConnection({self._url!r})"

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
