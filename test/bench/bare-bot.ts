// The baseline for F1/F5/F7: the least a matrix-js-sdk bot can do to answer `!cd ping` — log in, sync, auto-join,
// reply with an m.notice. No config, no store, no guards, no Semaphore.
//   node dist/test/bench/bare-bot.js <homeserver> <user id> <password>
import "../../src/polyfill.js";
import { createClient, ClientEvent, RoomEvent, SyncState, MsgType, type MatrixEvent } from "matrix-js-sdk";
import { routeSdkLogging } from "../../src/log/sdk.js";
import { Logger } from "../../src/log/logger.js";

const [homeserver, userId, password] = process.argv.slice(2) as [string, string, string];
routeSdkLogging(new Logger({ level: "error" }));
const login = await createClient({ baseUrl: homeserver }).loginRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: userId }, password });
const client = createClient({ baseUrl: homeserver, accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id });
client.on(RoomEvent.MyMembership, (room, membership) => {
  if (membership === "invite") void client.joinRoom(room.roomId);
});
client.on(RoomEvent.Timeline, (ev: MatrixEvent, room, toStart, removed, data) => {
  if (toStart || removed || !data?.liveEvent || !room || ev.getSender() === userId || ev.getType() !== "m.room.message") return;
  if (ev.getContent().body !== "!cd ping") return;
  void client.sendMessage(room.roomId, { msgtype: MsgType.Notice, body: "pong", "m.relates_to": { "m.in_reply_to": { event_id: ev.getId()! } } } as never);
});
client.on(ClientEvent.Sync, (state) => {
  if (state === SyncState.Prepared) process.stdout.write("READY\n");
});
await client.startClient({ initialSyncLimit: 0 });
process.on("SIGTERM", () => {
  client.stopClient();
  process.exit(0);
});
