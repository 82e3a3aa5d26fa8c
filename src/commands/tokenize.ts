// The tokenizer lives in src/util/tokenize.ts (core uses it too); this path stays only for screens/command-bar.ts
// until the console imports it from there.
export { tokenize, type Tokens } from "../util/tokenize.js";
