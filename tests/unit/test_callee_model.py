"""The simulated carrier's callee model draws the population the simulator's engine dials."""

from __future__ import annotations

import random

import pytest

from voxcore_domain.errors import ValidationError
from voxcore_domain.simulation.callees import Answerer, CalleeModel
from voxcore_domain.simulation.scenario import Scenario


def test_the_shares_of_answerers_follow_the_rates() -> None:
    model = CalleeModel(answer_rate=0.3, machine_rate=0.1, mean_answer_delay_s=5.0)
    rng = random.Random(7)
    draws = [model.draw(rng, 25.0) for _ in range(20_000)]
    share = {kind: sum(d.answerer is kind for d in draws) / len(draws) for kind in Answerer}
    assert share[Answerer.PERSON] == pytest.approx(0.3, abs=0.015)
    assert share[Answerer.MACHINE] == pytest.approx(0.1, abs=0.01)
    assert all(0 <= d.answer_after_s < 25.0 for d in draws if d.answerer is not Answerer.NOBODY)
    assert all(d.answer_after_s == 25.0 for d in draws if d.answerer is Answerer.NOBODY)


def test_talk_time_has_the_mean_asked_for_and_machines_take_the_voicemail_time() -> None:
    model = CalleeModel(answer_rate=0.5, machine_rate=0.5, mean_talk_s=40.0, voicemail_s=12.0)
    rng = random.Random(3)
    draws = [model.draw(rng, 30.0) for _ in range(20_000)]
    people = [d.talk_s for d in draws if d.answerer is Answerer.PERSON]
    assert sum(people) / len(people) == pytest.approx(40.0, rel=0.05)
    assert {d.talk_s for d in draws if d.answerer is Answerer.MACHINE} == {12.0}


def test_fixed_talk_time_when_there_is_no_variation() -> None:
    model = CalleeModel(answer_rate=1.0, mean_talk_s=9.0, talk_cv=0.0)
    assert model.draw(random.Random(1), 20.0).talk_s == pytest.approx(9.0)


def test_the_same_seed_draws_the_same_callees() -> None:
    model = CalleeModel.of(Scenario(answer_rate=0.4, machine_rate=0.2))
    first = [model.draw(random.Random(11), 25.0) for _ in range(3)]
    assert first == [model.draw(random.Random(11), 25.0) for _ in range(3)]
    assert model.machine_rate == 0.2


def test_rates_above_one_in_all_are_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        CalleeModel(answer_rate=0.8, machine_rate=0.3)
    assert refused.value.field == "machine_rate"
