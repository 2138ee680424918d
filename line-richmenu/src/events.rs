//! Webhook events that change a user's menu: follow assigns by policy, an `accountLink` with
//! result `ok` switches to the linked menu, unfollow forgets the user. The host reports
//! "member unlinked" with [`EventHandler::member_unlinked`].

use std::sync::Arc;

use line_core::ids::UserId;
use line_core::webhook::event::{LinkContentResult, Source};
use line_core::webhook::Event;

use crate::engine::{Calls, RichMenus};
use crate::error::Error;
use crate::policy::Policy;
use crate::store::{Assignment, UserDirectory};

/// Why a user's menu changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The user added the account as a friend.
    Follow,
    /// The user linked their member account.
    AccountLinked,
    /// The host reported that the member account was unlinked.
    MemberUnlinked,
    /// The user blocked the account.
    Unfollow,
}

/// A change of one user's menu.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// The user.
    pub user: UserId,
    /// What the user had, if known.
    pub from: Option<Assignment>,
    /// What the user gets; `None` when the user is forgotten.
    pub to: Option<Assignment>,
    /// Why.
    pub reason: Reason,
}

/// Turns webhook events into menu changes.
#[derive(Clone)]
pub struct EventHandler {
    menus: RichMenus,
    policy: Arc<Policy>,
    directory: Arc<dyn UserDirectory>,
}

impl std::fmt::Debug for EventHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHandler")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn user_of(event: &Event) -> Option<UserId> {
    match event.source()?.as_ref() {
        Source::User(u) => u.user_id.clone(),
        _ => None,
    }
}

impl EventHandler {
    /// A handler that assigns with `policy`, reading users from `directory`.
    pub fn new(menus: RichMenus, policy: Arc<Policy>, directory: Arc<dyn UserDirectory>) -> Self {
        Self {
            menus,
            policy,
            directory,
        }
    }

    /// The change `event` calls for, without applying it (and without writing anything).
    /// `None` when the event changes nothing (other kinds, a failed link, group sources, or
    /// a user already on the right menu).
    pub async fn plan(&self, event: &Event) -> Result<Option<Change>, Error> {
        self.run(event, false).await
    }

    /// Applies the change `event` calls for: single-user link or unlink, then the stores.
    pub async fn handle(&self, event: &Event) -> Result<Option<Change>, Error> {
        self.run(event, true).await
    }

    /// The host unlinked the member account of `user`: the user goes back to the menu the
    /// policy gives an unlinked user.
    pub async fn member_unlinked(&self, user: &UserId) -> Result<Option<Change>, Error> {
        let ctx = self.directory.set_linked(user, false).await?;
        self.assign(ctx, Reason::MemberUnlinked, true).await
    }

    async fn run(&self, event: &Event, apply: bool) -> Result<Option<Change>, Error> {
        let Some(user) = user_of(event) else {
            return Ok(None);
        };
        match event {
            Event::Follow(_) => {
                let ctx = self.directory.context(&user).await?;
                self.assign(ctx, Reason::Follow, apply).await
            }
            Event::AccountLink(e) if e.link.result == LinkContentResult::Ok => {
                let ctx = if apply {
                    self.directory.set_linked(&user, true).await?
                } else {
                    let mut c = self.directory.context(&user).await?;
                    c.linked = true;
                    c
                };
                self.assign(ctx, Reason::AccountLinked, apply).await
            }
            Event::Unfollow(_) => {
                let from = self.menus.assignment_store().get(&user).await?;
                if apply {
                    self.menus.assignment_store().forget(&user).await?;
                }
                Ok(Some(Change {
                    user,
                    from,
                    to: None,
                    reason: Reason::Unfollow,
                }))
            }
            _ => Ok(None),
        }
    }

    async fn assign(
        &self,
        ctx: crate::store::UserContext,
        reason: Reason,
        apply: bool,
    ) -> Result<Option<Change>, Error> {
        let now = self.menus.clock().now();
        let live = self.menus.live_menus().await?;
        let to = RichMenus::resolve(&self.policy.evaluate(&ctx, now).target, &live)?;
        let user = ctx.user_id;
        let from = self.menus.assignment_store().get(&user).await?;
        // A follower we know nothing of may still carry a link from before: always send.
        if from.as_ref() == Some(&to) && reason != Reason::Follow {
            return Ok(None);
        }
        if apply {
            let mut calls = Calls::default();
            self.menus.assign_one(&user, &to, &mut calls).await?;
        }
        Ok(Some(Change {
            user,
            from,
            to: Some(to),
            reason,
        }))
    }
}
