// Lua kept in a string constant, so the package reads no file at run time (bundlers welcome).
export const REQUESTS_SCRIPT = `-- Acquire for a limiter whose one rule counts requests in a window (sliding, or a calendar period):
-- the most common limiter, so it gets the fewest Redis calls (one MGET, one INCR) and numbers parsed.
--
-- KEYS[1]  this window's count
-- KEYS[2]  the last window's count
-- ARGV[1]  the limit
-- ARGV[2]  how much of the last window's count still counts: the part of it the sliding window still
--          covers (0 for a calendar period: the last period counts for nothing)
-- ARGV[3]  ms a new window's count lives
-- Returns  allowed: what remains of the limit (Redis truncates it to a whole number)
--          refused: {'refused', this window's count, the last window's}, for the caller to work out the wait
local counts = redis.call('MGET', KEYS[1], KEYS[2])
local used = (counts[2] or 0) * ARGV[2] + (counts[1] or 0)
if used + 1 > ARGV[1] + 0 then return {'refused', counts[1] or '0', counts[2] or '0'} end
redis.call('INCR', KEYS[1])
if not counts[1] then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return ARGV[1] - (used + 1)
`;
