"""The session manager's writes, each one Lua script over one conversation's two keys.

KEYS[1] = conv:{<id>}:session, KEYS[2] = conv:{<id>}:messages (one hash slot). Every script
checks what the write depends on (the conversation exists, belongs to this user, takes messages)
and either refuses with a status, changing nothing, or writes and then does the bookkeeping
every write shares: ``last_activity``, ``version`` + 1 (+1 per message appended), and the
sliding TTL of both keys. One
script replaces a WATCH/MULTI/EXEC transaction and its retries: Redis runs it atomically, in one
round trip, and nothing can interleave.

Replies: ``{status}`` when refused ('missing', 'exists', 'ended', 'full'), ``{'ok', version}``
or ``{'ok', version, field, value, ...}`` (the session hash after the write) when done, and
``{'dup', version}`` when a message with the same id is already among the last ones (a client's
retry, or the cluster client replaying a pipeline after a node failure): nothing is written
twice.
"""

from __future__ import annotations

from app.core.redis_scripts import LuaScript

# ARGV[1] now (ISO 8601), ARGV[2] TTL seconds, then the script's own arguments.
_COMMON = """
local s, m = KEYS[1], KEYS[2]
local function complete()
  local started = redis.call('HGET', s, 'started_at')
  return started and started ~= ''
end
local function open_to(user)
  local owner = redis.call('HGET', s, 'user_id') or ''
  return owner == '' or owner == user
end
local function bump(messages)
  redis.call('HSET', s, 'last_activity', ARGV[1])
  local version = redis.call('HINCRBY', s, 'version', messages or 1)
  redis.call('EXPIRE', s, ARGV[2])
  redis.call('EXPIRE', m, ARGV[2])
  return version
end
local function with_hash(version)
  local reply = {'ok', version}
  for _, item in ipairs(redis.call('HGETALL', s)) do reply[#reply + 1] = item end
  return reply
end
"""

# ARGV[3] n = how many field/value items follow; then the items; then messages to restore.
CREATE = LuaScript(
    _COMMON
    + """
if complete() then return {'exists'} end
redis.call('DEL', s, m)
local n = tonumber(ARGV[3])
redis.call('HSET', s, unpack(ARGV, 4, 3 + n))
local first = 4 + n
while first <= #ARGV do
  local last = math.min(first + 999, #ARGV)
  redis.call('RPUSH', m, unpack(ARGV, first, last))
  first = last + 1
end
return with_hash(bump())
"""
)

# ARGV[3] user, ARGV[4] merchant, ARGV[5] shop.
LINK = LuaScript(
    _COMMON
    + """
if not complete() or not open_to(ARGV[3]) then return {'missing'} end
redis.call('HSET', s, 'user_id', ARGV[3], 'merchant_id', ARGV[4], 'shop', ARGV[5])
return with_hash(bump())
"""
)

# ARGV[3] user ('' = anonymous).
TOUCH = LuaScript(
    _COMMON
    + """
if not complete() or not open_to(ARGV[3]) then return {'missing'} end
return with_hash(bump())
"""
)

# ARGV[3] user, ARGV[4] '1' when the owner may reopen an ended conversation, ARGV[5] the most
# messages kept, ARGV[6] how many must still fit after the first (a merchant's message keeps
# room for CJ's reply to it), then the messages (JSON), in order. The first one's id, as it
# appears in it ('"message_id":"<id>"'), is ARGV[7]: found among the last ones, nothing is
# written (a retry of what is already stored).
APPEND = LuaScript(
    _COMMON
    + """
if not complete() or not open_to(ARGV[3]) then return {'missing'} end
for _, item in ipairs(redis.call('LRANGE', m, -8, -1)) do
  if string.find(item, ARGV[7], 1, true) then
    return {'dup', tonumber(redis.call('HGET', s, 'version'))}
  end
end
if redis.call('HGET', s, 'status') == 'ended' then
  if ARGV[4] ~= '1' then return {'ended'} end
  redis.call('HSET', s, 'status', 'active', 'ended_at', '')
end
local count = #ARGV - 7
if redis.call('LLEN', m) + math.max(count, 1 + tonumber(ARGV[6])) > tonumber(ARGV[5]) then
  return {'full'}
end
redis.call('RPUSH', m, unpack(ARGV, 8, #ARGV))
-- One version per message, as if each were a write of its own.
return {'ok', bump(count)}
"""
)

# ARGV[3] user, ARGV[4] ended_at. Ending twice keeps the first ended_at.
END = LuaScript(
    _COMMON
    + """
if not complete() or not open_to(ARGV[3]) then return {'missing'} end
if redis.call('HGET', s, 'status') ~= 'ended' then
  redis.call('HSET', s, 'status', 'ended', 'ended_at', ARGV[4])
end
return with_hash(bump())
"""
)

# ARGV[3] the title.
SET_TITLE = LuaScript(
    _COMMON
    + """
if not complete() then return {'missing'} end
redis.call('HSET', s, 'title', ARGV[3])
return {'ok', bump()}
"""
)

# ARGV[1] the expected version ('' = whatever it is). 1 = deleted, 0 = changed meanwhile.
DELETE = LuaScript(
    """
local version = redis.call('HGET', KEYS[1], 'version') or ''
if ARGV[1] ~= '' and version ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
"""
)

SCRIPTS = (CREATE, LINK, TOUCH, APPEND, END, SET_TITLE, DELETE)
