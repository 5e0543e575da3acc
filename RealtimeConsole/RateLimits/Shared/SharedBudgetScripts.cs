namespace RealtimeConsole.RateLimits.Shared;

/// <summary>
/// The budget's two steps as Lua scripts, so each is one atomic round trip for every instance of a deployment. They are
/// <see cref="UpstreamBudget"/>'s rules in Redis: a token bucket in exact integer units (one request is the window in
/// milliseconds, each millisecond adds <c>limit</c> units), a probe until upstream's limit is known, tickets numbered in
/// send order whose answers correct the level (lowered to <c>remaining</c> minus the requests sent later and still in
/// flight; raised only by the newest answer, to <c>remaining</c> minus every request that may have reached upstream after
/// it: those in flight and those answered since it was granted). A ticket whose instance never answers is dropped when its
/// lease ends.
/// </summary>
internal static class SharedBudgetScripts
{
    private const string Load = """
        local now = tonumber(ARGV[1])
        local b = redis.call('HMGET', KEYS[1], 'limit', 'window', 'source', 'units', 'stamp', 'probe_until', 'last', 'newest',
          'others', 'o_seq', 'o_rem', 'o_at', 'o_seen', 'o_over', 'o_refused', 'done', 'o_lvl')
        local limit, window, source, units, stamp, probe_until, last, newest
        local others, o_seq, o_rem, o_at, o_seen, o_over, o_refused, done, o_lvl = 0, -1, -1, 0, 0, 0, 0, 0, 0
        if b[1] then
          limit = tonumber(b[1]); window = tonumber(b[2]); source = tonumber(b[3]); units = tonumber(b[4])
          stamp = tonumber(b[5]); probe_until = tonumber(b[6]); last = tonumber(b[7]); newest = tonumber(b[8])
          if b[9] then
            others = tonumber(b[9]); o_seq = tonumber(b[10]); o_rem = tonumber(b[11]); o_at = tonumber(b[12])
            o_seen = tonumber(b[13]); o_over = tonumber(b[14]); o_refused = tonumber(b[15])
          end
          if b[16] then done = tonumber(b[16]) end
          if b[17] then o_lvl = tonumber(b[17]) else o_seq = -1 end
        end
        -- Upstream's refill less what other consumers of the organization take of it.
        local function rate() return math.max(1, limit - others) end
        local function refill()
          local cap = limit * window
          if now > stamp then
            if units < cap then units = math.min(cap, units + math.min(now - stamp, window) * rate()) end
            stamp = now
          end
        end
        local function save()
          redis.call('HSET', KEYS[1], 'limit', limit, 'window', window, 'source', source, 'units', units, 'stamp', stamp,
            'probe_until', probe_until, 'last', last, 'newest', newest, 'others', others, 'o_seq', o_seq, 'o_rem', o_rem,
            'o_at', o_at, 'o_seen', o_seen, 'o_over', o_over, 'o_refused', o_refused, 'done', done, 'o_lvl', o_lvl)
          redis.call('PEXPIRE', KEYS[1], 86400000)
        end
        """;

    /// <summary>
    /// KEYS: budget hash, in-flight tickets (score = sequence), their leases (score = deadline).
    /// ARGV: now ms, lease ms, starting limit, starting window ms (used when the budget is new or was lost).
    /// Returns granted (0/1), sequence, is probe, wait ms, limit, window ms, source, whole slots left, in flight, answers taken
    /// in before this grant (tickets ended by their lease count as answered: they may have reached upstream).
    /// </summary>
    public const string Grant = Load + "\n" + """
        local lease = tonumber(ARGV[2])
        if not limit then
          limit = tonumber(ARGV[3]); window = tonumber(ARGV[4]); source = 0; units = limit * window
          stamp = now; probe_until = 0; last = 0; newest = 0
        end
        local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
        for _, seq in ipairs(expired) do redis.call('ZREM', KEYS[2], seq) end
        if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now); done = done + #expired end
        refill()
        local granted, probe, wait = 0, 0, 0
        if source == 0 then
          if probe_until <= now then
            probe_until = now + lease; granted = 1; probe = 1
          else
            wait = math.min(1000, math.floor(window / limit))
          end
        elseif units >= window then
          units = units - window; granted = 1
        else
          wait = math.ceil((window - units) / rate())
        end
        if granted == 1 then
          last = last + 1
          redis.call('ZADD', KEYS[2], last, last)
          redis.call('ZADD', KEYS[3], now + lease, last)
          redis.call('PEXPIRE', KEYS[2], 86400000)
          redis.call('PEXPIRE', KEYS[3], 86400000)
        end
        save()
        return { granted, granted == 1 and last or 0, probe, wait, limit, window, source, math.floor(units / window), redis.call('ZCARD', KEYS[2]), done }
        """;

    /// <summary>
    /// KEYS: as <see cref="Grant"/>. ARGV: now ms, sequence, is probe, answered (0/1),
    /// x-ratelimit-limit (-1 none), remaining (-1 none), reset ms (-1 none), refused by upstream (0/1), answers taken in before
    /// the grant (from <see cref="Grant"/>). Returns limit, window
    /// ms, source, slots left, in flight, others' requests per window, whether waiters should ask again, or an empty array when the budget was lost (a restarted Redis): the next grant starts over with a probe.
    /// </summary>
    public const string Complete = Load + "\n" + """
        if not limit then return {} end
        local seq = tonumber(ARGV[2])
        local lim = tonumber(ARGV[5]); local rem = tonumber(ARGV[6]); local reset = tonumber(ARGV[7])
        refill()
        local was_probing = source == 0
        redis.call('ZREM', KEYS[2], seq)
        redis.call('ZREM', KEYS[3], seq)
        if tonumber(ARGV[3]) == 1 then probe_until = 0 end
        if tonumber(ARGV[8]) == 1 then o_refused = o_refused + 1 end
        local is_newest = seq > newest
        if is_newest then newest = seq end
        -- Answered while this request was out: sent before it, but they may have reached upstream after it.
        local answered_meanwhile = math.max(0, done - tonumber(ARGV[9]))
        done = done + 1
        if tonumber(ARGV[4]) == 1 then
          if lim > 0 then
            local function fits(w, used)
              local per = w / lim
              return reset <= per * used * 1.05 + 50 and reset >= per * (used - 1) * 0.95 - 50
            end
            local w = window
            -- A 429's reset need not be the bucket's (a storm says when it ends): only accepted answers tell the window.
            if rem >= 0 and reset > 0 and rem < lim and tonumber(ARGV[8]) ~= 1 then
              local used = lim - rem
              if not fits(window, used) then
                if fits(60000, used) then w = 60000
                else w = math.max(1000, math.min(86400000, math.floor(reset / used * lim + 0.5))) end
              end
            end
            if w ~= window then units = math.floor(units / window) * w; window = w end
            limit = lim
            units = math.min(units, limit * window)
            source = 2
          elseif source == 0 then
            source = 1
          end
        end
        local before = units
        if rem >= 0 and is_newest and source == 2 and tonumber(ARGV[8]) ~= 1 then
          -- What upstream's remaining lost beyond our own requests (429s took nothing) and its refill is other consumers'.
          -- A 429's own remaining is no sample (a storm says 0 whatever was spent): the chain skips it.
          local refused = o_refused
          o_refused = 0
          if rem >= limit then others = math.floor(others / 2) end
          -- The level to the unit from the time until full where upstream gives it (whole requests alone are a request of noise).
          local lvl = rem * window
          if reset > 0 and reset < window then lvl = math.max(rem * window, math.min(lvl + window - 1, limit * window - reset * limit)) end
          if o_seq < 0 or rem >= limit or o_rem >= limit then
            o_seen = 0; o_over = 0
          else
            local elapsed = now - o_at
            o_seen = o_seen + (o_lvl - lvl) / window + elapsed * limit / window - math.max(0, seq - o_seq - refused)
            o_over = o_over + elapsed
            if o_over >= window / 4 then
              local sample = math.max(0, o_seen) * window / o_over
              local estimate = sample
              if sample < others then estimate = (others + sample) / 2 end
              others = math.max(0, math.min(limit - math.max(1, math.floor((limit + 9) / 10)), math.floor(estimate + 0.5)))
              o_seen = 0; o_over = 0
            end
          end
          o_seq = seq; o_rem = rem; o_lvl = lvl; o_at = now
        end
        if rem >= 0 then
          local surely = math.max(0, rem - redis.call('ZCOUNT', KEYS[2], '(' .. seq, '+inf'))
          local cap = limit * window
          local sent_after = redis.call('ZCOUNT', KEYS[2], '(' .. seq, '+inf')
          -- The most upstream holds: one unit short of its next slot, or what its time until full says, within that slot.
          local most = rem * window + window - 1
          if source == 2 and reset > 0 and reset < window then
            most = math.max(rem * window, math.min(most, limit * window - reset * limit))
          end
          -- Other consumers draw on the same level: while they are known to be there, one slot of it is theirs.
          local reserve = 0
          if others > 0 then reserve = window end
          most = most - sent_after * window - reserve
          if was_probing then
            units = math.min(cap, surely * window)
          elseif units > most then
            units = math.max(0, most)
          elseif is_newest then
            local atleast = math.max(0, (rem - redis.call('ZCARD', KEYS[2]) - answered_meanwhile) * window - reserve)
            if atleast > units then units = math.min(cap, atleast) end
          end
        end
        save()
        local wake = 0
        if was_probing or units > before then wake = 1 end
        return { limit, window, source, math.floor(units / window), redis.call('ZCARD', KEYS[2]), others, wake }
        """;

    /// <summary>
    /// Charges the shared level with what an instance spent on its own while the store was unreachable, so nothing is spent
    /// twice. KEYS: budget hash. ARGV: now ms, requests. The level may go below zero; it refills from there.
    /// </summary>
    public const string Charge = Load + "\n" + """
        if not limit then return 0 end
        refill()
        units = math.max(units - tonumber(ARGV[2]) * window, -limit * window)
        save()
        return 1
        """;
}
