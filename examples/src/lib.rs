//! # line-examples
//!
//! Runnable examples of the line-rs crates. The library holds what the
//! examples share, so that tests can run it:
//!
//! - [`tour`]: the whole journey on the embedded emulator
//!   (`cargo run -p line-examples --example tour`), with step 7 in [`tour_scenarios`]
//!   and step 8 (notification messages by phone number) in [`tour_pnp`];
//! - [`bot`]: the shop's webhook bot the tour runs;
//! - [`deliver`]: the tour's sending bot as a process of its own (`--emulator URL`),
//!   resumable across a crash on a durable store;
//! - [`live`]: the tour's `--live` mode against the real API (dry run first);
//! - [`membership`]: a membership card in LIFF (ID token, member, tier from line-segments);
//! - [`stores`]: the `--store` flag: every host store in memory, in SQLite or in PostgreSQL;
//! - [`table`]: headings and tables for readable output.

pub mod bot;
pub mod deliver;
pub mod error;
pub mod live;
pub mod membership;
pub mod stores;
pub mod table;
pub mod tour;
pub mod tour_pnp;
pub mod tour_scenarios;

pub use error::{Error, ErrorKind};

/// The guides under `docs/`, compiled and run as doc tests: every ```rust
/// block in them is a test (`no_run` for the ones that need the network).
#[cfg(doctest)]
pub mod docs {
    #[doc = include_str!("../../docs/getting-started.md")]
    pub struct GettingStarted;
    #[doc = include_str!("../../docs/webhooks.md")]
    pub struct Webhooks;
    #[doc = include_str!("../../docs/sending-safely.md")]
    pub struct SendingSafely;
    #[doc = include_str!("../../docs/host-traits.md")]
    pub struct HostTraits;
    #[doc = include_str!("../../docs/formats.md")]
    pub struct Formats;
    #[doc = include_str!("../../docs/accounts.md")]
    pub struct Accounts;
    #[doc = include_str!("../../docs/line-core.md")]
    pub struct LineCore;
    #[doc = include_str!("../../docs/line-flex.md")]
    pub struct LineFlex;
    #[doc = include_str!("../../docs/line-segments.md")]
    pub struct LineSegments;
    #[doc = include_str!("../../docs/line-richmenu.md")]
    pub struct LineRichmenu;
    #[doc = include_str!("../../docs/line-popup.md")]
    pub struct LinePopup;
    #[doc = include_str!("../../docs/line-scenarios.md")]
    pub struct LineScenarios;
    #[doc = include_str!("../../docs/line-login.md")]
    pub struct LineLogin;
    #[doc = include_str!("../../docs/liff-membership.md")]
    pub struct LiffMembership;
    #[doc = include_str!("../../docs/pnp.md")]
    pub struct Pnp;
    #[doc = include_str!("../../docs/line-emulator.md")]
    pub struct LineEmulator;
    #[doc = include_str!("../../docs/line-cli.md")]
    pub struct LineCli;
}
