// A loopback TCP proxy whose link can be cut and restored, to simulate a homeserver outage for one client
// without disturbing the shared Synapse other test files use.
import net from "node:net";

export interface TcpProxy {
  port: number;
  url: string;
  /** Refuse new connections and drop open ones. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const handler = (client: net.Socket) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  };
  let server = net.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  let open = true;
  const closeServer = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      server.close(() => r());
    });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async cut() {
      if (open) {
        open = false;
        await closeServer();
      }
    },
    async restore() {
      if (open) return;
      server = net.createServer(handler);
      await new Promise<void>((r, j) => {
        server.once("error", j);
        server.listen(port, "127.0.0.1", () => r());
      });
      open = true;
    },
    async close() {
      if (open) {
        open = false;
        await closeServer();
      }
    },
  };
}
