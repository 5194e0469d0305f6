// The settle script, as Redis runs it.
// Lua kept in a string constant, so the package reads no file at run time (bundlers welcome).
export const ADJUST_SCRIPT = `-- Settles reservations: adds 'delta' (actual − reserved, negative for a refund) to each rule, in the
-- window the reservation was counted in, and fires the budget alerts the real usage crosses.
-- KEYS[r]   base key of rule r
-- ARGV[1]   number of rules; ARGV[2] the time in ms for a test clock, else ''; then per rule: algorithm (as for acquire), limit, window ms, delta, window index,
--           number of alert thresholds, the thresholds
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
  if algo == 2 then algo = 0 end
  if algo == 4 then algo = 3 end
  local delta, idx, na = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
  local alerts = {}
  for a = 1, na do alerts[a] = ARGV[i + 5 + a] end
  i = i + 6 + na
  local base = KEYS[r]
  local before, after
  if algo == 0 or algo == 3 then
    local key = base .. ':' .. idx
    local cur = tonumber(redis.call('GET', key) or 'nil')
    if cur ~= nil then
      local updated = math.max(0, cur + delta)
      redis.call('SET', key, tostring(updated), 'KEEPTTL')
      local current = math.floor(now / window)
      if algo == 3 then
        -- a calendar period counts without weighting
        before, after = cur, updated
        current = nil
      end
      if current == idx then
        local prev = tonumber(redis.call('GET', base .. ':' .. (idx - 1)) or '0')
        local weight = 1 - (now - idx * window) / window
        before = prev * weight + cur
        after = prev * weight + updated
      end
    end
  else
    local tat = tonumber(redis.call('GET', base) or '0')
    if tat < now then tat = now end
    local interval = window / limit
    local updated = math.max(now, tat + delta * interval)
    redis.call('SET', base, updated, 'PX', math.ceil(updated - now) + 1)
    before = (tat - now) / interval
    after = (updated - now) / interval
  end
  if before ~= nil then
    for _, threshold in ipairs(alerts) do
      local at = tonumber(threshold) * limit
      if before < at and after >= at then
        local alertKey = base .. ':alert:' .. idx .. ':' .. threshold
        if redis.call('SET', alertKey, '1', 'NX', 'PX', window * 2) then
          table.insert(fired, r)
          table.insert(fired, threshold)
        end
      end
    end
  end
end
return fired
`;
