//! [`RichMenus`]: deploy a menu set, reconcile assignments, and run the journal that makes
//! both resumable.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use jiff::SignedDuration;
use line_core::client::Client;
use line_core::clock::{Clock, SystemClock};
use line_core::ids::{RichMenuId, UserId};
use line_core::limits::{MAX_RICH_MENUS, MAX_RICH_MENU_BATCH_OPERATIONS, MAX_RICH_MENU_BULK_USERS};
use line_core::model::{
    CreateRichMenuAliasRequest, RichMenuBatchLinkOperation, RichMenuBatchOperation, RichMenuBatchProgressPhase,
    RichMenuBatchRequest, RichMenuBatchUnlinkOperation, RichMenuBulkLinkRequest, RichMenuBulkUnlinkRequest,
    UpdateRichMenuAliasRequest,
};

use crate::error::{Error, ErrorKind};
use crate::menu::{name_tag, MenuSet};
use crate::policy::{Policy, Target};
use crate::scheduler::{Scheduler, TokioScheduler};
use crate::store::{
    Assignment, AssignmentStore, Journal, MenuRecord, MenuState, MenuStore, Step, StepOp, StepStatus, UserContext,
};
use crate::validate::validate_set;

/// Budget bucket of rich-menu creates and deletes (100 an hour per channel).
pub const BUDGET_CREATE_DELETE: &str = "richmenu.create-delete";
/// Budget bucket of rich-menu batch calls (3 an hour per channel).
pub const BUDGET_BATCH: &str = "richmenu.batch";

/// Tuning of deploy and reconcile.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Users per bulk link or unlink call (at most 500).
    pub bulk_chunk: usize,
    /// A move of every known user of one menu to one other menu uses the batch endpoint
    /// instead of bulk calls when it concerns at least this many users.
    pub batch_threshold: u64,
    /// Wait between polls of a batch job's progress.
    pub poll_interval: SignedDuration,
    /// Polls before giving up for now (the journal keeps the job; the next run polls again).
    pub max_polls: u32,
    /// Creates and deletes allowed per hour (LINE: 100).
    pub create_delete_per_hour: u32,
    /// Batch calls allowed per hour (LINE: 3).
    pub batch_per_hour: u32,
    /// Also delete menus on LINE that this crate did not create, so that LINE holds exactly
    /// the declared set. Off by default: other tools may own menus on the channel.
    pub prune_unmanaged: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            bulk_chunk: MAX_RICH_MENU_BULK_USERS,
            batch_threshold: 5_000,
            poll_interval: SignedDuration::from_secs(5),
            max_polls: 120,
            create_delete_per_hour: 100,
            batch_per_hour: 3,
            prune_unmanaged: false,
        }
    }
}

/// API calls made, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Calls {
    /// Bulk link calls.
    pub bulk_link: u32,
    /// Bulk unlink calls.
    pub bulk_unlink: u32,
    /// Single-user link and unlink calls.
    pub single: u32,
    /// Batch calls.
    pub batch: u32,
    /// Batch progress polls.
    pub progress: u32,
    /// Per-user reads made to check an interrupted step.
    pub verify: u32,
    /// Menus created.
    pub create: u32,
    /// Images uploaded.
    pub image: u32,
    /// Menus deleted.
    pub delete: u32,
    /// Alias creates, updates and deletes.
    pub alias: u32,
    /// List calls (menus, aliases).
    pub list: u32,
}

impl Calls {
    /// Calls that change something on LINE.
    pub fn writes(&self) -> u32 {
        self.bulk_link
            + self.bulk_unlink
            + self.single
            + self.batch
            + self.create
            + self.image
            + self.delete
            + self.alias
    }
}

/// A step LINE rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// Where the users were to go (`None` for an unlink).
    pub target: Option<String>,
    /// How many users it concerned (batch: the number of moves).
    pub users: usize,
    /// LINE's reason.
    pub reason: String,
}

/// What a reconcile did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// Users moved, by destination menu key (`""` for the default menu).
    pub moved: BTreeMap<String, u64>,
    /// Calls made.
    pub calls: Calls,
    /// Steps LINE rejected.
    pub failures: Vec<Failure>,
    /// Whether an interrupted run was finished first.
    pub resumed: bool,
}

/// What a deploy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeployReport {
    /// Menus created, as `(key, richMenuId)`.
    pub created: Vec<(String, RichMenuId)>,
    /// Menus found on LINE from an interrupted deploy and taken over.
    pub adopted: Vec<(String, RichMenuId)>,
    /// Menus deleted.
    pub deleted: Vec<RichMenuId>,
    /// The live menu of every key.
    pub live: BTreeMap<String, RichMenuId>,
    /// Users moved off superseded menus, and every call made.
    pub migration: ReconcileReport,
}

impl DeployReport {
    /// Calls that changed something on LINE.
    pub fn writes(&self) -> u32 {
        self.migration.calls.writes()
    }
}

/// Deploys menu sets and keeps users on the right menu.
///
/// Cheap to clone.
#[derive(Clone)]
pub struct RichMenus {
    client: Client,
    menus: Arc<dyn MenuStore>,
    assignments: Arc<dyn AssignmentStore>,
    clock: Arc<dyn Clock>,
    scheduler: Arc<dyn Scheduler>,
    options: Options,
}

impl std::fmt::Debug for RichMenus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RichMenus")
            .field("clock", &self.clock)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn target_label(a: &Assignment) -> String {
    a.key().unwrap_or_default().to_owned()
}

fn budget_exhausted(bucket: &str, limit: u32) -> Error {
    Error::new(ErrorKind::Limit {
        limit: bucket.to_owned(),
        reason: format!("{limit} calls in the last hour already; run again later (the state is kept)"),
    })
}

impl RichMenus {
    /// A handle with the system clock and tokio's timer.
    pub fn new(client: Client, menus: Arc<dyn MenuStore>, assignments: Arc<dyn AssignmentStore>) -> Self {
        Self {
            client,
            menus,
            assignments,
            clock: Arc::new(SystemClock),
            scheduler: Arc::new(TokioScheduler),
            options: Options::default(),
        }
    }

    /// Uses this clock (budgets, policy windows).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses this scheduler to wait between batch polls.
    pub fn with_scheduler(mut self, scheduler: Arc<dyn Scheduler>) -> Self {
        self.scheduler = scheduler;
        self
    }

    /// Uses these options.
    pub fn with_options(mut self, mut options: Options) -> Self {
        options.bulk_chunk = options.bulk_chunk.clamp(1, MAX_RICH_MENU_BULK_USERS);
        self.options = options;
        self
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The menu store.
    pub fn menu_store(&self) -> &Arc<dyn MenuStore> {
        &self.menus
    }

    /// The assignment store.
    pub fn assignment_store(&self) -> &Arc<dyn AssignmentStore> {
        &self.assignments
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The live menu ID of every key, from the menu store.
    pub async fn live_menus(&self) -> Result<HashMap<String, RichMenuId>, Error> {
        Ok(self
            .menus
            .records()
            .await?
            .into_iter()
            .filter(MenuRecord::is_live)
            .map(|r| (r.key, r.rich_menu_id))
            .collect())
    }

    /// Resolves a policy target to an assignment, with the live menus.
    pub(crate) fn resolve(target: &Target, live: &HashMap<String, RichMenuId>) -> Result<Assignment, Error> {
        match target {
            Target::Default => Ok(Assignment::Default),
            Target::Menu(k) => live
                .get(k)
                .map(|id| Assignment::menu(k.clone(), id.clone()))
                .ok_or_else(|| Error::new(ErrorKind::UnknownMenu { key: k.clone() })),
        }
    }

    async fn try_budget(&self, bucket: &str, limit: u32) -> Result<bool, Error> {
        let now = self.clock.now();
        self.menus
            .take_budget(bucket, now, SignedDuration::from_hours(1), limit)
            .await
    }

    async fn take_budget(&self, bucket: &str, limit: u32) -> Result<(), Error> {
        if self.try_budget(bucket, limit).await? {
            Ok(())
        } else {
            Err(budget_exhausted(bucket, limit))
        }
    }

    // ---------------------------------------------------------------- reconcile

    /// Finishes an interrupted deploy migration or reconcile, if the store holds its journal.
    pub async fn resume(&self) -> Result<ReconcileReport, Error> {
        Ok(self.resume_journal().await?.0)
    }

    /// Like [`RichMenus::resume`], also giving the journal as it ended.
    async fn resume_journal(&self) -> Result<(ReconcileReport, Option<Journal>), Error> {
        let mut report = ReconcileReport::default();
        let mut finished = None;
        if let Some(j) = self.assignments.load_journal().await? {
            report.resumed = true;
            finished = Some(self.run_journal(j, &mut report).await?);
        }
        Ok((report, finished))
    }

    /// Compares what `policy` wants for `users` with their current assignments and applies
    /// the difference: bulk link and unlink in chunks of 500, or one batch operation per menu
    /// when every known user of a menu moves to the same other menu (and there are at least
    /// [`Options::batch_threshold`] of them).
    ///
    /// An interrupted run is finished first. The plan is saved as a journal before the first
    /// write; if this fails midway (store or API), calling it again resumes, and no user is
    /// linked twice: an interrupted step is checked user by user before it is sent again.
    pub async fn reconcile(
        &self,
        policy: &Policy,
        users: impl IntoIterator<Item = UserContext>,
    ) -> Result<ReconcileReport, Error> {
        let mut report = self.resume().await?;
        let live = self.live_menus().await?;
        let now = self.clock.now();
        // Who goes where, with where they are now.
        let mut by_target: BTreeMap<Assignment, Vec<(UserId, Option<RichMenuId>)>> = BTreeMap::new();
        let mut transitions: HashMap<(RichMenuId, Assignment), u64> = HashMap::new();
        let mut seen = HashSet::new();
        for ctx in users {
            if !seen.insert(ctx.user_id.clone()) {
                continue;
            }
            let wanted = Self::resolve(&policy.evaluate(&ctx, now).target, &live)?;
            let current = self.assignments.get(&ctx.user_id).await?;
            if current.as_ref() == Some(&wanted) {
                continue;
            }
            let from = current.as_ref().and_then(Assignment::rich_menu_id).cloned();
            if let Some(from) = &from {
                *transitions.entry((from.clone(), wanted.clone())).or_default() += 1;
            }
            by_target.entry(wanted).or_default().push((ctx.user_id, from));
        }
        // Whole-menu moves go to the batch endpoint: every known user of `from` wants `to`.
        let mut moves = Vec::new();
        for ((from, to), n) in transitions {
            if n >= self.options.batch_threshold && self.assignments.count_on(&from).await? == n {
                moves.push((from, to));
            }
        }
        moves.sort();
        // The batch endpoint allows 3 calls an hour: without budget, fall back to bulk calls.
        let batch_calls = moves.len().div_ceil(MAX_RICH_MENU_BATCH_OPERATIONS);
        for _ in 0..batch_calls {
            if !self.try_budget(BUDGET_BATCH, self.options.batch_per_hour).await? {
                tracing::info!("rich-menu batch budget used up; moving users with bulk calls");
                moves.clear();
                break;
            }
        }
        let batched: HashSet<(RichMenuId, Assignment)> = moves.iter().cloned().collect();
        let mut steps = Vec::new();
        for chunk in moves.chunks(MAX_RICH_MENU_BATCH_OPERATIONS) {
            steps.push(Step {
                op: StepOp::Batch {
                    moves: chunk.to_vec(),
                    resume_key: uuid::Uuid::new_v4().simple().to_string(),
                    request_id: None,
                },
                status: StepStatus::Pending,
            });
        }
        for (to, users) in by_target {
            let users: Vec<UserId> = users
                .into_iter()
                .filter(|(_, from)| {
                    from.as_ref()
                        .is_none_or(|f| !batched.contains(&(f.clone(), to.clone())))
                })
                .map(|(u, _)| u)
                .collect();
            for chunk in users.chunks(self.options.bulk_chunk) {
                let op = match &to {
                    Assignment::Default => StepOp::Unlink { users: chunk.to_vec() },
                    _ => StepOp::Link {
                        to: to.clone(),
                        users: chunk.to_vec(),
                    },
                };
                steps.push(Step {
                    op,
                    status: StepStatus::Pending,
                });
            }
        }
        if steps.is_empty() {
            return Ok(report);
        }
        self.run_journal(Journal { steps }, &mut report).await?;
        Ok(report)
    }

    /// Runs every unfinished step of `journal`, saving it after each, then clears it.
    async fn run_journal(&self, mut journal: Journal, report: &mut ReconcileReport) -> Result<Journal, Error> {
        self.assignments.save_journal(&journal).await?;
        for i in 0..journal.steps.len() {
            let resumed = match journal.steps[i].status {
                StepStatus::Done | StepStatus::Failed { .. } => continue,
                StepStatus::InFlight => true,
                StepStatus::Pending => {
                    journal.steps[i].status = StepStatus::InFlight;
                    self.assignments.save_journal(&journal).await?;
                    false
                }
            };
            let outcome = self.run_step(&mut journal, i, resumed, report).await;
            match outcome {
                Ok(()) => journal.steps[i].status = StepStatus::Done,
                Err(e) if e.is_rejection() => {
                    let (target, users) = match &journal.steps[i].op {
                        StepOp::Link { to, users } => (Some(target_label(to)), users.len()),
                        StepOp::Unlink { users } => (None, users.len()),
                        StepOp::Batch { moves, .. } => (None, moves.len()),
                    };
                    let reason = e.to_string();
                    tracing::warn!(step = i, %reason, "rich-menu step rejected");
                    report.failures.push(Failure {
                        target,
                        users,
                        reason: reason.clone(),
                    });
                    journal.steps[i].status = StepStatus::Failed { reason };
                }
                Err(e) => return Err(e),
            }
            self.assignments.save_journal(&journal).await?;
        }
        self.assignments.clear_journal().await?;
        Ok(journal)
    }

    async fn run_step(
        &self,
        journal: &mut Journal,
        i: usize,
        resumed: bool,
        report: &mut ReconcileReport,
    ) -> Result<(), Error> {
        match journal.steps[i].op.clone() {
            StepOp::Link { to, users } => {
                let Some(id) = to.rich_menu_id() else {
                    return Err(Error::new(ErrorKind::UnknownMenu { key: String::new() }));
                };
                let send = if resumed {
                    self.still_needed(&users, Some(id), report).await?
                } else {
                    users.clone()
                };
                if !send.is_empty() {
                    let req = RichMenuBulkLinkRequest::new(id.as_str(), send);
                    report.calls.bulk_link += 1;
                    self.client
                        .link_rich_menu_id_to_users(&req)
                        .await
                        .map_err(|e| Error::api("linkRichMenuIdToUsers", e))?;
                }
                self.assignments.set_many(&users, &to).await?;
                *report.moved.entry(target_label(&to)).or_default() += users.len() as u64;
                Ok(())
            }
            StepOp::Unlink { users } => {
                let send = if resumed {
                    self.still_needed(&users, None, report).await?
                } else {
                    users.clone()
                };
                if !send.is_empty() {
                    let req = RichMenuBulkUnlinkRequest::new(send);
                    report.calls.bulk_unlink += 1;
                    self.client
                        .unlink_rich_menu_id_from_users(&req)
                        .await
                        .map_err(|e| Error::api("unlinkRichMenuIdFromUsers", e))?;
                }
                self.assignments.set_many(&users, &Assignment::Default).await?;
                *report.moved.entry(String::new()).or_default() += users.len() as u64;
                Ok(())
            }
            StepOp::Batch {
                moves,
                resume_key,
                request_id,
            } => {
                let request_id = match request_id {
                    Some(r) => r,
                    None => {
                        // The budget was taken when the step was planned.
                        let ops: Vec<RichMenuBatchOperation> = moves
                            .iter()
                            .map(|(from, to)| match to.rich_menu_id() {
                                Some(t) => RichMenuBatchLinkOperation::new(from.as_str(), t.as_str()).into(),
                                None => RichMenuBatchUnlinkOperation::new(from.as_str()).into(),
                            })
                            .collect();
                        let mut req = RichMenuBatchRequest::new(ops);
                        req.resume_request_key = Some(resume_key.clone());
                        report.calls.batch += 1;
                        let resp = self
                            .client
                            .rich_menu_batch(&req)
                            .await
                            .map_err(|e| Error::api("richMenuBatch", e))?;
                        let rid = resp.request_id.map(|r| r.as_str().to_owned()).ok_or_else(|| {
                            Error::new(ErrorKind::Batch {
                                request_id: String::new(),
                                reason: "the response carried no x-line-request-id to poll".into(),
                            })
                        })?;
                        journal.steps[i].op = StepOp::Batch {
                            moves: moves.clone(),
                            resume_key,
                            request_id: Some(rid.clone()),
                        };
                        self.assignments.save_journal(journal).await?;
                        rid
                    }
                };
                let mut polls = 0;
                loop {
                    report.calls.progress += 1;
                    let progress = self
                        .client
                        .get_rich_menu_batch_progress(&request_id)
                        .await
                        .map_err(|e| Error::api("getRichMenuBatchProgress", e))?;
                    match progress.body.phase {
                        RichMenuBatchProgressPhase::Succeeded => break,
                        RichMenuBatchProgressPhase::Failed => {
                            return Err(Error::new(ErrorKind::Batch {
                                request_id,
                                reason: "LINE reports the job failed for some users".into(),
                            }));
                        }
                        _ => {
                            polls += 1;
                            if polls >= self.options.max_polls {
                                return Err(Error::new(ErrorKind::Batch {
                                    request_id,
                                    reason: "still running; run again to keep polling".into(),
                                }));
                            }
                            self.scheduler.sleep(self.options.poll_interval).await;
                        }
                    }
                }
                for (from, to) in &moves {
                    let n = self.assignments.replace_menu(from, to).await?;
                    *report.moved.entry(target_label(to)).or_default() += n;
                }
                Ok(())
            }
        }
    }

    /// The users of an interrupted step who are not yet where it sends them.
    async fn still_needed(
        &self,
        users: &[UserId],
        target: Option<&RichMenuId>,
        report: &mut ReconcileReport,
    ) -> Result<Vec<UserId>, Error> {
        let mut out = Vec::new();
        for u in users {
            report.calls.verify += 1;
            let now_on = match self.client.get_rich_menu_id_of_user(u.as_str()).await {
                Ok(r) => Some(r.body.rich_menu_id),
                Err(e) if e.status() == Some(404) => None,
                Err(e) => return Err(Error::api("getRichMenuIdOfUser", e)),
            };
            if now_on.as_deref() != target.map(RichMenuId::as_str) {
                out.push(u.clone());
            }
        }
        Ok(out)
    }

    /// Links one user to `to` now (single-user endpoints) and records it.
    pub(crate) async fn assign_one(&self, user: &UserId, to: &Assignment, calls: &mut Calls) -> Result<(), Error> {
        calls.single += 1;
        match to.rich_menu_id() {
            Some(id) => self
                .client
                .link_rich_menu_id_to_user(user.as_str(), id.as_str())
                .await
                .map_err(|e| Error::api("linkRichMenuIdToUser", e))?,
            None => self
                .client
                .unlink_rich_menu_id_from_user(user.as_str())
                .await
                .map_err(|e| Error::api("unlinkRichMenuIdFromUser", e))?,
        };
        self.assignments.set_many(std::slice::from_ref(user), to).await
    }

    // ---------------------------------------------------------------- deploy

    /// Makes LINE hold exactly the declared set (see the crate docs for the steps). Running it
    /// twice in a row makes no write call the second time.
    pub async fn deploy(&self, set: &MenuSet) -> Result<DeployReport, Error> {
        let findings = validate_set(set);
        if findings.iter().any(|f| f.is_error()) {
            return Err(Error::new(ErrorKind::Invalid { findings }));
        }
        let (migration, resumed) = self.resume_journal().await?;
        // Menus whose users an interrupted deploy already moved must not be batched again.
        let already_moved: HashSet<RichMenuId> = resumed
            .iter()
            .flat_map(|j| j.steps.iter())
            .filter(|st| st.status == StepStatus::Done)
            .flat_map(|st| match &st.op {
                StepOp::Batch { moves, .. } => moves.iter().map(|(from, _)| from.clone()).collect(),
                _ => Vec::new(),
            })
            .collect();
        let mut report = DeployReport {
            migration,
            ..DeployReport::default()
        };
        let calls = &mut report.migration.calls;
        calls.list += 2;
        let on_line = self
            .client
            .get_rich_menu_list()
            .await
            .map_err(|e| Error::api("getRichMenuList", e))?
            .body
            .richmenus;
        let line_aliases: HashMap<String, String> = self
            .client
            .get_rich_menu_alias_list()
            .await
            .map_err(|e| Error::api("getRichMenuAliasList", e))?
            .body
            .aliases
            .into_iter()
            .map(|a| (a.rich_menu_alias_id, a.rich_menu_id))
            .collect();
        let line_ids: HashSet<&str> = on_line.iter().map(|m| m.rich_menu_id.as_str()).collect();
        let mut records = self.menus.records().await?;
        let mut menu_count = on_line.len();

        // 1. Every declared menu has a live version with its hash.
        let mut live: BTreeMap<String, RichMenuId> = BTreeMap::new();
        for menu in set.menus() {
            let key = &menu.def.key;
            let hash = menu.content_hash();
            let existing = records
                .iter()
                .find(|r| &r.key == key && r.hash == hash && !matches!(r.state, MenuState::Retired { .. }))
                .cloned();
            let mut record = match existing {
                Some(r) if line_ids.contains(r.rich_menu_id.as_str()) => r,
                other => {
                    if let Some(gone) = other {
                        // Deleted on LINE by someone else: forget it and create again.
                        self.menus.remove(&gone.rich_menu_id).await?;
                        records.retain(|r| r.rich_menu_id != gone.rich_menu_id);
                    }
                    let tag = format!("#{}", name_tag(&hash));
                    let known: HashSet<&str> = records.iter().map(|r| r.rich_menu_id.as_str()).collect();
                    let orphan = on_line
                        .iter()
                        .find(|m| m.name.ends_with(&tag) && !known.contains(m.rich_menu_id.as_str()));
                    let (id, adopted) = match orphan {
                        Some(m) => (RichMenuId::new(m.rich_menu_id.clone()), true),
                        None => {
                            if menu_count >= MAX_RICH_MENUS {
                                return Err(Error::new(ErrorKind::Limit {
                                    limit: "rich menus per channel".into(),
                                    reason: format!(
                                        "LINE already holds {menu_count} menus; creating {key:?} would pass \
                                         {MAX_RICH_MENUS}"
                                    ),
                                }));
                            }
                            self.take_budget(BUDGET_CREATE_DELETE, self.options.create_delete_per_hour)
                                .await?;
                            calls.create += 1;
                            let resp = self
                                .client
                                .create_rich_menu(menu.to_request())
                                .await
                                .map_err(|e| Error::api("createRichMenu", e))?;
                            menu_count += 1;
                            (RichMenuId::new(resp.body.rich_menu_id), false)
                        }
                    };
                    let r = MenuRecord::new(id.clone(), key.clone(), hash.clone(), None, MenuState::Created);
                    self.menus.put(r.clone()).await?;
                    records.push(r.clone());
                    if adopted {
                        report.adopted.push((key.clone(), id));
                    } else {
                        report.created.push((key.clone(), id));
                    }
                    r
                }
            };
            if record.state == MenuState::Created {
                let format = menu.image.format().map_or("image/png", |f| f.content_type());
                calls.image += 1;
                match self
                    .client
                    .set_rich_menu_image(record.rich_menu_id.as_str(), menu.image.bytes().clone(), format)
                    .await
                {
                    Ok(_) => {}
                    // An adopted menu may have its image already: LINE refuses a second upload.
                    Err(e)
                        if report.adopted.iter().any(|(_, id)| *id == record.rich_menu_id)
                            && e.status() == Some(400) => {}
                    Err(e) => return Err(Error::api("setRichMenuImage", e)),
                }
                record.state = MenuState::Live;
                self.menus.put(record.clone()).await?;
                if let Some(r) = records.iter_mut().find(|r| r.rich_menu_id == record.rich_menu_id) {
                    *r = record.clone();
                }
            }
            live.insert(key.clone(), record.rich_menu_id.clone());
        }

        // 2. Older versions and undeclared keys retire.
        for r in records.iter_mut() {
            if matches!(r.state, MenuState::Retired { .. }) || live.get(&r.key) == Some(&r.rich_menu_id) {
                continue;
            }
            r.state = MenuState::Retired {
                successor: live.get(&r.key).cloned(),
                moved: false,
            };
            self.menus.put(r.clone()).await?;
        }

        // 3. Aliases point at the live menus; aliases no longer declared are removed.
        let mut declared_aliases = HashSet::new();
        for menu in set.menus() {
            let Some(alias) = &menu.def.alias else { continue };
            declared_aliases.insert(alias.clone());
            let id = &live[&menu.def.key];
            match line_aliases.get(alias) {
                Some(current) if current == id.as_str() => {}
                Some(_) => {
                    calls.alias += 1;
                    self.client
                        .update_rich_menu_alias(alias, UpdateRichMenuAliasRequest::new(id.as_str()))
                        .await
                        .map_err(|e| Error::api("updateRichMenuAlias", e))?;
                }
                None => {
                    calls.alias += 1;
                    self.client
                        .create_rich_menu_alias(CreateRichMenuAliasRequest::new(alias.clone(), id.as_str()))
                        .await
                        .map_err(|e| Error::api("createRichMenuAlias", e))?;
                }
            }
            if let Some(r) = records.iter_mut().find(|r| &r.rich_menu_id == id) {
                if r.alias.as_deref() != Some(alias.as_str()) {
                    r.alias = Some(alias.clone());
                    self.menus.put(r.clone()).await?;
                }
            }
        }
        let managed: HashSet<String> = records.iter().map(|r| r.rich_menu_id.as_str().to_owned()).collect();
        let mut stale_aliases: Vec<&String> = line_aliases
            .iter()
            .filter(|(a, id)| !declared_aliases.contains(*a) && managed.contains(id.as_str()))
            .map(|(a, _)| a)
            .collect();
        stale_aliases.sort();
        for alias in stale_aliases {
            calls.alias += 1;
            self.client
                .delete_rich_menu_alias(alias)
                .await
                .map_err(|e| Error::api("deleteRichMenuAlias", e))?;
        }

        // 4. Users move off retired menus (one batch job), then the menus are deleted.
        let to_move: Vec<(RichMenuId, Assignment)> = records
            .iter()
            .filter_map(|r| match &r.state {
                MenuState::Retired {
                    successor,
                    moved: false,
                } => Some((
                    r.rich_menu_id.clone(),
                    match successor {
                        Some(s) => Assignment::menu(r.key.clone(), s.clone()),
                        None => Assignment::Default,
                    },
                )),
                _ => None,
            })
            .filter(|(id, _)| line_ids.contains(id.as_str()) && !already_moved.contains(id))
            .collect();
        if !to_move.is_empty() {
            for _ in 0..to_move.len().div_ceil(MAX_RICH_MENU_BATCH_OPERATIONS) {
                self.take_budget(BUDGET_BATCH, self.options.batch_per_hour).await?;
            }
            let steps = to_move
                .chunks(MAX_RICH_MENU_BATCH_OPERATIONS)
                .map(|c| Step {
                    op: StepOp::Batch {
                        moves: c.to_vec(),
                        resume_key: uuid::Uuid::new_v4().simple().to_string(),
                        request_id: None,
                    },
                    status: StepStatus::Pending,
                })
                .collect();
            self.run_journal(Journal { steps }, &mut report.migration).await?;
            if let Some(f) = report.migration.failures.last() {
                return Err(Error::new(ErrorKind::Batch {
                    request_id: String::new(),
                    reason: format!("moving users off superseded menus failed: {}", f.reason),
                }));
            }
        }
        for r in records.iter_mut() {
            if let MenuState::Retired { successor, moved } = &r.state {
                if !moved {
                    r.state = MenuState::Retired {
                        successor: successor.clone(),
                        moved: true,
                    };
                    self.menus.put(r.clone()).await?;
                }
            }
        }
        let calls = &mut report.migration.calls;
        for r in records.iter().filter(|r| matches!(r.state, MenuState::Retired { .. })) {
            if line_ids.contains(r.rich_menu_id.as_str()) {
                self.take_budget(BUDGET_CREATE_DELETE, self.options.create_delete_per_hour)
                    .await?;
                calls.delete += 1;
                match self.client.delete_rich_menu(r.rich_menu_id.as_str()).await {
                    Ok(_) => {}
                    Err(e) if e.status() == Some(404) => {}
                    Err(e) => return Err(Error::api("deleteRichMenu", e)),
                }
                report.deleted.push(r.rich_menu_id.clone());
            }
            self.menus.remove(&r.rich_menu_id).await?;
        }

        // 5. Optionally, menus nobody declared.
        if self.options.prune_unmanaged {
            let keep: HashSet<&str> = live.values().map(RichMenuId::as_str).collect();
            for m in &on_line {
                if keep.contains(m.rich_menu_id.as_str()) || managed.contains(m.rich_menu_id.as_str()) {
                    continue;
                }
                self.take_budget(BUDGET_CREATE_DELETE, self.options.create_delete_per_hour)
                    .await?;
                calls.delete += 1;
                match self.client.delete_rich_menu(&m.rich_menu_id).await {
                    Ok(_) => {}
                    Err(e) if e.status() == Some(404) => {}
                    Err(e) => return Err(Error::api("deleteRichMenu", e)),
                }
                report.deleted.push(RichMenuId::new(m.rich_menu_id.clone()));
            }
        }
        report.live = live;
        Ok(report)
    }
}
