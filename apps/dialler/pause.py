"""Turn the platform-wide dial pause on or off, or show it:

    python -m apps.dialler.pause on|off|status

Reads VOX_DIALLER_REDIS_URL and VOX_DIALLER_REDIS_PREFIX like the dialler. While paused, no
dialler places a new dial; calls in progress carry on.
"""

from __future__ import annotations

import asyncio
import sys

from apps.dialler.settings import Settings
from voxcore_adapters import redis

USAGE = "usage: python -m apps.dialler.pause on|off|status"


async def run(command: str, settings: Settings) -> str:
    client = redis.connect(settings.redis_url)
    try:
        switch = redis.RedisPauseSwitch(client, settings.redis_prefix)
        if command in ("on", "off"):
            await switch.set_paused(command == "on")
        return "paused" if await switch.paused() else "dialling"
    finally:
        await client.aclose()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("on", "off", "status"):
        print(USAGE, file=sys.stderr)
        return 2
    print(asyncio.run(run(argv[0], Settings.from_env())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
