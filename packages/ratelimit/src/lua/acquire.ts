// Lua kept in a string constant, so the package reads no file at run time (bundlers welcome).
export const ACQUIRE_SCRIPT = `-- Acquire for every rule of one limiter and key, or for none, in one round trip: every rule is checked
-- before any is charged. Rules of any kind, in any mix: sliding windows, calendar periods, GCRA buckets.
--
-- KEYS[2r-1]  rule r's key: a window's count for this window, a bucket's theoretical arrival time (ms)
-- KEYS[2r]    a window's count for the last window (for a bucket: its own key again)
-- ARGV[1]     numbers as little-endian doubles (struct.pack '<d': nothing to parse from text):
--               now, in ms of Redis's clock (the store keeps its clock in step with Redis's TIME),
--               then per rule: kind, limit, cost, weight, ttl, n, and n alert thresholds
--   kind        1 a window, 2 a window with fractional counts (USD), 3 a GCRA bucket, 4 a bucket with fractional counts
--   weight      a window: how much of the last window's count still counts (0 for a calendar period);
--               a bucket: its emission interval, ms per unit counted
--   ttl         ms a new window's count, and an alert's mark, lives
--   thresholds  fractions of the limit whose crossing fires a budget alert, once per key, window and threshold
-- ARGV[1+r]   rule r's cost again, as text: what INCRBY and INCRBYFLOAT add (a number would be formatted)
-- Returns     allowed: per rule, what remains of its limit (a string for fractional counts: Redis would
--               truncate the number); then per bucket, in rule order, its new arrival time (a string, exact);
--               then the alerts fired as rule, threshold pairs
--             refused: {'refused', rule, its count (a bucket: its arrival time), the last window's count},
--               for the caller to work out the wait
local counts = redis.call('MGET', unpack(KEYS))
local figures = ARGV[1]
local rules = #KEYS / 2
local now, first = struct.unpack('<d', figures)

-- what each rule has counted; the first rule the demand does not fit refuses it
local out, at = {}, first
for r = 1, rules do
  local kind, limit, cost, weight, _, n
  kind, limit, cost, weight, _, n, at = struct.unpack('<dddddd', figures, at)
  local count = (counts[2 * r - 1] or 0) + 0
  local used
  if kind >= 3 then
    -- a bucket holds what its arrival time is ahead of now, in units of the emission interval
    if count < now then count = now end
    used = (count - now) / weight
  else
    used = (counts[2 * r] or 0) * weight + count
  end
  if used + cost > limit then return {'refused', r, counts[2 * r - 1] or '0', counts[2 * r] or '0'} end
  out[r] = used
  at = at + 8 * n
end

-- the demand fits every rule: charge them all
local arrivals, fired
at = first
for r = 1, rules do
  local kind, limit, cost, weight, ttl, n
  kind, limit, cost, weight, ttl, n, at = struct.unpack('<dddddd', figures, at)
  local key, stored, used = KEYS[2 * r - 1], counts[2 * r - 1], out[r]
  local fractional = kind % 2 == 0
  if kind >= 3 then
    -- the bucket's new arrival time; the key lives until the bucket has drained
    local arrival = math.max((stored or 0) + 0, now) + cost * weight
    redis.call('SET', key, arrival, 'PX', math.ceil(arrival - now) + 1)
    arrivals = arrivals or {}
    arrivals[#arrivals + 1] = string.format('%.17g', arrival)
  else
    -- fractional counts, and a whole count an older version left fractional, take INCRBYFLOAT
    if fractional or (stored and stored:find('.', 1, true)) then
      redis.call('INCRBYFLOAT', key, ARGV[r + 1])
    else
      redis.call('INCRBY', key, ARGV[r + 1])
    end
    if not stored then redis.call('PEXPIRE', key, ttl) end
  end
  local remaining = limit - (used + cost)
  out[r] = fractional and tostring(remaining) or remaining
  for _ = 1, n do
    local threshold
    threshold, at = struct.unpack('<d', figures, at)
    local mark = threshold * limit
    if used < mark and used + cost >= mark then
      -- once per key, window and threshold, whichever process gets here first
      local name = tostring(threshold)
      if redis.call('SET', key .. ':alert:' .. name, '1', 'NX', 'PX', ttl) then
        fired = fired or {}
        fired[#fired + 1] = r
        fired[#fired + 1] = name
      end
    end
  end
end
if arrivals then for i = 1, #arrivals do out[#out + 1] = arrivals[i] end end
if fired then for i = 1, #fired do out[#out + 1] = fired[i] end end
return out
`;
