//! # line-richmenu
//!
//! Rich menus as code for LINE Official Accounts: declare menus (in code, JSON or TOML),
//! validate them, deploy them, and keep every user on the menu an ordered policy gives them
//! (ID-linked or not, segment, store, campaign period).
//!
//! - [`menu`]: definitions ([`MenuDef`]), images, files, and the content hash.
//! - [`validate`]: LINE's rules, each finding naming its JSON pointer.
//! - [`RichMenus::deploy`]: makes LINE hold exactly the declared set. Each menu is keyed by a
//!   SHA-256 of its definition and image. Missing menus are created and their images
//!   uploaded, and aliases are pointed at them. Users move off superseded menus in one batch
//!   job, and then those menus are deleted. Deploy stays under 1,000 menus and 100 creates and
//!   deletes an hour, and keeps key → richMenuId in a [`MenuStore`]. A second run makes no
//!   write.
//! - [`Policy`]: ordered rules and a default.
//! - [`RichMenus::reconcile`]: applies the difference between wanted and current assignments
//!   (an [`AssignmentStore`]) in bulk calls of 500 and batch jobs, from a journal, so that a
//!   crash resumes without linking anyone twice.
//! - [`EventHandler`]: follow, accountLink, unfollow, and "member unlinked".
//! - Stores: in memory ([`store`]), in a SQLite file (`sqlite_store`, feature `sqlite`) or
//!   in PostgreSQL (`postgres_store`, feature `postgres`).
//!
//! ```no_run
//! use std::sync::Arc;
//! use line_richmenu::{Condition, MenuSet, Policy, RichMenus};
//! use line_richmenu::store::{InMemoryAssignmentStore, InMemoryMenuStore, UserContext};
//!
//! # async fn run() -> Result<(), line_richmenu::Error> {
//! let set = MenuSet::load("menus/menus.json".as_ref())?;
//! let client = line_core::client::Client::new("CHANNEL_ACCESS_TOKEN");
//! let rm = RichMenus::new(client, Arc::new(InMemoryMenuStore::new()), Arc::new(InMemoryAssignmentStore::new()));
//! rm.deploy(&set).await?;
//! let policy = Policy::new("guest").rule("members", Condition::Linked(true), "member");
//! let report = rm.reconcile(&policy, [UserContext::new("U0123").linked(true)]).await?;
//! println!("{:?}", report.moved);
//! # Ok(()) }
//! ```

pub mod engine;
pub mod error;
pub mod events;
mod finding;
pub mod menu;
pub mod policy;
#[cfg(feature = "postgres")]
pub mod postgres_store;
pub mod scheduler;
pub mod segments;
#[cfg(feature = "sqlite")]
pub mod sqlite_store;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod validate;

pub use engine::{Calls, DeployReport, Failure, Options, ReconcileReport, RichMenus};
pub use error::{Error, ErrorKind};
pub use events::{Change, EventHandler, Reason};
pub use menu::{AreaDef, Bounds, Image, ImageFormat, Menu, MenuDef, MenuSet, MenuSize};
pub use policy::{Condition, Decision, Policy, Rule, SegmentCondition, Segments, Target, DEFAULT_MENU};
pub use store::{AssignmentStore, MenuStore, UserDirectory};
pub use validate::{validate_set, Finding, Severity};

/// Reads a definition file and validates it: what `linectl richmenu validate` prints.
/// `Err` only when the file cannot be read or parsed; problems with the menus (an
/// unreadable image included) are findings.
pub fn check_file(path: &std::path::Path) -> Result<Vec<Finding>, Error> {
    let set = MenuSet::load(path)?;
    Ok(validate_set(&set))
}
