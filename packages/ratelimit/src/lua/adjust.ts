// The settle script, as Redis runs it.
// Lua kept in a string constant, so the package reads no file at run time (bundlers welcome).
export const ADJUST_SCRIPT = `-- Settles reservations: adds 'delta' (actual − reserved, negative for a refund) to each rule, in the
-- window the reservation was counted in, adds 'spent' (the actual amount) to that window's spend, and
-- fires the budget alerts the spend crosses: alerts are on money (or tokens) spent, refusals on what is
-- reserved too. A GCRA rule has no window: its alerts are on the bucket's fill, as at acquire.
-- KEYS[r]   base key of rule r
-- ARGV[1]   number of rules; ARGV[2] the time in ms for a test clock, else ''; then per rule: algorithm
--           (as for acquire), limit, window ms, delta, spent, window index, number of alert thresholds,
--           the thresholds
-- Returns   alerts fired as rule, threshold pairs
local now = tonumber(ARGV[2]) -- a test clock's time, else '' and Redis's own
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local n = tonumber(ARGV[1])
local fired = {}
local i = 3
for r = 1, n do
  local algo, limit, window = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local delta, spent, idx, na = tonumber(ARGV[i + 3]), ARGV[i + 4], ARGV[i + 5], tonumber(ARGV[i + 6])
  local thresholds = i + 6
  i = i + 7 + na
  local base = KEYS[r]
  local before, after
  if algo == 1 then
    -- GCRA: the theoretical arrival time moves by the delta's worth of intervals
    local tat = tonumber(redis.call('GET', base) or '0')
    if tat < now then tat = now end
    local interval = window / limit
    local updated = math.max(now, tat + delta * interval)
    redis.call('SET', base, updated, 'PX', math.ceil(updated - now) + 1)
    before, after = (tat - now) / interval, (updated - now) / interval
  else
    -- sliding (0, 2) and calendar (3, 4) windows: the count of the window the reservation was in
    local key = base .. ':' .. idx
    local cur = tonumber(redis.call('GET', key) or 'nil')
    if cur ~= nil then redis.call('SET', key, tostring(math.max(0, cur + delta)), 'KEEPTTL') end
    if na > 0 and tonumber(spent) > 0 then
      local spentKey = base .. ':spent:' .. idx
      before = tonumber(redis.call('GET', spentKey) or '0')
      after = tonumber(redis.call('INCRBYFLOAT', spentKey, spent))
      redis.call('PEXPIRE', spentKey, window * 2)
    end
  end
  if before ~= nil then
    for a = 1, na do
      local threshold = ARGV[thresholds + a]
      local at = tonumber(threshold) * limit
      if before < at and after >= at then
        if redis.call('SET', base .. ':alert:' .. idx .. ':' .. threshold, '1', 'NX', 'PX', window * 2) then
          fired[#fired + 1] = r
          fired[#fired + 1] = threshold
        end
      end
    end
  end
end
return fired
`;
