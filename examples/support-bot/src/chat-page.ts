// `pnpm demo --serve`: a small chat page for the bot. It streams each answer as Claude writes it (the
// bot's server-sent events) and shows under it what the answer used: tokens, prompt-cache hit and cost.
export const CHAT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme support (Ballast demo)</title>
<link rel="icon" href="data:,">
<style>
body { font: 15px system-ui, sans-serif; max-width: 760px; margin: 32px auto; color: #222; }
#log { display: flex; flex-direction: column; gap: 12px; margin-bottom: 16px; }
.q { align-self: flex-end; background: #e8efff; padding: 8px 12px; border-radius: 10px; max-width: 80%; }
.a { background: #f4f4f4; padding: 8px 12px; border-radius: 10px; white-space: pre-wrap; }
.meta { font-size: 12px; color: #666; margin-top: 6px; }
.cut { color: #b3261e; }
form { display: flex; gap: 8px; } input { flex: 1; padding: 8px; font: inherit; } button { padding: 8px 16px; font: inherit; }
</style></head>
<body>
<h1>Acme support</h1>
<p>Answers stream from Claude through Ballast's retry, limits and telemetry; under each, what it used.</p>
<div id="log"></div>
<form id="ask"><input id="question" autocomplete="off" placeholder="Ask about your account, orders or billing" required>
<button type="submit">Send</button></form>
<script>
const log = document.getElementById("log");
const usd = (n) => "$" + n.toFixed(6);
document.getElementById("ask").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("question");
  const question = input.value;
  input.value = "";
  log.insertAdjacentHTML("beforeend", '<div class="q"></div>');
  log.lastElementChild.textContent = question;
  const answer = document.createElement("div");
  answer.className = "a";
  const text = document.createElement("div");
  const meta = document.createElement("div");
  meta.className = "meta";
  answer.append(text, meta);
  log.append(answer);
  const res = await fetch("/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: "web_user", question, stream: true }),
  });
  if (res.headers.get("content-type") !== "text/event-stream") {
    const body = await res.json().catch(() => ({}));
    meta.textContent = res.status === 429 ? "rate-limited: try again in " + body.retry_after_s + " s" : "failed: " + (body.message || res.status);
    return;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\\n\\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "{}");
      if (event === "delta") text.textContent += data.text;
      else if (event === "done") {
        const u = data.usage;
        const input = u.input_tokens + (u.cache_read_input_tokens || 0) + (u.cache_creation_input_tokens || 0);
        meta.textContent = input.toLocaleString("en-US") + " tokens in (" +
          (u.cache_read_input_tokens ? "cache hit: " + u.cache_read_input_tokens.toLocaleString("en-US") + " read" : "cache miss") +
          "), " + u.output_tokens.toLocaleString("en-US") + " out · " +
          (data.cost_usd === null ? "cost unknown" : usd(data.cost_usd)) + " · " + data.model;
        meta.dataset.cost = String(data.cost_usd);
      } else if (event === "cut") {
        meta.className = "meta cut";
        meta.textContent = "the answer was cut off (" + data.reason + "): what you see is partial";
      } else if (event === "error") meta.textContent = "failed: " + data.message;
    }
  }
});
</script>
</body></html>
`;
