#![doc = include_str!("../README.md")]

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
