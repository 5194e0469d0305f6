// Lua kept in a string constant, so the package reads no file at run time (bundlers welcome).
export const SETTLE_SCRIPT = `-- Settles a reservation: adds 'delta' (actual − reserved, negative for a refund) to each rule in the
-- window the reservation was counted in, adds 'spent' (the actual amount) to that window's spend, and
-- fires the budget alerts the spend crosses: alerts are on money (or tokens) spent, refusals on what is
-- reserved too. A GCRA bucket has no window: its alerts are on the bucket's fill, as at acquire.
--
-- KEYS[r]   rule r's base key: a window's counts are <base>:<window>, a bucket's arrival time <base>
-- ARGV[1]   now, in ms of Redis's clock (the store keeps its clock in step with Redis's TIME)
-- then per rule: kind (as for acquire: 1 or 2 a window, 3 or 4 a GCRA bucket), limit,
--           window ms, delta, spent, the window the reservation was counted in, n, n alert thresholds
-- Returns   alerts fired as rule, threshold pairs
local now = ARGV[1] + 0
local fired = {}
local a = 2
for r = 1, #KEYS do
  local kind, limit, window = ARGV[a] + 0, ARGV[a + 1] + 0, ARGV[a + 2] + 0
  local delta, spent, n = ARGV[a + 3] + 0, ARGV[a + 4], ARGV[a + 6] + 0
  local thresholds = a + 6
  local key = KEYS[r]
  local before, after
  if kind >= 3 then
    -- the arrival time moves by the delta's worth of emission intervals
    local arrival = (redis.call('GET', key) or 0) + 0
    if arrival < now then arrival = now end
    local interval = window / limit
    local moved = math.max(now, arrival + delta * interval)
    redis.call('SET', key, moved, 'PX', math.ceil(moved - now) + 1)
    before, after = (arrival - now) / interval, (moved - now) / interval
  else
    key = key .. ':' .. ARGV[a + 5]
    local count = redis.call('GET', key)
    if count then redis.call('SET', key, tostring(math.max(0, count + delta)), 'KEEPTTL') end
    if n > 0 and spent + 0 > 0 then
      local spentKey = KEYS[r] .. ':spent:' .. ARGV[a + 5]
      before = (redis.call('GET', spentKey) or 0) + 0
      after = redis.call('INCRBYFLOAT', spentKey, spent) + 0
      redis.call('PEXPIRE', spentKey, window * 2)
    end
  end
  if before then
    for t = thresholds + 1, thresholds + n do
      local mark = ARGV[t] * limit
      -- once per key, window and threshold, whichever process gets here first
      if before < mark and after >= mark and redis.call('SET', key .. ':alert:' .. ARGV[t], '1', 'NX', 'PX', window * 2) then
        fired[#fired + 1] = r
        fired[#fired + 1] = ARGV[t]
      end
    end
  end
  a = a + 7 + n
end
return fired
`;
