"""`undial` (the `LeasedContacts` port) on the reference fake and the MongoDB adapter alike: a
dial the provider turned down before it reached the callee is given back uncounted."""

from __future__ import annotations

import pytest

from tests.integration.mongo.support import MakeLeases
from tests.integration.mongo.test_mongo_leases_contract import CAMPAIGN, NOW, TTL, contact, get
from voxcore_domain.errors import InvalidTransition, StaleLease
from voxcore_domain.model import ContactState

pytestmark = pytest.mark.integration


def test_undial_gives_a_dialling_contact_back_without_its_attempt(
    make_leases: MakeLeases,
) -> None:
    leases = make_leases(contact(1, attempts=1))
    [lease] = leases.lease(CAMPAIGN, 1, "a", NOW, TTL)
    leases.advance(lease, ContactState.DIALING, NOW)
    assert get(leases, "k1").attempts == 2
    leases.undial(lease, NOW)
    assert get(leases, "k1") == contact(1, attempts=1)
    [again] = leases.lease(CAMPAIGN, 1, "b", NOW, TTL)
    assert again.contact_id == "k1"
    with pytest.raises(StaleLease):
        leases.undial(lease, NOW)


@pytest.mark.parametrize("state", [ContactState.LEASED, ContactState.ANSWERED])
def test_only_a_dialling_contact_can_be_undialled(
    make_leases: MakeLeases, state: ContactState
) -> None:
    leases = make_leases(contact(1))
    [lease] = leases.lease(CAMPAIGN, 1, "a", NOW, TTL)
    if state is ContactState.ANSWERED:
        leases.advance(lease, ContactState.DIALING, NOW)
        leases.advance(lease, ContactState.ANSWERED, NOW)
    with pytest.raises(InvalidTransition):
        leases.undial(lease, NOW)
    assert get(leases, "k1").state is state
