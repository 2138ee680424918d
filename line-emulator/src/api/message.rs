//! Send endpoints (reply, push, multicast, broadcast, narrowcast), validation
//! and narrowcast progress.

use std::collections::HashSet;
use std::sync::Arc;

use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use line_core::limits::{
    MAX_MULTICAST_RECIPIENTS, MAX_NARROWCAST_DEMOGRAPHIC_OBJECTS, MAX_NARROWCAST_RECIPIENT_OBJECTS,
    MIN_AUDIENCE_SIZE_FOR_NARROWCAST, RETRY_KEY_TTL_HOURS,
};
use line_core::model::PushMessageResponse;
use line_core::model::{
    BroadcastRequest, DemographicFilter, ErrorResponse, Message, MulticastRequest, NarrowcastProgressResponse,
    NarrowcastRequest, PushMessageRequest, Recipient, ReplyMessageRequest, ReplyMessageResponse, SentMessage,
    ValidateMessageRequest,
};
use rand::seq::SliceRandom;
use rand::Rng;

use crate::error::LineError;
use crate::handler::{Answer, AnswerBody, Ctx, Reply, Shared};
use crate::state::{Job, PendingNarrowcast, State};

/// The request body as `T`, once its `messages` pass LINE's checks
/// ([`crate::validate`], on the raw JSON, so that a rule does not depend on
/// what the typed model accepts).
fn checked_body<T: serde::de::DeserializeOwned>(ctx: &Ctx) -> Result<T, LineError> {
    let raw: serde_json::Value = ctx.json()?;
    crate::validate::check_body(&raw)?;
    ctx.json()
}

/// The messages, shared by every recipient's inbox.
fn shared_messages(messages: &[Message]) -> Vec<Arc<Message>> {
    messages.iter().cloned().map(Arc::new).collect()
}

fn retry_key(ctx: &Ctx) -> Result<Option<uuid::Uuid>, LineError> {
    let Some(v) = ctx.headers.get("x-line-retry-key") else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .map(Some)
        .ok_or_else(|| LineError::bad_request("The value for the 'X-Line-Retry-Key' header is invalid"))
}

/// The 409 for a retry key LINE accepted within the last 24 hours, if any.
fn duplicate(state: &mut State, key: Option<uuid::Uuid>, now: Timestamp) -> Option<Answer> {
    let key = key?;
    let ttl = SignedDuration::from_hours(RETRY_KEY_TTL_HOURS as i64);
    match state.retry_keys.get(&key) {
        Some((accepted, at)) if now.duration_since(*at) < ttl => {
            let body = ErrorResponse::new("The retry key is already accepted");
            Some(Answer {
                status: StatusCode::CONFLICT,
                body: AnswerBody::Json(serde_json::to_value(&body).unwrap_or_default()),
                accepted_request_id: Some(accepted.clone()),
            })
        }
        _ => None,
    }
}

fn remember_key(state: &mut State, key: Option<uuid::Uuid>, ctx: &Ctx) {
    let Some(key) = key else { return };
    state.retry_keys.insert(key, (ctx.request_id.clone(), ctx.now));
    state.retry_inserts += 1;
    if state.retry_inserts.is_multiple_of(4096) {
        let ttl = SignedDuration::from_hours(RETRY_KEY_TTL_HOURS as i64);
        let now = ctx.now;
        state.retry_keys.retain(|_, (_, at)| now.duration_since(*at) < ttl);
    }
}

fn check_quota(state: &State, n: u64) -> Result<(), LineError> {
    match state.monthly_quota {
        Some(limit) if state.quota_used + n > limit => Err(LineError::monthly_limit()),
        _ => Ok(()),
    }
}

fn sent_messages(state: &mut State, n: usize) -> Vec<SentMessage> {
    (0..n)
        .map(|_| {
            let id = state
                .rng
                .random_range(100_000_000_000_000_000u64..1_000_000_000_000_000_000);
            let mut m = SentMessage::new(id.to_string());
            m.quote_token = Some(state.hex_id("q"));
            m
        })
        .collect()
}

fn valid_user_id(id: &str) -> bool {
    id.len() == line_core::limits::USER_ID_LEN && id.starts_with('U') && id[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn valid_chat_id(id: &str) -> bool {
    id.len() == line_core::limits::USER_ID_LEN
        && matches!(id.as_bytes()[0], b'U' | b'C' | b'R')
        && id[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn reply(shared: &Shared, ctx: &Ctx) -> Reply {
    if ctx.headers.contains_key("x-line-retry-key") {
        return Err(LineError::bad_request(
            "The X-Line-Retry-Key header is not supported for this endpoint",
        ));
    }
    let req: ReplyMessageRequest = checked_body(ctx)?;
    let messages = shared_messages(&req.messages);
    let mut st = ctx.lock();
    let Some((idx, issued)) = st.reply_tokens.remove(&req.reply_token) else {
        return Err(LineError::bad_request("Invalid reply token"));
    };
    let ttl = SignedDuration::try_from(shared.config.reply_token_ttl).unwrap_or(SignedDuration::MAX);
    if ctx.now.duration_since(issued) > ttl {
        return Err(LineError::bad_request("Invalid reply token"));
    }
    st.deliver(idx, &messages, &ctx.request_id, ctx.op.id, ctx.now);
    let sent = sent_messages(&mut st, messages.len());
    Ok(Answer::json(&ReplyMessageResponse::new(sent)))
}

/// LINE's rules for `customAggregationUnits`: at most one name, `^[a-zA-Z0-9_]{1,30}$`.
fn aggregation_unit(units: Option<&Vec<String>>) -> Result<Option<String>, LineError> {
    let Some(units) = units else { return Ok(None) };
    if units.len() > 1 {
        return Err(LineError::property(
            "customAggregationUnits",
            "size must be between 0 and 1",
        ));
    }
    match units.first() {
        None => Ok(None),
        Some(u) if valid_unit_name(u) => Ok(Some(u.clone())),
        Some(_) => Err(LineError::property(
            "customAggregationUnits[0]",
            "must match \"^[a-zA-Z0-9_]{1,30}$\"",
        )),
    }
}

/// Whether `name` follows LINE's rules for an aggregation unit name.
pub(crate) fn valid_unit_name(name: &str) -> bool {
    (1..=30).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub(crate) fn push(ctx: &Ctx) -> Reply {
    let key = retry_key(ctx)?;
    let req: PushMessageRequest = checked_body(ctx)?;
    let unit = aggregation_unit(req.custom_aggregation_units.as_ref())?;
    let messages = shared_messages(&req.messages);
    if !valid_chat_id(&req.to) {
        return Err(LineError::property(
            "to",
            "The property, 'to', in the request body is invalid",
        ));
    }
    let mut st = ctx.lock();
    if let Some(dup) = duplicate(&mut st, key, ctx.now) {
        return Ok(dup);
    }
    let idx = match st.user(&req.to) {
        Some(i) => Some(i),
        None if req.to.starts_with('U') => return Err(LineError::bad_request("Failed to send messages")),
        None => None,
    };
    let reachable = idx.is_some_and(|i| st.users[i].reachable());
    if reachable {
        check_quota(&st, 1)?;
    }
    if let Some(i) = idx {
        if st.deliver(i, &messages, &ctx.request_id, ctx.op.id, ctx.now) {
            st.quota_used += 1;
            st.recipients_of.insert(ctx.request_id.as_str().to_owned(), vec![i]);
            if let Some(unit) = unit {
                st.units.entry(unit).or_default().delivered.insert(i);
            }
        }
    }
    remember_key(&mut st, key, ctx);
    let sent = sent_messages(&mut st, messages.len());
    Ok(Answer::json(&PushMessageResponse::new(sent)))
}

pub(crate) fn multicast(ctx: &Ctx) -> Reply {
    let key = retry_key(ctx)?;
    let req: MulticastRequest = checked_body(ctx)?;
    let unit = aggregation_unit(req.custom_aggregation_units.as_ref())?;
    let messages = shared_messages(&req.messages);
    if req.to.is_empty() || req.to.len() > MAX_MULTICAST_RECIPIENTS {
        return Err(LineError::property(
            "to",
            format!("Size must be between 1 and {MAX_MULTICAST_RECIPIENTS}"),
        ));
    }
    let bad: Vec<(String, String)> = req
        .to
        .iter()
        .enumerate()
        .filter(|(_, u)| !valid_user_id(u.as_str()))
        .map(|(i, _)| (format!("to[{i}]"), "Invalid user ID".to_owned()))
        .collect();
    if !bad.is_empty() {
        return Err(LineError::invalid(bad));
    }
    let mut st = ctx.lock();
    if let Some(dup) = duplicate(&mut st, key, ctx.now) {
        return Ok(dup);
    }
    let mut seen: HashSet<usize, std::hash::BuildHasherDefault<crate::state::IntHasher>> =
        HashSet::with_capacity_and_hasher(req.to.len(), Default::default());
    let targets: Vec<usize> = req
        .to
        .iter()
        .filter_map(|u| st.user(u.as_str()))
        .filter(|i| st.users[*i].reachable() && seen.insert(*i))
        .collect();
    check_quota(&st, targets.len() as u64)?;
    for &i in &targets {
        st.deliver(i, &messages, &ctx.request_id, ctx.op.id, ctx.now);
    }
    if let Some(unit) = unit {
        st.units
            .entry(unit)
            .or_default()
            .delivered
            .extend(targets.iter().copied());
    }
    st.quota_used += targets.len() as u64;
    st.recipients_of.insert(ctx.request_id.as_str().to_owned(), targets);
    remember_key(&mut st, key, ctx);
    Ok(Answer::ok())
}

pub(crate) fn broadcast(ctx: &Ctx) -> Reply {
    let key = retry_key(ctx)?;
    let req: BroadcastRequest = checked_body(ctx)?;
    let messages = shared_messages(&req.messages);
    let mut st = ctx.lock();
    if let Some(dup) = duplicate(&mut st, key, ctx.now) {
        return Ok(dup);
    }
    let targets: Vec<usize> = (0..st.users.len()).filter(|&i| st.users[i].reachable()).collect();
    check_quota(&st, targets.len() as u64)?;
    for &i in &targets {
        st.deliver(i, &messages, &ctx.request_id, ctx.op.id, ctx.now);
    }
    st.quota_used += targets.len() as u64;
    st.recipients_of.insert(ctx.request_id.as_str().to_owned(), targets);
    remember_key(&mut st, key, ctx);
    Ok(Answer::ok())
}

pub(crate) fn validate(ctx: &Ctx) -> Reply {
    let _: ValidateMessageRequest = checked_body(ctx)?;
    Ok(Answer::ok())
}

/// Counts audience and redelivery objects in a recipient tree.
fn count_objects(r: &Recipient) -> usize {
    match r {
        Recipient::Operator(op) => {
            op.and.iter().flatten().map(count_objects).sum::<usize>()
                + op.or.iter().flatten().map(count_objects).sum::<usize>()
                + op.not.as_deref().map(count_objects).unwrap_or(0)
        }
        _ => 1,
    }
}

fn count_demographics(f: &DemographicFilter) -> usize {
    match f {
        DemographicFilter::Operator(op) => {
            op.and.iter().flatten().map(count_demographics).sum::<usize>()
                + op.or.iter().flatten().map(count_demographics).sum::<usize>()
                + op.not.as_deref().map(count_demographics).unwrap_or(0)
        }
        _ => 1,
    }
}

/// Why a narrowcast job fails, as LINE's progress `errorCode`.
enum JobFailure {
    SmallAudience,
}

/// The users a recipient tree selects (indices into `state.users`).
fn eval_recipient(state: &State, r: &Recipient, at: &str) -> Result<Result<HashSet<usize>, JobFailure>, LineError> {
    Ok(Ok(match r {
        Recipient::Audience(a) => {
            let id = a
                .audience_group_id
                .ok_or_else(|| LineError::property(format!("{at}.audienceGroupId"), "must not be null"))?;
            let Some(group) = state.audiences.get(&id) else {
                return Err(LineError::bad_request(format!("audience group not found: {id}")));
            };
            if group.members.len() < MIN_AUDIENCE_SIZE_FOR_NARROWCAST {
                return Ok(Err(JobFailure::SmallAudience));
            }
            group.members.iter().filter_map(|u| state.user(u)).collect()
        }
        Recipient::Redelivery(rd) => {
            let id = rd
                .request_id
                .as_deref()
                .ok_or_else(|| LineError::property(format!("{at}.requestId"), "must not be null"))?;
            match state.recipients_of.get(id) {
                Some(users) => users.iter().copied().collect(),
                None => return Err(LineError::bad_request(format!("request not found: {id}"))),
            }
        }
        Recipient::Operator(op) => {
            let mut acc: Option<HashSet<usize>> = None;
            for (i, sub) in op.and.iter().flatten().enumerate() {
                let s = match eval_recipient(state, sub, &format!("{at}.and[{i}]"))? {
                    Ok(s) => s,
                    Err(f) => return Ok(Err(f)),
                };
                acc = Some(match acc {
                    None => s,
                    Some(a) => a.intersection(&s).copied().collect(),
                });
            }
            if let Some(or) = &op.or {
                let mut u = HashSet::new();
                for (i, sub) in or.iter().enumerate() {
                    match eval_recipient(state, sub, &format!("{at}.or[{i}]"))? {
                        Ok(s) => u.extend(s),
                        Err(f) => return Ok(Err(f)),
                    }
                }
                acc = Some(match acc {
                    None => u,
                    Some(a) => a.intersection(&u).copied().collect(),
                });
            }
            if let Some(not) = &op.not {
                let n = match eval_recipient(state, not, &format!("{at}.not"))? {
                    Ok(s) => s,
                    Err(f) => return Ok(Err(f)),
                };
                let base = acc.unwrap_or_else(|| (0..state.users.len()).collect());
                acc = Some(base.difference(&n).copied().collect());
            }
            acc.unwrap_or_default()
        }
        Recipient::Unknown { kind, .. } => {
            return Err(LineError::property(
                format!("{at}.type"),
                format!("unknown recipient type {kind}"),
            ))
        }
        _ => return Err(LineError::property(format!("{at}.type"), "unsupported recipient type")),
    }))
}

fn age_bound(v: &str) -> Option<u8> {
    v.strip_prefix("age_").and_then(|n| n.parse().ok())
}

fn day_bound(v: &str) -> Option<u32> {
    v.strip_prefix("day_").and_then(|n| n.parse().ok())
}

/// Whether user `idx` matches a demographic filter. Users without the
/// attribute never match it.
fn eval_demographic(state: &State, idx: usize, f: &DemographicFilter) -> bool {
    let spec = &state.users[idx].spec;
    match f {
        DemographicFilter::Age(a) => spec.age.is_some_and(|age| {
            a.gte
                .as_ref()
                .and_then(|g| age_bound(g.as_str()))
                .is_none_or(|g| age >= g)
                && a.lt
                    .as_ref()
                    .and_then(|l| age_bound(l.as_str()))
                    .is_none_or(|l| age < l)
        }),
        DemographicFilter::SubscriptionPeriod(p) => spec.friend_days.is_some_and(|d| {
            p.gte
                .as_ref()
                .and_then(|g| day_bound(g.as_str()))
                .is_none_or(|g| d >= g)
                && p.lt.as_ref().and_then(|l| day_bound(l.as_str())).is_none_or(|l| d < l)
        }),
        DemographicFilter::Gender(g) => spec
            .gender
            .as_deref()
            .is_some_and(|v| g.one_of.iter().flatten().any(|x| x.as_str() == v)),
        DemographicFilter::AppType(g) => spec
            .app_type
            .as_deref()
            .is_some_and(|v| g.one_of.iter().flatten().any(|x| x.as_str() == v)),
        DemographicFilter::Area(g) => spec
            .area
            .as_deref()
            .is_some_and(|v| g.one_of.iter().flatten().any(|x| x.as_str() == v)),
        DemographicFilter::Operator(op) => {
            op.and.iter().flatten().all(|s| eval_demographic(state, idx, s))
                && op
                    .or
                    .as_ref()
                    .is_none_or(|or| or.iter().any(|s| eval_demographic(state, idx, s)))
                && op.not.as_deref().is_none_or(|n| !eval_demographic(state, idx, n))
        }
        _ => false,
    }
}

pub(crate) fn iso(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(crate) fn narrowcast(shared: &Shared, ctx: &Ctx) -> Reply {
    let key = retry_key(ctx)?;
    let req: NarrowcastRequest = checked_body(ctx)?;
    let messages = shared_messages(&req.messages);
    if let Some(r) = &req.recipient {
        if count_objects(r) > MAX_NARROWCAST_RECIPIENT_OBJECTS {
            return Err(LineError::property(
                "recipient",
                format!("must hold at most {MAX_NARROWCAST_RECIPIENT_OBJECTS} audience and redelivery objects"),
            ));
        }
    }
    if let Some(d) = req.filter.as_ref().and_then(|f| f.demographic.as_ref()) {
        if count_demographics(d) > MAX_NARROWCAST_DEMOGRAPHIC_OBJECTS {
            return Err(LineError::property(
                "filter.demographic",
                format!("must hold at most {MAX_NARROWCAST_DEMOGRAPHIC_OBJECTS} demographic objects"),
            ));
        }
    }
    let mut st = ctx.lock();
    if let Some(dup) = duplicate(&mut st, key, ctx.now) {
        return Ok(dup);
    }
    let selected = match &req.recipient {
        None => Ok((0..st.users.len()).collect::<HashSet<usize>>()),
        Some(r) => eval_recipient(&st, r, "recipient")?,
    };
    let mut job = Job {
        accepted: ctx.now,
        completed: None,
        due: ctx
            .now
            .saturating_add(shared.config.job_delay_signed())
            .unwrap_or(ctx.now),
        phase: "waiting",
        success: 0,
        failure: 0,
        target: 0,
        error_code: None,
        failed_description: None,
        pending: None,
    };
    match selected {
        Err(JobFailure::SmallAudience) => {
            job.phase = "failed";
            job.error_code = Some(4);
            job.failed_description = Some("audience has fewer than 50 recipients".into());
            job.completed = Some(ctx.now);
        }
        Ok(selected) => {
            let demographic = req.filter.as_ref().and_then(|f| f.demographic.as_ref());
            let mut targets: Vec<usize> = selected
                .into_iter()
                .filter(|&i| st.users[i].reachable())
                .filter(|&i| demographic.is_none_or(|d| eval_demographic(&st, i, d)))
                .collect();
            targets.sort_unstable();
            let remaining = st.monthly_quota.map(|q| q.saturating_sub(st.quota_used) as usize);
            if remaining == Some(0) {
                return Err(LineError::monthly_limit());
            }
            let limit = req.limit.as_ref();
            let mut cap = limit.and_then(|l| l.max).map(|m| m.max(0) as usize);
            let up_to_quota = limit.and_then(|l| l.up_to_remaining_quota).unwrap_or(false);
            let forbid_partial = limit.and_then(|l| l.forbid_partial_delivery).unwrap_or(false);
            if up_to_quota {
                if let Some(r) = remaining {
                    cap = Some(cap.map_or(r, |c| c.min(r)));
                }
            } else if remaining.is_some_and(|r| targets.len() > r) {
                return Err(LineError::monthly_limit());
            }
            job.target = targets.len() as i64;
            if targets.is_empty() {
                job.phase = "failed";
                job.error_code = Some(2);
                job.failed_description = Some("not enough recipients".into());
                job.completed = Some(ctx.now);
            } else if cap.is_some_and(|c| c < targets.len()) && forbid_partial && up_to_quota {
                job.phase = "failed";
                job.error_code = Some(5);
                job.failed_description = Some("delivery canceled to avoid a partial delivery".into());
                job.completed = Some(ctx.now);
            } else {
                if let Some(c) = cap {
                    if c < targets.len() {
                        targets.shuffle(&mut st.rng);
                        targets.truncate(c);
                        targets.sort_unstable();
                    }
                }
                st.quota_used += targets.len() as u64;
                job.pending = Some(PendingNarrowcast {
                    targets,
                    messages,
                    request_id: ctx.request_id.clone(),
                });
            }
        }
    }
    st.narrowcasts.insert(ctx.request_id.as_str().to_owned(), job);
    remember_key(&mut st, key, ctx);
    st.settle(ctx.now);
    Ok(Answer::accepted())
}

pub(crate) fn narrowcast_progress(ctx: &Ctx) -> Reply {
    let Some(id) = ctx.query.get("requestId") else {
        return Err(LineError::property("requestId", "must not be null"));
    };
    let st = ctx.lock();
    let Some(job) = st.narrowcasts.get(id) else {
        return Err(LineError::not_found("Not found"));
    };
    let mut r = NarrowcastProgressResponse::new(job.phase, iso(job.accepted));
    if job.phase == "succeeded" || job.phase == "failed" {
        r.success_count = Some(job.success);
        r.failure_count = Some(job.failure);
        r.target_count = Some(job.target);
        r.completed_time = job.completed.map(iso);
    }
    r.error_code = job.error_code;
    r.failed_description = job.failed_description.clone();
    Ok(Answer::json(&r))
}
