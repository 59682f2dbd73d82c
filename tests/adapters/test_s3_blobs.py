"""Attachments in S3-compatible object storage, against a real S3 protocol server on loopback (moto's server
mode): an MMS photo is stored there, the API, staff pages and portal stream it back with its thumbnail, a
second app process sharing nothing but the database and the bucket serves the same bytes, and an object gone
from the bucket answers 404, never a 500."""

from __future__ import annotations

import uuid
from dataclasses import replace

import boto3
import httpx
import pytest
from support.inbound import customer_comments, customer_with_number, jpeg, media, open_shop, opened, phone_of, twilio_text
from support.shops import ShopFactory

from repairtext.adapters.blobs import MissingBlob, S3BlobStore, blob_store_for
from repairtext.bootstrap import build_context
from repairtext.entrypoints.app import create_app
from repairtext.services.worker import Worker

pytest.importorskip("moto")


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret",
                        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    name = f"repairtext-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=name)
    return client, name


@pytest.fixture
def s3_ctx(settings, s3_endpoint, bucket):
    ctx = build_context(replace(settings, blob_url=f"s3://{bucket[1]}/attachments", s3_endpoint_url=s3_endpoint))
    ctx.media_backoff = 0.01
    yield ctx
    ctx.close()


def test_the_blob_url_picks_the_store(tmp_path, s3_endpoint, bucket):
    assert type(blob_store_for(f"file:{tmp_path}")).__name__ == "DirectoryBlobStore"
    store = blob_store_for(f"s3://{bucket[1]}/some/prefix", s3_endpoint)
    assert isinstance(store, S3BlobStore)
    key = store.put(b"hello", ".txt")
    assert bucket[0].get_object(Bucket=bucket[1], Key=f"some/prefix/{key}")["Body"].read() == b"hello"
    assert b"".join(store.open(key)) == b"hello"
    store.delete(key)
    with pytest.raises(MissingBlob):
        store.open(key)
    with pytest.raises(MissingBlob):
        store.open("../../etc/passwd")
    with pytest.raises(ValueError, match="REPAIRTEXT_BLOB_URL"):
        blob_store_for("ftp://nowhere")


def test_an_mms_photo_lives_in_the_bucket_and_every_process_serves_it(s3_ctx, settings, live_server, sim, bucket):
    client, name = bucket
    live_server.serve(create_app(s3_ctx, inline_worker=False))
    try:
        shop = open_shop(ShopFactory(s3_ctx, live_server.url, sim))
        customer = customer_with_number(shop)
        ticket = shop.ticket(customer["id"])
        photo = jpeg((800, 600))
        twilio_text(sim, shop, phone_of(customer), "the back is cracked too", [media(photo, "image/jpeg")])
        Worker(s3_ctx, name="s3-test", concurrency=1).drain()

        [reply] = [c for c in customer_comments(shop, ticket["id"]) if c["attachments"]]
        [attachment] = reply["attachments"]
        stored = client.list_objects_v2(Bucket=name, Prefix="attachments/")["Contents"]
        assert len(stored) == 2  # the photo and its thumbnail, nothing on local disk

        full = shop.api.get(attachment["url"])
        assert full.status_code == 200 and full.headers["content-type"] == "image/jpeg"
        assert opened(full.content).size == (800, 600)
        thumbnail = shop.api.get(attachment["thumbnail_url"])
        assert thumbnail.status_code == 200 and max(opened(thumbnail.content).size) == 320
        token = ticket["portal_url"].rsplit("/", 1)[1]
        portal_path = f"/portal/{token}/attachments/{attachment['id']}"
        assert httpx.get(live_server.url + portal_path, timeout=10).content == full.content

        # Another server process: its own context, no shared disk, the same database and bucket.
        other = build_context(replace(s3_ctx.settings, blob_dir="/nonexistent-on-this-machine"))
        live_server.serve(create_app(other, inline_worker=False))
        assert shop.api.get(attachment["url"]).content == full.content

        # The object disappears from the bucket: a clear 404, not a 500.
        for item in stored:
            client.delete_object(Bucket=name, Key=item["Key"])
        gone = shop.api.get(attachment["url"])
        assert gone.status_code == 404 and "missing from storage" in gone.text
        assert httpx.get(live_server.url + portal_path, timeout=10).status_code == 404
        other.close()
    finally:
        live_server.serve(None)
