//! Compilation to a LINE send plan: narrowcast where LINE can target the segment, multicast otherwise.
//!
//! A segment is split at its top-level `all`:
//!
//! - conjuncts made only of LINE demographics become the narrowcast `filter`;
//! - conjuncts made only of LINE audiences and redeliveries become the `recipient`;
//! - conjuncts made only of first-party data and LINE facts are evaluated locally, and the matching
//!   users are uploaded as a new audience that joins the recipient with `and`.
//!
//! The split is sound only when every conjunct falls in one class. A conjunct that mixes them (for
//! example `demo.gender("female") or vip`, an `or` across LINE demographics and first-party data)
//! cannot be expressed, because LINE always intersects the filter with the recipient. Then the plan
//! falls back to a multicast of the users for whom the whole segment is `true` locally, treating
//! LINE-only predicates as unknown (Kleene logic makes that a sound under-approximation: nobody
//! outside the segment is sent to). The fallback is also used when a LINE limit would be broken:
//! more than [`MAX_NARROWCAST_RECIPIENT_OBJECTS`] audience and redelivery objects, more than
//! [`MAX_NARROWCAST_DEMOGRAPHIC_OBJECTS`] demographic objects, or an uploaded audience smaller than
//! [`MIN_AUDIENCE_SIZE_FOR_NARROWCAST`] users. Operator objects always carry exactly one of `and`,
//! `or` and `not`.
//!
//! Note that LINE evaluates demographics with its own two-valued rules (a `not` over a demographic
//! includes users whose demographic LINE does not know).

use jiff::Timestamp;
use line_core::ids::UserId;
use line_core::limits::{
    MAX_MESSAGES_PER_REQUEST, MAX_MULTICAST_RECIPIENTS, MAX_NARROWCAST_DEMOGRAPHIC_OBJECTS,
    MAX_NARROWCAST_RECIPIENT_OBJECTS, MIN_AUDIENCE_SIZE_FOR_NARROWCAST,
};
use line_core::model::{
    AgeDemographicFilter, AppTypeDemographicFilter, AreaDemographicFilter, AudienceRecipient, DemographicFilter,
    Filter, GenderDemographicFilter, Limit, Message, NarrowcastRequest, OperatorDemographicFilter, OperatorRecipient,
    Recipient, RedeliveryRecipient, SubscriptionPeriodDemographicFilter,
};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::ast::{Demographic, Predicate, Segment};
use crate::error::{Error, ErrorKind, Place, Result};
use crate::eval::{CompileOptions, CompiledSegment, LineOnly};
use crate::profile::Profile;
use crate::source::{evaluate_source, ProfileSource};

/// Options of a plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Messages per send (1 to 5), to estimate the message count.
    pub messages_per_send: usize,
    /// Description of an uploaded audience.
    pub audience_description: String,
    /// Page size used when reading the profile source.
    pub page_size: usize,
    /// The narrowcast's `limit` (a maximum number of recipients, or "up to the remaining quota"),
    /// copied into a narrowcast plan; a multicast plan ignores it.
    pub limit: Option<Limit>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            messages_per_send: 1,
            audience_description: "line-segments upload".into(),
            page_size: 1_000,
            limit: None,
        }
    }
}

/// The plan: how to send to a segment.
///
/// It serializes to the JSON that `linectl segment compile --target narrowcast` prints: a
/// narrowcast's `recipient`, `filter` and `limit` in LINE's JSON (a pending upload appears in the
/// recipient as `"audienceGroupId": "<uploaded audience>"`), its `upload`, `estimated_messages` and
/// `notes`; a multicast's `reason`, `estimated_messages` and `batches`.
#[derive(Debug, Clone, PartialEq)]
// One plan is made per send, never held by the thousand: boxing the narrowcast would only make
// matching on it clumsier.
#[allow(clippy::large_enum_variant)]
pub enum Plan {
    /// Send one narrowcast.
    Narrowcast(NarrowcastPlan),
    /// Send multicasts to locally evaluated users.
    Multicast(MulticastPlan),
}

impl Plan {
    /// The estimated number of messages sent, when it can be known in advance.
    pub fn estimated_messages(&self) -> Option<usize> {
        match self {
            Plan::Narrowcast(n) => n.estimated_messages,
            Plan::Multicast(m) => Some(m.estimated_messages),
        }
    }
}

/// Keys in alphabetical order, as the plan's JSON has always been printed.
impl Serialize for Plan {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Plan::Narrowcast(n) => {
                m.serialize_entry("estimated_messages", &n.estimated_messages)?;
                if let Some(f) = &n.filter {
                    m.serialize_entry("filter", f)?;
                }
                if let Some(l) = &n.limit {
                    m.serialize_entry("limit", l)?;
                }
                m.serialize_entry("notes", &n.notes)?;
                if let Some(r) = &n.recipient {
                    m.serialize_entry("recipient", r)?;
                }
                m.serialize_entry("type", "narrowcast")?;
                if let Some(u) = &n.upload {
                    m.serialize_entry("upload", u)?;
                }
            }
            Plan::Multicast(p) => {
                let batches: Vec<&[UserId]> = p.batches().collect();
                m.serialize_entry("batches", &batches)?;
                m.serialize_entry("estimated_messages", &p.estimated_messages)?;
                m.serialize_entry("reason", &p.reason)?;
                m.serialize_entry("type", "multicast")?;
            }
        }
        m.end()
    }
}

/// A user list to upload as a new audience before the narrowcast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AudienceUpload {
    /// The audience description.
    pub description: String,
    /// The users (at least [`MIN_AUDIENCE_SIZE_FOR_NARROWCAST`]).
    #[serde(rename = "userIds")]
    pub user_ids: Vec<UserId>,
}

/// A recipient tree whose leaves are LINE's recipient objects or the audience still to upload.
#[derive(Debug, Clone, PartialEq)]
enum RecipientNode {
    Leaf(Recipient),
    Upload,
    And(Vec<RecipientNode>),
    Or(Vec<RecipientNode>),
    Not(Box<RecipientNode>),
}

impl RecipientNode {
    /// The tree as LINE's recipient, `upload` standing for the uploaded audience.
    fn to_model(&self, upload: i64) -> Recipient {
        let op = |f: &dyn Fn(&mut OperatorRecipient)| {
            let mut o = OperatorRecipient::new();
            f(&mut o);
            Recipient::from(o)
        };
        match self {
            RecipientNode::Leaf(r) => r.clone(),
            RecipientNode::Upload => audience(upload),
            RecipientNode::And(c) => op(&|o| o.and = Some(c.iter().map(|x| x.to_model(upload)).collect())),
            RecipientNode::Or(c) => op(&|o| o.or = Some(c.iter().map(|x| x.to_model(upload)).collect())),
            RecipientNode::Not(x) => op(&|o| o.not = Some(Box::new(x.to_model(upload)))),
        }
    }
}

/// LINE's JSON, with `"audienceGroupId": "<uploaded audience>"` for the audience still to upload.
impl Serialize for RecipientNode {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if let RecipientNode::Leaf(r) = self {
            return r.serialize(s);
        }
        let mut m = s.serialize_map(None)?;
        match self {
            RecipientNode::Leaf(_) => {}
            RecipientNode::Upload => {
                m.serialize_entry("type", "audience")?;
                m.serialize_entry("audienceGroupId", "<uploaded audience>")?;
            }
            RecipientNode::And(c) => {
                m.serialize_entry("type", "operator")?;
                m.serialize_entry("and", c)?;
            }
            RecipientNode::Or(c) => {
                m.serialize_entry("type", "operator")?;
                m.serialize_entry("or", c)?;
            }
            RecipientNode::Not(x) => {
                m.serialize_entry("type", "operator")?;
                m.serialize_entry("not", x)?;
            }
        }
        m.end()
    }
}

fn audience(id: i64) -> Recipient {
    let mut a = AudienceRecipient::new();
    a.audience_group_id = Some(id);
    a.into()
}

fn redelivery(request_id: &str) -> Recipient {
    let mut r = RedeliveryRecipient::new();
    r.request_id = Some(request_id.to_owned());
    r.into()
}

/// A narrowcast: recipient, filter, limit and maybe an audience to upload first.
#[derive(Debug, Clone, PartialEq)]
pub struct NarrowcastPlan {
    recipient: Option<RecipientNode>,
    /// The `filter` (LINE demographics), if any.
    pub filter: Option<Filter>,
    /// The `limit` ([`PlanOptions::limit`]), if any.
    pub limit: Option<Limit>,
    /// Users to upload as an audience, referenced by the recipient.
    pub upload: Option<AudienceUpload>,
    /// Estimated messages: an upper bound when an audience is uploaded; `None` when only LINE knows.
    pub estimated_messages: Option<usize>,
    /// What the estimate and the plan rest on.
    pub notes: Vec<String>,
}

impl NarrowcastPlan {
    /// The `recipient`, LINE's recipient object. `uploaded_audience_group_id` is the id LINE gave
    /// the uploaded audience; it is required when the plan uploads one ([`upload`](Self::upload)),
    /// and ignored otherwise.
    pub fn recipient(&self, uploaded_audience_group_id: Option<i64>) -> Result<Option<Recipient>> {
        let upload = match (&self.upload, uploaded_audience_group_id) {
            (Some(_), None) => {
                return Err(Error::new(ErrorKind::Limit {
                    message: "the plan uploads an audience: pass its audienceGroupId to build the recipient".into(),
                }))
            }
            (_, id) => id.unwrap_or_default(),
        };
        Ok(self.recipient.as_ref().map(|r| r.to_model(upload)))
    }

    /// The narrowcast request for these messages: recipient, filter and limit of the plan.
    /// `uploaded_audience_group_id` as for [`recipient`](Self::recipient).
    pub fn request(
        &self,
        messages: Vec<Message>,
        uploaded_audience_group_id: Option<i64>,
    ) -> Result<NarrowcastRequest> {
        let mut req = NarrowcastRequest::new(messages);
        req.recipient = self.recipient(uploaded_audience_group_id)?;
        req.filter = self.filter.clone();
        req.limit = self.limit.clone();
        Ok(req)
    }
}

/// Multicasts to locally evaluated users.
#[derive(Debug, Clone, PartialEq)]
pub struct MulticastPlan {
    /// Why the segment could not be sent as a narrowcast.
    pub reason: String,
    /// The users, in source order.
    pub user_ids: Vec<UserId>,
    /// Users times messages per send.
    pub estimated_messages: usize,
}

impl MulticastPlan {
    /// The users in multicast-sized batches (at most [`MAX_MULTICAST_RECIPIENTS`]).
    pub fn batches(&self) -> impl Iterator<Item = &[UserId]> {
        self.user_ids.chunks(MAX_MULTICAST_RECIPIENTS)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Demo,
    Recipient,
    Local,
    Mixed,
    Constant,
}

fn classify(s: &Segment) -> Class {
    let (mut demo, mut recip, mut local) = (false, false, false);
    s.visit_predicates(&mut |_, p| match p {
        Predicate::Demographic(_) => demo = true,
        Predicate::Audience(_) | Predicate::Redelivery(_) => recip = true,
        _ => local = true,
    });
    match (demo, recip, local) {
        (false, false, false) => Class::Constant,
        (true, false, false) => Class::Demo,
        (false, true, false) => Class::Recipient,
        (false, false, true) => Class::Local,
        _ => Class::Mixed,
    }
}

/// Folds constants (`all()` is true, `any()` is false) out of a tree.
fn fold(s: &Segment) -> Segment {
    match s {
        Segment::All(c) => {
            let mut out = Vec::new();
            for x in c.iter().map(fold) {
                match x {
                    Segment::All(ref inner) if inner.is_empty() => {}
                    Segment::Any(ref inner) if inner.is_empty() => return Segment::never(),
                    Segment::All(inner) => out.extend(inner),
                    other => out.push(other),
                }
            }
            if out.len() == 1 {
                out.pop().unwrap_or_else(Segment::always)
            } else {
                Segment::All(out)
            }
        }
        Segment::Any(c) => {
            let mut out = Vec::new();
            for x in c.iter().map(fold) {
                match x {
                    Segment::Any(ref inner) if inner.is_empty() => {}
                    Segment::All(ref inner) if inner.is_empty() => return Segment::always(),
                    Segment::Any(inner) => out.extend(inner),
                    other => out.push(other),
                }
            }
            if out.len() == 1 {
                out.pop().unwrap_or_else(Segment::never)
            } else {
                Segment::Any(out)
            }
        }
        Segment::Not(x) => match fold(x) {
            Segment::All(c) if c.is_empty() => Segment::never(),
            Segment::Any(c) if c.is_empty() => Segment::always(),
            other => Segment::Not(Box::new(other)),
        },
        other => other.clone(),
    }
}

fn recipient_tree(s: &Segment) -> RecipientNode {
    match s {
        Segment::All(c) => RecipientNode::And(c.iter().map(recipient_tree).collect()),
        Segment::Any(c) => RecipientNode::Or(c.iter().map(recipient_tree).collect()),
        Segment::Not(x) => RecipientNode::Not(Box::new(recipient_tree(x))),
        Segment::Pred(Predicate::Audience(id)) => RecipientNode::Leaf(audience(*id)),
        Segment::Pred(Predicate::Redelivery(id)) => RecipientNode::Leaf(redelivery(id)),
        // classify() guarantees nothing else is here.
        _ => RecipientNode::And(Vec::new()),
    }
}

fn demo_tree(s: &Segment) -> DemographicFilter {
    let op = |f: &dyn Fn(&mut OperatorDemographicFilter)| {
        let mut o = OperatorDemographicFilter::new();
        f(&mut o);
        DemographicFilter::from(o)
    };
    match s {
        Segment::All(c) => op(&|o| o.and = Some(c.iter().map(demo_tree).collect())),
        Segment::Any(c) => op(&|o| o.or = Some(c.iter().map(demo_tree).collect())),
        Segment::Not(x) => op(&|o| o.not = Some(Box::new(demo_tree(x)))),
        Segment::Pred(Predicate::Demographic(d)) => demographic(d),
        // classify() guarantees nothing else is here.
        _ => op(&|_| {}),
    }
}

/// A demographic as LINE's demographic filter object.
fn demographic(d: &Demographic) -> DemographicFilter {
    fn bound<T: From<String>>(prefix: &str, v: &Option<u32>) -> Option<T> {
        v.map(|n| T::from(format!("{prefix}{n}")))
    }
    fn one_of<T: for<'a> From<&'a str>>(v: &[String]) -> Option<Vec<T>> {
        Some(v.iter().map(|x| T::from(x.as_str())).collect())
    }
    match d {
        Demographic::Gender(v) => {
            let mut f = GenderDemographicFilter::new();
            f.one_of = one_of(v);
            f.into()
        }
        Demographic::Area(v) => {
            let mut f = AreaDemographicFilter::new();
            f.one_of = one_of(v);
            f.into()
        }
        Demographic::AppType(v) => {
            let mut f = AppTypeDemographicFilter::new();
            f.one_of = one_of(v);
            f.into()
        }
        Demographic::Age { gte, lt } => {
            let mut f = AgeDemographicFilter::new();
            f.gte = bound("age_", gte);
            f.lt = bound("age_", lt);
            f.into()
        }
        Demographic::SubscriptionPeriod { gte, lt } => {
            let mut f = SubscriptionPeriodDemographicFilter::new();
            f.gte = bound("day_", gte);
            f.lt = bound("day_", lt);
            f.into()
        }
    }
}

fn filter(demographic: DemographicFilter) -> Filter {
    let mut f = Filter::new();
    f.demographic = Some(demographic);
    f
}

fn count_leaves(s: &Segment) -> usize {
    let mut n = 0;
    s.visit_predicates(&mut |_, _| n += 1);
    n
}

/// The result of splitting a segment, before any profile is read.
#[derive(Debug, Clone)]
enum Split {
    /// Nobody can match (the segment folds to `false`).
    Empty,
    /// Entirely local: multicast.
    Local(Segment, String),
    /// Not expressible: multicast of the Kleene under-approximation.
    Fallback(String),
    /// A narrowcast, with a local part to upload when present.
    Narrowcast {
        filter: Option<Filter>,
        recipient: Option<RecipientNode>,
        local: Option<Segment>,
        demo_objects: usize,
    },
}

fn split(segment: &Segment) -> Result<Split> {
    segment.check_depth()?;
    // What LINE would reject (an inverted age or subscription range, a non-positive audience id)
    // is refused here, with the same check as `Schema::check`.
    if let Some(e) = crate::schema::check_line_targets(segment).into_iter().next() {
        return Err(e);
    }
    if let Some((ptr, name)) = segment.references().into_iter().next() {
        return Err(Error::new(ErrorKind::UnknownSegment {
            place: Place::Pointer(format!("{ptr}/ref")),
            name,
        }));
    }
    let folded = fold(segment);
    let conjuncts = match folded {
        Segment::Any(ref c) if c.is_empty() => return Ok(Split::Empty),
        Segment::All(c) => c,
        other => vec![other],
    };
    let (mut demo, mut recip, mut local) = (Vec::new(), Vec::new(), Vec::new());
    for c in conjuncts {
        match classify(&c) {
            Class::Demo => demo.push(c),
            Class::Recipient => recip.push(c),
            Class::Local | Class::Constant => local.push(c),
            Class::Mixed => {
                return Ok(Split::Fallback(format!(
                    "`{}` mixes what LINE targets (demographics, audiences, redeliveries) with first-party data or with each other, which one narrowcast cannot express",
                    crate::text::print(&c)
                )))
            }
        }
    }
    if demo.is_empty() && recip.is_empty() {
        let seg = if local.len() == 1 {
            local.remove(0)
        } else {
            Segment::All(local)
        };
        return Ok(Split::Local(
            seg,
            "the segment uses no LINE-side targeting; it is evaluated locally".into(),
        ));
    }
    let demo_objects: usize = demo.iter().map(count_leaves).sum();
    if demo_objects > MAX_NARROWCAST_DEMOGRAPHIC_OBJECTS {
        return Ok(Split::Fallback(format!(
            "the filter would hold {demo_objects} demographic objects; LINE allows {MAX_NARROWCAST_DEMOGRAPHIC_OBJECTS}"
        )));
    }
    let recipient_objects: usize = recip.iter().map(count_leaves).sum::<usize>() + usize::from(!local.is_empty());
    if recipient_objects > MAX_NARROWCAST_RECIPIENT_OBJECTS {
        return Ok(Split::Fallback(format!(
            "the recipient would hold {recipient_objects} audience and redelivery objects; LINE allows {MAX_NARROWCAST_RECIPIENT_OBJECTS}"
        )));
    }
    let filter = match demo.len() {
        0 => None,
        1 => Some(filter(demo_tree(&demo[0]))),
        _ => Some(filter(demo_tree(&Segment::All(demo)))),
    };
    let mut parts: Vec<RecipientNode> = recip.iter().map(recipient_tree).collect();
    let local = if local.is_empty() {
        None
    } else {
        parts.push(RecipientNode::Upload);
        Some(if local.len() == 1 {
            local.remove(0)
        } else {
            Segment::All(local)
        })
    };
    let recipient = match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(RecipientNode::And(parts)),
    };
    Ok(Split::Narrowcast {
        filter,
        recipient,
        local,
        demo_objects,
    })
}

/// What local evaluation the plan needs, and how to finish it.
enum Step {
    Done(Plan),
    /// Evaluate this compiled segment over the profiles, then call `finish`.
    Evaluate(Box<CompiledSegment>, Pending),
}

enum Pending {
    Multicast(String),
    Upload {
        filter: Option<Filter>,
        recipient: Option<RecipientNode>,
        fallback: Box<CompiledSegment>,
        demo_objects: usize,
    },
}

fn start(segment: &Segment, options: &PlanOptions) -> Result<Step> {
    if !(1..=MAX_MESSAGES_PER_REQUEST).contains(&options.messages_per_send) {
        return Err(Error::new(ErrorKind::Limit {
            message: format!(
                "{} messages per send; LINE allows 1 to {MAX_MESSAGES_PER_REQUEST}",
                options.messages_per_send
            ),
        }));
    }
    let unknown = CompileOptions {
        line_only: LineOnly::Unknown,
    };
    Ok(match split(segment)? {
        Split::Empty => Step::Done(Plan::Multicast(MulticastPlan {
            reason: "the segment is always false".into(),
            user_ids: Vec::new(),
            estimated_messages: 0,
        })),
        Split::Local(seg, reason) => Step::Evaluate(Box::new(CompiledSegment::compile(&seg)?), Pending::Multicast(reason)),
        Split::Fallback(reason) => Step::Evaluate(
            Box::new(CompiledSegment::compile_with(segment, unknown)?),
            Pending::Multicast(format!(
                "{reason}; sending a multicast to the users for whom the segment is true locally (LINE-only predicates count as unknown)"
            )),
        ),
        Split::Narrowcast {
            filter,
            recipient,
            local: None,
            demo_objects,
        } => Step::Done(Plan::Narrowcast(NarrowcastPlan {
            recipient,
            filter,
            limit: options.limit.clone(),
            upload: None,
            // Only `limit.max` bounds what LINE selects.
            estimated_messages: limit_max(options).map(|m| m * options.messages_per_send),
            notes: vec![format!(
                "LINE selects the recipients ({demo_objects} demographic objects); the message count is known only after sending"
            )],
        })),
        Split::Narrowcast {
            filter,
            recipient,
            local: Some(local),
            demo_objects,
        } => Step::Evaluate(
            Box::new(CompiledSegment::compile(&local)?),
            Pending::Upload {
                filter,
                recipient,
                fallback: Box::new(CompiledSegment::compile_with(segment, unknown)?),
                demo_objects,
            },
        ),
    })
}

/// `limit.max` of the options (a negative one counts as 0).
fn limit_max(options: &PlanOptions) -> Option<usize> {
    options
        .limit
        .as_ref()
        .and_then(|l| l.max)
        .map(|m| usize::try_from(m).unwrap_or(0))
}

fn finish_multicast(reason: String, ids: Vec<UserId>, options: &PlanOptions) -> Plan {
    Plan::Multicast(MulticastPlan {
        reason,
        estimated_messages: ids.len() * options.messages_per_send,
        user_ids: ids,
    })
}

#[allow(clippy::large_enum_variant)] // a transient value, as `Plan`
enum After {
    Done(Plan),
    Fallback(Box<CompiledSegment>, String),
}

fn after_eval(pending: Pending, ids: Vec<UserId>, options: &PlanOptions) -> After {
    match pending {
        Pending::Multicast(reason) => After::Done(finish_multicast(reason, ids, options)),
        Pending::Upload {
            filter,
            recipient,
            fallback,
            demo_objects,
        } => {
            if ids.len() < MIN_AUDIENCE_SIZE_FOR_NARROWCAST {
                return After::Fallback(
                    fallback,
                    format!(
                        "only {} users match the locally evaluated part, below LINE's minimum audience of {MIN_AUDIENCE_SIZE_FOR_NARROWCAST}; sending a multicast to the users for whom the segment is true locally (LINE-only predicates count as unknown)",
                        ids.len()
                    ),
                );
            }
            let n = ids.len();
            let bound = limit_max(options).map_or(n, |m| m.min(n));
            After::Done(Plan::Narrowcast(NarrowcastPlan {
                recipient,
                filter,
                limit: options.limit.clone(),
                upload: Some(AudienceUpload {
                    description: options.audience_description.clone(),
                    user_ids: ids,
                }),
                estimated_messages: Some(bound * options.messages_per_send),
                notes: vec![format!(
                    "at most {n} recipients: the uploaded audience, narrowed by LINE ({demo_objects} demographic objects)"
                )],
            }))
        }
    }
}

/// Plans a send over a host profile source. The segment must be resolved (no references).
pub async fn plan(
    segment: &Segment,
    source: &dyn ProfileSource,
    now: Timestamp,
    options: &PlanOptions,
) -> Result<Plan> {
    match start(segment, options)? {
        Step::Done(p) => Ok(p),
        Step::Evaluate(compiled, pending) => {
            let ids = evaluate_source(&compiled, source, now, options.page_size).await?;
            match after_eval(pending, ids, options) {
                After::Done(p) => Ok(p),
                After::Fallback(compiled, reason) => {
                    let ids = evaluate_source(&compiled, source, now, options.page_size).await?;
                    Ok(finish_multicast(reason, ids, options))
                }
            }
        }
    }
}

/// Plans a send over profiles in memory (no async runtime needed).
pub fn plan_profiles(segment: &Segment, profiles: &[Profile], now: Timestamp, options: &PlanOptions) -> Result<Plan> {
    let run = |c: &CompiledSegment| -> Vec<UserId> {
        let e = c.at(now);
        profiles
            .iter()
            .filter(|p| e.matches(*p))
            .map(|p| p.id.clone())
            .collect()
    };
    match start(segment, options)? {
        Step::Done(p) => Ok(p),
        Step::Evaluate(compiled, pending) => match after_eval(pending, run(&compiled), options) {
            After::Done(p) => Ok(p),
            After::Fallback(compiled, reason) => Ok(finish_multicast(reason, run(&compiled), options)),
        },
    }
}
