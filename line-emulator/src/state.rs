//! Everything the emulator remembers, and the views the inspection API returns.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use bytes::Bytes;
use jiff::Timestamp;
use line_core::ids::{RequestId, UserId};
use line_core::model::{Message, RichMenuBatchOperation, RichMenuRequest};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// A simulated LINE user, as `GET /_emulator/users` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// The user id (`U` and 32 hex digits).
    pub user_id: UserId,
    /// The profile's display name.
    pub display_name: String,
    /// Whether the user has added the account as a friend.
    pub friend: bool,
    /// Whether the user has blocked the account.
    pub blocked: bool,
}

/// A user to add with [`Emulator::add_user`](crate::Emulator::add_user).
///
/// Demographics feed narrowcast filters; a user without them is left out of
/// any demographic filter, as LINE does for users it has no estimate for.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct UserSpec {
    pub(crate) user_id: Option<String>,
    pub(crate) display_name: String,
    pub(crate) picture_url: Option<String>,
    pub(crate) status_message: Option<String>,
    // Generated friends share these values (`Cow::Borrowed`): a million friends stay cheap.
    pub(crate) language: Option<Cow<'static, str>>,
    pub(crate) friend: bool,
    pub(crate) blocked: bool,
    pub(crate) gender: Option<Cow<'static, str>>,
    pub(crate) age: Option<u8>,
    pub(crate) area: Option<Cow<'static, str>>,
    pub(crate) app_type: Option<Cow<'static, str>>,
    pub(crate) friend_days: Option<u32>,
}

impl UserSpec {
    /// A friend named `display_name`, with a generated id and no demographics.
    pub fn new(display_name: impl Into<String>) -> Self {
        Self {
            display_name: display_name.into(),
            friend: true,
            ..Self::default()
        }
    }

    /// A fixed user id (otherwise one is generated).
    pub fn user_id(mut self, id: impl Into<String>) -> Self {
        self.user_id = Some(id.into());
        self
    }

    /// Whether the user is a friend (default `true`).
    pub fn friend(mut self, friend: bool) -> Self {
        self.friend = friend;
        self
    }

    /// Whether the user has blocked the account (default `false`).
    pub fn blocked(mut self, blocked: bool) -> Self {
        self.blocked = blocked;
        self
    }

    /// Profile picture URL.
    pub fn picture_url(mut self, url: impl Into<String>) -> Self {
        self.picture_url = Some(url.into());
        self
    }

    /// Status message.
    pub fn status_message(mut self, s: impl Into<String>) -> Self {
        self.status_message = Some(s.into());
        self
    }

    /// Language (`ja`, `en`, …).
    pub fn language(mut self, lang: impl Into<String>) -> Self {
        self.language = Some(Cow::Owned(lang.into()));
        self
    }

    /// Gender for narrowcast filters: `male` or `female`.
    pub fn gender(mut self, g: impl Into<String>) -> Self {
        self.gender = Some(Cow::Owned(g.into()));
        self
    }

    /// Age in years for narrowcast filters.
    pub fn age(mut self, age: u8) -> Self {
        self.age = Some(age);
        self
    }

    /// Area for narrowcast filters (`jp_13` is Tokyo).
    pub fn area(mut self, area: impl Into<String>) -> Self {
        self.area = Some(Cow::Owned(area.into()));
        self
    }

    /// App type for narrowcast filters: `ios` or `android`.
    pub fn app_type(mut self, t: impl Into<String>) -> Self {
        self.app_type = Some(Cow::Owned(t.into()));
        self
    }

    /// Days since the user became a friend, for `subscriptionPeriod` filters.
    pub fn friend_days(mut self, days: u32) -> Self {
        self.friend_days = Some(days);
        self
    }
}

/// One message a user received.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ReceivedMessage {
    /// The `x-line-request-id` of the request that sent it.
    pub request_id: RequestId,
    /// The operationId that sent it (`pushMessage`, `multicast`, …).
    pub operation: &'static str,
    /// The message as sent.
    pub message: Arc<Message>,
    /// Emulated time of delivery.
    pub received_at: Timestamp,
}

/// One send's messages, shared by every inbox it reached.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) request_id: RequestId,
    pub(crate) operation: &'static str,
    pub(crate) messages: Vec<Arc<Message>>,
    pub(crate) at: Timestamp,
}

/// One user's inbox: indices into [`State::sends`], in order. The first one is kept
/// inline, so a campaign's one message to a million users allocates nothing per user.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inbox {
    first: Option<usize>,
    rest: Vec<usize>,
}

impl Inbox {
    fn push(&mut self, send: usize) {
        if self.first.is_none() {
            self.first = Some(send);
        } else {
            self.rest.push(send);
        }
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.first.into_iter().chain(self.rest.iter().copied())
    }
}

/// A hasher for integer keys (user indices, the numbers of user IDs): a
/// multiply-and-fold instead of SipHash. The emulator's keys come from its own
/// tests, not from an attacker, so flooding is no concern; this is what keeps a
/// 500-recipient multicast cheap.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IntHasher(u64);

impl std::hash::Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // The high bits pick the bucket group in hashbrown: a multiply spreads
        // every input bit into them.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SimUser {
    pub(crate) spec: UserSpec,
    pub(crate) user_id: UserId,
}

impl SimUser {
    pub(crate) fn reachable(&self) -> bool {
        self.spec.friend && !self.spec.blocked
    }

    pub(crate) fn view(&self) -> User {
        User {
            user_id: self.user_id.clone(),
            display_name: self.spec.display_name.clone(),
            friend: self.spec.friend,
            blocked: self.spec.blocked,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RichMenu {
    pub(crate) seq: u64,
    pub(crate) request: RichMenuRequest,
    pub(crate) image: Option<(Bytes, String)>,
}

/// A narrowcast's deliveries, made when its job comes due.
#[derive(Debug, Clone)]
pub(crate) struct PendingNarrowcast {
    pub(crate) targets: Vec<usize>,
    pub(crate) messages: Vec<Arc<Message>>,
    pub(crate) request_id: RequestId,
}

/// A narrowcast or rich-menu batch job. It is `waiting`/`ongoing` until `due`
/// (emulated time), then its work is done and it is `succeeded`.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) accepted: Timestamp,
    pub(crate) completed: Option<Timestamp>,
    pub(crate) due: Timestamp,
    pub(crate) phase: &'static str,
    pub(crate) success: i64,
    pub(crate) failure: i64,
    pub(crate) target: i64,
    pub(crate) error_code: Option<i64>,
    pub(crate) failed_description: Option<String>,
    pub(crate) pending: Option<PendingNarrowcast>,
}

/// A rich-menu batch whose operations run when it comes due.
#[derive(Debug, Clone)]
pub(crate) struct BatchJob {
    pub(crate) job: Job,
    pub(crate) operations: Option<Vec<RichMenuBatchOperation>>,
}

#[derive(Debug, Clone)]
pub(crate) struct AudienceGroup {
    pub(crate) description: String,
    pub(crate) user_ids: Vec<String>,
    pub(crate) members: HashSet<String>,
    pub(crate) created: Timestamp,
    pub(crate) is_ifa: bool,
    pub(crate) jobs: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct LinkToken {
    pub(crate) user_id: UserId,
    pub(crate) issued: Timestamp,
    pub(crate) used: bool,
}

/// The whole mutable state, behind one lock so that every operation that must
/// be atomic (check a retry key, deliver, record the key) is.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) rng: StdRng,
    pub(crate) users: Vec<SimUser>,
    /// User IDs of LINE's form (`U` and 32 lowercase hex digits) by their number, others by
    /// their text: an index that does not copy every ID.
    pub(crate) hex_index: HashMap<u128, usize, BuildHasherDefault<IntHasher>>,
    pub(crate) other_index: HashMap<String, usize>,
    /// Every send's messages, once: inboxes hold indices into it, so a multicast to
    /// 500 users stores its messages once, not 500 times.
    pub(crate) sends: Vec<Sent>,
    /// Inboxes by user index (as `users`).
    pub(crate) inboxes: Vec<Inbox>,
    /// Inboxes of user IDs that are not users of this channel (a notification
    /// message's user).
    pub(crate) other_inboxes: HashMap<String, Inbox>,
    /// Messages delivered in all.
    pub(crate) delivered: usize,
    pub(crate) retry_keys: HashMap<uuid::Uuid, (RequestId, Timestamp)>,
    pub(crate) retry_inserts: u64,
    pub(crate) recipients_of: HashMap<String, Vec<usize>>,
    pub(crate) reply_tokens: HashMap<String, (usize, Timestamp)>,
    pub(crate) read_tokens: HashMap<String, usize>,
    pub(crate) marked_read: Vec<UserId>,
    pub(crate) loading: Vec<(UserId, i32)>,
    pub(crate) link_tokens: HashMap<String, LinkToken>,
    pub(crate) quota_used: u64,
    /// The monthly quota (`None`: no limit).
    pub(crate) monthly_quota: Option<u64>,
    /// Calls per operationId made with this channel's tokens.
    pub(crate) calls: BTreeMap<String, u64>,
    pub(crate) rates: crate::ratelimit::RateCounter,
    pub(crate) rich_menus: HashMap<String, RichMenu>,
    pub(crate) rich_menu_seq: u64,
    pub(crate) default_rich_menu: Option<String>,
    pub(crate) user_rich_menu: HashMap<String, String>,
    pub(crate) aliases: BTreeMap<String, String>,
    pub(crate) batches: HashMap<String, BatchJob>,
    pub(crate) batch_resume_keys: HashMap<String, String>,
    pub(crate) audiences: BTreeMap<i64, AudienceGroup>,
    pub(crate) next_audience_id: i64,
    pub(crate) narrowcasts: HashMap<String, Job>,
    /// Per aggregation unit (`customAggregationUnits`): who received, opened, clicked.
    pub(crate) units: HashMap<String, UnitUsers>,
    /// LINE notification messages: phone numbers, deliveries, daily counts.
    pub(crate) pnp: crate::pnp::PnpState,
}

/// LINE's area codes for narrowcast filters (`jp_01` to `jp_47`), for generated friends.
const AREAS: [&str; 47] = [
    "jp_01", "jp_02", "jp_03", "jp_04", "jp_05", "jp_06", "jp_07", "jp_08", "jp_09", "jp_10", "jp_11", "jp_12",
    "jp_13", "jp_14", "jp_15", "jp_16", "jp_17", "jp_18", "jp_19", "jp_20", "jp_21", "jp_22", "jp_23", "jp_24",
    "jp_25", "jp_26", "jp_27", "jp_28", "jp_29", "jp_30", "jp_31", "jp_32", "jp_33", "jp_34", "jp_35", "jp_36",
    "jp_37", "jp_38", "jp_39", "jp_40", "jp_41", "jp_42", "jp_43", "jp_44", "jp_45", "jp_46", "jp_47",
];

/// The number of a user ID of LINE's form: `U` and exactly 32 lowercase hex digits (so that
/// two different IDs never share a number).
fn hex_key(id: &str) -> Option<u128> {
    let hex = id.strip_prefix('U')?;
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

/// The users (indices) of one aggregation unit.
#[derive(Debug, Default, Clone)]
pub(crate) struct UnitUsers {
    pub(crate) delivered: std::collections::BTreeSet<usize>,
    pub(crate) opened: std::collections::BTreeSet<usize>,
    pub(crate) clicked: std::collections::BTreeSet<usize>,
}

impl State {
    pub(crate) fn new(seed: u64, friends: usize) -> Self {
        let mut s = Self {
            rng: StdRng::seed_from_u64(seed),
            users: Vec::new(),
            hex_index: HashMap::default(),
            other_index: HashMap::new(),
            sends: Vec::new(),
            inboxes: Vec::new(),
            other_inboxes: HashMap::new(),
            delivered: 0,
            retry_keys: HashMap::new(),
            retry_inserts: 0,
            recipients_of: HashMap::new(),
            reply_tokens: HashMap::new(),
            read_tokens: HashMap::new(),
            marked_read: Vec::new(),
            loading: Vec::new(),
            link_tokens: HashMap::new(),
            quota_used: 0,
            monthly_quota: None,
            calls: BTreeMap::new(),
            rates: Default::default(),
            rich_menus: HashMap::new(),
            rich_menu_seq: 0,
            default_rich_menu: None,
            user_rich_menu: HashMap::new(),
            aliases: BTreeMap::new(),
            batches: HashMap::new(),
            batch_resume_keys: HashMap::new(),
            audiences: BTreeMap::new(),
            next_audience_id: 1_000_000_001,
            narrowcasts: HashMap::new(),
            units: HashMap::new(),
            pnp: Default::default(),
        };
        s.seed_friends(friends);
        s
    }

    pub(crate) fn seed_friends(&mut self, n: usize) {
        const GENDERS: [&str; 2] = ["male", "female"];
        const APPS: [&str; 2] = ["ios", "android"];
        self.users.reserve(n);
        self.hex_index.reserve(n);
        for i in 0..n {
            // The draws in this order: the same seed gives the same friends as before.
            let mut spec = UserSpec::new(format!("Friend {}", i + 1));
            spec.gender = Some(Cow::Borrowed(GENDERS[self.rng.random_range(0..2)]));
            spec.app_type = Some(Cow::Borrowed(APPS[self.rng.random_range(0..2)]));
            spec.age = Some(self.rng.random_range(15..80));
            // An `i32` draw, as the `jp_{:02}` formatting of the first version took.
            let area: i32 = self.rng.random_range(1..=47);
            spec.area = Some(Cow::Borrowed(AREAS[(area - 1) as usize]));
            spec.friend_days = Some(self.rng.random_range(0..1000));
            spec.language = Some(Cow::Borrowed("ja"));
            self.add_user(spec);
        }
    }

    pub(crate) fn hex_id(&mut self, prefix: &str) -> String {
        format!("{prefix}{:032x}", self.rng.random::<u128>())
    }

    /// Adds (or, for a known id, replaces) a user; returns its index.
    pub(crate) fn add_user(&mut self, spec: UserSpec) -> usize {
        let id = match &spec.user_id {
            Some(id) => id.clone(),
            None => loop {
                let id = self.hex_id("U");
                if self.user(&id).is_none() {
                    break id;
                }
            },
        };
        if let Some(i) = self.user(&id) {
            self.users[i].spec = spec;
            return i;
        }
        let i = self.users.len();
        match hex_key(&id) {
            Some(k) => {
                self.hex_index.insert(k, i);
            }
            None => {
                self.other_index.insert(id.clone(), i);
            }
        }
        self.users.push(SimUser {
            spec,
            user_id: UserId::new(id),
        });
        i
    }

    pub(crate) fn user(&self, id: &str) -> Option<usize> {
        match hex_key(id) {
            Some(k) => self.hex_index.get(&k).copied(),
            None => self.other_index.get(id).copied(),
        }
    }

    /// The index in `sends` of this send's messages: the last one when it is the
    /// same send (a multicast delivers one send to many users), else a new one.
    fn send_index(
        &mut self,
        messages: &[Arc<Message>],
        request_id: &RequestId,
        operation: &'static str,
        now: Timestamp,
    ) -> usize {
        if let Some(last) = self.sends.last() {
            if last.operation == operation
                && last.at == now
                && last.request_id == *request_id
                && last.messages.len() == messages.len()
                && last.messages.iter().zip(messages).all(|(a, b)| Arc::ptr_eq(a, b))
            {
                return self.sends.len() - 1;
            }
        }
        self.sends.push(Sent {
            request_id: request_id.clone(),
            operation,
            messages: messages.to_vec(),
            at: now,
        });
        self.sends.len() - 1
    }

    /// Delivers `messages` to the user at `idx` (if reachable); returns whether it did.
    pub(crate) fn deliver(
        &mut self,
        idx: usize,
        messages: &[Arc<Message>],
        request_id: &RequestId,
        operation: &'static str,
        now: Timestamp,
    ) -> bool {
        if !self.users[idx].reachable() {
            return false;
        }
        let send = self.send_index(messages, request_id, operation, now);
        if self.inboxes.len() <= idx {
            self.inboxes.resize_with(self.users.len().max(idx + 1), Inbox::default);
        }
        self.inboxes[idx].push(send);
        self.delivered += messages.len();
        true
    }

    /// Delivers `messages` to `user_id` whether or not it follows the channel (a
    /// notification message reaches a phone number's LINE user), into the user's
    /// inbox, or an inbox of its own for an ID that is no user of this channel.
    pub(crate) fn deliver_to_id(
        &mut self,
        user_id: &UserId,
        messages: &[Arc<Message>],
        request_id: &RequestId,
        operation: &'static str,
        now: Timestamp,
    ) {
        let send = self.send_index(messages, request_id, operation, now);
        match self.user(user_id.as_str()) {
            Some(idx) => {
                if self.inboxes.len() <= idx {
                    self.inboxes.resize_with(self.users.len().max(idx + 1), Inbox::default);
                }
                self.inboxes[idx].push(send);
            }
            None => self
                .other_inboxes
                .entry(user_id.as_str().to_owned())
                .or_default()
                .push(send),
        }
        self.delivered += messages.len();
    }

    /// The messages `user_id` received, in order.
    pub(crate) fn inbox(&self, user_id: &str) -> Vec<ReceivedMessage> {
        let inbox = match self.user(user_id) {
            Some(idx) => self.inboxes.get(idx),
            None => self.other_inboxes.get(user_id),
        };
        let Some(inbox) = inbox else {
            return Vec::new();
        };
        inbox
            .iter()
            .filter_map(|i| self.sends.get(i))
            .flat_map(|s| {
                s.messages.iter().map(|m| ReceivedMessage {
                    request_id: s.request_id.clone(),
                    operation: s.operation,
                    message: Arc::clone(m),
                    received_at: s.at,
                })
            })
            .collect()
    }

    /// Runs the jobs that are due at `now`: narrowcast deliveries and rich-menu batches.
    pub(crate) fn settle(&mut self, now: Timestamp) {
        let due: Vec<String> = self
            .narrowcasts
            .iter()
            .filter(|(_, j)| j.pending.is_some() && j.due <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for id in due {
            let Some(job) = self.narrowcasts.get_mut(&id) else {
                continue;
            };
            let Some(p) = job.pending.take() else { continue };
            let at = job.due;
            let mut delivered = 0;
            for &i in &p.targets {
                if self.deliver(i, &p.messages, &p.request_id, "narrowcast", at) {
                    delivered += 1;
                }
            }
            self.recipients_of.insert(id.clone(), p.targets);
            if let Some(job) = self.narrowcasts.get_mut(&id) {
                job.success = delivered;
                job.failure = job.target - delivered;
                job.phase = "succeeded";
                job.completed = Some(at);
            }
        }
        let due: Vec<String> = self
            .batches
            .iter()
            .filter(|(_, b)| b.operations.is_some() && b.job.due <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for id in due {
            let Some(b) = self.batches.get_mut(&id) else { continue };
            let Some(ops) = b.operations.take() else { continue };
            b.job.phase = "succeeded";
            b.job.completed = Some(b.job.due);
            for op in ops {
                match op {
                    RichMenuBatchOperation::Link(l) => {
                        for menu in self.user_rich_menu.values_mut() {
                            if *menu == l.from {
                                menu.clone_from(&l.to);
                            }
                        }
                    }
                    RichMenuBatchOperation::Unlink(u) => self.user_rich_menu.retain(|_, m| *m != u.from),
                    RichMenuBatchOperation::UnlinkAll(_) => self.user_rich_menu.clear(),
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_any_form_are_found_and_never_collide() {
        let mut s = State::new(1, 2);
        let lower = "U0123456789abcdef0123456789abcdef";
        let upper = "U0123456789ABCDEF0123456789ABCDEF";
        let a = s.add_user(UserSpec::new("lower").user_id(lower));
        let b = s.add_user(UserSpec::new("upper").user_id(upper));
        let c = s.add_user(UserSpec::new("short").user_id("U1"));
        assert_eq!(
            (s.user(lower), s.user(upper), s.user("U1")),
            (Some(a), Some(b), Some(c))
        );
        assert_ne!(a, b);
        assert_eq!(s.user("U2"), None);
        assert_eq!(s.user("U+123456789abcdef0123456789abcdef"), None);
        // Adding a known id replaces the user in place.
        assert_eq!(s.add_user(UserSpec::new("again").user_id(lower)), a);
        assert_eq!(s.users[a].spec.display_name, "again");
        assert_eq!(s.users.len(), 5);
        for (i, u) in s.users.iter().enumerate() {
            assert_eq!(s.user(u.user_id.as_str()), Some(i));
        }
    }
}
