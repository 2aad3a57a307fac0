"""Issue 12.4, the Kafka input: a request whose text is not valid Unicode goes to the dead-letter topic
with a reason that says so, and the sensor goes on (a valid surrogate pair, an emoji, is accepted)."""

from __future__ import annotations

import json

import dagster as dg

from nexus_core.kafka_settings import KafkaSettings
from nexus_core.messages import DeadLetter, parse
from resources.catalog import CatalogResource
from resources.kafka import KafkaResource
from sensors.requests import evaluate_requests
from tests.sensors.support import new_id, read_all


def _request(video_id: str, prompt: str) -> bytes:
    return json.dumps({"video_id": video_id, "user_id": "u", "request": {
        "prompt": prompt, "duration_seconds": 5, "resolution": "360p", "music_style": "none"}}).encode()


def test_text_that_is_not_valid_unicode_is_dead_lettered(
    instance: dg.DagsterInstance, catalog_resource: CatalogResource, kafka: KafkaResource,
    kafka_settings: KafkaSettings,
) -> None:
    lone, raw, emoji = new_id(), new_id(), new_id()
    kafka.publish_all([
        (kafka.topic_requests, b"u", _request(lone, "A park \ud800 in autumn")),  # json.dumps writes \\ud800
        (kafka.topic_requests, b"u", _request(raw, "A park in autumn").replace(b"park", b"p\xffrk")),
        (kafka.topic_requests, b"u", _request(emoji, "A sunrise \U0001F305 over the hills")),  # \\ud83c\\udf05
    ])
    result = evaluate_requests(dg.build_sensor_context(instance=instance), kafka, catalog_resource)
    assert [r.run_key for r in result.run_requests] == [emoji]
    dead = [parse(DeadLetter, v) for _, v in read_all(kafka_settings, kafka.topic_dead_letter, expect=2)]
    assert len(dead) == 2
    assert all("not valid Unicode" in d.reason for d in dead), [d.reason for d in dead]
    catalog = catalog_resource.catalog()
    assert catalog.get(lone) is None and catalog.get(raw) is None
