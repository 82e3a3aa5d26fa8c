// WebSocket hub of /api/ws (§7): server → client only, one JSON object per text frame, every frame of a task goes to
// each connection whose user is a member of the task's project (or an admin). Client messages are read and
// discarded (max 512 bytes). The server pings every 54 s and drops a connection that did not answer the previous ping
// (Semaphore: no pong within 60 s).

import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { Store } from "./store.js";
import type { UserRow } from "./types.js";

interface Client {
  ws: WebSocket;
  userId: number;
  /** a ping was sent and no pong came back yet */
  awaitingPong: boolean;
}

export interface HubOptions {
  /** Ping interval; a connection that has not answered the previous ping by the next one is dropped. */
  pingMs: number;
}

export class Hub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 512 });
  private readonly clients = new Set<Client>();
  private pingTimer: NodeJS.Timeout | null = null;
  framesOut = 0;
  /** Payload bytes of every frame sent, for benchmarks. */
  bytesOut = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: HubOptions,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  accept(req: IncomingMessage, socket: Duplex, head: Buffer, user: UserRow): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const c: Client = { ws, userId: user.id, awaitingPong: false };
      this.clients.add(c);
      ws.on("pong", () => (c.awaitingPong = false));
      ws.on("message", () => undefined); // read and discarded
      ws.on("error", () => undefined);
      ws.on("close", () => this.clients.delete(c));
      this.ensurePing();
    });
  }

  private ensurePing(): void {
    if (this.pingTimer) return;
    this.pingTimer = setInterval(() => {
      for (const c of this.clients) {
        if (c.awaitingPong) {
          c.ws.terminate();
          this.clients.delete(c);
          continue;
        }
        c.awaitingPong = true;
        try {
          c.ws.ping();
        } catch {
          /* closing */
        }
      }
      if (this.clients.size === 0 && this.pingTimer) {
        clearInterval(this.pingTimer);
        this.pingTimer = null;
      }
    }, this.opts.pingMs);
  }

  /** Send a frame to every connection allowed to see project `projectId`. */
  broadcast(projectId: number, frame: string): void {
    for (const c of this.clients) {
      if (c.ws.readyState !== c.ws.OPEN) continue;
      const user = this.store.users.get(c.userId);
      if (!user || !(user.admin || this.store.member(projectId, user.id))) continue;
      c.ws.send(frame);
      this.framesOut++;
      this.bytesOut += Buffer.byteLength(frame);
    }
  }

  /** Abrupt close of every connection (no close frame). */
  terminateAll(): void {
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
  }

  dispose(): void {
    this.terminateAll();
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.wss.close();
  }
}
