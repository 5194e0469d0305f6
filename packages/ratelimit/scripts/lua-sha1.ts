// Writes src/lua/sha1.ts: the SHA1 of each Lua script, which EVALSHA names it by. Run by `pnpm build`;
// test/scripts.test.ts fails when a script changed and this was not run.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { ACQUIRE_SCRIPT } from "../src/lua/acquire.ts";
import { REQUESTS_SCRIPT } from "../src/lua/requests.ts";
import { SETTLE_SCRIPT } from "../src/lua/settle.ts";

const sha1 = (script: string) => createHash("sha1").update(script).digest("hex");
const lines = [
  "// Written by scripts/lua-sha1.ts (run by `pnpm build`): the SHA1 that EVALSHA names each script by.",
  "export const SCRIPT_SHA1 = {",
  `  acquire: "${sha1(ACQUIRE_SCRIPT)}",`,
  `  requests: "${sha1(REQUESTS_SCRIPT)}",`,
  `  settle: "${sha1(SETTLE_SCRIPT)}",`,
  "} as const;",
  "",
];
writeFileSync(new URL("../src/lua/sha1.ts", import.meta.url), lines.join("\n"));
