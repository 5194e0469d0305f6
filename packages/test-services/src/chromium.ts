import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { findBinary, MissingServiceError } from "./resolve.ts";

const run = promisify(execFile);

/** Debian's chromium (or `CHROMIUM`), headless: a real browser for pages the tests open. */
export function chromium() {
  const binary = process.env.CHROMIUM ?? findBinary("chromium", "chromium-browser");
  if (!binary) {
    throw new MissingServiceError(
      "Chromium (headless, for pages)",
      "Run `bash scripts/provision.sh --services` (apt-get install chromium) or set CHROMIUM.",
    );
  }
  const base = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"];
  return {
    /** the browser's executable, for a driver such as puppeteer-core */
    binary,
    /**
     * The page's DOM once its scripts have run (`budgetMs` of virtual time), and the browser's log, where
     * the page's console messages and uncaught errors appear.
     */
    async dumpDom(url: string, budgetMs = 5000): Promise<{ dom: string; log: string }> {
      const { stdout, stderr } = await run(
        binary,
        [...base, "--enable-logging=stderr", "--v=0", `--virtual-time-budget=${budgetMs}`, "--dump-dom", url],
        { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      );
      return { dom: stdout, log: stderr };
    },
    /** A PNG of the page at `width` × `height`, written to `file`. */
    async screenshot(url: string, file: string, width = 1280, height = 1400, budgetMs = 5000): Promise<void> {
      await run(
        binary,
        [...base, `--window-size=${width},${height}`, `--virtual-time-budget=${budgetMs}`, `--screenshot=${file}`, url],
        {
          timeout: 60_000,
        },
      );
    },
  };
}
