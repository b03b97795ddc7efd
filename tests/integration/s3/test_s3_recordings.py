"""The recording store's contract, on the in-memory fake and on a real S3 server through the
`minio` client, plus what only a real server can show: metadata on the wire, signatures and
expiry of presigned URLs, a multipart upload, the bucket created on first write."""

from __future__ import annotations

import io
import math
import struct
import threading
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from tests.integration.s3.conftest import StoreWorld
from voxcore_adapters.fakes.media_fakes import ExpiredUrl, InMemoryRecordingStore
from voxcore_adapters.s3 import S3Connection, S3RecordingsOnFirstUse, S3RecordingStore
from voxcore_adapters.s3.layout import METADATA_PREFIX
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import CallRecordings, RecordingInfo, RecordingNotFound

pytestmark = pytest.mark.integration


def make_wav(seconds: float, rate: int = 8000, tone_hz: float = 440.0) -> bytes:
    """A real 16-bit mono PCM WAV of a sine tone, as the stdlib `wave` module writes it."""
    # A whole number of cycles per second, so one second repeated is still a clean tone.
    one_second = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * tone_hz * i / rate)))
        for i in range(rate)
    )
    frames = int(seconds * rate)
    samples = (one_second * (frames // rate + 1))[: frames * 2]
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples)
    return out.getvalue()


WAV = make_wav(1.5)


def _all_are_call_recordings(
    fake: InMemoryRecordingStore, real: S3RecordingStore, deferred: S3RecordingsOnFirstUse
) -> list[CallRecordings]:
    """Never run: mypy checking this proves that all three implement the port."""
    return [fake, real, deferred]


# -- the contract ---------------------------------------------------------------------------


def test_a_wav_round_trips_byte_for_byte(world: StoreWorld) -> None:
    info = world.store.put_recording("tenant-1", "camp-1", "call-1", "mixed.wav", WAV)

    assert info == RecordingInfo(
        "tenant-1/call-1/mixed.wav", "tenant-1", "call-1", "camp-1", "audio/wav", len(WAV)
    )
    stored = world.store.get(info.key)
    assert stored == WAV
    with wave.open(io.BytesIO(stored)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, 8000)
        assert reader.getnframes() == 12000


def test_listing_by_call_returns_only_that_calls_recordings_in_key_order(
    world: StoreWorld,
) -> None:
    store = world.store
    store.put_recording("t1", "camp-1", "call-1", "mixed.wav", WAV)
    store.put_recording("t1", "camp-1", "call-1", "agent.wav", WAV[:2000])
    store.put_recording("t1", "camp-1", "call-10", "mixed.wav", WAV)
    store.put_recording("t2", "camp-9", "call-1", "mixed.wav", WAV)

    listed = store.for_call("t1", "call-1")

    assert [r.key for r in listed] == ["t1/call-1/agent.wav", "t1/call-1/mixed.wav"]
    assert [r.size for r in listed] == [2000, len(WAV)]
    assert {(r.tenant_id, r.call_id, r.campaign_id, r.content_type) for r in listed} == {
        ("t1", "call-1", "camp-1", "audio/wav")
    }
    assert store.for_call("t1", "call-2") == []
    assert [r.key for r in store.for_call("t2", "call-1")] == ["t2/call-1/mixed.wav"]


def test_listing_a_call_before_anything_was_stored_is_empty(world: StoreWorld) -> None:
    # On S3 the bucket does not even exist yet.
    assert world.store.for_call("t1", "call-1") == []


def test_a_file_stored_without_metadata_is_listed_with_no_campaign(world: StoreWorld) -> None:
    """What LiveKit egress writes under a call's prefix carries no campaign metadata."""
    world.store.put("t1/call-1/egress-room.ogg", b"OggS-not-really", "audio/ogg")

    (info,) = world.store.for_call("t1", "call-1")

    assert info == RecordingInfo(
        "t1/call-1/egress-room.ogg", "t1", "call-1", None, "audio/ogg", len(b"OggS-not-really")
    )


def test_storing_under_the_same_name_replaces_the_recording(world: StoreWorld) -> None:
    world.store.put_recording("t1", "camp-1", "call-1", "mixed.wav", WAV)
    shorter = make_wav(0.25)
    world.store.put_recording("t1", "camp-2", "call-1", "mixed.wav", shorter)

    assert world.store.get("t1/call-1/mixed.wav") == shorter
    (info,) = world.store.for_call("t1", "call-1")
    assert (info.campaign_id, info.size) == ("camp-2", len(shorter))


def test_raw_keys_round_trip(world: StoreWorld) -> None:
    world.store.put("exports/2024-06/report.csv", b"a,b\n1,2\n", "text/csv")
    assert world.store.get("exports/2024-06/report.csv") == b"a,b\n1,2\n"


def test_a_missing_recording_is_reported_as_not_found(world: StoreWorld) -> None:
    with pytest.raises(RecordingNotFound) as get_error:
        world.store.get("t1/call-1/mixed.wav")
    assert get_error.value.key == "t1/call-1/mixed.wav"
    world.store.put_recording("t1", "camp-1", "call-1", "mixed.wav", WAV)
    with pytest.raises(RecordingNotFound):
        world.store.get("t1/call-1/other.wav")
    with pytest.raises(RecordingNotFound):
        world.store.url("t1/call-1/other.wav", timedelta(minutes=5))


def test_a_presigned_url_serves_the_recording(world: StoreWorld) -> None:
    info = world.store.put_recording("t1", "camp-1", "call-1", "mixed.wav", WAV)

    url = world.store.url(info.key, timedelta(minutes=5))

    assert world.fetch(url) == WAV


def test_a_presigned_url_stops_working_when_it_expires(world: StoreWorld) -> None:
    info = world.store.put_recording("t1", "camp-1", "call-1", "mixed.wav", WAV)
    url = world.store.url(info.key, timedelta(seconds=1))
    if world.kind == "fake":
        world.clock.advance(timedelta(seconds=2))
        with pytest.raises(ExpiredUrl):
            world.fetch(url)
        return
    # S3 compares the signature's date plus X-Amz-Expires with its own clock: wait it out.
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as refused:
        world.fetch(url)
    assert refused.value.code == 403


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.put_recording("a/b", "c", "d", "mixed.wav", WAV), "tenant_id"),
        (lambda s: s.put_recording("t", "", "d", "mixed.wav", WAV), "campaign_id"),
        (lambda s: s.put_recording("t", "c", "../d", "mixed.wav", WAV), "call_id"),
        (lambda s: s.put_recording("t", "c", "d", "../mixed.wav", WAV), "name"),
        (lambda s: s.put_recording("t", "c", "d", "mixed.wav", b"ID3 an mp3"), "data"),
        (lambda s: s.put_recording("t", "c", "d", "mixed.wav", b""), "data"),
        (lambda s: s.put_recording("t", "c", "d", "m.wav", WAV, "audio wav"), "content_type"),
        (lambda s: s.put("../escape", WAV, "audio/wav"), "key"),
        (lambda s: s.put("a//b", WAV, "audio/wav"), "key"),
        (lambda s: s.put("", WAV, "audio/wav"), "key"),
        (lambda s: s.get("/leading"), "key"),
        (lambda s: s.url("t/c/m.wav", timedelta(0)), "expires"),
        (lambda s: s.url("t/c/m.wav", timedelta(days=8)), "expires"),
        (lambda s: s.for_call("t", "c/d"), "call_id"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    world: StoreWorld, call: Callable[[CallRecordings], object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        call(world.store)
    assert refused.value.field == field


# -- what only a real S3 server shows -------------------------------------------------------


def test_ids_travel_as_s3_user_metadata(s3_connection: S3Connection, bucket: str) -> None:
    store = S3RecordingStore(s3_connection, bucket)
    store.put_recording("t1", "camp-1", "call-1", "mixed.wav", WAV)

    stat = s3_connection.client().stat_object(bucket, "t1/call-1/mixed.wav")

    assert stat.content_type == "audio/wav"
    assert stat.metadata is not None
    assert {
        name: stat.metadata.get(METADATA_PREFIX + name)
        for name in ("tenant-id", "campaign-id", "call-id")
    } == {"tenant-id": "t1", "campaign-id": "camp-1", "call-id": "call-1"}


def test_the_bucket_is_created_on_first_write_even_by_racing_workers(
    s3_connection: S3Connection, bucket: str
) -> None:
    client = s3_connection.client()
    assert not client.bucket_exists(bucket)
    workers = [S3RecordingStore(s3_connection, bucket) for _ in range(4)]
    failures: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def upload(index: int) -> None:
        start.wait()
        try:
            workers[index].put_recording("t1", "camp-1", f"call-{index}", "mixed.wav", WAV)
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert client.bucket_exists(bucket)
    assert [len(workers[0].for_call("t1", f"call-{i}")) for i in range(4)] == [1, 1, 1, 1]


def test_a_long_call_round_trips_through_a_multipart_upload(s3_store: S3RecordingStore) -> None:
    # Seven minutes of 8 kHz 16-bit audio is about 6.7 MB: above minio's 5 MiB single-PUT part.
    long_call = make_wav(7 * 60, tone_hz=350.0)
    assert len(long_call) > 5 * 1024 * 1024

    info = s3_store.put_recording("t1", "camp-1", "call-1", "mixed.wav", long_call)

    assert s3_store.get(info.key) == long_call
    assert s3_store.for_call("t1", "call-1")[0].size == len(long_call)


def test_presigned_urls_are_signed_and_the_server_checks_the_signature(
    s3_connection: S3Connection, s3_store: S3RecordingStore
) -> None:
    info = s3_store.put_recording("t1", "camp-1", "call-1", "mixed.wav", WAV)
    url = s3_store.url(info.key, timedelta(minutes=5))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == s3_connection.url
    assert "X-Amz-Signature=" in parts.query
    assert s3_connection.secret_key not in url

    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    unsigned = f"{s3_connection.url}/{s3_store.bucket}/{info.key}"
    for refused_url in (tampered, unsigned):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(refused_url, timeout=10)
        assert refused.value.code == 403


def test_a_public_url_is_what_presigned_urls_point_at(
    s3_connection: S3Connection, bucket: str
) -> None:
    store = S3RecordingStore(s3_connection, bucket, public_url="https://media.example.com")
    info = store.put_recording("t1", "camp-1", "call-1", "mixed.wav", WAV)

    url = store.url(info.key, timedelta(minutes=5))

    assert url.startswith(f"https://media.example.com/{bucket}/t1/call-1/mixed.wav?")


def test_the_connection_never_shows_its_secret(s3_connection: S3Connection) -> None:
    assert s3_connection.secret_key not in repr(s3_connection)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "ftp://127.0.0.1:9000"}, "url"),
        ({"url": "http://127.0.0.1:9000/some/path"}, "url"),
        ({"access_key": ""}, "access_key"),
        ({"secret_key": ""}, "secret_key"),
        ({"timeout_s": 0}, "timeout_s"),
    ],
)
def test_a_bad_connection_is_refused_naming_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {
        "url": "http://127.0.0.1:9000",
        "access_key": "k",
        "secret_key": "s",
        **kwargs,
    }
    with pytest.raises(ValidationError) as refused:
        S3Connection(**values)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_a_bad_bucket_name_is_refused(s3_connection: S3Connection) -> None:
    with pytest.raises(ValidationError) as refused:
        S3RecordingStore(s3_connection, "Not_A_Bucket")
    assert refused.value.field == "bucket"
    with pytest.raises(ValidationError) as refused:
        S3RecordingsOnFirstUse(s3_connection, "Not_A_Bucket")
    assert refused.value.field == "bucket"
