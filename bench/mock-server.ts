// Child process for the benchmarks: claude-mock with zero latency, so the client under test has the
// other core to itself. Prints its URL, stops when stdin closes.
import { startMockClaude } from "@ballast/claude-mock";

const mock = await startMockClaude({ seed: 1, maxRecordedRequests: 100 });
process.stdout.write(`${JSON.stringify({ url: mock.url })}\n`);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
