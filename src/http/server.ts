// The health and metrics endpoint ([bot] http_listen): GET /healthz (JSON, 200 or 503) and GET /metrics
// (Prometheus text). node:http only; no authentication, so it belongs on a loopback address. Idle, slow and
// half-sent connections are closed within seconds and at most HTTP_LIMITS.maxConnections are open at once.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { App } from "../app.js";
import type { Log } from "../log/logger.js";
import { errorText } from "../log/logger.js";
import { collectMetrics } from "./collect.js";
import { healthReport } from "./health.js";
import { parseListen, formatHostPort } from "./listen.js";
import { CONTENT_TYPE, renderPrometheus } from "./prometheus.js";

export interface HttpEndpoint {
  /** "http://127.0.0.1:9464", with the real port when 0 was asked for. */
  url: string;
  close(): Promise<void>;
}

type Source = Pick<App, "store" | "ops" | "matrix">;

/** How the endpoint guards itself against idle, slow and too many clients. */
export interface HttpLimits {
  /** The request line and headers must arrive within this. */
  headersTimeoutMs: number;
  /** The whole request must arrive within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** A socket with no traffic at all (idle before its first byte, or stalled mid-request) is closed after this. */
  idleTimeoutMs: number;
  /** How often the header and request deadlines are checked (Node's default is 30 s). */
  checkIntervalMs: number;
  /** Connections open at once; more are closed as soon as they are accepted. */
  maxConnections: number;
}

export const HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
  maxConnections: 64,
};

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    ...extra,
  });
  res.end(req.method === "HEAD" ? undefined : body);
}

export function handle(app: Source, log: Log, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? "/").split("?")[0];
  const known = path === "/healthz" || path === "/metrics" || path === "/";
  if (!known) return send(req, res, 404, "text/plain; charset=utf-8", "not found: try /healthz or /metrics\n");
  if (req.method !== "GET" && req.method !== "HEAD") return send(req, res, 405, "text/plain; charset=utf-8", "method not allowed\n", { Allow: "GET, HEAD" });
  try {
    if (path === "/healthz") {
      const h = healthReport(app);
      return send(req, res, h.status === "ok" ? 200 : 503, "application/json; charset=utf-8", JSON.stringify(h, null, 1) + "\n");
    }
    if (path === "/metrics") return send(req, res, 200, CONTENT_TYPE, renderPrometheus(collectMetrics(app)));
    return send(req, res, 200, "text/plain; charset=utf-8", "ChatrixCD\n/healthz  health (200 ok, 503 failing), JSON\n/metrics  Prometheus metrics\n");
  } catch (e) {
    log.error(`${path} failed: ${(e as Error)?.stack ?? errorText(e)}`);
    return send(req, res, 500, "text/plain; charset=utf-8", "internal error\n");
  }
}

/** Listens on `listen` (host:port). Rejects with a clear message when the address cannot be bound. */
export async function startHttpEndpoint(app: Source, listen: string, log: Log, limits: Partial<HttpLimits> = {}): Promise<HttpEndpoint> {
  const addr = parseListen(listen);
  if ("error" in addr) throw new Error(`[bot] http_listen = ${JSON.stringify(listen)}: ${addr.error}`);
  const l = { ...HTTP_LIMITS, ...limits };
  const server: Server = createServer(
    {
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      connectionsCheckingInterval: l.checkIntervalMs,
    },
    (req, res) => handle(app, log, req, res),
  );
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  server.setTimeout(l.idleTimeoutMs); // no 'timeout' listener: Node destroys the silent socket
  server.maxConnections = l.maxConnections;
  let lastDropLog = -Infinity;
  server.on("drop", () => {
    // One line a minute at most: a flood of connections must not become a flood of log lines.
    if (performance.now() - lastDropLog < 60_000) return;
    lastDropLog = performance.now();
    log.warn(
      `the health and metrics endpoint refused a connection: ${l.maxConnections} are open, the most it keeps. ` +
        "A scraper that does not close its connections, or a flood? (logged once a minute)",
    );
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const why =
        e.code === "EADDRINUSE"
          ? "the address is already in use"
          : e.code === "EADDRNOTAVAIL"
            ? "no such address on this machine"
            : e.code === "EACCES"
              ? "permission denied (ports below 1024 need privileges)"
              : errorText(e);
      reject(new Error(`cannot listen on ${formatHostPort(addr.host, addr.port)} ([bot] http_listen): ${why}`));
    };
    server.once("error", onError);
    server.listen({ host: addr.host, port: addr.port }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (e) => log.error(`health/metrics endpoint: ${errorText(e)}`));
  const bound = server.address() as AddressInfo;
  const url = `http://${formatHostPort(bound.address, bound.port)}`;
  log.info(`health and metrics on ${url}/healthz and ${url}/metrics`);
  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
