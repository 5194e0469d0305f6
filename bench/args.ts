// The command-line options the benches share: counts, each a whole number ≥ 1.
import { parseArgs } from "node:util";

/** `--name N` for each of `defaults`' names, parsed and checked; a bad value names the option and what it got. */
export function counts<K extends string>(defaults: Record<K, number>): Record<K, number> {
  const options = Object.fromEntries(
    Object.entries(defaults).map(([name, n]) => [name, { type: "string" as const, default: String(n) }]),
  );
  const { values } = parseArgs({ options });
  const out = {} as Record<K, number>;
  for (const [name, v] of Object.entries(values)) {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--${name} must be an integer ≥ 1; got ${v}`);
    out[name as K] = n;
  }
  return out;
}
