// An HTTP + websocket proxy in front of our Semaphore-compatible server for faults the server itself does not
// inject: "401" swaps the bot's bearer token for an unknown one, so Semaphore itself answers 401 (REST and websocket
// upgrade alike, with its real empty-bodied replies); "down" refuses connections (listening socket closed, open ones
// dropped), as a host that went away. Requests and websocket upgrades are counted.
import http from "node:http";
import net from "node:net";

export type ProxyMode = "pass" | "401" | "down";

export interface FaultProxy {
  url: string;
  mode(m: ProxyMode): Promise<void>;
  /** Drops every open websocket (socket destroyed, no close frame). */
  dropWebsockets(): void;
  readonly stats: { requests: number; upgrades: number; unauthorized: number };
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const t = new URL(target);
  let mode: ProxyMode = "pass";
  const stats = { requests: 0, upgrades: 0, unauthorized: 0 };
  const sockets = new Set<net.Socket>();
  const wsSockets = new Set<net.Socket>();
  const headersFor = (h: http.IncomingHttpHeaders): http.IncomingHttpHeaders => {
    if (mode !== "401" || !h.authorization) return h;
    stats.unauthorized++;
    return { ...h, authorization: "Bearer revoked0token0revoked0token0revoked0tok=" };
  };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    stats.requests++;
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: headersFor(req.headers) }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  };
  const onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    stats.upgrades++;
    const headers = headersFor(req.headers);
    const up = net.connect(Number(t.port), t.hostname, () => {
      up.write(
        `${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}`)
          .join("\r\n")}\r\n\r\n`,
      );
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    const drop = () => {
      socket.destroy();
      up.destroy();
      wsSockets.delete(socket);
      wsSockets.delete(up);
    };
    up.on("error", drop);
    socket.on("error", drop);
    up.on("close", drop);
    socket.on("close", drop);
    wsSockets.add(socket);
    wsSockets.add(up);
  };
  let server = http.createServer(onRequest);
  const wire = (s: http.Server) => {
    s.on("upgrade", onUpgrade);
    s.on("connection", (c) => {
      sockets.add(c);
      c.on("close", () => sockets.delete(c));
    });
  };
  wire(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  let listening = true;
  const shut = () =>
    new Promise<void>((r) => {
      for (const s of [...sockets, ...wsSockets]) s.destroy();
      sockets.clear();
      wsSockets.clear();
      server.close(() => r());
    });
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    async mode(m) {
      mode = m;
      if (m === "down" && listening) {
        listening = false;
        await shut();
      }
      if (m !== "down" && !listening) {
        server = http.createServer(onRequest);
        wire(server);
        await new Promise<void>((r, j) => {
          server.once("error", j);
          server.listen(port, "127.0.0.1", () => r());
        });
        listening = true;
      }
    },
    dropWebsockets() {
      for (const s of wsSockets) s.destroy();
      wsSockets.clear();
    },
    async close() {
      if (listening) {
        listening = false;
        await shut();
      }
    },
  };
}
