// A TCP proxy that can freeze like a SIGSTOPped server: connections stay open and new ones are accepted (the kernel
// still does that), but no byte goes either way until thaw(), when everything held back flows on in order.
import net from "node:net";

export interface FreezeProxy {
  url: string;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startFreezeProxy(target: string): Promise<FreezeProxy> {
  const t = new URL(target);
  let frozen = false;
  const held: Array<() => void> = [];
  const sockets = new Set<net.Socket>();
  const forward = (from: net.Socket, to: net.Socket) => {
    from.on("data", (chunk) => {
      if (frozen) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  };
  const server = net.createServer((client) => {
    const up = net.connect(Number(t.port), t.hostname);
    for (const s of [client, up]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        up.destroy();
      });
    }
    forward(client, up);
    forward(up, client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const send of held.splice(0)) send();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
