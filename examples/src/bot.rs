//! The shop's webhook bot, as the tour runs it: an axum handler that verifies
//! LINE's signature, drops redelivered events, and then
//!
//! - on `follow`: records popup attribution, creates the profile, assigns the
//!   rich menu by policy, and replies with a greeting and a survey (Flex);
//! - on a survey `postback`: stores the answer in the profile and thanks the user;
//! - on `accountLink`: matches the nonce to the member, stores the member id,
//!   switches the rich menu from guest to member, and confirms;
//! - on `unfollow`: marks the profile blocked and forgets the menu.
//!
//! Everything the bot does is logged in memory so that the tour can print it,
//! and every failure is kept so that the tour can stop on it (nothing is lost).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use line_core::client::Client;
use line_core::clock::Clock;
use line_core::model::{Message, ReplyMessageRequest, TextMessage};
use line_core::webhook::account_link::{AccountLink, NonceStore};
use line_core::webhook::axum::VerifiedEvents;
use line_core::webhook::dedupe::{DedupeStore, Deduper, InMemoryDedupeStore};
use line_core::webhook::event::Source;
use line_core::webhook::{Event, WebhookVerifier};
use line_core::UserId;
use line_flex::action::Postback;
use line_flex::value::{px, SizeKeyword, Space};
use line_flex::{vbox, Bubble, Button, Text};
use line_popup::PopupEngine;
use line_richmenu::EventHandler;
use line_segments::profile::{Profile, Value};

use crate::error::{Error, ErrorKind};

/// The postback data prefix of survey answers: `survey=interest:cosmetics`.
pub const SURVEY_PREFIX: &str = "survey=interest:";

/// The survey's choices: (postback value, button label).
pub const SURVEY_CHOICES: [(&str, &str); 3] = [("cosmetics", "Cosmetics"), ("fashion", "Fashion"), ("home", "Home")];

/// The greeting every new friend gets.
pub fn greeting() -> Message {
    TextMessage::new("Thanks for adding Baroque Shop! Tell us what you like and we'll only send you that.").into()
}

/// The survey: one bubble with a postback button per choice.
pub fn survey() -> Result<Message, Error> {
    let buttons = SURVEY_CHOICES.iter().map(|(value, label)| {
        line_flex::Component::from(Button::new(
            Postback::new(format!("{SURVEY_PREFIX}{value}"))
                .display_text(*label)
                .label(*label),
        ))
    });
    let bubble = Bubble::new()
        .body(
            vbox![
                Text::new("What are you shopping for?").bold().size(SizeKeyword::Lg),
                Text::new("Pick one; you can change it any time.")
                    .size(SizeKeyword::Sm)
                    .wrap(true),
            ]
            .spacing(Space::Sm)
            .padding_all(px(16)),
        )
        .footer(line_flex::FlexBox::vertical(buttons).spacing(Space::Sm));
    let message = bubble.message("Quick survey: what are you shopping for?");
    if let Some(f) = message.validate().first() {
        return Err(Error::new(ErrorKind::Flex {
            what: format!("the survey does not validate: {f}"),
        }));
    }
    // Validated, so the conversion cannot fail.
    Ok(message.into())
}

/// One line of the bot's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The user the event came from.
    pub user: UserId,
    /// The event type.
    pub event: String,
    /// What the bot did.
    pub action: String,
}

/// The bot's state: the SDK pieces it uses and the host data it keeps.
pub struct ShopBot {
    client: Client,
    clock: Arc<dyn Clock>,
    popup: Arc<PopupEngine>,
    link: AccountLink,
    menus: EventHandler,
    deduper: Deduper,
    profiles: Mutex<BTreeMap<UserId, Profile>>,
    members: Mutex<BTreeMap<UserId, String>>,
    log: Mutex<Vec<LogLine>>,
    errors: Mutex<Vec<Error>>,
    notices: Option<line_pnp::Notifier>,
}

impl std::fmt::Debug for ShopBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopBot").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn user_of(event: &Event) -> Option<UserId> {
    match event.source()?.as_ref() {
        Source::User(u) => u.user_id.clone(),
        _ => None,
    }
}

impl ShopBot {
    /// A bot over these parts. Nonces are kept in `nonces` (shared with the
    /// website that starts account links).
    pub fn new(
        client: Client,
        clock: Arc<dyn Clock>,
        popup: Arc<PopupEngine>,
        menus: EventHandler,
        nonces: Arc<dyn NonceStore>,
    ) -> Self {
        Self {
            client,
            clock,
            popup,
            link: AccountLink::new(nonces),
            menus,
            deduper: Deduper::new(InMemoryDedupeStore::new()),
            profiles: Mutex::new(BTreeMap::new()),
            members: Mutex::new(BTreeMap::new()),
            log: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            notices: None,
        }
    }

    /// Hands LINE's `delivery` events (of notification messages) to `notifier`.
    pub fn with_notices(mut self, notifier: line_pnp::Notifier) -> Self {
        self.notices = Some(notifier);
        self
    }

    /// Keeps the webhook event ids already handled in `store` rather than in memory
    /// (a durable store: a redelivery after a restart is still recognised).
    pub fn with_dedupe(mut self, store: Arc<dyn DedupeStore>) -> Self {
        self.deduper = Deduper::new(store);
        self
    }

    /// The axum router: `POST /callback`, signature checked with `verifier`.
    pub fn router(self: Arc<Self>, verifier: WebhookVerifier) -> Router {
        Router::new()
            .route("/callback", post(callback))
            .with_state(AppState { bot: self, verifier })
    }

    /// Adds (or replaces) a profile, for users the host knew before the tour.
    pub fn put_profile(&self, profile: Profile) {
        lock(&self.profiles).insert(profile.id.clone(), profile);
    }

    /// A copy of every profile, ordered by user id.
    pub fn profiles(&self) -> Vec<Profile> {
        lock(&self.profiles).values().cloned().collect()
    }

    /// The member id linked to `user`, if any.
    pub fn member_of(&self, user: &UserId) -> Option<String> {
        lock(&self.members).get(user).cloned()
    }

    /// Takes the log lines written since the last call.
    pub fn take_log(&self) -> Vec<LogLine> {
        std::mem::take(&mut *lock(&self.log))
    }

    /// Puts log lines back (at the end), for a later step to print.
    pub fn requeue_log(&self, line: LogLine) {
        lock(&self.log).push(line);
    }

    /// Takes the first error since the last call, if any (all are dropped).
    pub fn take_error(&self) -> Option<Error> {
        let mut errors = lock(&self.errors);
        let first = if errors.is_empty() {
            None
        } else {
            Some(errors.remove(0))
        };
        errors.clear();
        first
    }

    fn note(&self, user: &UserId, event: &str, action: impl Into<String>) {
        lock(&self.log).push(LogLine {
            user: user.clone(),
            event: event.to_owned(),
            action: action.into(),
        });
    }

    /// Handles one verified event, once per `webhookEventId` (a redelivery of
    /// an event whose handling failed is handled again).
    pub async fn handle(&self, event: &Event) -> Result<(), Error> {
        let bot_err = |reason: &str| {
            let reason = reason.to_owned();
            move |e: line_core::Error| Error::with_source(ErrorKind::Bot { reason }, e)
        };
        // Each id is handled once; when handling fails, the id is released so
        // that LINE's redelivery of the event is handled again.
        if !self.deduper.is_new(event).await.map_err(bot_err("dedupe"))? {
            return Ok(());
        }
        let result = self.handle_new(event).await;
        if result.is_err() {
            self.deduper.release(event).await.map_err(bot_err("dedupe"))?;
        }
        result
    }

    async fn handle_new(&self, event: &Event) -> Result<(), Error> {
        let bot_err = |reason: &str| {
            let reason = reason.to_owned();
            move |e: line_core::Error| Error::with_source(ErrorKind::Bot { reason }, e)
        };
        if let (Event::Delivery(delivery), Some(notices)) = (event, &self.notices) {
            notices
                .on_delivery(delivery)
                .await
                .map_err(Error::notice("record a delivery"))?;
            return Ok(());
        }
        let Some(user) = user_of(event) else {
            return Ok(());
        };
        let conversion = self
            .popup
            .handle_event(event)
            .await
            .map_err(Error::popup("attribution"))?;
        if let Some(c) = &conversion {
            let what = if c.duplicate { "already counted" } else { "new" };
            self.note(
                &user,
                event.kind(),
                format!(
                    "popup conversion ({what}): {}/{}",
                    c.attribution.campaign, c.attribution.variant
                ),
            );
        }
        match event {
            Event::Follow(follow) => {
                let source = if conversion.is_some() { "popup" } else { "qr" };
                {
                    let mut profiles = lock(&self.profiles);
                    let p = profiles
                        .entry(user.clone())
                        .or_insert_with(|| Profile::new(user.clone()));
                    p.line.is_friend = Some(true);
                    p.line.blocked = Some(false);
                    p.line.friend_since = Some(self.clock.now());
                    p.line.friend_source = Some(source.to_owned());
                    p.line.id_linked.get_or_insert(false);
                }
                self.note(&user, "follow", format!("profile created (friend_source = {source})"));
                if let Some(change) = self
                    .menus
                    .handle(event)
                    .await
                    .map_err(Error::richmenu("assign on follow"))?
                {
                    let to = change.to.as_ref().and_then(|a| a.key()).unwrap_or("default");
                    self.note(&user, "follow", format!("rich menu -> {to}"));
                }
                self.reply(
                    &follow.reply_token,
                    vec![greeting(), survey()?],
                    &user,
                    "follow",
                    "greeting + survey",
                )
                .await?;
            }
            Event::Postback(pb) => {
                let Some(choice) = pb.postback.data.strip_prefix(SURVEY_PREFIX) else {
                    self.note(&user, "postback", format!("ignored postback `{}`", pb.postback.data));
                    return Ok(());
                };
                let Some((value, label)) = SURVEY_CHOICES.iter().find(|(v, _)| *v == choice) else {
                    return Err(Error::new(ErrorKind::Bot {
                        reason: format!("postback.data: unknown survey choice `{choice}`"),
                    }));
                };
                {
                    let mut profiles = lock(&self.profiles);
                    let p = profiles
                        .entry(user.clone())
                        .or_insert_with(|| Profile::new(user.clone()));
                    p.attributes.insert("interests", Value::Set(vec![(*value).to_owned()]));
                }
                self.note(&user, "postback", format!("profile: interests = [{value}]"));
                if let Some(token) = &pb.reply_token {
                    let thanks = TextMessage::new(format!("Got it: {label}. We'll keep you posted."));
                    self.reply(token, vec![thanks.into()], &user, "postback", "thanks")
                        .await?;
                }
            }
            Event::AccountLink(link) => {
                let resolved = self.link.resolve(link).await.map_err(bot_err("account link nonce"))?;
                let Some((linked_user, member)) = resolved else {
                    self.note(&user, "accountLink", "link failed on LINE's side; nothing stored");
                    return Ok(());
                };
                lock(&self.members).insert(linked_user.clone(), member.clone());
                if let Some(p) = lock(&self.profiles).get_mut(&linked_user) {
                    p.line.id_linked = Some(true);
                }
                self.note(&user, "accountLink", format!("member id {member} stored"));
                if let Some(change) = self
                    .menus
                    .handle(event)
                    .await
                    .map_err(Error::richmenu("switch on link"))?
                {
                    let from = change.from.as_ref().and_then(|a| a.key()).unwrap_or("none");
                    let to = change.to.as_ref().and_then(|a| a.key()).unwrap_or("default");
                    self.note(&user, "accountLink", format!("rich menu {from} -> {to}"));
                }
                if let Some(token) = &link.reply_token {
                    let ok = TextMessage::new(format!("Your member account {member} is linked. Welcome!"));
                    self.reply(token, vec![ok.into()], &user, "accountLink", "confirmation")
                        .await?;
                }
            }
            Event::Unfollow(_) => {
                if let Some(p) = lock(&self.profiles).get_mut(&user) {
                    p.line.blocked = Some(true);
                    p.line.is_friend = Some(false);
                }
                self.menus
                    .handle(event)
                    .await
                    .map_err(Error::richmenu("forget on unfollow"))?;
                self.note(&user, "unfollow", "profile marked blocked");
            }
            _ => {}
        }
        Ok(())
    }

    async fn reply(
        &self,
        token: &str,
        messages: Vec<Message>,
        user: &UserId,
        event: &str,
        what: &str,
    ) -> Result<(), Error> {
        let n = messages.len();
        let req = ReplyMessageRequest::new(token, messages);
        self.client
            .reply_message(&req)
            .await
            .map_err(Error::api("replyMessage"))?;
        self.note(
            user,
            event,
            format!("replied: {what} ({n} message{})", if n == 1 { "" } else { "s" }),
        );
        Ok(())
    }
}

#[derive(Clone)]
struct AppState {
    bot: Arc<ShopBot>,
    verifier: WebhookVerifier,
}

impl FromRef<AppState> for WebhookVerifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// Handles the events in order. A failure is kept for the tour and answered
/// with 500, so that LINE would redeliver.
async fn callback(State(state): State<AppState>, VerifiedEvents(request): VerifiedEvents) -> StatusCode {
    let mut status = StatusCode::OK;
    for event in &request.events {
        if let Err(e) = state.bot.handle(event).await {
            lock(&state.bot.errors).push(e);
            status = StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    status
}
