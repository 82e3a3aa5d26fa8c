import { isIP } from "node:net";

/** `[bot] http_listen`, parsed: where the health and metrics endpoint listens. */
export interface ListenAddress {
  /** Without brackets, as `server.listen` wants it ("127.0.0.1", "::1", "localhost"). */
  host: string;
  /** 0 picks a free port (logged at start; handy for tests). */
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Parses `host:port` (`[v6]:port` for IPv6). */
export function parseListen(text: string): ListenAddress | { error: string } {
  const t = text.trim();
  const expected = "expected host:port, e.g. 127.0.0.1:9464 (IPv6 in brackets: [::1]:9464)";
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(t);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
    if (isIP(host) !== 6) return { error: `${JSON.stringify(host)} is not an IPv6 address; ${expected}` };
  } else {
    const colon = t.lastIndexOf(":");
    if (colon < 0) return { error: expected };
    host = t.slice(0, colon);
    portText = t.slice(colon + 1);
    if (host.includes(":")) return { error: `put an IPv6 address in brackets, e.g. [::1]:9464` };
    if (!host) return { error: `the host is missing; ${expected}` };
    if (isIP(host) !== 4 && !HOSTNAME.test(host)) return { error: `${JSON.stringify(host)} is not an IP address or host name; ${expected}` };
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return { error: `the port must be a number from 0 to 65535, not ${JSON.stringify(portText)}` };
  return { host, port: Number(portText) };
}

/** Whether only this machine can reach the address. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** "127.0.0.1:9464", "[::1]:9464": an address as a URL authority. */
export function formatHostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}
