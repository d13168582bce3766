-- Paced (open-loop) load for wrk: requests go out on one even schedule of `rate` per second, whichever of the
-- connections is free takes the next slot (args: rate). wrk asks `delay()` before each request; the slots
-- advance by 1/rate whatever happens, so a late request is sent at once and the rate holds. Latency is
-- measured from the real send (wrk's own clock). The summary is wrk-report.lua's.
local ffi = require('ffi')
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } veer_timespec;
  int clock_gettime(int clock, veer_timespec *ts);
]])
local ts = ffi.new('veer_timespec')
local CLOCK_MONOTONIC = 1

local function nowMs()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local interval = nil
local nextSlot = nil

init = function(args)
  local rate = tonumber(args[1])
  if not rate or rate <= 0 then error('wrk-paced.lua: expected a rate (requests per second) as its argument') end
  interval = 1000 / rate
end

-- wrk's timers take whole milliseconds: a slot due in 2.7 ms is taken after 2 ms, so requests leave up to
-- 1 ms early, in the same millisecond as their slot, and the rate over a second is exact.
delay = function()
  local now = nowMs()
  if nextSlot == nil then nextSlot = now end
  local wait = nextSlot - now
  nextSlot = nextSlot + interval
  if wait <= 0 then return 0 end
  return math.floor(wait)
end

local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
dofile(here .. 'wrk-report.lua')
