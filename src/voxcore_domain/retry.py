"""What becomes of a contact after each call attempt: done, exhausted, or ready again later.

Every disposition maps to a next state, so no contact is ever left without one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import assert_never

import attrs

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Campaign, Contact, ContactState, Disposition, RetryPolicy
from voxcore_domain.schedule import contact_timezone, next_open

CONVERSATIONS = frozenset({Disposition.COMPLETED, Disposition.TRANSFERRED, Disposition.HUNG_UP})
"""Attempts in which the callee talked to the agent, even if they hung up: the contact is done."""


@attrs.frozen
class NextStep:
    """The state a contact moves to after an attempt, and when it may be dialled again."""

    state: ContactState
    """READY to be called again, or a terminal state."""
    next_attempt_at: datetime | None
    """Earliest instant of the next attempt, inside the calling window; None when terminal."""

    def __attrs_post_init__(self) -> None:
        if self.state is ContactState.READY:
            if self.next_attempt_at is None or self.next_attempt_at.tzinfo is None:
                raise ValidationError("next_attempt_at", "a ready contact needs an aware instant")
        elif not self.state.terminal:
            raise ValidationError("state", f"an attempt ends ready or terminal, not {self.state}")
        elif self.next_attempt_at is not None:
            raise ValidationError("next_attempt_at", f"a {self.state} contact is not called again")


def retry_delay(policy: RetryPolicy, disposition: Disposition) -> timedelta | None:
    """How long after `disposition` the contact may be called again; None if never."""
    match disposition:
        case (
            Disposition.COMPLETED
            | Disposition.TRANSFERRED
            | Disposition.HUNG_UP
            | Disposition.INVALID_NUMBER
        ):
            return None
        case Disposition.NO_ANSWER:
            return policy.no_answer_after
        case Disposition.BUSY:
            return policy.busy_after
        case Disposition.FAILED:
            return policy.failed_after
        case Disposition.DECLINED:
            return policy.declined_after
        case Disposition.VOICEMAIL:
            return policy.voicemail_after
        case Disposition.ABANDONED:
            return policy.abandoned_after
        case _:
            assert_never(disposition)


def next_step(
    contact: Contact, campaign: Campaign, disposition: Disposition, now: datetime
) -> NextStep:
    """Where `contact` goes after an attempt that ended with `disposition` at `now`.

    `contact.attempts` already counts that attempt.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError("now", "must be a timezone-aware datetime")
    if disposition in CONVERSATIONS:
        return NextStep(ContactState.DONE, None)
    delay = retry_delay(campaign.retry, disposition)
    if delay is None or contact.attempts >= campaign.retry.max_attempts:
        return NextStep(ContactState.EXHAUSTED, None)
    timezone = contact_timezone(contact, campaign)
    return NextStep(ContactState.READY, next_open(campaign.window, timezone, now + delay))
