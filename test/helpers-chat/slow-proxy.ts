// An HTTP(+websocket) proxy in front of the Semaphore-compatible server that delays only requests whose path matches,
// so a test can make one command wait on a slow server while others go through.
import http from "node:http";
import net from "node:net";

export interface SlowProxy {
  url: string;
  /** Delay (ms) for requests whose path matches; null: no delay. */
  slow(match: RegExp | null, ms?: number): void;
  close(): Promise<void>;
}

export async function startSlowProxy(target: string): Promise<SlowProxy> {
  const t = new URL(target);
  let match: RegExp | null = null;
  let delay = 0;
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const go = () => {
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on("error", () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(up);
    };
    if (match && match.test(req.url ?? "")) setTimeout(go, delay);
    else go();
  });
  server.on("upgrade", (req, socket, head) => {
    const up = net.connect(Number(t.port), t.hostname, () => {
      up.write(
        `${req.method} ${req.url} HTTP/1.1\r\n${Object.entries(req.headers)
          .map(([k, v]) => `${k}: ${v}`)
          .join("\r\n")}\r\n\r\n`,
      );
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
    sockets.add(socket as net.Socket);
    sockets.add(up);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    slow(m, ms = 0) {
      match = m;
      delay = ms;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
