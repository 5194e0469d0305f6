import { describe, expect, it } from "vitest";
import { mulberry32 } from "../src/random.js";
import { countTextTokens, tokenPieces } from "../src/tokenizer.js";

// The documented rule, written as directly as possible, to check the fast loop against.
function reference(text: string): number {
  let tokens = 0;
  for (const [piece] of text.matchAll(/[A-Za-z]+|[0-9]+|\S/g)) {
    if (/^[A-Za-z]/.test(piece)) tokens += Math.ceil(piece.length / 5);
    else if (/^[0-9]/.test(piece)) tokens += Math.ceil(piece.length / 3);
    else tokens += 1;
  }
  return tokens;
}

describe("tokenizer", () => {
  it("follows the documented rule on hand-computed cases", () => {
    expect(countTextTokens("")).toBe(0);
    expect(countTextTokens("the")).toBe(1);
    expect(countTextTokens("documentation")).toBe(3); // 13 letters
    expect(countTextTokens("Hello, world!")).toBe(4); // 1 + 1 + 1 + 1
    expect(countTextTokens("order 1234567")).toBe(4); // "order" 1, seven digits 3
    expect(countTextTokens("  \n\t ")).toBe(0);
    expect(countTextTokens("日本語")).toBe(3);
    expect(countTextTokens("a\u00a0b\u3000c")).toBe(3); // non-breaking and ideographic spaces are free
  });

  it("matches the reference on random text, and tokenPieces sums to the same count", () => {
    const rng = mulberry32(42);
    const alphabet = "abcXYZ0189 \t\n.,!?-_é日\u00a0\u2003😀";
    for (let i = 0; i < 2000; i++) {
      let text = "";
      const length = Math.floor(rng() * 40);
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(rng() * alphabet.length)];
      expect(countTextTokens(text), JSON.stringify(text)).toBe(reference(text));
      expect(tokenPieces(text).reduce((sum, p) => sum + p.tokens, 0)).toBe(reference(text));
    }
  });
});
