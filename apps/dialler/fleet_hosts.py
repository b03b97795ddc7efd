"""Where the dialler finds the fleet hosts' `/attach` URLs.

The platform's list is the `FleetHosts` store (the API's `/v1/fleet-hosts`, in MongoDB): it is
read through `StoreCalls` at most every `ttl`, so a host added, disabled or removed there is used
or dropped within that long, without restarting the dialler. While the store holds no host at
all (a new install, before anyone has registered one), the hosts of `VOX_DIALLER_FLEET_HOSTS`
are used: the settings bootstrap the list, the store overrides it as a whole once it has one.

A disabled host takes no new call: it is left out of the URLs, and the dialler leaves its slots
out of the capacity it plans with. While the store cannot be read, the list last read is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from apps.dialler.stores import StoreCalls
from voxcore_domain.ports import FleetHosts

log = logging.getLogger(__name__)


class FleetHostList:
    def __init__(
        self,
        store: FleetHosts,
        fallback: Mapping[str, str],
        stores: StoreCalls,
        ttl: timedelta = timedelta(seconds=10),
        on_change: Callable[[Mapping[str, str]], object] = lambda hosts: None,
    ) -> None:
        """`fallback`: host name → URL from the settings, used while the store has no host.
        `on_change`: told each new list (the fleet client's `use_hosts`)."""
        self._store = store
        self._fallback = dict(fallback)
        self._stores = stores
        self._ttl = ttl
        self._on_change = on_change
        self._hosts: dict[str, str] = dict(fallback)
        self._read_at: datetime | None = None
        self.from_store = False
        """Whether the list came from the store (False: the settings' fallback)."""
        on_change(self._hosts)

    async def usable(self, now: datetime) -> Mapping[str, str]:
        """The hosts new calls may go to, name → `/attach` base URL, as of `now`."""
        if self._read_at is not None and now - self._read_at < self._ttl:
            return self._hosts
        try:
            listed = await self._stores.run(self._store.all)
        except self._stores.unavailable as error:
            log.warning("fleet hosts unreadable, keeping the last list: %s", error)
            return self._hosts
        self._read_at = now
        self.from_store = bool(listed)
        hosts = {h.id: h.url for h in listed if h.enabled} if listed else dict(self._fallback)
        if hosts != self._hosts:
            log.info("fleet hosts now %s", sorted(hosts))
            self._hosts = hosts
            self._on_change(hosts)
        return self._hosts
