//! A harness for end-to-end tests: the emulator, a webhook receiver that verifies
//! LINE's signature and hands delivery events to the notifier, a recording SMS gateway
//! and a manual clock for the fallback deadlines.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use line_core::clock::ManualClock;
use line_core::model::TextMessage;
use line_core::webhook::WebhookVerifier;
use line_emulator::{ChannelHandle, Emulator, EmulatorConfig, PhoneUser};
use line_pnp::testing::RecordingSms;
use line_pnp::{DeliveryMatch, DeliveryTag, FallbackPolicy, Notice, NoticeStore, Notifier, PhoneNumber};
use tokio::sync::mpsc;

/// What the receiver saw: one entry per delivery event.
pub type Seen = mpsc::UnboundedReceiver<DeliveryMatch>;

#[derive(Clone)]
struct Receiver {
    verifier: Arc<WebhookVerifier>,
    notifier: Arc<OnceLock<Notifier>>,
    seen: mpsc::UnboundedSender<DeliveryMatch>,
}

async fn callback(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers.get("x-line-signature").and_then(|v| v.to_str().ok());
    let Ok(req) = r.verifier.verify_and_parse(&body, signature) else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(notifier) = r.notifier.get() else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    match notifier.handle_events(req.events.iter()).await {
        Ok(matches) => {
            for m in matches {
                let _ = r.seen.send(m);
            }
            StatusCode::OK
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The wait for a delivery webhook in the tests (on the manual clock).
pub const WAIT: Duration = Duration::from_secs(600);

pub struct Harness {
    pub emu: Emulator,
    /// The channel the notifier sends with and the receiver verifies for (the default
    /// channel, or an added one with [`Harness::start_on_added_channel`]).
    pub channel: ChannelHandle,
    pub notifier: Notifier,
    pub sms: Arc<RecordingSms>,
    pub clock: ManualClock,
    pub seen: Seen,
}

impl Harness {
    pub async fn start(store: Arc<dyn NoticeStore>) -> Self {
        Self::start_with(store, false).await
    }

    /// The harness on a channel added besides the default one: its client, its secret.
    pub async fn start_on_added_channel(store: Arc<dyn NoticeStore>) -> Self {
        Self::start_with(store, true).await
    }

    async fn start_with(store: Arc<dyn NoticeStore>, added: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/callback", listener.local_addr().unwrap());
        let emu = Emulator::start_with(EmulatorConfig::new().webhook_url(url).channels(usize::from(added)))
            .await
            .unwrap();
        let channel = match emu.channels().first() {
            Some(added) => added.clone(),
            None => emu.default_channel(),
        };
        let (tx, seen) = mpsc::unbounded_channel();
        let cell = Arc::new(OnceLock::new());
        let receiver = Receiver {
            verifier: Arc::new(WebhookVerifier::new(channel.channel_secret())),
            notifier: Arc::clone(&cell),
            seen: tx,
        };
        let app = Router::new().route("/callback", post(callback)).with_state(receiver);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let clock = ManualClock::new("2026-12-06T09:00:00Z".parse().unwrap());
        let sms = Arc::new(RecordingSms::new());
        let notifier = Notifier::new(channel.client_builder().build().unwrap(), store, sms.clone())
            .policy(FallbackPolicy::waiting(WAIT))
            .clock(Arc::new(clock.clone()));
        let _ = cell.set(notifier.clone());
        Self {
            emu,
            channel,
            notifier,
            sms,
            clock,
            seen,
        }
    }

    /// Registers `number` (E.164) with the harness's channel as `user` and gives its parsed form.
    pub fn phone(&self, user: PhoneUser, number: &str) -> PhoneNumber {
        self.channel.add_phone_user(user).unwrap();
        PhoneNumber::parse(number).unwrap()
    }

    /// The next delivery event the receiver handled (fails after 10 s).
    pub async fn next_delivery(&mut self) -> DeliveryMatch {
        tokio::time::timeout(Duration::from_secs(10), self.seen.recv())
            .await
            .expect("a delivery webhook within 10 s")
            .expect("the receiver is running")
    }

    /// Moves the notifier's clock past the wait.
    pub fn time_out(&self) {
        self.clock
            .advance(jiff::SignedDuration::try_from(WAIT + Duration::from_secs(1)).unwrap());
    }
}

pub fn notice(reference: &str, to: &PhoneNumber) -> Notice {
    Notice::new(
        DeliveryTag::from_reference(reference).unwrap(),
        to.clone(),
        vec![TextMessage::new(format!("Your order {reference} has shipped.")).into()],
        format!("Your order {reference} has shipped."),
    )
}
