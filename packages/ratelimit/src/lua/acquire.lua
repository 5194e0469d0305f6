-- Acquire for every rule of one limiter and key, or for none: one round trip, time from Redis.
-- KEYS[r]   base key of rule r: ballast:{<limiter>:<key>}:<rule>   (one hash tag: Redis Cluster safe)
-- ARGV[1]   number of rules (as #KEYS); ARGV[2] the time in ms for a test clock, else ''; then per rule:
--             algorithm: 0 sliding window, 1 GCRA, 2 sliding window counting fractions (e.g. USD),
--               3/4 calendar period counting whole/fractional
--             limit, window ms, cost
--             sliding window only: the caller's window index and the one before (its own clock's)
--             calendar only: four period boundaries around the caller's now
--             number of alert thresholds, the thresholds (fractions of the limit)
-- Returns   refused: {0, refusing rule (1-based), retry after ms (-1: can never fit)}
--           allowed: {1, then per rule: remaining, reset ms, window index, then alerts fired as
--             rule, threshold pairs}; a fractional remaining (USD) is a string: Redis truncates Lua numbers
--
-- Written for Redis's CPU, which every process shares: in a script, turning numbers into strings and
-- back costs about as much as a Redis command, so keys are built from strings the caller sent (Redis's
-- clock has the last word: a window index the caller got wrong is worked out here instead), counts are
-- added with the caller's cost string, every rule is read with one MGET, and a whole count in steady
-- state costs one INCRBY.
local now = tonumber(ARGV[2]) -- a test clock's time, else '' and Redis's own
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local n = #KEYS

-- Pass 1: parse each rule and name the keys it reads. rules[r] holds: kind (0 sliding, 1 GCRA,
-- 3 calendar), fractional, limit, window, cost, window index, reset (a calendar period's end), index of
-- the cost in ARGV, (pass 2) the count before this demand, and index of the alert count in ARGV. A sliding window reads two keys (this
-- window and the last), the others one; `reads` keeps them all for one MGET.
local rules, reads = {}, {}
local i = 3
for r = 1, n do
  local code, limit, window = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local cost, costArg = tonumber(ARGV[i + 3]), i + 3
  i = i + 4
  local base = KEYS[r]
  local kind, idx, reset = 0, 0, 0
  if code == '0' or code == '2' then
    idx = math.floor(now / window)
    if tonumber(ARGV[i]) == idx then
      reads[#reads + 1] = base .. ':' .. ARGV[i]
      reads[#reads + 1] = base .. ':' .. ARGV[i + 1]
    else
      reads[#reads + 1] = base .. ':' .. string.format('%d', idx)
      reads[#reads + 1] = base .. ':' .. string.format('%d', idx - 1)
    end
    i = i + 2
  elseif code == '1' then
    kind = 1
    reads[#reads + 1] = base
  else
    -- calendar: Redis's time picks the period among those the caller sent
    kind = 3
    local p = 0
    if now >= tonumber(ARGV[i + 2]) then p = 2 elseif now >= tonumber(ARGV[i + 1]) then p = 1 end
    idx, reset = tonumber(ARGV[i + p]), tonumber(ARGV[i + p + 1])
    reads[#reads + 1] = base .. ':' .. ARGV[i + p]
    i = i + 4
  end
  -- one table per rule, built whole: growing tables field by field costs more than the arithmetic
  rules[r] = {kind, code == '2' or code == '4', limit, window, cost, idx, reset, costArg, 0, i}
  -- (an interned string compared, rather than a number parsed, in the common case of no alerts)
  if ARGV[i] == '0' then i = i + 1 else i = i + 1 + tonumber(ARGV[i]) end
end
local got = redis.call('MGET', unpack(reads))

-- Pass 2: check every rule before charging any.
local k = 1
for r = 1, n do
  local rule = rules[r]
  local kind, limit, window, cost, idx = rule[1], rule[3], rule[4], rule[5], rule[6]
  if kind == 0 then
    local cur, prev = tonumber(got[k] or 0), tonumber(got[k + 1] or 0)
    k = k + 2
    local u = prev * (1 - (now - idx * window) / window) + cur
    if u + cost > limit then
      if cost > limit then return {0, r, -1} end
      if cur + cost <= limit then
        -- the previous window's weight fades enough within this window
        return {0, r, math.ceil(idx * window + (1 - (limit - cur - cost) / prev) * window - now)}
      end
      -- only in the next window, once this window's count has faded enough
      return {0, r, math.ceil((idx + 1) * window + (1 - (limit - cost) / cur) * window - now)}
    end
    rule[9] = u
    rule[7] = (idx + 1) * window - now
  elseif kind == 1 then
    local tat = tonumber(got[k] or 0)
    k = k + 1
    if tat < now then tat = now end
    local interval = window / limit
    local after = tat + cost * interval
    if cost > limit then return {0, r, -1} end
    if after - now > window then return {0, r, math.ceil(after - now - window)} end
    rule[9] = (tat - now) / interval
    rule[7] = after -- the new theoretical arrival time
  else
    local u = tonumber(got[k] or 0)
    k = k + 1
    if u + cost > limit then
      if cost > limit then return {0, r, -1} end
      return {0, r, rule[7] - now}
    end
    rule[9] = u
  end
end

-- Pass 3: charge every rule; a key expires on its own (two sliding windows, a day past the end of a
-- calendar period, a GCRA key when its bucket is full again).
local out = {1}
local fired
k = 1
for r = 1, n do
  local rule = rules[r]
  local kind, fractional, limit, window, cost, idx = rule[1], rule[2], rule[3], rule[4], rule[5], rule[6]
  local key, reset, ttl = reads[k], rule[7], window * 2
  if kind == 1 then
    redis.call('SET', key, reset, 'PX', math.ceil(reset - now) + 1)
    reset = math.ceil(reset - now)
    k = k + 1
  else
    local created
    if fractional or cost % 1 ~= 0 then
      created = tonumber(redis.call('INCRBYFLOAT', key, ARGV[rule[8]])) == cost
    else
      created = redis.call('INCRBY', key, ARGV[rule[8]]) == cost
    end
    if kind == 0 then
      k = k + 2
    else
      reset = reset - now
      ttl = reset + 86400000
      k = k + 1
    end
    if created then redis.call('PEXPIRE', key, ttl) end
  end
  local before = rule[9]
  local after = before + cost
  if fractional then out[#out + 1] = tostring(limit - after) else out[#out + 1] = limit - after end
  out[#out + 1] = reset
  out[#out + 1] = idx
  local a = rule[10]
  for t = 1, ARGV[a] == '0' and 0 or tonumber(ARGV[a]) do
    local threshold = ARGV[a + t]
    local at = tonumber(threshold) * limit
    if before < at and after >= at then
      -- once per key, rule, window and threshold, whichever process gets here first
      if redis.call('SET', KEYS[r] .. ':alert:' .. idx .. ':' .. threshold, '1', 'NX', 'PX', ttl) then
        fired = fired or {}
        fired[#fired + 1] = r
        fired[#fired + 1] = threshold
      end
    end
  end
end
if fired then for _, v in ipairs(fired) do out[#out + 1] = v end end
return out
