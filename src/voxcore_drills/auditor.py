"""What a drill's campaign must look like afterwards, read from what the stores hold: the
contacts and call attempts (MongoDB), the `ended` reports of each call (MongoDB), the recordings
(S3) and the campaign's abandon count as the API's statistics give it.

`audit` is pure: `voxcore_drills.evidence` gathers its input from the running platform, and the
unit tests hand it crafted records, one violation at a time.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping

import attrs

from voxcore_domain.model import CallAttempt, Contact, ContactState, Disposition

RECORDED = frozenset(
    {Disposition.COMPLETED, Disposition.HUNG_UP, Disposition.VOICEMAIL, Disposition.TRANSFERRED}
)
"""A call that reached a worker and ran to one of these ends was recorded: it must have its
recording in S3."""


@attrs.frozen
class Evidence:
    """One campaign's records, as the stores hold them once its calls are over."""

    contacts: tuple[Contact, ...]
    attempts: tuple[CallAttempt, ...]
    ended_reports: Mapping[str, int]
    """Call id → how many distinct `ended` reports the API stored for it."""
    recordings: frozenset[str]
    """Call ids with a recording in S3."""
    abandoned_in_stats: int
    """Abandoned calls in the API's statistics of the campaign."""


@attrs.frozen
class Violation:
    """One broken promise."""

    rule: str
    """`contact_lost`, `open_attempts`, `duplicate_dial`, `no_outcome`, `two_outcomes`,
    `abandon_count` or `recording_lost`."""
    subject: str
    """The contact or call it concerns (the campaign for `abandon_count`)."""
    detail: str


@attrs.frozen
class Audit:
    violations: tuple[Violation, ...]
    contacts: int
    attempts: int
    """Dials placed (attempts the provider turned down before they reached anyone are not)."""

    @property
    def clean(self) -> bool:
        return not self.violations

    def count(self, rule: str) -> int:
        return sum(1 for violation in self.violations if violation.rule == rule)

    @property
    def contacts_lost(self) -> int:
        return self.count("contact_lost")

    @property
    def duplicate_dials(self) -> int:
        return self.count("duplicate_dial") + self.count("open_attempts")

    @property
    def recordings_lost(self) -> int:
        return self.count("recording_lost")


def _placed(attempt: CallAttempt) -> bool:
    return attempt.not_placed is None


def audit(evidence: Evidence) -> Audit:
    found: list[Violation] = []
    by_contact: dict[str, list[CallAttempt]] = {}
    placed = [a for a in evidence.attempts if _placed(a)]
    for attempt in placed:
        by_contact.setdefault(attempt.contact_id, []).append(attempt)
    # Terminal, or ready to be dialled again by the retry policy: anything else is a contact
    # some process still holds, and none does once the calls are over.
    found += [
        Violation("contact_lost", contact.id, f"left {contact.state.value} after the drill")
        for contact in evidence.contacts
        if not (contact.state.terminal or contact.state is ContactState.READY)
    ]
    for contact_id, attempts in by_contact.items():
        found += _dials_of(contact_id, sorted(attempts, key=lambda a: a.dialed_at))
    for attempt in placed:
        found += _outcome_of(attempt, evidence)
    abandoned = sum(1 for a in placed if a.disposition is Disposition.ABANDONED)
    if abandoned != evidence.abandoned_in_stats:
        campaigns = sorted({a.campaign_id for a in evidence.attempts}) or ["?"]
        found.append(
            Violation(
                "abandon_count",
                ",".join(campaigns),
                f"{abandoned} abandoned attempts, the statistics say {evidence.abandoned_in_stats}",
            )
        )
    found += _abandons_of(evidence.contacts, by_contact)
    return Audit(tuple(found), len(evidence.contacts), len(placed))


def _abandons_of(
    contacts: tuple[Contact, ...], by_contact: Mapping[str, list[CallAttempt]]
) -> list[Violation]:
    """The contacts closed as abandoned (the retry policy's record, written by whoever closed
    the contact) are exactly those whose last call the call log says was abandoned."""
    closed = {c.id for c in contacts if c.last_disposition is Disposition.ABANDONED}
    logged = {
        contact_id
        for contact_id, attempts in by_contact.items()
        if max(attempts, key=lambda a: a.dialed_at).disposition is Disposition.ABANDONED
    }
    return [
        Violation("abandon_count", contact_id, "abandoned in one record, not in the other")
        for contact_id in sorted(closed ^ logged)
    ]


def _dials_of(contact_id: str, attempts: list[CallAttempt]) -> list[Violation]:
    found: list[Violation] = []
    open_ = [a.id for a in attempts if a.ended_at is None]
    if len(open_) > 1:
        found.append(Violation("open_attempts", contact_id, f"open attempts {open_}"))
    for lease, count in Counter(a.lease_token for a in attempts).items():
        if count > 1:
            found.append(
                Violation("duplicate_dial", contact_id, f"{count} dials on one lease {lease}")
            )
    for earlier, later in itertools.pairwise(attempts):
        # A second dial while the first was still up: the person's phone rang twice.
        if earlier.ended_at is not None and later.dialed_at < earlier.ended_at:
            found.append(
                Violation(
                    "duplicate_dial",
                    contact_id,
                    f"call {later.id} dialled before call {earlier.id} ended",
                )
            )
    return found


def _outcome_of(attempt: CallAttempt, evidence: Evidence) -> list[Violation]:
    found: list[Violation] = []
    ended = evidence.ended_reports.get(attempt.id, 0)
    if attempt.answered_at is not None and attempt.disposition is None:
        found.append(Violation("no_outcome", attempt.id, "answered, but no outcome recorded"))
    if ended > 1:
        found.append(Violation("two_outcomes", attempt.id, f"{ended} ended reports"))
    if (
        attempt.attached_at is not None
        and attempt.disposition in RECORDED
        and attempt.id not in evidence.recordings
    ):
        disposition = attempt.disposition.value if attempt.disposition else "?"
        found.append(Violation("recording_lost", attempt.id, f"{disposition}, no recording"))
    return found
