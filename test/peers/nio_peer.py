#!/usr/bin/python3
"""A Matrix test peer built on matrix-nio (Debian's python3-matrix-nio), driven by JSON lines.

Run with Debian's /usr/bin/python3. One command per stdin line, one response per stdout line:
  -> {"id": 1, "op": "login", "homeserver": "http://127.0.0.1:8008", "user": "@a:localhost", "password": "pw"}
  <- {"id": 1, "ok": true, "result": {"user_id": "@a:localhost", "device_id": "ABC"}}
  <- {"id": 2, "ok": false, "error": "..."}
Commands run concurrently (a pending wait_for does not block a send). Logs go to stderr.

Ops:
  login        homeserver, user, password | access_token+device_id, device_name?, encrypted?, store_path?
  whoami
  create_room  invite?: [user_id], encrypted?: bool, name?, is_direct?   -> {room_id}
  join         room                                                       -> {room_id}
  invite       room, user
  leave        room
  send         room, body?, msgtype? ("m.text"), formatted_body?, relates_to?, type?, content?  -> {event_id}
  wait_for     room, sender?, contains?, type? ("m.room.message", "*" for any), msgtype?, timeout? (s, 30)
               -> the first matching timeline event not returned by an earlier wait_for (consumed)
  wait_member  room, user, membership? ("join"), timeout?
  events       room   -> all timeline events seen in the room
  stats               -> counters (undecryptable events, ...)
  quit
An event: {room, event_id, sender, type, origin_server_ts, content, body, msgtype, formatted_body,
           relates_to, decrypted, undecryptable}
"""
import asyncio
import json
import os
import sys
import time
import traceback

from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    JoinError,
    LoginResponse,
    MegolmEvent,
    RoomCreateError,
    RoomSendResponse,
    SyncError,
)


def log(*args):
    print("[nio-peer]", *args, file=sys.stderr, flush=True)


class PeerError(Exception):
    pass


class Peer:
    def __init__(self):
        self.client = None
        self.events = {}  # room_id -> list of event dicts
        self.consumed = set()  # event ids returned by wait_for
        self.changed = asyncio.Condition()
        self.sync_task = None
        self.first_sync = asyncio.Event()
        self.undecryptable = 0
        self.sync_errors = 0
        self.quitting = False

    # ---- plumbing ------------------------------------------------------------------------

    def require_client(self):
        if self.client is None:
            raise PeerError("not logged in")
        return self.client

    async def notify(self):
        async with self.changed:
            self.changed.notify_all()

    async def wait_until(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        async with self.changed:
            while True:
                value = predicate()
                if value is not None and value is not False:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PeerError(f"timeout after {timeout}s waiting for {what}")
                try:
                    await asyncio.wait_for(self.changed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass

    async def on_event(self, room, event):
        src = getattr(event, "source", None) or {}
        content = src.get("content") or {}
        undecryptable = isinstance(event, MegolmEvent)
        if undecryptable:
            self.undecryptable += 1
        ev = {
            "room": room.room_id,
            "event_id": event.event_id,
            "sender": event.sender,
            "type": "m.room.encrypted" if undecryptable else src.get("type", type(event).__name__),
            "origin_server_ts": getattr(event, "server_timestamp", None),
            "content": content,
            "body": content.get("body"),
            "msgtype": content.get("msgtype"),
            "formatted_body": content.get("formatted_body"),
            "relates_to": content.get("m.relates_to"),
            "decrypted": bool(getattr(event, "decrypted", False)),
            "undecryptable": undecryptable,
        }
        self.events.setdefault(room.room_id, []).append(ev)
        await self.notify()

    async def sync_loop(self):
        client = self.client
        first = True
        while not self.quitting:
            try:
                resp = await client.sync(timeout=0 if first else 30000, full_state=first)
                if isinstance(resp, SyncError):
                    self.sync_errors += 1
                    log("sync error:", resp.message)
                    await asyncio.sleep(0.5)
                    continue
                if client.olm:
                    if client.should_upload_keys:
                        await client.keys_upload()
                    if client.should_query_keys:
                        await client.keys_query()
                    if client.should_claim_keys:
                        await client.keys_claim(client.get_users_for_key_claiming())
                    await client.send_to_device_messages()
                first = False
                self.first_sync.set()
                await self.notify()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # network trouble (e.g. paused server): keep going
                self.sync_errors += 1
                log("sync exception:", repr(e))
                await asyncio.sleep(0.5)

    # ---- ops -----------------------------------------------------------------------------

    async def op_login(self, homeserver, user, password=None, access_token=None, device_id=None,
                       device_name="nio-peer", encrypted=False, store_path=None):
        if self.client is not None:
            raise PeerError("already logged in")
        if encrypted and not store_path:
            raise PeerError("encrypted=true needs store_path")
        if store_path:
            os.makedirs(store_path, exist_ok=True)
        config = AsyncClientConfig(encryption_enabled=bool(encrypted), store_sync_tokens=False)
        client = AsyncClient(homeserver, user, device_id=device_id, store_path=store_path or "", config=config)
        self.client = client
        if access_token:
            if not device_id:
                raise PeerError("access_token needs device_id")
            client.restore_login(user, device_id, access_token)
        else:
            resp = await client.login(password, device_name=device_name)
            if not isinstance(resp, LoginResponse):
                self.client = None
                await client.close()
                raise PeerError(f"login failed: {resp}")
        client.add_event_callback(self.on_event, Event)
        self.sync_task = asyncio.ensure_future(self.sync_loop())
        await asyncio.wait_for(self.first_sync.wait(), 30)
        return {"user_id": client.user_id, "device_id": client.device_id}

    async def op_whoami(self):
        c = self.require_client()
        return {"user_id": c.user_id, "device_id": c.device_id}

    async def op_create_room(self, invite=None, encrypted=False, name=None, is_direct=False, timeout=30):
        c = self.require_client()
        initial_state = []
        if encrypted:
            initial_state.append({"type": "m.room.encryption", "state_key": "",
                                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
        resp = await c.room_create(name=name, invite=invite or [], initial_state=initial_state,
                                   is_direct=bool(is_direct))
        if isinstance(resp, RoomCreateError):
            raise PeerError(f"create_room failed: {resp.status_code} {resp.message}")
        room_id = resp.room_id
        await self.wait_until(lambda: room_id in c.rooms, timeout, f"room {room_id} in sync")
        return {"room_id": room_id}

    async def op_join(self, room, timeout=30):
        c = self.require_client()
        resp = await c.join(room)
        if isinstance(resp, JoinError):
            raise PeerError(f"join failed: {resp.status_code} {resp.message}")
        room_id = resp.room_id
        await self.wait_until(lambda: room_id in c.rooms, timeout, f"room {room_id} in sync")
        return {"room_id": room_id}

    async def op_invite(self, room, user):
        c = self.require_client()
        resp = await c.room_invite(room, user)
        if not type(resp).__name__.endswith("Response"):
            raise PeerError(f"invite failed: {resp}")
        return {}

    async def op_leave(self, room):
        c = self.require_client()
        resp = await c.room_leave(room)
        if not type(resp).__name__.endswith("Response"):
            raise PeerError(f"leave failed: {resp}")
        return {}

    async def op_send(self, room, body=None, msgtype="m.text", formatted_body=None, relates_to=None,
                      type="m.room.message", content=None):
        c = self.require_client()
        if content is None:
            content = {"msgtype": msgtype, "body": body if body is not None else ""}
            if formatted_body is not None:
                content["format"] = "org.matrix.custom.html"
                content["formatted_body"] = formatted_body
            if relates_to is not None:
                content["m.relates_to"] = relates_to
        resp = await c.room_send(room, type, content, ignore_unverified_devices=True)
        if not isinstance(resp, RoomSendResponse):
            raise PeerError(f"send failed: {resp}")
        return {"event_id": resp.event_id}

    async def op_wait_for(self, room, sender=None, contains=None, type="m.room.message", msgtype=None,
                          timeout=30):
        def find():
            for ev in self.events.get(room, []):
                if ev["event_id"] in self.consumed:
                    continue
                if type != "*" and ev["type"] != type:
                    continue
                if sender is not None and ev["sender"] != sender:
                    continue
                if msgtype is not None and ev["msgtype"] != msgtype:
                    continue
                if contains is not None and contains not in (ev["body"] or ""):
                    continue
                return ev
            return None

        ev = await self.wait_until(find, timeout, f"event in {room} sender={sender} contains={contains!r}")
        self.consumed.add(ev["event_id"])
        return ev

    async def op_wait_member(self, room, user, membership="join", timeout=30):
        c = self.require_client()

        def check():
            r = c.rooms.get(room)
            if r is None:
                return False
            if membership == "join":
                return user in r.users
            if membership == "invite":
                return user in r.invited_users
            return user not in r.users and user not in r.invited_users

        await self.wait_until(check, timeout, f"{user} {membership} in {room}")
        return {}

    async def op_events(self, room):
        return {"events": self.events.get(room, [])}

    async def op_stats(self):
        return {"undecryptable": self.undecryptable, "sync_errors": self.sync_errors,
                "rooms": sorted(self.client.rooms.keys()) if self.client else []}

    async def op_quit(self):
        await self.shutdown()
        return {}

    async def shutdown(self):
        self.quitting = True
        if self.sync_task:
            self.sync_task.cancel()
            try:
                await self.sync_task
            except BaseException:
                pass
            self.sync_task = None
        if self.client:
            await self.client.close()


def write(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def handle(peer, msg):
    req_id = msg.get("id")
    op = msg.pop("op", None)
    msg.pop("id", None)
    fn = getattr(peer, f"op_{op}", None) if isinstance(op, str) else None
    try:
        if fn is None:
            raise PeerError(f"unknown op {op!r}")
        result = await fn(**msg)
        write({"id": req_id, "ok": True, "result": result})
    except Exception as e:
        if not isinstance(e, PeerError):
            log(traceback.format_exc())
        write({"id": req_id, "ok": False, "error": f"{type(e).__name__}: {e}"})
    if op == "quit":
        os._exit(0)


async def main():
    peer = Peer()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks = set()
    write({"id": None, "ok": True, "result": {"ready": True}})
    while True:
        line = await reader.readline()
        if not line:
            break  # parent went away
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError as e:
            write({"id": None, "ok": False, "error": f"bad json: {e}"})
            continue
        t = asyncio.ensure_future(handle(peer, msg))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
    await peer.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
