/** Calendar periods (a day, a month) in an IANA time zone, as [start, end) instants in ms. */
export type CalendarUnit = "day" | "month";

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a clear error unless `timeZone` is an IANA zone this runtime knows. */
export function checkTimeZone(field: string, timeZone: string): void {
  try {
    formatter(timeZone);
  } catch {
    throw new TypeError(
      `createRateLimiter: \`${field}\` must be an IANA time zone like "Europe/Berlin"; got ${JSON.stringify(timeZone)}`,
    );
  }
}

function wallTime(t: number, timeZone: string): { y: number; m: number; d: number; ms: number } {
  const p = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(t))
      .map((x) => [x.type, Number(x.value)]),
  );
  return {
    y: p.year as number,
    m: p.month as number,
    d: p.day as number,
    ms: Date.UTC(p.year as number, (p.month as number) - 1, p.day as number, p.hour, p.minute, p.second),
  };
}

/** The instant at which the wall clock in `timeZone` shows local midnight of y-m-d. */
function localMidnight(y: number, m: number, d: number, timeZone: string): number {
  const naive = Date.UTC(y, m - 1, d);
  let t = naive;
  // The zone's offset at the guess moves the guess; twice settles it, DST changes included.
  for (let i = 0; i < 2; i++) t = naive - (wallTime(t, timeZone).ms - Math.floor(t / 1000) * 1000);
  return t;
}

/** The calendar period containing instant `t`. */
export function periodAt(t: number, unit: CalendarUnit, timeZone: string): { start: number; end: number } {
  const { y, m, d } = wallTime(t, timeZone);
  if (unit === "day") {
    const start = localMidnight(y, m, d, timeZone);
    const next = new Date(Date.UTC(y, m - 1, d + 1));
    return { start, end: localMidnight(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone) };
  }
  const start = localMidnight(y, m, 1, timeZone);
  const next = new Date(Date.UTC(y, m, 1));
  return { start, end: localMidnight(next.getUTCFullYear(), next.getUTCMonth() + 1, 1, timeZone) };
}
