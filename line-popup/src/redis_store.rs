//! [`RedisStore`]: a [`PopupStore`] on Redis (feature `redis`).
//!
//! Every trait method is one round trip: the cap check and increment of
//! [`reserve`](PopupStore::reserve), and the once-only event count of
//! [`record`](PopupStore::record), are Lua scripts, which Redis runs
//! atomically. Scripts are sent by SHA (`EVALSHA`) and loaded on first use.
//!
//! # Keys
//!
//! All keys start with the store's prefix (`popup:` by default). A visitor's
//! keys embed the visitor ID with its length (`v:9:visitor-1:…`), so no
//! visitor ID can forge another's key.
//!
//! | key | type | expires |
//! | --- | --- | --- |
//! | `v:…:c:{campaign}` | hash: lifetime count, last showing, dismiss, conversion | never (lifetime state) |
//! | `v:…:w:{campaign}` | sorted set of showings in the rolling window | after the window |
//! | `v:…:s:{campaign}:{session}` | session count | session time to live |
//! | `v:…:d:{day}` | showings that day across campaigns | 2 days |
//! | `t:{token}` | hash: the showing and the events recorded | attribution time to live |
//! | `b:{key}` | hash: bound token | binding time to live |
//! | `st:{day}` | hash of report counters | 400 days |
//! | `nf:{day}`, `ev:{id}` | new friends, seen webhook event IDs | 400 days, 7 days |
//!
//! Time to live is set relative to the `now` the engine passes (its clock),
//! and every expiry is also checked against that `now`, so a manual clock
//! works as it does with the in-memory store.
//!
//! Scripts compute some keys from their arguments (the visitor's state key
//! inside `record`), so the store targets a single Redis server (or a primary
//! with replicas), not Redis Cluster.

use std::fmt;

use async_trait::async_trait;
use jiff::Timestamp;
use redis::aio::MultiplexedConnection;
use redis::Script;

use crate::error::Error;
use crate::store::{
    secs_to_ms, Attribution, CapKind, EventKind, PopupStore, Recorded, ReserveOutcome, ReserveRequest, StatKind,
    StatRow, Stats,
};

const DAY_TTL_SECS: u64 = 2 * 86_400;
const STATS_TTL_SECS: u64 = 400 * 86_400;
const EVENT_ID_TTL_SECS: u64 = 7 * 86_400;

const RESERVE: &str = r#"
local now = tonumber(ARGV[1])
local maxday = tonumber(ARGV[2])
local n = tonumber(ARGV[9])
local daycount = tonumber(redis.call('GET', KEYS[1]) or '0')
local out = {'0'}
local chosen = 0
for i = 1, n do
  local a = 9 + (i - 1) * 9
  local k = 3 + (i - 1) * 3
  local cap = nil
  do
    local st = redis.call('HMGET', KEYS[k + 1], 'n', 'last', 'dis', 'conv')
    local lifetime = tonumber(st[1] or '0')
    local last = st[2] and tonumber(st[2])
    local dis = st[3] and tonumber(st[3])
    local lim_life = tonumber(ARGV[a + 3])
    local wmax = tonumber(ARGV[a + 4])
    local wms = tonumber(ARGV[a + 5])
    local lim_sess = tonumber(ARGV[a + 6])
    local interval = tonumber(ARGV[a + 7])
    local cooldown = tonumber(ARGV[a + 8])
    if ARGV[a + 9] == '1' and st[4] == '1' then
      cap = 'converted'
    elseif cooldown >= 0 and dis and now < dis + cooldown then
      cap = 'dismiss_cooldown'
    elseif lim_life >= 0 and lifetime >= lim_life then
      cap = 'lifetime'
    elseif interval >= 0 and last and now < last + interval then
      cap = 'min_interval'
    end
    if not cap and wmax >= 0 then
      redis.call('ZREMRANGEBYSCORE', KEYS[k + 2], '-inf', now - wms)
      if redis.call('ZCARD', KEYS[k + 2]) >= wmax then cap = 'window' end
    end
    if not cap and lim_sess >= 0 then
      if tonumber(redis.call('GET', KEYS[k + 3]) or '0') >= lim_sess then cap = 'session' end
    end
    if not cap and maxday >= 0 and daycount >= maxday then cap = 'daily' end
  end
  if cap then
    out[#out + 1] = cap
  else
    chosen = i
    break
  end
end
if chosen == 0 then return out end
out[1] = tostring(chosen)
local a = 9 + (chosen - 1) * 9
local k = 3 + (chosen - 1) * 3
redis.call('HINCRBY', KEYS[k + 1], 'n', 1)
redis.call('HSET', KEYS[k + 1], 'last', ARGV[1])
if tonumber(ARGV[a + 4]) >= 0 then
  redis.call('ZADD', KEYS[k + 2], ARGV[1], ARGV[6])
  redis.call('PEXPIRE', KEYS[k + 2], ARGV[a + 5])
end
redis.call('INCR', KEYS[k + 3])
redis.call('EXPIRE', KEYS[k + 3], ARGV[3])
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('HSET', KEYS[2], 'v', ARGV[5], 'c', ARGV[a + 1], 'vr', ARGV[a + 2], 'at', ARGV[1], 'exp', ARGV[4])
redis.call('PEXPIRE', KEYS[2], math.max(1, tonumber(ARGV[4]) - now))
redis.call('HINCRBY', KEYS[3], ARGV[a + 1] .. '|' .. ARGV[a + 2] .. '|reserved', 1)
redis.call('EXPIRE', KEYS[3], ARGV[8])
return out
"#;

const RECORD: &str = r#"
local t = redis.call('HMGET', KEYS[1], 'v', 'c', 'vr', 'at', 'exp')
if not t[1] or tonumber(t[5]) <= tonumber(ARGV[2]) then return {'0'} end
if redis.call('HSETNX', KEYS[1], 'e:' .. ARGV[1], ARGV[2]) == 0 then
  return {'2', t[1], t[2], t[3], t[4]}
end
local state = ARGV[3] .. 'v:' .. string.len(t[1]) .. ':' .. t[1] .. ':c:' .. t[2]
if ARGV[1] == 'dismissed' then
  redis.call('HSET', state, 'dis', ARGV[2])
elseif ARGV[1] == 'converted_friend' or ARGV[1] == 'converted_link' then
  redis.call('HSET', state, 'conv', '1')
end
redis.call('HINCRBY', KEYS[2], t[2] .. '|' .. t[3] .. '|' .. ARGV[1], 1)
redis.call('EXPIRE', KEYS[2], ARGV[4])
return {'1', t[1], t[2], t[3], t[4]}
"#;

const BIND: &str = r#"
local exp = redis.call('HGET', KEYS[1], 'exp')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 't', ARGV[2], 'exp', ARGV[3])
redis.call('PEXPIRE', KEYS[2], math.max(1, tonumber(ARGV[3]) - tonumber(ARGV[1])))
return 1
"#;

const NEW_FRIEND: &str = r#"
if ARGV[1] ~= '' then
  if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return 0 end
end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"#;

/// A [`PopupStore`] on Redis. Cheap to clone (one multiplexed connection).
#[derive(Clone)]
pub struct RedisStore {
    conn: MultiplexedConnection,
    prefix: String,
    reserve: std::sync::Arc<Script>,
    record: std::sync::Arc<Script>,
    bind: std::sync::Arc<Script>,
    new_friend: std::sync::Arc<Script>,
}

impl fmt::Debug for RedisStore {
    // The connection URL may hold a password: it is not kept, so it cannot be printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn store_err(op: &'static str) -> impl FnOnce(redis::RedisError) -> Error {
    move |e| Error::store(op, e)
}

impl RedisStore {
    /// Connects to `url` (`redis://127.0.0.1:6379`) with keys under `popup:`.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with_prefix(url, "popup:").await
    }

    /// Connects to `url` with keys under `prefix`.
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(|e| {
            // The URL is not echoed: it may carry a password.
            Error::with_source(
                crate::error::ErrorKind::Config {
                    pointer: "redis_url".into(),
                    reason: "not a valid redis URL".into(),
                },
                e.to_string().replace(url, "<url>"),
            )
        })?;
        let conn = client
            .get_multiplexed_tokio_connection()
            .await
            .map_err(store_err("connect"))?;
        Ok(Self::from_connection(conn, prefix))
    }

    /// A store over an existing connection, with keys under `prefix`.
    pub fn from_connection(conn: MultiplexedConnection, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            reserve: Script::new(RESERVE).into(),
            record: Script::new(RECORD).into(),
            bind: Script::new(BIND).into(),
            new_friend: Script::new(NEW_FRIEND).into(),
        }
    }

    fn visitor_key(&self, visitor: &str) -> String {
        format!("{}v:{}:{}", self.prefix, visitor.len(), visitor)
    }
}

fn cap_arg(v: Option<u32>) -> i64 {
    v.map_or(-1, i64::from)
}

fn ms_arg(secs: Option<u64>) -> i64 {
    secs.map_or(-1, secs_to_ms)
}

fn parse_attribution(reply: &[String], op: &'static str) -> Result<Attribution, Error> {
    let at = reply
        .get(4)
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .ok_or_else(|| Error::store(op, "malformed token record"))?;
    match reply {
        [_, v, c, vr, ..] => Ok(Attribution::new(v, c, vr, at)),
        _ => Err(Error::store(op, "malformed token record")),
    }
}

#[async_trait]
impl PopupStore for RedisStore {
    async fn reserve(&self, req: &ReserveRequest<'_>) -> Result<ReserveOutcome, Error> {
        let now_ms = req.now.as_millisecond();
        let vk = self.visitor_key(req.visitor);
        let mut inv = self.reserve.prepare_invoke();
        inv.key(format!("{vk}:d:{}", req.day))
            .key(format!("{}t:{}", self.prefix, req.token))
            .key(format!("{}st:{}", self.prefix, req.day));
        for c in req.candidates {
            inv.key(format!("{vk}:c:{}", c.campaign))
                .key(format!("{vk}:w:{}", c.campaign))
                .key(format!("{vk}:s:{}:{}", c.campaign, req.session));
        }
        inv.arg(now_ms)
            .arg(cap_arg(req.max_per_day))
            .arg(req.session_ttl_secs.max(1))
            .arg(now_ms.saturating_add(secs_to_ms(req.token_ttl_secs)))
            .arg(req.visitor)
            .arg(req.token)
            .arg(DAY_TTL_SECS)
            .arg(STATS_TTL_SECS)
            .arg(req.candidates.len());
        for c in req.candidates {
            let (wmax, wms) = match c.caps.window {
                Some(w) => (i64::from(w.max), secs_to_ms(w.secs)),
                None => (-1, 1),
            };
            inv.arg(c.campaign)
                .arg(c.variant)
                .arg(cap_arg(c.caps.lifetime))
                .arg(wmax)
                .arg(wms)
                .arg(cap_arg(c.caps.per_session))
                .arg(ms_arg(c.caps.min_interval_secs))
                .arg(ms_arg(c.caps.dismiss_cooldown_secs))
                .arg(if c.caps.stop_after_conversion { "1" } else { "0" });
        }
        let mut conn = self.conn.clone();
        let reply: Vec<String> = inv.invoke_async(&mut conn).await.map_err(store_err("reserve"))?;
        let bad = || Error::store("reserve", "malformed script reply");
        let chosen: usize = reply.first().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        let caps = reply[1..]
            .iter()
            .map(|s| CapKind::parse(s).ok_or_else(bad))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(if chosen == 0 {
            ReserveOutcome::Blocked(caps)
        } else {
            ReserveOutcome::Reserved {
                index: chosen - 1,
                skipped: caps,
            }
        })
    }

    async fn record(&self, token: &str, kind: EventKind, now: Timestamp, day: &str) -> Result<Recorded, Error> {
        let mut conn = self.conn.clone();
        let reply: Vec<String> = self
            .record
            .key(format!("{}t:{}", self.prefix, token))
            .key(format!("{}st:{}", self.prefix, day))
            .arg(kind.as_str())
            .arg(now.as_millisecond())
            .arg(&self.prefix)
            .arg(STATS_TTL_SECS)
            .invoke_async(&mut conn)
            .await
            .map_err(store_err("record"))?;
        match reply.first().map(String::as_str) {
            Some("0") => Ok(Recorded::UnknownToken),
            Some("1") => Ok(Recorded::New(parse_attribution(&reply, "record")?)),
            Some("2") => Ok(Recorded::Duplicate(parse_attribution(&reply, "record")?)),
            _ => Err(Error::store("record", "malformed script reply")),
        }
    }

    async fn bind(&self, key: &str, token: &str, now: Timestamp, ttl_secs: u64) -> Result<bool, Error> {
        let now_ms = now.as_millisecond();
        let mut conn = self.conn.clone();
        let bound: i64 = self
            .bind
            .key(format!("{}t:{}", self.prefix, token))
            .key(format!("{}b:{}", self.prefix, key))
            .arg(now_ms)
            .arg(token)
            .arg(now_ms.saturating_add(secs_to_ms(ttl_secs)))
            .invoke_async(&mut conn)
            .await
            .map_err(store_err("bind"))?;
        Ok(bound == 1)
    }

    async fn resolve(&self, key: &str, now: Timestamp) -> Result<Option<String>, Error> {
        let mut conn = self.conn.clone();
        let (token, exp): (Option<String>, Option<i64>) = redis::cmd("HMGET")
            .arg(format!("{}b:{}", self.prefix, key))
            .arg("t")
            .arg("exp")
            .query_async(&mut conn)
            .await
            .map_err(store_err("resolve"))?;
        Ok(match (token, exp) {
            (Some(t), Some(exp)) if exp > now.as_millisecond() => Some(t),
            _ => None,
        })
    }

    async fn count_new_friend(&self, event_id: Option<&str>, day: &str) -> Result<bool, Error> {
        let mut conn = self.conn.clone();
        let counted: i64 = self
            .new_friend
            .key(format!("{}nf:{}", self.prefix, day))
            .key(format!("{}ev:{}", self.prefix, event_id.unwrap_or("")))
            .arg(event_id.unwrap_or(""))
            .arg(EVENT_ID_TTL_SECS)
            .arg(STATS_TTL_SECS)
            .invoke_async(&mut conn)
            .await
            .map_err(store_err("count_new_friend"))?;
        Ok(counted == 1)
    }

    async fn stats(&self, days: &[String]) -> Result<Stats, Error> {
        let mut pipe = redis::pipe();
        for d in days {
            pipe.cmd("HGETALL").arg(format!("{}st:{}", self.prefix, d));
            pipe.cmd("GET").arg(format!("{}nf:{}", self.prefix, d));
        }
        let mut conn = self.conn.clone();
        let replies: Vec<redis::Value> = pipe.query_async(&mut conn).await.map_err(store_err("stats"))?;
        let short = || Error::store("stats", "fewer replies than commands");
        let mut out = Stats::default();
        for (i, d) in days.iter().enumerate() {
            let counters: Vec<(String, u64)> =
                redis::from_redis_value(replies.get(2 * i).ok_or_else(short)?).map_err(store_err("stats"))?;
            for (field, n) in counters {
                let mut parts = field.splitn(3, '|');
                let (Some(c), Some(v), Some(k)) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(Error::store("stats", format!("malformed counter {field:?}")));
                };
                let kind = StatKind::parse(k).ok_or_else(|| Error::store("stats", format!("unknown counter {k:?}")))?;
                out.rows.push(StatRow::new(d, c, v, kind, n));
            }
            let nf: Option<u64> =
                redis::from_redis_value(replies.get(2 * i + 1).ok_or_else(short)?).map_err(store_err("stats"))?;
            if let Some(n) = nf {
                out.new_friends.push((d.clone(), n));
            }
        }
        Ok(out)
    }
}
