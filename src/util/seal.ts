// Sealing small secrets kept at rest (approvals.json) with [matrix] storage_key: AES-256-GCM. A key of 32 bytes
// (base64 or hex) is used as it is; any other text is a passphrase stretched by scrypt with a salt kept in the
// sealed value. `context` is bound as associated data, so a sealed value cannot be moved to another record.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";

export interface Sealed {
  alg: "aes-256-gcm";
  kdf: "raw" | "scrypt";
  /** base64 scrypt salt (kdf scrypt only). */
  salt?: string;
  iv: string;
  tag: string;
  data: string;
}

/** 32 bytes as base64 or hex; undefined for any other text (a passphrase). Same rule as the crypto store's key. */
export function rawKey(text: string): Buffer | undefined {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, "hex");
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const bytes = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (bytes.length === 32) return bytes;
  }
  return undefined;
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
// scrypt is slow on purpose: derive once per passphrase and salt.
const derived = new Map<string, Buffer>();
let processSalt: Buffer | undefined;

function keyFor(text: string, salt: Buffer | undefined): Buffer {
  const raw = rawKey(text);
  if (raw) return raw;
  if (!salt) throw new Error("a sealed value made with a passphrase has no salt");
  const id = `${salt.toString("base64")}\u0000${text}`;
  let k = derived.get(id);
  if (!k) {
    k = scryptSync(text.trim(), salt, 32, SCRYPT);
    if (derived.size > 8) derived.clear();
    derived.set(id, k);
  }
  return k;
}

export function sealText(keyText: string, plain: string, context: string): Sealed {
  const scrypt = !rawKey(keyText);
  const salt = scrypt ? (processSalt ??= randomBytes(16)) : undefined;
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFor(keyText, salt), iv);
  cipher.setAAD(Buffer.from(context));
  const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return {
    alg: "aes-256-gcm",
    kdf: scrypt ? "scrypt" : "raw",
    ...(salt ? { salt: salt.toString("base64") } : {}),
    iv: iv.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
    data: data.toString("base64"),
  };
}

/** The sealed text; throws when the key, the context or a byte does not match. */
export function openSealed(keyText: string, s: Sealed, context: string): string {
  if (s?.alg !== "aes-256-gcm") throw new Error(`unknown sealing ${JSON.stringify(s?.alg)}`);
  if ((s.kdf === "raw") !== !!rawKey(keyText)) throw new Error(`sealed with a ${s.kdf === "raw" ? "32-byte key" : "passphrase"}, but the key given is not one`);
  const key = keyFor(keyText, s.salt ? Buffer.from(s.salt, "base64") : undefined);
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(s.iv, "base64"), { authTagLength: 16 });
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(s.tag, "base64"));
  return Buffer.concat([decipher.update(Buffer.from(s.data, "base64")), decipher.final()]).toString("utf8");
}
