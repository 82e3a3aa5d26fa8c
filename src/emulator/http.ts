// The HTTP side: listening socket lifecycle (outage/restart on the same port), request pipeline (trailing slash
// stripped, HEAD on GET routes, faults, latency), Go-style JSON replies with application/json even when empty,
// websocket upgrades of /api/ws, request/byte counters.

import http, { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { authenticate } from "./auth.js";
import type { Core, Reply } from "./context.js";
import type { FaultState } from "./faults.js";
import { HTML_502, INVALID_JSON_BODY } from "./faults.js";
import { dispatch, type Router } from "./router.js";
import { goJson } from "./shapes.js";

export interface HttpStats {
  requests: number;
  requestsByRoute: Record<string, number>;
  bytesOut: number;
}

const MAX_BODY = 16 * 1024 * 1024;

/** What the in-process transport answers: the parts of a fetch Response that SemaphoreClient reads. */
export interface InProcessResponse {
  status: number;
  headers: { get(name: string): string | null };
  body: Buffer[];
}

function stripSlash(p: string): string {
  let path = p;
  while (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return path;
}

const WEB_UI = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Semaphore UI</title></head>
<body><div id="app">Semaphore UI (emulated). The API is under /api.</div></body></html>
`;

export class HttpFront {
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket | Duplex>();
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;
  /** Without a listening socket: answering in-process requests (false during an outage). */
  inProcessUp = false;
  stats: HttpStats = { requests: 0, requestsByRoute: {}, bytesOut: 0 };

  constructor(
    private readonly core: Core,
    private readonly router: Router,
    private readonly faults: FaultState,
    private readonly host: string,
  ) {}

  get listening(): boolean {
    return this.server !== null;
  }

  async listen(port: number): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => this.onRequest(req, res));
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    server.on("clientError", (_e, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Close the listening socket and every connection (HTTP and websocket) at once. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.inProcessUp = false;
    this.core.hub.terminateAll();
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    server.closeAllConnections();
    await closed;
  }

  async dispose(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.close();
  }

  private count(route: string): void {
    this.stats.requests++;
    this.stats.requestsByRoute[route] = (this.stats.requestsByRoute[route] ?? 0) + 1;
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.handle(req, res).catch(() => {
      if (res.destroyed) return;
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
      res.end();
    });
  }

  private readBody(req: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          reject(new Error("body too large"));
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", reject);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const reply = await this.respond(method, req.url ?? "/", req.headers, () => this.readBody(req));
    this.write(method, res, reply);
  }

  /** The request pipeline without the socket: shared by HTTP and the in-process transport. */
  private async respond(method: string, rawUrl: string, headers: IncomingHttpHeaders, readBody: () => Promise<Buffer>): Promise<Reply> {
    const url = new URL(rawUrl, "http://localhost");
    const path = stripSlash(url.pathname);
    const isApi = path === "/api" || path.startsWith("/api/");
    const match = isApi ? this.router.match(method, path) : null;
    this.count(match ? (match.kind === "not_found" ? `${method} (unmatched)` : match.name) : `${method} (web ui)`);
    const body = await readBody();

    let reply: Reply;
    if (isApi && this.faults.html502) {
      reply = { status: 502, raw: HTML_502, contentType: "text/html" };
    } else if (isApi && this.faults.invalidJson && path !== "/api/ping") {
      reply = { status: 200, raw: INVALID_JSON_BODY, contentType: "application/json" };
    } else if (!match) {
      reply =
        method === "GET" || method === "HEAD"
          ? { status: 200, raw: WEB_UI, contentType: "text/html; charset=utf-8" }
          : { status: 404, raw: "404 page not found\n", contentType: "text/plain; charset=utf-8" };
    } else if (match.kind === "not_found") {
      reply = { status: 404, raw: "Not Found", contentType: "text/plain; charset=utf-8", headers: { "X-Content-Type-Options": "nosniff" } };
    } else if (match.kind === "method_not_allowed") {
      reply = { status: 405, contentType: "" }; // live: no Content-Type, empty body (§11 item 14)
    } else {
      reply = await dispatch(this.core, match.route, match.params, { method, path, query: url.searchParams, headers, body });
    }
    if (this.faults.latencyMs > 0) await this.delay(this.faults.latencyMs);
    return reply;
  }

  /**
   * A fetch that runs a request through the same pipeline without a socket (tests). While the front is closed
   * (outage) it fails as a refused connection would; every step is a microtask unless a latency fault is set.
   */
  async fetchInProcess(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<InProcessResponse> {
    if (!this.up) throw Object.assign(new Error(`connect ECONNREFUSED ${url}`), { code: "ECONNREFUSED" });
    const method = (init.method ?? "GET").toUpperCase();
    const headers: IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
    const u = new URL(url);
    const reply = await this.respond(method, u.pathname + u.search, headers, async () => Buffer.from(init.body ?? ""));
    if (reply.closeConnection) throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    const { text, headers: out } = this.encode(reply);
    const noBody = method === "HEAD" || reply.status === 204 || reply.status === 304;
    if (!noBody) this.stats.bytesOut += Buffer.byteLength(text);
    const lower = new Map(Object.entries(out).map(([k, v]) => [k.toLowerCase(), String(v)]));
    return { status: reply.status, headers: { get: (name) => lower.get(name.toLowerCase()) ?? null }, body: noBody ? [] : [Buffer.from(text)] };
  }

  /** Whether requests are answered: listening, or (without a socket) not in an outage. */
  private get up(): boolean {
    return this.server !== null || this.inProcessUp;
  }

  private encode(reply: Reply): { text: string; headers: OutgoingHttpHeaders } {
    const text = reply.raw ?? (reply.body !== undefined ? goJson(reply.body) + "\n" : "");
    const contentType = reply.contentType ?? "application/json";
    const headers: OutgoingHttpHeaders = { ...(contentType ? { "Content-Type": contentType } : {}), ...reply.headers };
    if (reply.status !== 204 && reply.status !== 304) headers["Content-Length"] = Buffer.byteLength(text);
    return { text, headers };
  }

  private write(method: string, res: ServerResponse, reply: Reply): void {
    if (res.destroyed || res.writableEnded) return;
    if (reply.closeConnection) {
      res.socket?.destroy();
      return;
    }
    const { text, headers } = this.encode(reply);
    const noBody = reply.status === 204 || reply.status === 304;
    res.writeHead(reply.status, headers);
    if (method === "HEAD" || noBody) {
      res.end();
      return;
    }
    res.end(text);
    this.stats.bytesOut += Buffer.byteLength(text);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => undefined);
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = stripSlash(url.pathname);
    this.count(path === "/api/ws" ? "GET /api/ws" : "GET (unmatched)");
    const refuse = (status: number, contentType: string, body: string): void => {
      const len = Buffer.byteLength(body);
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\nContent-Type: ${contentType}\r\nContent-Length: ${len}\r\nConnection: close\r\n\r\n${body}`,
      );
      this.stats.bytesOut += len;
    };
    if (path !== "/api/ws") return refuse(404, "text/plain; charset=utf-8", "Not Found");
    if (this.faults.html502) return refuse(502, "text/html", HTML_502);
    if (this.faults.wsRefuseStatus !== null) return refuse(this.faults.wsRefuseStatus, "application/json", "");
    const user = authenticate(this.core.store, req.headers);
    if (!user) return refuse(401, "application/json", "");
    this.core.hub.accept(req, socket, head, user);
  }
}
