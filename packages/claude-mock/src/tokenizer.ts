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

export function countTextTokens(text: string): number {
  let tokens = 0;
  for (const match of text.matchAll(PIECE)) {
    const piece = match[0];
    const c = piece.charCodeAt(0);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) tokens += Math.ceil(piece.length / 5);
    else if (c >= 48 && c <= 57) tokens += Math.ceil(piece.length / 3);
    else tokens += 1;
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
