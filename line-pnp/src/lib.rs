//! # line-pnp
//!
//! LINE notification messages ("PNP": messages addressed by phone number) with delivery
//! tracking and an SMS fallback.
//!
//! - [`PhoneParser`] / [`PhoneNumber`]: numbers normalised to E.164 (local numbers read
//!   in a default region, Japan unless told otherwise) and hashed with SHA-256 as LINE
//!   requires. The digits never appear in `Debug`, logs or errors.
//! - [`DeliveryTag`]: the `X-Line-Delivery-Tag` (16 to 100 characters), made from the
//!   host's own reference; LINE echoes it in the delivery completion webhook.
//! - [`Notifier`]: sends a notice through LINE, falls back to SMS (the host's
//!   [`SmsSender`]) when LINE answers 422 or refuses, or when no delivery webhook with
//!   the tag comes within the [`FallbackPolicy`]'s wait; records every outcome in a
//!   [`NoticeStore`] (in memory, SQLite with feature `sqlite`, PostgreSQL with feature
//!   `postgres`).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use line_core::model::TextMessage;
//! use line_pnp::testing::RecordingSms;
//! use line_pnp::{DeliveryTag, InMemoryNoticeStore, Notice, NoticeState, Notifier, PhoneNumber};
//!
//! // A local LINE that knows one phone number, without LINE for it: LINE answers 422.
//! let emu = line_emulator::Emulator::start().await?;
//! emu.add_phone_user(line_emulator::PhoneUser::without_line("+819011112222"));
//!
//! let sms = Arc::new(RecordingSms::new());
//! let notifier = Notifier::new(emu.client_builder().build()?, Arc::new(InMemoryNoticeStore::new()), sms.clone());
//! let notice = Notice::new(
//!     DeliveryTag::from_reference("order-10042")?,
//!     PhoneNumber::parse("090-1111-2222")?,
//!     vec![TextMessage::new("Your order 10042 has shipped.").into()],
//!     "Your order 10042 has shipped.",
//! );
//! let record = notifier.send(notice).await?;
//! assert_eq!(record.state, NoticeState::SmsSent);
//! assert_eq!(sms.sent().len(), 1);
//! # emu.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! The guide (docs/pnp.md in the repository) walks through the webhook side and the
//! sweep.

mod error;
mod notifier;
mod phone;
mod sms;
pub mod store;
mod tag;

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, ErrorKind, PhoneReason};
pub use notifier::{FallbackPolicy, Notice, Notifier, SweepReport};
pub use phone::{PhoneHash, PhoneNumber, PhoneParser, Region, MAX_INPUT_LEN};
pub use sms::{Sms, SmsError, SmsSender};
pub use store::{
    Change, DeliveryMatch, FallbackReason, InMemoryNoticeStore, Insert, NewNotice, NoticeCounts, NoticeRecord,
    NoticeState, NoticeStore, UnknownDelivery,
};
pub use tag::{DeliveryTag, MAX_REFERENCE_LEN, MAX_TAG_LEN, MIN_TAG_LEN, REFERENCE_PREFIX};
