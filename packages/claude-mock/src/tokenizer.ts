/**
 * A deterministic stand-in for Claude's tokenizer. It is not the real BPE: it is a rule a
 * reader can apply by hand, close to real counts for English (about 1.3 tokens per word).
 *
 *  - a run of ASCII letters costs ceil(length / 5) tokens ("the" 1, "documentation" 3)
 *  - a run of digits costs one token per 3 digits
 *  - every other non-space character (punctuation, symbols, each non-ASCII char) costs 1
 *  - whitespace is free
 */
const PIECE = /[A-Za-z]+|[0-9]+|\S/g;

const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isDigit = (c: number) => c >= 48 && c <= 57;
// exactly JavaScript's \s
const SPACES = new Set([0x20, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]);
const isSpace = (c: number) => (c >= 9 && c <= 13) || (c >= 0x2000 && c <= 0x200a) || SPACES.has(c);

/** Same rule as `PIECE`, as a loop: this runs on every prompt and reply, so it avoids allocations. */
export function countTextTokens(text: string): number {
  let tokens = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isLetter(c) || isDigit(c)) {
      const letters = isLetter(c);
      let j = i + 1;
      while (j < n && (letters ? isLetter(text.charCodeAt(j)) : isDigit(text.charCodeAt(j)))) j++;
      tokens += Math.ceil((j - i) / (letters ? 5 : 3));
      i = j;
    } else {
      // one token per UTF-16 code unit, as `\S` (without the u flag) in PIECE
      if (!isSpace(c)) tokens += 1;
      i++;
    }
  }
  return tokens;
}

/** Pieces of `text` with their token cost, in order; used to truncate at an exact token count. */
export function tokenPieces(text: string): Array<{ end: number; tokens: number }> {
  const out: Array<{ end: number; tokens: number }> = [];
  for (const match of text.matchAll(PIECE)) {
    out.push({ end: (match.index ?? 0) + match[0].length, tokens: countTextTokens(match[0]) });
  }
  return out;
}

/** Fixed costs the API adds around content; documented in the README. */
export const OVERHEAD = {
  request: 3,
  message: 4,
  tool: 10,
  /** the tool-use system prompt the API adds when `tools` is non-empty */
  toolsSystemPrompt: 300,
  image: 1600,
  document: 1600,
} as const;
