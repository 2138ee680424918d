#![doc = include_str!("../README.md")]

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
