"""A worker loads the client libraries its settings use, and no others: each case builds the
app in a fresh interpreter (this one has imported everything already) and lists what came in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = (
    "redis",
    "minio",
    "httpx",
    "rich",
    "aiohttp",
    "jwt",
    "livekit.api",
    "livekit.rtc",
    "numpy",
)

PROGRAM = f"""
import json, sys
from apps.fleet.main import create_app
from apps.fleet.settings import Settings
create_app(Settings(spool_dir=sys.argv[2], **json.loads(sys.argv[1])))
print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
"""

REAL = {"backend": "real", "s3_access_key": "a", "s3_secret_key": "b", "api_token": "t" * 40}
LIVEKIT = {
    "livekit_url": "wss://lk.example.com",
    "livekit_api_key": "key",
    "livekit_api_secret": "s" * 32,
}


@pytest.mark.parametrize(
    ("settings", "loaded"),
    [
        ({"backend": "memory"}, []),
        ({"backend": "memory", **LIVEKIT}, []),
        (REAL, ["redis", "httpx"]),
        ({**REAL, **LIVEKIT}, ["redis", "httpx"]),
    ],
    ids=["memory", "memory-livekit", "real", "real-livekit"],
)
def test_a_worker_imports_the_clients_its_settings_use(
    tmp_path: Path, settings: dict[str, str], loaded: list[str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, json.dumps(settings), str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # LiveKit's SDKs (and aiohttp, protobuf and numpy under them) wait for a LiveKit call in
    # every case (tests/fleet/test_livekit_deferred.py), the S3 client for the first upload.
    assert json.loads(result.stdout.splitlines()[-1]) == loaded
