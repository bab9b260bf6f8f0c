"""An original-style (OmoiOS) sandbox worker's HTTP side, written to the original's wire.

It reads CALLBACK_URL, SANDBOX_ID, TASK_ID and AGENT_ID from its env, sends no credentials of its
own, and builds every URL from CALLBACK_URL, as the original worker's event reporter and message
poller do: events are POSTed as {event_type, event_data: {...data, task_id, agent_id, sandbox_id},
source} with httpx, messages are read with a plain GET. Whatever credentials the relay put in
CALLBACK_URL's userinfo are sent by httpx itself (Basic auth).

Usage: original_worker.py '<steps as JSON>'; prints one JSON list, one answer per step:
  {"op": "report", "event_type": "...", "event_data": {...}, "source": "agent", "sandbox_id"?: "..."}
  {"op": "heartbeat"}                 agent.heartbeat {timestamp, status: "alive", event_count}
  {"op": "poll", "sandbox_id"?: "..."} GET messages
  {"op": "beat", "count": n, "interval_s": s}  n heartbeats, s seconds apart
A step's sandbox_id overrides SANDBOX_ID in the URL only (a worker trying another sandbox's path).

Usage: original_worker.py serve — runs as a sandbox's worker until SIGTERM, as the original's does
between turns: agent.started, then a message poll every 0.5 s and agent.heartbeat every
ORIGINAL_HEARTBEAT_S seconds (30, the original's cadence, unless set); a user_message or
guardian_nudge is reported as agent.message_injected, an interrupt as agent.interrupted; on SIGTERM
it reports agent.shutdown and exits 0.
"""

import asyncio
import json
import os
import signal
import sys
from datetime import datetime, timezone

import httpx


class OriginalStyleWorker:
    def __init__(self) -> None:
        self.callback_url = os.environ["CALLBACK_URL"]
        self.sandbox_id = os.environ["SANDBOX_ID"]
        self.task_id = os.environ.get("TASK_ID", "")
        self.agent_id = os.environ.get("AGENT_ID", "")
        self.event_count = 0

    async def report(self, client: httpx.AsyncClient, event_type: str, event_data: dict, source: str, sandbox_id: str) -> dict:
        self.event_count += 1
        data = {**event_data, "task_id": self.task_id, "agent_id": self.agent_id, "sandbox_id": self.sandbox_id}
        url = f"{self.callback_url}/api/v1/sandboxes/{sandbox_id}/events"
        response = await client.post(url, json={"event_type": event_type, "event_data": data, "source": source})
        return {"status": response.status_code, "body": response.json()}

    async def heartbeat(self, client: httpx.AsyncClient) -> dict:
        data = {"timestamp": datetime.now(timezone.utc).isoformat(), "status": "alive", "event_count": self.event_count}
        return await self.report(client, "agent.heartbeat", data, "worker", self.sandbox_id)

    async def poll(self, client: httpx.AsyncClient, sandbox_id: str) -> dict:
        response = await client.get(f"{self.callback_url}/api/v1/sandboxes/{sandbox_id}/messages")
        return {"status": response.status_code, "body": response.json()}

    async def run(self, steps: list) -> list:
        answers = []
        async with httpx.AsyncClient(timeout=30.0) as client:
            for step in steps:
                target = step.get("sandbox_id", self.sandbox_id)
                if step["op"] == "report":
                    answers.append(await self.report(client, step["event_type"], step.get("event_data", {}), step.get("source", "agent"), target))
                elif step["op"] == "heartbeat":
                    answers.append(await self.heartbeat(client))
                elif step["op"] == "poll":
                    answers.append(await self.poll(client, target))
                elif step["op"] == "beat":
                    for index in range(step["count"]):
                        if index:
                            await asyncio.sleep(step["interval_s"])
                        answers.append(await self.heartbeat(client))
                else:
                    raise ValueError(f"unknown step {step['op']!r}")
        return answers


    async def serve(self) -> None:
        heartbeat_s = float(os.environ.get("ORIGINAL_HEARTBEAT_S", "30"))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        async with httpx.AsyncClient(timeout=30.0) as client:
            await self.report(client, "agent.started", {"pid": os.getpid()}, "worker", self.sandbox_id)
            next_beat = loop.time()
            while not stop.is_set():
                if loop.time() >= next_beat:
                    await self.heartbeat(client)
                    next_beat += heartbeat_s
                polled = await self.poll(client, self.sandbox_id)
                for message in polled["body"] if polled["status"] == 200 else []:
                    if message["message_type"] == "interrupt":
                        await self.report(client, "agent.interrupted", {"reason": message["content"]}, "agent", self.sandbox_id)
                    else:
                        data = {"message_id": message["id"], "message_type": message["message_type"], "content": message["content"]}
                        await self.report(client, "agent.message_injected", data, "agent", self.sandbox_id)
                try:
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
                except asyncio.TimeoutError:
                    pass
            await self.report(client, "agent.shutdown", {"reason": "SIGTERM"}, "worker", self.sandbox_id)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        asyncio.run(OriginalStyleWorker().serve())
    else:
        print(json.dumps(asyncio.run(OriginalStyleWorker().run(json.loads(sys.argv[1])))))
