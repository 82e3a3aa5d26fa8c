// Reading Semaphore's reply bodies with a size cap: a body is read as a stream and reading stops as soon as the cap
// is passed, so a huge or endless reply costs at most the cap in memory. A JSON array (task output) can be split
// into its elements as it streams, so the raw text and the parsed lines are never both held in full.

/** Thrown by the readers below when the body passes its cap; the client turns it into a too_large SemaphoreError. */
export class BodyTooLarge extends Error {
  constructor(readonly limitBytes: number) {
    super(`reply body larger than ${limitBytes} bytes`);
  }
}

export type Chunks = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/**
 * Calls `onText` with the body decoded as UTF-8, chunk by chunk, until the end or until `onText` returns false.
 * Throws BodyTooLarge once more than `limit` bytes have arrived; the caller must then destroy the stream.
 */
export async function readCapped(body: Chunks, limit: number, onText: (text: string) => boolean | void): Promise<void> {
  const decoder = new TextDecoder("utf-8");
  let total = 0;
  for await (const chunk of body) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    total += bytes.byteLength;
    if (total > limit) throw new BodyTooLarge(limit);
    if (onText(decoder.decode(bytes, { stream: true })) === false) return;
  }
  onText(decoder.decode());
}

/** The whole body as text, at most `limit` bytes of it. */
export async function readCappedText(body: Chunks, limit: number): Promise<string> {
  const parts: string[] = [];
  await readCapped(body, limit, (text) => {
    parts.push(text);
  });
  return parts.join("");
}

/**
 * Splits the text of a JSON array, fed in arbitrary pieces, into the texts of its top-level elements. Strings
 * (escapes included) and nested objects/arrays are skipped over; element texts are handed out as soon as they are
 * complete. `notArray` is set when the text does not start with `[`: the caller then reads it another way.
 */
export class JsonArraySplitter {
  notArray = false;
  private state: "before" | "inside" | "after" = "before";
  private depth = 0;
  private inString = false;
  private escaped = false;
  private pending = "";
  private elements = 0;
  private commas = 0;

  /** Element texts completed by this piece. Throws SyntaxError on text that cannot be a JSON array. */
  feed(text: string): string[] {
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.state === "before") {
        if (isSpace(c)) continue;
        if (c !== 0x5b /* [ */) {
          this.notArray = true;
          return out;
        }
        this.state = "inside";
        start = i + 1;
      } else if (this.state === "after") {
        if (!isSpace(c)) throw new SyntaxError("text after the end of the JSON array");
      } else if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          continue;
        }
        QUOTE_OR_BACKSLASH.lastIndex = i; // jump over the string's plain characters (most of a log)
        if (!QUOTE_OR_BACKSLASH.test(text)) break; // the string goes on in the next piece
        i = QUOTE_OR_BACKSLASH.lastIndex - 1;
        if (text.charCodeAt(i) === 0x5c /* \ */) this.escaped = true;
        else this.inString = false;
      } else if (c === 0x22) {
        this.inString = true;
      } else if (c === 0x7b /* { */ || c === 0x5b) {
        this.depth++;
      } else if ((c === 0x2c /* , */ || c === 0x5d) /* ] */ && this.depth === 0) {
        const element = this.pending + text.slice(start, i);
        this.pending = "";
        start = i + 1;
        if (c === 0x2c) this.commas++;
        if (c === 0x5d) this.state = "after";
        if (c === 0x5d && this.elements === 0 && this.commas === 0 && element.trim() === "") continue; // []
        if (element.trim() === "") throw new SyntaxError("empty element in a JSON array");
        this.elements++;
        out.push(element);
      } else if (c === 0x7d /* } */ || c === 0x5d) {
        this.depth--;
      }
    }
    if (this.state === "inside") this.pending += text.slice(start);
    return out;
  }

  /** Throws when the array was not closed. */
  end(): void {
    if (this.state !== "after" && !this.notArray) throw new SyntaxError("the JSON array is not closed");
  }
}

const QUOTE_OR_BACKSLASH = /["\\]/g;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
