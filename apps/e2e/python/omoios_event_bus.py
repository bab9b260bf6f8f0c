"""The original system's (OmoiOS) event bus as its services use it, written by us to its wire for the
relay's tests (none of its code): a pydantic `SystemEvent`, published with the `redis` package on
`events.<event_type>` as `model_dump_json()`, and read with `psubscribe("events.*")` and parsed the way
its subscribers parse it (`json.loads`, then `SystemEvent(...)` from the four fields; extra fields ignored).

  publish URL EVENTS_JSON        publish each event (a JSON list of SystemEvent fields); print what was sent
  subscribe URL IDS COUNT SECS   print {"ready": true} once subscribed, then one line per message about an
                                 entity in IDS (comma-separated), until COUNT of them or SECS elapsed
  roundtrip URL PREFIX           the seed's phase 0.2: PING, and one pattern-subscribed message round trip
"""

import json
import sys
import time
from typing import Any, Dict

import redis
from pydantic import BaseModel, Field


class SystemEvent(BaseModel):
    """The bus message: an event about an entity (task, agent, ticket, sandbox)."""

    event_type: str
    entity_type: str
    entity_id: str
    payload: Dict[str, Any] = Field(default_factory=dict)


def connect(url: str) -> "redis.Redis":
    client = redis.from_url(url, decode_responses=True, socket_timeout=5.0, socket_connect_timeout=5.0)
    client.ping()
    return client


def publish(url: str, events_json: str) -> None:
    client = connect(url)
    sent = []
    for fields in json.loads(events_json):
        event = SystemEvent(**fields)
        channel = f"events.{event.event_type}"
        message = event.model_dump_json()
        sent.append({"channel": channel, "message": message, "receivers": client.publish(channel, message)})
    client.close()
    print(json.dumps({"sent": sent}))


def wait_subscribed(pubsub: "redis.client.PubSub") -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1.0)
        if message and message["type"] == "psubscribe":
            return
    raise SystemExit("no psubscribe confirmation within 10 s")


def subscribe(url: str, ids: str, count: str, seconds: str) -> None:
    wanted = set(ids.split(","))
    client = connect(url)
    pubsub = client.pubsub()
    pubsub.psubscribe("events.*")
    wait_subscribed(pubsub)
    print(json.dumps({"ready": True}), flush=True)
    seen = 0
    end = time.monotonic() + float(seconds)
    while seen < int(count) and time.monotonic() < end:
        message = pubsub.get_message(timeout=0.2)
        if not message or message["type"] != "pmessage":
            continue
        data = json.loads(message["data"])
        if data.get("entity_id") not in wanted:
            continue
        # As the original's EventBusService.subscribe handler builds it ...
        event = SystemEvent(
            event_type=data["event_type"],
            entity_type=data["entity_type"],
            entity_id=data["entity_id"],
            payload=data["payload"],
        )
        # ... and as pydantic parses the text itself: the same event.
        if SystemEvent.model_validate_json(message["data"]) != event:
            raise SystemExit(f"model_validate_json disagrees on {message['data']}")
        extra = sorted(set(data) - set(SystemEvent.model_fields))
        print(json.dumps({"channel": message["channel"], "event": event.model_dump(), "extra": extra}), flush=True)
        seen += 1
    pubsub.close()
    client.close()
    print(json.dumps({"done": seen}), flush=True)


def roundtrip(url: str, prefix: str) -> None:
    client = redis.from_url(url, decode_responses=True)
    pong = client.ping()
    pubsub = client.pubsub()
    pubsub.psubscribe(f"{prefix}.*")
    wait_subscribed(pubsub)
    client.publish(f"{prefix}.events", '{"test": true}')
    message = pubsub.get_message(timeout=2.0)
    pubsub.close()
    client.close()
    print(json.dumps({"ping": pong, "type": message and message["type"], "data": message and message["data"]}))


if __name__ == "__main__":
    commands = {"publish": publish, "subscribe": subscribe, "roundtrip": roundtrip}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        raise SystemExit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
