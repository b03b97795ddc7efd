"""The drills: each starts a campaign of its own on the running platform, breaks one thing while
its calls run, lets the platform recover, and audits the campaign (`voxcore_drills.auditor`).
Besides the audit, each drill checks what its fault must not do (`Row.checks`: empty when all
held). docs/drills.md says what each one proves.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

import attrs
import httpx

from voxcore_adapters.testing.process import ServerProcess
from voxcore_domain.model import CallAttempt, ContactState, Disposition
from voxcore_domain.trunklimits import BreakerPolicy
from voxcore_drills import campaign as seeding
from voxcore_drills.auditor import Audit, audit
from voxcore_drills.evidence import Stores
from voxcore_drills.platform import Platform, until

T = TypeVar("T")
WAV_HEADER = 44
STEREO_BYTES_PER_S = 8000 * 2 * 2
"""A call's recording: 8 kHz, 16-bit, caller left and agent right."""


@attrs.frozen
class Row:
    """One drill's result."""

    drill: str
    fault: str
    recovery_s: float | None
    """From the end of the fault (or the fault itself) to the platform working again."""
    audit: Audit | None
    checks: tuple[str, ...] = ()
    """What the drill found wrong besides the audit."""
    notes: tuple[str, ...] = ()
    """What it measured, for the report."""

    @property
    def ok(self) -> bool:
        return self.audit is not None and self.audit.clean and not self.checks


class Drills:
    """The drills over one running platform; each drill method returns its `Row`."""

    def __init__(
        self,
        platform: Platform,
        *,
        contacts: int = 10,
        outage_s: float = 10.0,
        carrier_window_s: float = 20.0,
    ) -> None:
        self.platform = platform
        self.contacts = contacts
        self.outage_s = outage_s
        self.carrier_window_s = carrier_window_s
        assert platform.s3 is not None
        self.stores = Stores(platform.mongo_url, platform.s3, "recordings")
        self.tenant = seeding.tenant(
            platform.api_url, platform.secrets.admin_key, "Drill Co " + str(int(time.time()))
        )
        platform.secrets.tenant_keys.append(self.tenant.token)
        self._made = 0

    def close(self) -> None:
        self.stores.close()

    # -- shared steps ----------------------------------------------------------------------------

    def _campaign(self, name: str, contacts: int | None = None, trunk: str = "ST_drills") -> str:
        self._made += 1
        made = seeding.campaign(
            self.platform.api_url,
            self.tenant,
            name,
            contacts or self.contacts,
            provider_trunk=trunk,
            number_prefix=f"1415{self._made:02d}",
        )
        return made.id

    def _attempts(self, campaign_id: str) -> list[CallAttempt]:
        return self.stores.attempts(campaign_id)

    def _placed(self, campaign_id: str) -> list[CallAttempt]:
        return [a for a in self._attempts(campaign_id) if a.not_placed is None]

    def _breaker(
        self, down: str, fine: str, started: datetime
    ) -> tuple[list[CallAttempt], list[str]]:
        """The failing trunk's campaign's dials in order, and what its breaker has not shown
        (empty when it held): `failures` dials, then only the ones already in flight, then the
        healthy trunk's campaign dialling after the last of them."""
        # The dialler's breaker as it runs: no policy is configured, so the default one.
        failures = BreakerPolicy().failures
        failed = sorted(self._placed(down), key=lambda a: a.dialed_at)
        checks: list[str] = []
        if len(failed) < failures:
            checks.append(f"only {len(failed)} dials on the failing trunk")
        # Down: once `failures` dials have failed, only the dials already in flight follow.
        if len(failed) > failures + self.platform.workers:
            checks.append(f"{len(failed)} dials on the failing trunk: never marked down")
        last_down = failed[-1].dialed_at if failed else started
        if not any(a.dialed_at > last_down for a in self._placed(fine)):
            checks.append("no dial on the healthy trunk after the failing one was marked down")
        return failed, checks

    def _on_workers(self, campaign_id: str) -> list[CallAttempt]:
        return [
            a for a in self._placed(campaign_id) if a.attached_at is not None and a.ended_at is None
        ]

    def _settled(self, campaign_id: str) -> bool:
        contacts = self.stores.db["contacts"].count_documents(
            {"campaign_id": campaign_id, "state": {"$nin": ["ready", "done", "exhausted", "dnc"]}}
        )
        open_ = [a for a in self._placed(campaign_id) if a.ended_at is None]
        return contacts == 0 and not open_

    def _finish(self, campaign_id: str, checks: list[str], within_s: float = 60.0) -> Audit:
        """Stop dialling the campaign, let its calls end, and audit it. Calls that never end
        or spools that never empty are added to `checks`; the audit is made either way (it
        then shows what was left)."""
        seeding.pause(self.platform.api_url, self.tenant, campaign_id)
        try:
            until(lambda: self._settled(campaign_id), within_s, "the campaign's calls to end")
        except TimeoutError as error:
            open_ = [a.id for a in self._placed(campaign_id) if a.ended_at is None]
            held = contact_states(self.stores, campaign_id)
            checks.append(f"{error}; contacts {held}; open attempts {open_}")
        try:
            # Reports land after the call's contact is closed; recordings after the report.
            until(lambda: self._spools_empty(), 20.0, "the workers' spools to empty")
        except TimeoutError as error:
            checks.append(str(error))
        return audit(self.stores.evidence(self.platform.api_url, self.tenant, campaign_id))

    def _spools_empty(self) -> bool:
        for number in self.platform.fleet:
            spool = self.platform.spool(number)
            if any(spool.glob("*.wav")) or any((spool / "reports").glob("*.json")):
                return False
        return True

    def _dialled_between(self, campaign_id: str, start: datetime, end: datetime) -> list[str]:
        return [a.id for a in self._placed(campaign_id) if start < a.dialed_at < end]

    def _outage(
        self,
        server: ServerProcess,
        campaign_id: str,
        checks: list[str],
        *,
        dialled_during: str,
        redialled: str,
        meanwhile: Callable[[], None] = lambda: None,
    ) -> float:
        """Halt `server` for `outage_s` (calling `meanwhile` every 0.2 s), restart it, and
        wait for the campaign to dial again: the seconds that took. A dial while the server
        was down (`dialled_during`) or none after it came back (`redialled`) goes to
        `checks`."""
        server.halt()
        # From the moment the server is gone: a stopping server still answers for a while.
        halted = datetime.now(UTC)
        deadline = time.monotonic() + self.outage_s
        while time.monotonic() < deadline:
            meanwhile()
            time.sleep(0.2)
        # The server is certainly down until `restart` is called; it answers before that
        # returns.
        restarting = datetime.now(UTC)
        server.restart()
        back = datetime.now(UTC)
        started = time.monotonic()
        during = self._dialled_between(campaign_id, halted, restarting)
        if during:
            checks.append(f"{dialled_during}: {during}")
        try:
            return until(
                lambda: bool(self._dialled_between(campaign_id, back, datetime.now(UTC))),
                45.0,
                redialled,
            )
        except TimeoutError as error:
            checks.append(str(error))
            return time.monotonic() - started

    def _busy_worker(self, call_ids: set[str]) -> tuple[int, str] | None:
        """A worker holding one of `call_ids` now: (its number, the call)."""
        for number in self.platform.fleet:
            socket = self.platform.socket(number)
            try:
                with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket))) as client:
                    slot = client.get("http://fleet/health", timeout=2.0).json()["slot"]
            except (httpx.TransportError, ValueError, KeyError):
                continue
            if slot.get("state") == "busy" and slot.get("call_id") in call_ids:
                return number, str(slot["call_id"])
        return None

    # -- the drills ------------------------------------------------------------------------------

    def worker_killed(self) -> Row:
        """A fleet worker is `kill -9`ed mid-call."""
        p = self.platform
        campaign_id = self._campaign("worker-kill")
        checks: list[str] = []
        number, call_id = until_value(
            lambda: self._busy_worker({a.id for a in self._on_workers(campaign_id)}),
            60.0,
            "a call on a worker",
        )
        time.sleep(1.5)  # some audio recorded before the crash
        killed_at = datetime.now(UTC)
        p.kill(p.fleet[number])
        bound = p.timings.staleness_s + p.timings.outcome_grace_s + 4 * p.timings.tick_s + 3.0

        def closed() -> bool:
            attempt = next((a for a in self._attempts(campaign_id) if a.id == call_id), None)
            return attempt is not None and attempt.disposition is not None

        recovery = until(closed, 30.0, f"call {call_id} closed out after its worker died")
        attempt = next(a for a in self._attempts(campaign_id) if a.id == call_id)
        if recovery > bound:
            checks.append(f"call closed out after {recovery:.1f} s, bound {bound:.1f} s")
        if attempt.disposition is not Disposition.FAILED:
            checks.append(f"the killed call's outcome is {attempt.disposition}, not failed")
        contact = self.stores.db["contacts"].find_one({"_id": attempt.contact_id}) or {}
        if contact.get("state") not in ("ready", "exhausted"):
            checks.append(f"the killed call's contact is {contact.get('state')}, not rescheduled")
        # nginx routes the calls that follow around the dead socket.
        try:
            until(
                lambda: any(
                    a.attached_at is not None and a.attached_at > killed_at
                    for a in self._placed(campaign_id)
                ),
                30.0,
                "a call attached after the kill",
            )
        except TimeoutError as error:
            checks.append(str(error))
        # nginx sent no attach to the dead socket's worker after the kill: each one it tried
        # there failed over to a live socket.
        dead = f"unix:{p.socket(number)}"
        assert p.nginx is not None
        after = [a for a in p.nginx.attaches() if a.at > killed_at.timestamp()]
        taken_dead = [a for a in after if a.status == 202 and a.tried[-1:] == (dead,)]
        if taken_dead:
            checks.append(f"{len(taken_dead)} attach(es) answered by the dead socket")
        routed_around = sum(1 for a in after if dead in a.tried[:-1] and a.status == 202)
        p.start_worker(number)
        try:
            # The call ran at least 1.5 s on the worker: at least a second of it is on record.
            until(
                lambda: (
                    self.stores.recordings(self.tenant.id).get(call_id, 0)
                    >= WAV_HEADER + STEREO_BYTES_PER_S
                ),
                30.0,
                "the killed call's recording (a second or more) uploaded after the restart",
            )
        except TimeoutError as error:
            checks.append(str(error))
        result = self._finish(campaign_id, checks)
        return Row(
            "worker kill -9",
            f"worker {number} killed mid-call",
            round(recovery, 1),
            result,
            tuple(checks),
            (
                f"call {call_id} closed as {attempt.disposition} in {recovery:.1f} s; "
                f"{len(after)} attach(es) after the kill, {routed_around} past the dead socket",
            ),
        )

    def leader_killed(self) -> Row:
        """The leading dialler is `kill -9`ed while it dials; the standby takes over."""
        p = self.platform
        campaign_id = self._campaign("leader-kill", contacts=self.contacts + 6)
        dead = until_value(p.leader, 30.0, "a leader")
        until(
            lambda: len([a for a in self._placed(campaign_id) if a.ended_at is None]) >= 2,
            60.0,
            "calls in flight",
        )
        checks: list[str] = []
        started = time.monotonic()
        p.kill(p.diallers[dead])
        standby = until_value(
            lambda: leader if (leader := p.leader()) not in (None, dead) else None,
            30.0,
            "the standby leading",
        )
        takeover = time.monotonic() - started
        bound = p.timings.leader_ttl_s + 2 * p.timings.tick_s + 2.0
        if takeover > bound:
            checks.append(f"takeover after {takeover:.1f} s, lease TTL bound {bound:.1f} s")

        def dead_leases() -> list[str]:
            held = self.stores.db["contacts"].find(
                {
                    "campaign_id": campaign_id,
                    "lease.owner": dead,
                    "state": {"$in": ["leased", "dialing", "answered"]},
                }
            )
            return [str(c["_id"]) for c in held]

        try:
            until(lambda: not dead_leases(), 15.0, "the dead leader's leases recovered")
        except TimeoutError:
            checks.append(f"leases of the dead leader still held: {dead_leases()}")
        # Back as the standby, as systemd would restart it.
        p.start_dialler(dead)
        result = self._finish(campaign_id, checks)
        return Row(
            "leader dialler kill -9",
            f"leader {dead} killed, {standby} took over",
            round(takeover, 1),
            result,
            tuple(checks),
        )

    def redis_stopped(self) -> Row:
        """Redis (Valkey) stops for `outage_s` while the campaign dials."""
        p = self.platform
        campaign_id = self._campaign("redis-outage", contacts=self.contacts * 3)
        until(lambda: len(self._placed(campaign_id)) >= 2, 60.0, "dials before the outage")
        checks: list[str] = []
        recovery = self._outage(
            p.redis,
            campaign_id,
            checks,
            dialled_during="dialled without capacity data",
            redialled="a dial after Redis came back",
        )
        result = self._finish(campaign_id, checks)
        return Row(
            "Redis stopped",
            f"Redis down {self.outage_s:.0f} s",
            round(recovery, 1),
            result,
            tuple(checks),
        )

    def mongo_stopped(self) -> Row:
        """The Mongo-wire server stops for `outage_s` while calls run."""
        p = self.platform
        assert p.nginx is not None
        began = time.time()
        campaign_id = self._campaign("mongo-outage", contacts=self.contacts * 2)
        until(lambda: len(self._on_workers(campaign_id)) >= 1, 60.0, "calls on workers")
        checks: list[str] = []
        spooled: set[str] = set()

        def read_spools() -> None:
            for number in p.fleet:
                spooled.update(path.name for path in (p.spool(number) / "reports").glob("*.json"))

        recovery = self._outage(
            p.mongo,
            campaign_id,
            checks,
            dialled_during="leased and dialled while the store was down",
            redialled="a new lease after MongoDB came back",
            meanwhile=read_spools,
        )
        result = self._finish(campaign_id, checks)
        stored = {
            f"{r['call_id']}.{r['sequence']}.json"
            for r in self.stores.db["call_reports"].find(
                {"call_id": {"$in": sorted({name.split(".")[0] for name in spooled})}}
            )
        }
        if spooled - stored:
            checks.append(f"reports spooled during the outage never landed: {spooled - stored}")
        # Every call a worker took (nginx's log, independent of the stores) has its attempt:
        # only this campaign dials while the drill runs.
        taken = sum(1 for a in p.nginx.attaches() if a.at >= began and a.status == 202)
        attached = sum(1 for a in self._placed(campaign_id) if a.attached_at is not None)
        if taken != attached:
            checks.append(f"{taken} calls taken by workers, {attached} attached attempts")
        return Row(
            "Mongo stopped",
            f"Mongo-wire down {self.outage_s:.0f} s",
            round(recovery, 1),
            result,
            tuple(checks),
            (
                f"{len(spooled)} report(s) spooled during the outage, "
                f"{len(spooled & stored)} landed; {taken} calls taken by workers, "
                f"{attached} attempts attached",
            ),
        )

    def s3_stopped(self) -> Row:
        """S3 stops while calls end: their recordings spool, and go up once it is back."""
        p = self.platform
        campaign_id = self._campaign("s3-outage")
        until(lambda: len(self._on_workers(campaign_id)) >= 1, 60.0, "calls on workers")
        checks: list[str] = []
        p.s3_server.halt()
        spooled: dict[str, str] = {}

        def read_spool() -> bool:
            for number in p.fleet:
                for wav in p.spool(number).glob("*.wav"):
                    if wav.with_suffix(".json").exists() and wav.stem not in spooled:
                        spooled[wav.stem] = hashlib.sha256(wav.read_bytes()).hexdigest()
            return bool(spooled)

        try:
            until(read_spool, 45.0, "a recording spooled while S3 is down")
        except TimeoutError as error:
            checks.append(str(error))
        time.sleep(max(0.0, self.outage_s - 5))
        read_spool()
        p.s3_server.restart()

        def uploaded() -> bool:
            stored = self.stores.recordings(self.tenant.id)
            return all(call in stored for call in spooled)

        try:
            recovery: float | None = until(uploaded, 45.0, "the spooled recordings uploaded")
        except TimeoutError as error:
            checks.append(str(error))
            recovery = None
        for call, digest in spooled.items():
            try:
                stored = self.stores.recording(self.tenant.id, call)
            except Exception as error:  # any S3 failure is a finding here
                checks.append(f"recording {call} unreadable: {error!r}")
                continue
            if hashlib.sha256(stored).hexdigest() != digest:
                checks.append(f"recording {call} differs from what was spooled")
        result = self._finish(campaign_id, checks)
        return Row(
            "S3 stopped",
            "S3 down while calls end",
            None if recovery is None else round(recovery, 1),
            result,
            tuple(checks),
            (f"{len(spooled)} recording(s) spooled and uploaded byte for byte",),
        )

    def carrier_faults(self, throttled: str, failing: str) -> Row:
        """The carrier throttles one trunk (503 CPS limit) and fails another (503) while a third
        keeps dialling. `throttled` and `failing` are provider trunk ids the platform's sim
        carrier was started with (`Platform(trunk_faults=...)`)."""
        p = self.platform
        fine = self._campaign("trunk-fine", contacts=self.contacts)
        slow = self._campaign("trunk-throttled", contacts=self.contacts, trunk=throttled)
        down = self._campaign("trunk-down", contacts=self.contacts, trunk=failing)
        started = datetime.now(UTC)
        # At least the window; on a loaded machine the diallers tick slower, so on until the
        # breaker has done all it must (or 3 windows).
        window_s = self.carrier_window_s
        time.sleep(window_s)
        deadline = time.monotonic() + 2 * window_s
        while True:
            failed, breaker_checks = self._breaker(down, fine, started)
            if not breaker_checks or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        elapsed_s = (datetime.now(UTC) - started).total_seconds()
        checks: list[str] = []
        throttles = [a for a in self._attempts(slow) if a.not_placed == "throttled"]
        placed_slow = self._placed(slow)
        # Back-off: at most one try per retry-after (1 s) plus a first one per slot.
        if not throttles:
            checks.append("the throttled trunk was never throttled")
        if len(throttles) > elapsed_s / 1.0 + p.workers:
            checks.append(f"{len(throttles)} throttled dials in {elapsed_s:.0f} s: no back-off")
        if placed_slow:
            checks.append(f"{len(placed_slow)} dials went out on the throttled trunk")
        checks.extend(breaker_checks)
        last_down = failed[-1].dialed_at if failed else started
        fine_done = [a for a in self._placed(fine) if a.disposition is not None]
        marked_down = (last_down - started).total_seconds()
        audits = [self._finish(campaign, checks) for campaign in (fine, slow, down)]
        merged = Audit(
            tuple(v for a in audits for v in a.violations),
            sum(a.contacts for a in audits),
            sum(a.attempts for a in audits),
        )
        return Row(
            "carrier throttles / fails trunks",
            "trunk A 503 CPS limit, trunk B 503",
            round(marked_down, 1),
            merged,
            tuple(checks),
            (
                f"throttled trunk: {len(throttles)} throttled dials, none placed; "
                f"failing trunk: {len(failed)} dials then down; healthy trunk: "
                f"{len(fine_done)} calls",
            ),
        )


def until_value(get: Callable[[], T | None], within_s: float, what: str) -> T:
    """Poll `get` until it returns a value (see `until`); that value."""
    found: list[T] = []

    def check() -> bool:
        value = get()
        if value is not None:
            found.append(value)
        return value is not None

    until(check, within_s, what)
    return found[-1]


def secrets_in(logs: Mapping[str, str], secrets: Mapping[str, str]) -> list[str]:
    """`<secret name> in <log>` for every secret (name → value) found in any log (name →
    text)."""
    return [
        f"{label} in {name}"
        for name, text in sorted(logs.items())
        for label, value in secrets.items()
        if value and value in text
    ]


def contact_states(stores: Stores, campaign_id: str) -> dict[str, int]:
    states: dict[str, int] = {}
    for contact in stores.db["contacts"].find({"campaign_id": campaign_id}, {"state": 1}):
        state = ContactState(contact["state"]).value
        states[state] = states.get(state, 0) + 1
    return states
