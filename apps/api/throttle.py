"""Per-key rate limits: one token bucket per API key (and one for the admin key), shared by every
API process through the `RateLimiter` port (Redis in production)."""

from __future__ import annotations

import logging
import math

from litestar.exceptions import TooManyRequestsException
from redis.exceptions import RedisError

from apps.api.caller import Caller, Role
from voxcore_domain.ports import RateLimiter
from voxcore_domain.ratelimit import TokenBucket

log = logging.getLogger(__name__)


class Throttle:
    """Charges one token per request to the caller's bucket; 429 with `Retry-After` when empty.

    The internal token is not limited: it is the fleet's call-start hot path, shared by every
    worker, and it is trusted. When the limiter's store cannot be reached, requests go through
    (logged): the API's availability should not hang on its rate limiter.
    """

    def __init__(self, limiter: RateLimiter, bucket: TokenBucket) -> None:
        self._limiter = limiter
        self._bucket = bucket

    async def admit(self, caller: Caller) -> None:
        if caller.role is Role.INTERNAL:
            return
        try:
            admission = await self._limiter.take(f"api:{caller.key_id}", self._bucket)
        except RedisError as error:
            log.warning("rate limit not checked for %s: %r", caller.key_id, error)
            return
        if not admission.allowed:
            wait_s = max(1, math.ceil(admission.retry_after.total_seconds()))
            raise TooManyRequestsException(
                f"rate limit of {self._bucket.rate:g} requests/s spent, retry in {wait_s} s",
                headers={"Retry-After": str(wait_s)},
            )
