"""`GET /health`, `GET /metrics` and the OpenAPI schema of a worker."""

from __future__ import annotations

from litestar.testing import TestClient

from apps.fleet.settings import Settings
from apps.fleet.version import VERSION
from tests.fleet.support import worker_app


def test_health_reports_the_slot_version_and_uptime(settings: Settings) -> None:
    with TestClient(worker_app(settings)) as client:
        answer = client.get("/health")
        assert answer.status_code == 200
        report = answer.json()
        assert report == {
            "status": "ok",
            "worker": "7",
            "host": "fleet-test",
            "socket": "/tmp/voxcore_7.sock",
            "version": VERSION,
            "uptime_s": report["uptime_s"],
            "slot": {"state": "idle", "call_id": None, "busy_since": None},
        }
        assert 0 <= report["uptime_s"] < 60


def test_metrics_expose_every_series(settings: Settings) -> None:
    with TestClient(worker_app(settings)) as client:
        answer = client.get("/metrics")
        assert answer.headers["content-type"].startswith("text/plain")
        for name in (
            'vox_fleet_slot_state{vox_fleet_slot_state="idle"} 1.0',
            "# TYPE vox_fleet_handovers_total counter",
            "# TYPE vox_fleet_calls_total counter",
            "# TYPE vox_fleet_call_seconds histogram",
            "# TYPE vox_fleet_recordings_total counter",
            "vox_fleet_heartbeat_failures_total 0.0",
        ):
            assert name in answer.text


def test_the_openapi_schema_describes_the_routes(settings: Settings) -> None:
    with TestClient(worker_app(settings)) as client:
        schema = client.get("/schema/openapi.json").json()
        assert schema["info"] == {"title": "VoxBridge fleet worker", "version": VERSION}
        attach = schema["paths"]["/attach"]["post"]
        assert sorted(attach["responses"]) == ["202", "400", "422", "429"]
        assert "/health" in schema["paths"]
