"""The simulated carrier's settings, `VOX_SIM_*`: the callees it plays and where their audio
goes. Read by whichever role runs the carrier (the dialler with `VOX_DIALLER_TELEPHONY=sim`),
so the role itself only knows which adapter it asked for."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from voxcore_adapters.sim.media import CalleeMedia, MediaTarget
from voxcore_adapters.sim.telephony import SimTelephony, TrunkFault
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import SlotRegistry
from voxcore_domain.simulation.callees import CalleeModel

PREFIX = "VOX_SIM_"

_FLOATS = {
    "ANSWER_RATE": "answer_rate",
    "MACHINE_RATE": "machine_rate",
    "ANSWER_DELAY_S": "mean_answer_delay_s",
    "TALK_S": "mean_talk_s",
    "TALK_CV": "talk_cv",
    "VOICEMAIL_S": "voicemail_s",
}


@attrs.frozen
class SimSettings:
    """The callee population and the media route."""

    callees: CalleeModel = attrs.field(factory=CalleeModel)
    """VOX_SIM_ANSWER_RATE, _MACHINE_RATE, _ANSWER_DELAY_S, _TALK_S, _TALK_CV, _VOICEMAIL_S."""
    seed: int = 0
    """VOX_SIM_SEED: the same seed draws the same callees in the same order."""
    media_target: MediaTarget | None = None
    """VOX_SIM_MEDIA_TARGET: the worker's media address (`unix:/path/{worker}.sock` or a base
    URL); unset, answered calls carry no audio."""
    media_wait_s: float = 10.0
    """VOX_SIM_MEDIA_WAIT_S: how long an answered call waits for a worker to report it."""
    trunk_faults: Mapping[str, TrunkFault] = attrs.field(factory=dict)
    """VOX_SIM_TRUNK_FAULTS: `trunk=throttle,trunk2=fail`, provider trunk ids whose every dial
    is throttled (503 CPS limit exceeded) or fails (503), for fault drills; unset, none."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SimSettings:
        env = os.environ if environ is None else environ
        model: dict[str, Any] = {}
        for name, field in _FLOATS.items():
            raw = env.get(PREFIX + name)
            if raw is not None:
                model[field] = _number(field, raw)
        values: dict[str, Any] = {"callees": CalleeModel(**model)}
        seed = env.get(PREFIX + "SEED")
        if seed is not None:
            try:
                values["seed"] = int(seed)
            except ValueError:
                raise ValidationError("seed", f"{seed!r} is not a whole number") from None
        target = env.get(PREFIX + "MEDIA_TARGET")
        if target:
            values["media_target"] = MediaTarget(target)
        wait = env.get(PREFIX + "MEDIA_WAIT_S")
        if wait is not None:
            values["media_wait_s"] = _number("media_wait_s", wait)
        faults = env.get(PREFIX + "TRUNK_FAULTS")
        if faults:
            values["trunk_faults"] = parse_trunk_faults(faults)
        return cls(**values)

    def telephony(self, slots: SlotRegistry) -> SimTelephony:
        """The carrier, routing media by what `slots` report."""
        media = None
        if self.media_target is not None:
            media = CalleeMedia(slots, self.media_target, wait_s=self.media_wait_s, seed=self.seed)
        return SimTelephony(
            self.callees, seed=self.seed, media=media, trunk_faults=self.trunk_faults
        )


def parse_trunk_faults(text: str) -> dict[str, TrunkFault]:
    """`trunk=throttle,trunk2=fail` → trunk id → fault."""
    faults: dict[str, TrunkFault] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        trunk, _, name = item.partition("=")
        trunk, name = trunk.strip(), name.strip()
        if not trunk or name not in set(TrunkFault):
            raise ValidationError(
                "trunk_faults",
                f"{item!r} must be trunk=" + " or trunk=".join(fault.value for fault in TrunkFault),
            )
        faults[trunk] = TrunkFault(name)
    return faults


def _number(field: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValidationError(field, f"{raw!r} is not a number") from None
