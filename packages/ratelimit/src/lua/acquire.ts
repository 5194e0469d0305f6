// The acquire script's template: redisStore writes one script per shape of rule list from its sections.
// Lua kept in a string constant, so the package reads no file at run time (bundlers welcome).
export const ACQUIRE_TEMPLATE = `-- Acquire for every rule of one limiter and key, or for none: one round trip, time from Redis.
--
-- A template: redisStore writes one script per shape of rule list (each rule's algorithm, whole or
-- fractional counts, number of alert thresholds) from the sections below ("--- name"), rule by rule,
-- with $r the rule's number, $1 $2 … the places in ARGV of its arguments, $g1 $g2 where MGET's reply
-- holds its keys, $t an alert threshold's place, and $add the count's increment (INCRBY for whole
-- counts, INCRBYFLOAT for fractions and for a count an older version left fractional; either returns
-- the new count). Straight-line code per
-- rule, because in Redis's Lua the loops, tables and number parsing of one generic script cost as much
-- as the Redis commands (measured: bench/ratelimit.ts). Limits, windows, costs and
-- thresholds stay in ARGV, so limiters that differ only in their figures share one script: Redis keeps
-- every loaded script until SCRIPT FLUSH.
--
-- KEYS[r]   base key of rule r: ballast:{<limiter>:<key>}:<rule>   (one hash tag: Redis Cluster safe)
-- ARGV[1]   the time in ms for a test clock, else '' and Redis's own TIME; then per rule:
--             limit, window ms, cost, then
--             sliding window: the caller's window index and the one before (its own clock's)
--             calendar: the four period boundaries around the caller's now
--             then the rule's alert thresholds (fractions of the limit), as many as its shape has
-- Returns   refused: {0, refusing rule (1-based), retry after ms (-1: can never fit), what the rule had
--             counted (a string: Redis truncates Lua numbers)}
--           allowed: {1, then per rule: remaining, reset ms, window index, then alerts fired as
--             rule, threshold pairs}; a fractional remaining (USD) is a string: Redis truncates Lua numbers
--
-- Numbers are parsed with '+ 0' (Lua 5.1's tonumber parses a string twice), keys are built from the
-- strings the caller sent (Redis's clock has the last word: a window index the caller got wrong is
-- worked out here instead) and counts added with the caller's cost string, so that in steady state a
-- rule costs one read in the shared MGET and one INCRBY.

--- prelude
local call, floor, ceil = redis.call, math.floor, math.ceil
local now = ARGV[1] ~= '' and ARGV[1] + 0
if not now then
  local t = call('TIME')
  now = t[1] * 1000 + floor(t[2] / 1000)
end

--- prelude alerts
local fired = {}
local function alert(r, key, threshold, ttl)
  -- once per key, rule, window and threshold, whichever process gets here first
  if call('SET', key, '1', 'NX', 'PX', ttl) then
    fired[#fired + 1] = r
    fired[#fired + 1] = threshold
  end
end

--- keys sliding
-- this window's key and the last one's
local limit$r, window$r, cost$r = ARGV[$1] + 0, ARGV[$2] + 0, ARGV[$3] + 0
local idx$r = floor(now / window$r)
local key$r, prev$r
if ARGV[$4] + 0 == idx$r then
  key$r, prev$r = KEYS[$r] .. ':' .. ARGV[$4], KEYS[$r] .. ':' .. ARGV[$5]
else
  key$r, prev$r = KEYS[$r] .. ':' .. string.format('%d', idx$r), KEYS[$r] .. ':' .. string.format('%d', idx$r - 1)
end

--- keys gcra
-- one key: the theoretical arrival time
local limit$r, window$r, cost$r = ARGV[$1] + 0, ARGV[$2] + 0, ARGV[$3] + 0
local key$r, idx$r = KEYS[$r], 0

--- keys calendar
-- Redis's time picks the period among those the caller sent
local limit$r, cost$r = ARGV[$1] + 0, ARGV[$3] + 0
local at$r = $4
if now >= ARGV[$6] + 0 then at$r = $6 elseif now >= ARGV[$5] + 0 then at$r = $5 end
local idx$r, reset$r, key$r = ARGV[at$r] + 0, ARGV[at$r + 1] + 0, KEYS[$r] .. ':' .. ARGV[at$r]

--- check sliding
-- the last window's count weighted by how much of it the sliding window still covers
local used$r
do
  local cur, prev = (got[$g1] or 0) + 0, (got[$g2] or 0) + 0
  used$r = prev * (1 - (now - idx$r * window$r) / window$r) + cur
  if used$r + cost$r > limit$r then
    if cost$r > limit$r then return {0, $r, -1, tostring(used$r)} end
    if cur + cost$r <= limit$r then
      -- the previous window's weight fades enough within this window
      return {0, $r, ceil(idx$r * window$r + (1 - (limit$r - cur - cost$r) / prev) * window$r - now), tostring(used$r)}
    end
    -- only in the next window, once this window's count has faded enough
    return {0, $r, ceil((idx$r + 1) * window$r + (1 - (limit$r - cost$r) / cur) * window$r - now), tostring(used$r)}
  end
end

--- check gcra
local used$r, reset$r
do
  local tat = (got[$g1] or 0) + 0
  if tat < now then tat = now end
  local interval = window$r / limit$r
  local after = tat + cost$r * interval
  used$r = (tat - now) / interval
  if cost$r > limit$r then return {0, $r, -1, tostring(used$r)} end
  if after - now > window$r then return {0, $r, ceil(after - now - window$r), tostring(used$r)} end
  reset$r = after -- the new theoretical arrival time
end

--- check calendar
local used$r = (got[$g1] or 0) + 0
if used$r + cost$r > limit$r then
  if cost$r > limit$r then return {0, $r, -1, tostring(used$r)} end
  return {0, $r, reset$r - now, tostring(used$r)}
end

--- charge sliding
-- every key expires on its own: a window's count when the next window has passed
local reset$r, ttl$r = (idx$r + 1) * window$r - now, window$r * 2
if $add == cost$r then call('PEXPIRE', key$r, ttl$r) end

--- charge gcra
-- the key lives until the bucket is full again
call('SET', key$r, reset$r, 'PX', ceil(reset$r - now) + 1)
local ttl$r = window$r * 2
reset$r = ceil(reset$r - now)

--- charge calendar
-- the count is kept a day past the period's end
reset$r = reset$r - now
local ttl$r = reset$r + 86400000
if $add == cost$r then call('PEXPIRE', key$r, ttl$r) end

--- alert
-- a threshold crossed by this demand
do
  local at = ARGV[$t] * limit$r
  if used$r < at and used$r + cost$r >= at then
    alert($r, KEYS[$r] .. ':alert:' .. idx$r .. ':' .. ARGV[$t], ARGV[$t], ttl$r)
  end
end
`;
