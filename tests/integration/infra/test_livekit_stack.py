"""The SIP / LiveKit host's stack, checked statically: Docker cannot run here, so neither can
LiveKit or livekit-sip. `setup.sh --render-only` renders the configs as on the host; the test
reads them as YAML and checks what the two servers and the platform need to agree on. Whether
LiveKit accepts every key is not proven here (only a real LiveKit could)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML comes with Litestar, without stubs

from apps.dialler.settings import Settings as DiallerSettings
from tests.integration.infra.support import INFRA, run

KEY = "APIvoxtest"
SECRET = "x" * 40
WEBHOOK_PATH = "/v1/livekit/webhook"
"""The Backend API's LiveKit webhook receiver (docs/api.md)."""


def env_file(tmp_path: Path, **changes: str) -> Path:
    values = {
        "LIVEKIT_API_KEY": KEY,
        "LIVEKIT_API_SECRET": SECRET,
        "VOX_API_URL": "http://api.internal:8080",
        "LIVEKIT_SERVER_IMAGE": "livekit/livekit-server:v1.8.0",
        "LIVEKIT_SIP_IMAGE": "livekit/sip:v1.0.0",
        **changes,
    }
    path = tmp_path / "livekit.env"
    path.write_text("# test values\n" + "".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def setup(tmp_path: Path, env: Path) -> tuple[int, str]:
    done = run(
        [
            *(str(INFRA / "livekit" / "setup.sh"), "--env", str(env)),
            *("--dir", str(tmp_path / "out"), "--render-only"),
        ]
    )
    return done.returncode, done.stderr


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def test_the_rendered_configs_agree_with_each_other_and_the_platform(tmp_path: Path) -> None:
    assert setup(tmp_path, env_file(tmp_path))[0] == 0
    out = tmp_path / "out"
    livekit = load(out / "livekit.yaml")
    sip = load(out / "sip.yaml")
    compose = load(out / "docker-compose.yml")

    assert livekit["keys"] == {KEY: SECRET}
    assert livekit["rtc"]["use_external_ip"] is True
    assert sip["use_external_ip"] is True
    # Inbound SIP reaches the Backend through the webhook, signed with a key LiveKit knows.
    assert livekit["webhook"]["api_key"] in livekit["keys"]
    assert livekit["webhook"]["urls"] == ["http://api.internal:8080" + WEBHOOK_PATH]
    # livekit-sip talks to this LiveKit with the same key pair, through the same Redis.
    assert (sip["api_key"], sip["api_secret"]) == (KEY, SECRET)
    assert sip["ws_url"] == f"ws://127.0.0.1:{livekit['port']}"
    assert sip["redis"]["address"] == livekit["redis"]["address"] == "127.0.0.1:6380"
    assert {"sip_port", "rtp_port"} <= set(sip)
    # The dialler on this host reaches LiveKit's API at its default URL.
    assert DiallerSettings().livekit_url == f"http://127.0.0.1:{livekit['port']}"

    services = compose["services"]
    assert set(services) == {"redis", "livekit", "sip"}
    assert "./livekit.yaml:/etc/livekit.yaml:ro" in services["livekit"]["volumes"]
    assert services["livekit"]["command"] == ["--config", "/etc/livekit.yaml"]
    assert (
        f"./sip.yaml:{services['sip']['environment']['SIP_CONFIG_FILE']}:ro"
        in (services["sip"]["volumes"])
    )
    assert "${LIVEKIT_REDIS_PORT:-6380}" in services["redis"]["command"]
    assert (out / ".env").read_text().splitlines() == [
        "LIVEKIT_REDIS_PORT=6380",
        "LIVEKIT_SERVER_IMAGE=livekit/livekit-server:v1.8.0",
        "LIVEKIT_SIP_IMAGE=livekit/sip:v1.0.0",
    ]
    for name in ("livekit.yaml", "sip.yaml"):
        # They hold the API secret.
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600


def test_setup_refuses_a_short_secret_a_missing_value_and_the_unfilled_example(
    tmp_path: Path,
) -> None:
    code, err = setup(tmp_path, env_file(tmp_path, LIVEKIT_API_SECRET="short"))
    assert code == 2
    assert "LIVEKIT_API_SECRET" in err
    assert "short" not in err.replace("shorter", "")
    code, err = setup(tmp_path, env_file(tmp_path, VOX_API_URL=""))
    assert (code, "VOX_API_URL must be set" in err) == (2, True)
    code, err = setup(tmp_path, INFRA / "livekit" / "livekit.env.example")
    assert code == 2, err
    assert not (tmp_path / "out" / "livekit.yaml").exists()


def test_setup_refuses_unpinned_images(tmp_path: Path) -> None:
    code, err = setup(tmp_path, env_file(tmp_path, LIVEKIT_SIP_IMAGE="livekit/sip:latest"))
    assert (code, "pin a version" in err) == (2, True)
    code, err = setup(tmp_path, env_file(tmp_path, LIVEKIT_SERVER_IMAGE=""))
    assert (code, "LIVEKIT_SERVER_IMAGE must be image:tag" in err) == (2, True)
    compose = load(INFRA / "livekit" / "docker-compose.yml")
    images = [s["image"] for s in compose["services"].values() if "LIVEKIT" in s.get("image", "")]
    assert len(images) == 2
    assert all(":?" in image for image in images), images
