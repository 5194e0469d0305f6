// The statistics the benches share.

/** The median of `xs` (the upper one of an even count); 0 for none. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
