-- Acquire for every rule of one limiter and key, or for none: one round trip, time from Redis.
-- KEYS[r]   base key of rule r: ballast:{<limiter>:<key>}:<rule>   (one hash tag: Redis Cluster safe)
-- ARGV[1]   number of rules; ARGV[2] the time in ms for a test clock, else ''; then per rule: algorithm (0 sliding window, 1 GCRA, 2 sliding window
--           counting fractions, e.g. USD, 3/4 calendar period counting whole/fractional), limit,
--           window ms, cost, [calendar only: four period boundaries], number of alert thresholds, the
--           thresholds (fractions of the limit)
-- Returns   {allowed, refusing rule (1-based, 0 if none), retry after ms (-1: can never fit),
--            then per rule: remaining, reset ms, window index, then alerts fired as rule, threshold pairs}
-- Numbers that may be fractional (USD) are returned as strings: Redis truncates Lua numbers.
local now = tonumber(ARGV[2]) -- a test clock's time, else '' and Redis's own
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local n = tonumber(ARGV[1])
local rules = {}
local i = 3
for r = 1, n do
  local rule = {
    algo = tonumber(ARGV[i]), limit = tonumber(ARGV[i + 1]), window = tonumber(ARGV[i + 2]),
    cost = tonumber(ARGV[i + 3]), alerts = {}
  }
  i = i + 4
  if rule.algo == 2 or rule.algo == 4 then rule.fractional = true end
  if rule.algo == 2 then rule.algo = 0 end
  if rule.algo >= 3 then
    -- calendar: four period boundaries around the caller's now; Redis's time picks the period
    local b1, b2, b3, b4 = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
    i = i + 4
    if now < b2 then rule.pstart, rule.pend = b1, b2
    elseif now < b3 then rule.pstart, rule.pend = b2, b3
    else rule.pstart, rule.pend = b3, b4 end
    rule.algo = 3
  end
  local na = tonumber(ARGV[i])
  for a = 1, na do rule.alerts[a] = ARGV[i + a] end
  i = i + 1 + na
  local base = KEYS[r]
  if rule.algo == 3 then
    rule.key = base .. ':' .. rule.pstart
    rule.idx = rule.pstart
    rule.used = tonumber(redis.call('GET', rule.key) or '0')
    rule.reset = rule.pend - now
    rule.window = rule.pend - now + 86400000 -- kept a day past its period (alerts and settles)
    if rule.used + rule.cost > rule.limit then
      if rule.cost > rule.limit then return {0, r, -1} end
      return {0, r, rule.pend - now}
    end
  elseif rule.algo == 0 then
    local idx = math.floor(now / rule.window)
    local counts = redis.call('MGET', base .. ':' .. idx, base .. ':' .. (idx - 1))
    local cur = tonumber(counts[1] or '0')
    local prev = tonumber(counts[2] or '0')
    local elapsed = (now - idx * rule.window) / rule.window
    rule.used = prev * (1 - elapsed) + cur
    rule.key = base .. ':' .. idx
    rule.idx = idx
    rule.reset = (idx + 1) * rule.window - now
    if rule.used + rule.cost > rule.limit then
      local wait
      if rule.cost > rule.limit then
        wait = -1
      elseif cur + rule.cost <= rule.limit then
        -- the previous window's weight fades enough within this window
        local e = 1 - (rule.limit - cur - rule.cost) / prev
        wait = math.ceil((idx * rule.window + e * rule.window) - now)
      else
        -- only in the next window, once this window's count has faded enough
        local e = 1 - (rule.limit - rule.cost) / cur
        wait = math.ceil(((idx + 1) * rule.window + e * rule.window) - now)
      end
      return {0, r, wait}
    end
  else
    local tat = tonumber(redis.call('GET', base) or '0')
    if tat < now then tat = now end
    local interval = rule.window / rule.limit
    rule.used = (tat - now) / interval
    rule.tat = tat + rule.cost * interval
    rule.key = base
    rule.idx = 0
    if rule.cost > rule.limit then return {0, r, -1} end
    if rule.tat - now > rule.window then return {0, r, math.ceil(rule.tat - now - rule.window)} end
    rule.reset = math.ceil(rule.tat - now)
  end
  rules[r] = rule
end
local out = {1, 0, 0}
local fired = {}
for r = 1, n do
  local rule = rules[r]
  if rule.algo == 0 or rule.algo == 3 then
    -- whole costs take the cheaper INCRBY; a key expires after its first increment: two sliding
    -- windows, or a day past the end of a calendar period
    local created
    if rule.cost % 1 == 0 and not rule.fractional then
      created = redis.call('INCRBY', rule.key, rule.cost) == rule.cost
    else
      created = tonumber(redis.call('INCRBYFLOAT', rule.key, rule.cost)) == rule.cost
    end
    if created then redis.call('PEXPIRE', rule.key, rule.algo == 3 and rule.window or rule.window * 2) end
  else
    redis.call('SET', rule.key, rule.tat, 'PX', math.ceil(rule.tat - now) + 1)
  end
  local after = rule.used + rule.cost
  if rule.fractional then table.insert(out, tostring(rule.limit - after)) else table.insert(out, rule.limit - after) end
  table.insert(out, rule.reset)
  table.insert(out, rule.idx)
  for _, threshold in ipairs(rule.alerts) do
    local at = tonumber(threshold) * rule.limit
    if rule.used < at and after >= at then
      -- once per key, rule, window and threshold, whichever process gets here first
      local alertKey = KEYS[r] .. ':alert:' .. rule.idx .. ':' .. threshold
      if redis.call('SET', alertKey, '1', 'NX', 'PX', rule.window * 2) then
        table.insert(fired, r)
        table.insert(fired, threshold)
      end
    end
  end
end
for _, v in ipairs(fired) do table.insert(out, v) end
return out
