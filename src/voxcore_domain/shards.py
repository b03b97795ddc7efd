"""Which dialler shard a campaign belongs to.

Each shard has its own leader lock (`LeaderLock`, keyed by the shard's name) and its leader plans
only the campaigns of its shard, so diallers scale out without two of them dialling for the same
campaign. A campaign's shard comes from a stable hash of its id: every process, on every host and
Python version, maps it the same way (Python's `hash` of a str is salted per process, so it would
not do). Changing the number of shards moves campaigns between shards: do it with every dialler
stopped, or accept that a moved campaign may be planned by its old and new leaders for one
lease TTL (contact leases still keep a contact from being dialled twice).
"""

from __future__ import annotations

import hashlib

from voxcore_domain.errors import ValidationError


def check_shards(shards: int, index: int | None = None) -> None:
    """`ValidationError` unless 1 ≤ shards ≤ 4096 and, when given, 0 ≤ index < shards."""
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 4096:
        raise ValidationError("shards", f"must be a whole number from 1 to 4096, got {shards!r}")
    if index is not None and (
        isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < shards
    ):
        raise ValidationError(
            "shard", f"must be a whole number from 0 to {shards - 1}, got {index!r}"
        )


def shard_of(campaign_id: str, shards: int = 1) -> int:
    """The shard (0 to shards - 1) whose leader plans `campaign_id`."""
    check_shards(shards)
    if shards == 1:
        return 0
    digest = hashlib.blake2b(campaign_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards
