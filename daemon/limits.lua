-- SPDX-License-Identifier: ISC
--[[
limits.lua: every shared admission decision for one provider (SPEC 14),
made atomically inside Redis 7 (SCRIPT LOAD, then EVALSHA).

The daemons that share a provider key keep its request bucket, token
bucket, concurrency slots, upstream pause and cross-host line here, and
ask this script instead of their local limiter.  It gives the answers
daemon/limiter.c gives (same arithmetic, same rounding), on Redis's clock.
It does not queue: each daemon keeps its own FIFO and asks for its heads.

CALL (every op)

  EVALSHA <sha> <2+2S> KEYS... ARGV...
  KEYS[1]     <p>{P}:waiters  HASH  the cross-host line (FAIRNESS below)
  KEYS[2]     <p>{P}:hosts    ZSET  host id -> last heartbeat (ms)
  per scope s = 1..S (1: the provider; 2, if given: the request's model
  group, SPEC 16; a group's keys are <p>{P}:g:<group>:...):
  KEYS[1+2s]  ...:slots       ZSET  lease id -> expiry (ms)
  KEYS[2+2s]  ...:state       HASH  rlevel tlevel at pause limits limits_host
  ARGV[1]     op: admit release adjust renew pause observe heartbeat
              leave status
  ARGV[2]     host id, unique per daemon process, without spaces
  ARGV[3]     clock offset in ms (0 in the daemon; tests move time with it)
  ARGV[4]     wake channel (<p>{P}:wake)
  ARGV[5]     S, 1 or 2
  ARGV[6..5+4S]  per scope: requests_per_minute burst tokens_per_minute
              max_concurrent (whole numbers; 0: that limit is off)
  ARGV[6+4S..]   the op's own arguments

  The keys share the {P} hash tag (one cluster slot); the script touches
  no other key.  release, renew, adjust, pause and observe act on every
  scope given: pass the scopes a lease was admitted with; to pause or
  correct a group alone, pass that group's keys as the only scope.

OPS AND REPLIES

  admit lease_ms n tokens1 lease1 ... tokensn leasen
      The n heads of one daemon queue, in order; the longest prefix that
      fits is admitted, each head taking its share before the next is
      tried.  Reply {admitted, retry_ms, now_ms, hosts_alive,
      lease_expiry_ms, note}:
        admitted         0..n
        retry_ms         0 when all n were admitted; else for the first
                         refused: ms until it would fit if nothing else
                         changed (>= 1), or -1 when only a released slot
                         helps; a head above a scope's tokens_per_minute
                         never fits (the daemon answers 413 before
                         asking): it gets 60000 and does not join the
                         line
        now_ms           the script's now
        hosts_alive      hosts with a heartbeat in the last 60000 ms
        lease_expiry_ms  ms until the earliest lease of any scope ends
                         (-1: none), when to ask again after a -1
        note             "" or, when this host's limits for a scope differ
                         from those another host stored, "<limits> by
                         <host>" (two scopes: joined by "; "); this host's
                         limits are stored in their place
  release n lease1 unused1 refund1 ...
      Frees each lease in every scope, gives back unused tokens and, when
      refund is 1, the request (never past a bucket's depth); publishes a
      wake-up.  Reply: leases that were still held (scope 1).
  adjust delta
      Usage minus estimate: a positive delta is charged (the token bucket
      may go into debt), a negative one refunded as above (and a wake-up
      published).  Reply 1.
  renew lease_ms n lease1 ... leasen
      Moves each still held lease's expiry to now + lease_ms.  Reply:
      leases renewed (scope 1); fewer than n: some had expired.
  pause ms
      No admission before now + ms; a later pause already set is kept.
      Reply: ms until the pause ends (the latest over the scopes).
  observe requests tokens
      The upstream's remaining counts (-1: not said): a bucket that
      believes it holds more is lowered to that.  Reply 1.
  heartbeat
      Reply: hosts alive, this one included.
  leave [all]
      This host's queue (the one the scopes name) is empty: it leaves
      the line at once, and those it held up are woken.  "all": every
      queue of this host (a daemon stopping).  Reply 1.
  status
      Reply {in_flight, requests_level, tokens_level, pause_ms,
      hosts_alive} for scope 1; the levels are strings ("%.3f"), "0"
      for a bucket that is off.

TIME

  now = Redis TIME in whole ms, plus the offset.  Host clocks never
  matter.  Whole ms, as the daemon's clock: every level, cost and refill
  below is then a whole number, so now_ms + retry_ms is exactly the first
  ms at which the same request is admitted, never one earlier.

BUCKETS (limiter.c's arithmetic)

  A bucket holds units: 60000 per request or token, so one ms refills
  exactly per_minute units.  Request bucket: depth burst*60000 (burst 0
  counts as 1), rpm units a ms.  Token bucket: depth tpm*60000 (one
  minute's worth), tpm units a ms.  A missing level is a full bucket.  Whole numbers below 2^53 are exact in Lua's
  doubles: no epsilon, no drift.  (Theoretical arrival times in epoch ms
  would not be: at 1.7e12 ms a double's step is 2.4e-4 ms, more than a
  token's share of time at 150M tokens per minute.)
  - Refill lazily by (now - at) * rate; a clock that steps back counts as
    no time passing.  A bucket may hold more than its depth for less than
    a ms (the refill inside the last tick): clamping at once would waste
    up to a ms per admission; the surplus is dropped once it reaches a
    ms's worth.  Over any window nothing more than depth + rate * window
    is paid: no 60 s window holds more than R + B requests.
  - A request of t tokens fits a scope when now >= pause, the request
    bucket holds 60000, the token bucket holds t*60000, and a slot is free
    (ZCARD slots < max_concurrent after expired leases are reclaimed).
  - All scopes agree or nothing is taken.  Leases are kept in every
    scope's slots even when max_concurrent is 0, so in_flight is known
    and another host with a limit still counts them.
  - A wait is ceil(missing units / rate); the retry is the largest wait
    of the pause and the buckets over all scopes.
  - Refunds never fill a bucket past its depth; charges may leave the
    token bucket in debt, and later requests wait it off.

FAIRNESS ACROSS HOSTS

  Without a line, the host nearest to Redis would win every race after a
  release or a refill.  KEYS[1] holds one entry per waiting (host, queue),
  the queue named by its last state key: field "<host> <queue>", value
  "<seq> <expiry> <kind> <waits_on>", plus "#next", the next seq.
  - A refused admit joins the line (a new seq, at the back) or keeps its
    place, and records the scope it waits on (waits_on: its state key):
    the one with the longest wait, else the first with no free slot.
  - An admit is held up by another host's entry that is ahead of it (a
    lower seq, or it has none) and waits on one of this request's
    scopes: a host waiting on its group's limits holds up no other
    group.  Held up, it admits nothing, joins the line, and gets retry_ms
    = the later of its own wait and the soonest expiry among those ahead
    (never -1: a host ahead may have died; alive, it wakes this one when
    it leaves the line).  Otherwise (line empty, or first) it is decided
    on the limits alone.
  - Admitted, a host leaves the line; refused again, it joins at the
    back: two backlogged hosts take turns, whichever asks first.  A host
    admitted for part of its batch goes to the back too.
  - Entries expire (and are dropped) so that a dead host holds up no
    one for long: kind t (waits for a time): now + retry + 2000; kind r
    (waits for a release): the earliest lease's end + 2000; kind l (held
    up by the line): now + retry + 2000.  A wake-up cuts the expiry of
    every other host's r and l entries to now + 2000: a woken host must
    ask again within 2 s or lose its place.
  - A wake-up (PUBLISH <channel> <host id>) goes out on release, on a
    negative adjust, when an admitted host leaves the line while others
    wait, when an admission leaves capacity while others wait, and when
    a leave frees others.  Each daemon asks again at once on a wake-up
    from another host.

KEY EXPIRY (PEXPIRE, so an abandoned provider's state goes away)

  state: the time until its buckets are full and its pause is over, plus
  10 minutes (a full bucket and a missing one are the same); slots and
  waiters: their last expiry plus 60 s (Redis expires keys on its own,
  un-offset clock, so they outlive every entry the script still counts);
  hosts: 120 s after the last heartbeat.
]]

local SCALE = 60000             -- bucket units per request or token
local GRACE_MS = 2000           -- a line entry outlives its next ask by this
local ALIVE_MS = 60000          -- a heartbeat counts a host alive this long
local HOSTS_TTL_MS = 120000
local STATE_IDLE_MS = 600000
local KEY_SLACK_MS = 60000
local NEVER_MS = 60000          -- retry for a head that can never fit

-- Format x for Redis so that a whole number up to 2^53 survives exactly
-- (tostring would give 14 digits).
local function num(x)
    return string.format('%.17g', x)
end

-- Return the whole number in ARGV[i], checked against lo.
local function argnum(i, lo, what)
    local v = tonumber(ARGV[i])
    if v == nil or v ~= math.floor(v) or v < lo then
        error('limits.lua: ' .. what .. ' (ARGV[' .. i .. ']) is ' ..
            tostring(ARGV[i]))
    end
    return v
end

-- Return Redis's now in whole ms plus offset.
local function clock(offset)
    local t = redis.call('TIME')
    return math.floor(tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 + offset)
end

-- Return a bucket refilling per_min units per ms, depth deep, at level
-- (nil: full); per_min 0 is a bucket that is off.
local function bucket_new(per_min, depth, level)
    if per_min <= 0 then
        return { on = false, level = 0, depth = 0, rate = 0 }
    end
    depth = math.max(depth, 1) * SCALE
    return { on = true, level = level or depth, depth = depth, rate = per_min }
end

-- Add what elapsed ms refill; drop a surplus once it is a ms's worth
-- (also at once, with no time passed, after the limits were lowered).
local function bucket_refill(b, elapsed)
    if not b.on then
        return
    end
    local level = b.level + elapsed * b.rate
    if level > b.depth and level - b.depth >= b.rate then
        level = b.depth
    end
    b.level = level
end

-- Add units to b without filling it past its depth.
local function bucket_add(b, units)
    if not b.on or units <= 0 or b.level >= b.depth then
        return
    end
    b.level = math.min(b.level + units, b.depth)
end

-- Return the ms until b holds need units: 0 if it does, else at least 1,
-- rounded up so that it is never early.
local function bucket_wait(b, need)
    if not b.on or b.level >= need then
        return 0
    end
    local gap = need - b.level
    local w = math.floor(gap / b.rate)
    if w * b.rate < gap then
        w = w + 1
    end
    return math.max(w, 1)
end

-- Return the ms until b is full.
local function bucket_refill_ms(b)
    if not b.on or b.level >= b.depth then
        return 0
    end
    return math.ceil((b.depth - b.level) / b.rate)
end

-- Return b's level in requests or tokens, a surplus hidden, for status.
local function bucket_show(b)
    if not b.on then
        return '0'
    end
    return string.format('%.3f', math.min(b.level, b.depth) / SCALE)
end

-- Return tokens as bucket units; a negative count counts as 0.
local function units(tokens)
    return tokens > 0 and tokens * SCALE or 0
end

-- Load scope s (its limits at ARGV[a+1..a+4]) and bring its buckets to now.
local function scope_load(s, a, now)
    local sc = { slots = KEYS[1 + 2 * s], state = KEYS[2 + 2 * s] }
    local rpm = argnum(a + 1, 0, 'requests_per_minute')
    local burst = argnum(a + 2, 0, 'burst')
    local tpm = argnum(a + 3, 0, 'tokens_per_minute')
    sc.max_concurrent = argnum(a + 4, 0, 'max_concurrent')
    sc.limits = string.format('rpm=%d burst=%d tpm=%d max_concurrent=%d',
        rpm, burst, tpm, sc.max_concurrent)
    local f = redis.call('HMGET', sc.state, 'rlevel', 'tlevel', 'at', 'pause',
        'limits', 'limits_host')
    sc.req = bucket_new(rpm, burst, tonumber(f[1]))
    sc.tok = bucket_new(tpm, tpm, tonumber(f[2]))
    local at = tonumber(f[3]) or now
    bucket_refill(sc.req, math.max(now - at, 0))
    bucket_refill(sc.tok, math.max(now - at, 0))
    sc.at = math.max(at, now)
    sc.pause = tonumber(f[4]) or 0
    sc.stored_limits, sc.stored_host = f[5], f[6]
    return sc
end

-- Drop sc's expired leases and count the rest.
local function scope_reclaim(sc, now)
    redis.call('ZREMRANGEBYSCORE', sc.slots, '-inf', num(now))
    sc.in_flight = redis.call('ZCARD', sc.slots)
end

-- Write sc's levels back and keep the hash as long as they matter.
local function scope_save(sc, now)
    redis.call('HSET', sc.state, 'at', num(sc.at), 'pause', num(sc.pause))
    for field, b in pairs({ rlevel = sc.req, tlevel = sc.tok }) do
        if b.on then
            redis.call('HSET', sc.state, field, num(b.level))
        else
            -- Off: a bucket turned on again starts full, as limiter.c's.
            redis.call('HDEL', sc.state, field)
        end
    end
    local busy = math.max(bucket_refill_ms(sc.req), bucket_refill_ms(sc.tok),
        sc.pause - now)
    redis.call('PEXPIRE', sc.state, num(busy + STATE_IDLE_MS))
end

-- Keep sc's slots until its last lease has ended.
local function scope_keep_slots(sc, now)
    local last = redis.call('ZRANGE', sc.slots, -1, -1, 'WITHSCORES')
    if #last == 2 then
        local left = math.max(math.ceil(tonumber(last[2]) - now), 0)
        redis.call('PEXPIRE', sc.slots, num(left + KEY_SLACK_MS))
    end
end

-- Return the ms until sc's pause and buckets allow cost units.
local function scope_wait(sc, now, cost)
    local w = math.max(sc.pause - now, 0)
    w = math.max(w, bucket_wait(sc.req, SCALE))
    if sc.tok.on and cost > sc.tok.depth then
        return math.max(w, NEVER_MS)
    end
    return math.max(w, bucket_wait(sc.tok, cost))
end

-- Return true if every slot of sc is taken.
local function scope_full(sc)
    return sc.max_concurrent > 0 and sc.in_flight >= sc.max_concurrent
end

-- Return 0 if a request of cost units fits every scope now; else the ms
-- until it would (-1: only a released slot helps) and the scope it waits
-- on: the one with the longest wait (the first on a tie), else the first
-- that is full.  A group that holds it for seconds while the provider
-- refills in ms is what it waits on, so it holds up no other group.
local function fit(c, cost)
    local wait, by, full = 0, nil, nil
    for _, sc in ipairs(c.scopes) do
        local w = scope_wait(sc, c.now, cost)
        if w > wait then
            wait, by = w, sc
        end
        if full == nil and scope_full(sc) then
            full = sc
        end
    end
    if wait > 0 then
        return wait, by
    end
    if full then
        return -1, full
    end
    return 0, nil
end

-- Return true if cost units exceed what a token bucket of c can ever hold.
local function too_large(c, cost)
    for _, sc in ipairs(c.scopes) do
        if sc.tok.on and cost > sc.tok.depth then
            return true
        end
    end
    return false
end

-- Take one request of cost units and the slot lease in every scope.
local function take(c, cost, lease, lease_ms)
    for _, sc in ipairs(c.scopes) do
        if sc.req.on then
            sc.req.level = sc.req.level - SCALE
        end
        if sc.tok.on then
            sc.tok.level = sc.tok.level - cost
        end
        sc.in_flight = sc.in_flight +
            redis.call('ZADD', sc.slots, num(c.now + lease_ms), lease)
    end
end

-- Return the ms until the earliest lease of any scope ends, -1: none.
local function lease_expiry(c)
    local soonest
    for _, sc in ipairs(c.scopes) do
        local first = redis.call('ZRANGE', sc.slots, 0, 0, 'WITHSCORES')
        if #first == 2 then
            local t = tonumber(first[2])
            soonest = soonest and math.min(soonest, t) or t
        end
    end
    return soonest and math.ceil(soonest - c.now) or -1
end

-- Return the number of hosts with a heartbeat in the last ALIVE_MS.
local function hosts_alive(c)
    return redis.call('ZCOUNT', c.hosts, '(' .. num(c.now - ALIVE_MS), '+inf')
end

-- Store this host's limits where they differ; return what another host
-- had stored instead ("" if none).
local function limits_note(c)
    local notes = {}
    for _, sc in ipairs(c.scopes) do
        if sc.stored_limits ~= sc.limits then
            if sc.stored_limits and sc.stored_host ~= c.host then
                table.insert(notes, sc.stored_limits .. ' by ' ..
                    tostring(sc.stored_host))
            end
            redis.call('HSET', sc.state, 'limits', sc.limits,
                'limits_host', c.host)
            sc.dirty = true
        end
    end
    return table.concat(notes, '; ')
end

-- Return the line with its expired entries dropped; line.mine is this
-- host's entry for the queue the scopes name.
local function line_load(c)
    local raw = redis.call('HGETALL', c.waiters)
    local line = { next = 1, entries = {} }
    for i = 1, #raw, 2 do
        local field, value = raw[i], raw[i + 1]
        if field == '#next' then
            line.next = tonumber(value)
        else
            local host = string.match(field, '^(%S+) ')
            local seq, expiry, kind, waits_on =
                string.match(value, '^(%S+) (%S+) (%a) (.*)$')
            local e = { field = field, host = host, seq = tonumber(seq),
                expiry = tonumber(expiry), kind = kind, waits_on = waits_on }
            if host == nil or e.seq == nil or e.expiry == nil or
                e.expiry <= c.now then
                redis.call('HDEL', c.waiters, field)
            else
                line.entries[field] = e
            end
        end
    end
    line.mine = line.entries[c.me]
    return line
end

-- Write entry e of the line.
local function line_write(c, e)
    redis.call('HSET', c.waiters, e.field, string.format('%d %d %s %s',
        e.seq, e.expiry, e.kind, e.waits_on))
end

-- Put this host's queue in the line (keeping its place if it has one),
-- waiting on scope key waits_on, kind t/r/l, until now + due + GRACE_MS.
local function line_join(c, line, kind, waits_on, due)
    local e = line.mine
    if e == nil then
        e = { field = c.me, host = c.host, seq = line.next }
        line.next = line.next + 1
        redis.call('HSET', c.waiters, '#next', num(line.next))
        line.entries[c.me] = e
        line.mine = e
    end
    e.expiry = c.now + math.max(due, 0) + GRACE_MS
    e.kind, e.waits_on = kind, waits_on
    line_write(c, e)
    local last = 0
    for _, o in pairs(line.entries) do
        last = math.max(last, o.expiry)
    end
    redis.call('PEXPIRE', c.waiters, num(last - c.now + KEY_SLACK_MS))
end

-- Take entry e out of the line.
local function line_remove(c, line, e)
    redis.call('HDEL', c.waiters, e.field)
    line.entries[e.field] = nil
    if line.mine == e then
        line.mine = nil
    end
end

-- Return the entry first in line ahead of this host's queue that waits
-- on one of the request's scopes, and the soonest expiry among those.
local function line_ahead(c, line)
    local first, soonest
    local mine = line.mine
    for _, e in pairs(line.entries) do
        if e.host ~= c.host and (mine == nil or e.seq < mine.seq) and
            c.scope_keys[e.waits_on] then
            if first == nil or e.seq < first.seq then
                first = e
            end
            soonest = soonest and math.min(soonest, e.expiry) or e.expiry
        end
    end
    return first, soonest
end

-- Return true if another host has an entry in the line.
local function line_others(c, line)
    for _, e in pairs(line.entries) do
        if e.host ~= c.host then
            return true
        end
    end
    return false
end

-- Publish a wake-up; the others woken must ask within GRACE_MS or lose
-- their place (a host waiting for a time keeps its expiry: a wake-up
-- does not bring its time nearer).
local function wake(c, line)
    redis.call('PUBLISH', c.channel, c.host)
    for _, e in pairs(line.entries) do
        if e.host ~= c.host and e.kind ~= 't' and
            e.expiry > c.now + GRACE_MS then
            e.expiry = c.now + GRACE_MS
            line_write(c, e)
        end
    end
end

-- Take the heads in order while they fit; return how many were taken
-- and, for the first that did not fit, its retry, the scope it waits on
-- and its cost.
local function admit_prefix(c, n, lease_ms)
    local cost, retry, by
    for i = 1, n do
        cost = units(argnum(c.arg + 2 * i, 0, 'tokens'))
        retry, by = fit(c, cost)
        if retry ~= 0 then
            return i - 1, retry, by, cost
        end
        take(c, cost, ARGV[c.arg + 2 * i + 1], lease_ms)
    end
    return n, 0, nil, cost
end

-- Decide for a host that no one is ahead of: admit what fits, leave the
-- line if admitted, wait (at the back if admitted) for the rest.
local function admit_decide(c, line, n, lease_ms)
    local admitted, retry, by, cost = admit_prefix(c, n, lease_ms)
    local left = line.mine ~= nil and admitted > 0
    if left then
        line_remove(c, line, line.mine)
    end
    -- A head that can never fit must not hold the others up.
    if admitted < n and not too_large(c, cost) then
        if retry > 0 then
            line_join(c, line, 't', by.state, retry)
        else
            line_join(c, line, 'r', by.state, lease_expiry(c))
        end
    end
    if admitted > 0 and line_others(c, line) and
        (left or fit(c, 0) == 0) then
        wake(c, line)
    end
    return admitted, retry
end

-- Admit the longest prefix of the heads that fits, after the line.
local function op_admit(c)
    local lease_ms = argnum(c.arg, 0, 'lease_ms')
    local n = argnum(c.arg + 1, 0, 'n')
    local note = limits_note(c)
    local admitted, retry = 0, 0
    if n > 0 then
        local line = line_load(c)
        local head = units(argnum(c.arg + 2, 0, 'tokens'))
        local first, soonest = line_ahead(c, line)
        -- A head that can never fit is refused without joining the line.
        if first and not too_large(c, head) then
            retry = math.max(fit(c, head), soonest - c.now)
            line_join(c, line, 'l', first.waits_on, retry)
        else
            admitted, retry = admit_decide(c, line, n, lease_ms)
        end
    end
    for _, sc in ipairs(c.scopes) do
        if admitted > 0 or sc.dirty then
            scope_save(sc, c.now)
            scope_keep_slots(sc, c.now)
        end
    end
    return { admitted, retry, c.now, hosts_alive(c), lease_expiry(c), note }
end

-- Free leases, give back what they did not use, and wake the waiters.
local function op_release(c)
    local n = argnum(c.arg, 0, 'n')
    local held = 0
    for i = 0, n - 1 do
        local a = c.arg + 1 + 3 * i
        local lease = ARGV[a]
        local unused = units(argnum(a + 1, 0, 'unused tokens'))
        local refund = argnum(a + 2, 0, 'refund')
        for s, sc in ipairs(c.scopes) do
            local gone = redis.call('ZREM', sc.slots, lease)
            if s == 1 then
                held = held + gone
            end
            bucket_add(sc.tok, unused)
            if refund == 1 then
                bucket_add(sc.req, SCALE)
            end
        end
    end
    for _, sc in ipairs(c.scopes) do
        scope_save(sc, c.now)
    end
    wake(c, line_load(c))
    return held
end

-- Charge (or refund) the difference between usage and estimate.
local function op_adjust(c)
    local delta = argnum(c.arg, -math.huge, 'delta')
    for _, sc in ipairs(c.scopes) do
        if delta > 0 and sc.tok.on then
            sc.tok.level = sc.tok.level - delta * SCALE
        elseif delta < 0 then
            bucket_add(sc.tok, -delta * SCALE)
        end
        scope_save(sc, c.now)
    end
    if delta < 0 then
        wake(c, line_load(c))
    end
    return 1
end

-- Move the still held leases' expiry to now + lease_ms.
local function op_renew(c)
    local lease_ms = argnum(c.arg, 0, 'lease_ms')
    local n = argnum(c.arg + 1, 0, 'n')
    local renewed = 0
    for s, sc in ipairs(c.scopes) do
        for i = 1, n do
            local lease = ARGV[c.arg + 1 + i]
            if redis.call('ZSCORE', sc.slots, lease) then
                redis.call('ZADD', sc.slots, 'XX', num(c.now + lease_ms),
                    lease)
                if s == 1 then
                    renewed = renewed + 1
                end
            end
        end
        scope_keep_slots(sc, c.now)
    end
    return renewed
end

-- Admit nothing before now + ms in every scope; keep a later pause.
local function op_pause(c)
    local ms = tonumber(ARGV[c.arg])
    if ms == nil or ms < 0 then
        error('limits.lua: pause ms is ' .. tostring(ARGV[c.arg]))
    end
    local left = 0
    for _, sc in ipairs(c.scopes) do
        sc.pause = math.max(sc.pause, math.ceil(c.now + ms))
        scope_save(sc, c.now)
        left = math.max(left, sc.pause - c.now)
    end
    return left
end

-- Lower the buckets to what the upstream says remains.
local function op_observe(c)
    local requests = argnum(c.arg, -1, 'remaining requests')
    local tokens = argnum(c.arg + 1, -1, 'remaining tokens')
    for _, sc in ipairs(c.scopes) do
        if requests >= 0 and sc.req.on then
            sc.req.level = math.min(sc.req.level, units(requests))
        end
        if tokens >= 0 and sc.tok.on then
            sc.tok.level = math.min(sc.tok.level, units(tokens))
        end
        scope_save(sc, c.now)
    end
    return 1
end

-- Say this host is alive; count those that are.
local function op_heartbeat(c)
    redis.call('ZADD', c.hosts, num(c.now), c.host)
    redis.call('ZREMRANGEBYSCORE', c.hosts, '-inf', num(c.now - ALIVE_MS))
    redis.call('PEXPIRE', c.hosts, HOSTS_TTL_MS)
    return redis.call('ZCARD', c.hosts)
end

-- Take this host's queue (or all its queues) out of the line.
local function op_leave(c)
    local line = line_load(c)
    local freed = false
    for _, e in pairs(line.entries) do
        if e.field == c.me or (ARGV[c.arg] == 'all' and e.host == c.host) then
            line_remove(c, line, e)
            freed = true
        end
    end
    if freed and line_others(c, line) then
        wake(c, line)
    end
    return 1
end

-- Report scope 1 for /status.
local function op_status(c)
    local sc = c.scopes[1]
    return { sc.in_flight, bucket_show(sc.req), bucket_show(sc.tok),
        math.max(sc.pause - c.now, 0), hosts_alive(c) }
end

local OPS = {
    admit = op_admit, release = op_release, adjust = op_adjust,
    renew = op_renew, pause = op_pause, observe = op_observe,
    heartbeat = op_heartbeat, leave = op_leave, status = op_status,
}

-- Read the call shape common to every op.
local function call_new()
    local op = OPS[ARGV[1]]
    if op == nil then
        error('limits.lua: unknown op ' .. tostring(ARGV[1]))
    end
    local nscopes = argnum(5, 1, 'S')
    if nscopes > 2 or #KEYS ~= 2 + 2 * nscopes or #ARGV < 5 + 4 * nscopes then
        error('limits.lua: S=' .. nscopes .. ' needs ' .. (2 + 2 * nscopes) ..
            ' keys and ' .. (5 + 4 * nscopes) .. ' arguments')
    end
    local offset = tonumber(ARGV[3])
    if offset == nil then
        error('limits.lua: offset is ' .. tostring(ARGV[3]))
    end
    local c = { op = op, host = ARGV[2], channel = ARGV[4],
        waiters = KEYS[1], hosts = KEYS[2], arg = 6 + 4 * nscopes,
        now = clock(offset), scopes = {}, scope_keys = {} }
    -- A queue is named by its most specific scope.
    c.me = c.host .. ' ' .. KEYS[2 + 2 * nscopes]
    for s = 1, nscopes do
        local sc = scope_load(s, 5 + 4 * (s - 1), c.now)
        scope_reclaim(sc, c.now)
        c.scopes[s] = sc
        c.scope_keys[sc.state] = true
    end
    return c
end

local c = call_new()
return c.op(c)
