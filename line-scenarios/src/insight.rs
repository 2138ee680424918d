//! LINE's own statistics per step: every push of a send step carries the step's aggregation unit
//! (`customAggregationUnits`, see [`unit_name`]), and LINE counts per unit how many users opened
//! the message and how many opened a URL in it (`GET /v2/bot/insight/message/event/aggregation`).
//!
//! LINE's rules for a unit name: 1 to 30 characters, ASCII letters, digits and `_` only,
//! case-sensitive, one unit per request. LINE reports `null` (here `None`) for a count below 20
//! users, to keep individuals unidentifiable.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use crate::model::Scenario;

/// The longest unit name LINE takes.
pub const MAX_UNIT_NAME: usize = 30;

/// A unit name LINE would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnitNameError {
    /// Empty.
    #[error("aggregation unit name is empty")]
    Empty,
    /// Longer than 30 characters.
    #[error("aggregation unit name `{0}` is longer than 30 characters")]
    TooLong(String),
    /// A character other than ASCII letters, digits and `_`.
    #[error("aggregation unit name `{name}` has `{bad}` at {at}: only ASCII letters, digits and `_` are allowed")]
    BadChar {
        /// The name.
        name: String,
        /// The character.
        bad: char,
        /// Its character index.
        at: usize,
    },
}

/// Checks a unit name against LINE's rules (`^[a-zA-Z0-9_]{1,30}$`).
pub fn check_unit_name(name: &str) -> Result<(), UnitNameError> {
    if name.is_empty() {
        return Err(UnitNameError::Empty);
    }
    if let Some((at, bad)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return Err(UnitNameError::BadChar {
            name: name.to_owned(),
            bad,
            at,
        });
    }
    if name.len() > MAX_UNIT_NAME {
        return Err(UnitNameError::TooLong(name.to_owned()));
    }
    Ok(())
}

/// The aggregation unit of step `step_id` of scenario `scenario`: always a valid unit name, the
/// same for the same ids, different for different ones.
///
/// The form is `READABLE_HASH`: `READABLE` is `scenario_step` with every character LINE does not
/// allow replaced by `_`, cut to 21 characters; `HASH` is 8 hex digits of SHA-256 over both ids,
/// so ids that read alike (`a_b` + `c`, `a` + `b_c`, `カート` + `x`) still get their own units.
pub fn unit_name(scenario: &str, step_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(scenario.as_bytes());
    h.update([0xff]);
    h.update(step_id.as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(MAX_UNIT_NAME);
    for c in scenario.chars().chain(std::iter::once('_')).chain(step_id.chars()) {
        if out.len() == MAX_UNIT_NAME - 9 {
            break;
        }
        out.push(if c.is_ascii_alphanumeric() { c } else { '_' });
    }
    out.push('_');
    for b in &digest[..4] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// LINE's counts for one unit. `None` where LINE gave `null` (fewer than 20 users) or nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LineCounts {
    /// Users who opened the message (displayed at least one bubble): `overview.uniqueImpression`.
    pub opens: Option<u64>,
    /// Users who opened any URL in the message: `overview.uniqueClick`.
    pub clicks: Option<u64>,
}

impl LineCounts {
    /// Counts.
    pub fn new(opens: Option<u64>, clicks: Option<u64>) -> Self {
        Self { opens, clicks }
    }

    /// The counts of LINE's answer for one unit.
    pub fn from_response(r: &line_core::model::GetStatisticsPerUnitResponse) -> Self {
        let n = |x: Option<i64>| x.and_then(|v| u64::try_from(v).ok());
        Self {
            opens: n(r.overview.unique_impression),
            clicks: n(r.overview.unique_click),
        }
    }
}

/// LINE's counts per scenario and step index.
pub type LineStats = HashMap<String, BTreeMap<u16, LineCounts>>;

/// The send steps of `scenarios` with their units: `(scenario id, step index, unit name)`.
pub fn units(scenarios: &[Scenario]) -> Vec<(String, u16, String)> {
    let mut out = Vec::new();
    for s in scenarios {
        for (i, st) in s.steps.iter().enumerate() {
            if matches!(st.kind, crate::model::StepKind::Send(_)) {
                out.push((s.id.clone(), i as u16, unit_name(&s.id, &st.id)));
            }
        }
    }
    out
}

/// Reads LINE's answers saved as one JSON object `{"UNIT": <the body of GET
/// /v2/bot/insight/message/event/aggregation for UNIT>, …}` and files them under the scenario
/// steps whose unit they are. Units of no step of `scenarios` are left out. Errors name the unit.
pub fn stats_from_json(scenarios: &[Scenario], json: &str) -> Result<LineStats, String> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| format!("not a JSON object of unit names: {e}"))?;
    let mut out = LineStats::new();
    for (scenario, step, unit) in units(scenarios) {
        let Some(v) = map.get(&unit) else { continue };
        let r = <line_core::model::GetStatisticsPerUnitResponse as serde::Deserialize>::deserialize(v)
            .map_err(|e| format!("/{unit}: {e}"))?;
        out.entry(scenario)
            .or_default()
            .insert(step, LineCounts::from_response(&r));
    }
    Ok(out)
}

/// Asks LINE for the counts of every send step of `scenarios`, for messages sent from `from` to
/// `to` (dates in UTC+9, as LINE counts; at most 30 days apart, as LINE allows). One request per
/// step.
#[cfg(feature = "client")]
pub async fn fetch(
    client: &line_core::client::Client,
    scenarios: &[Scenario],
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> crate::Result<LineStats> {
    let days = from.until(to).map(|span| span.get_days()).unwrap_or(i32::MAX);
    if !(0..=30).contains(&days) {
        return Err(crate::Error::config(
            "to",
            format!("LINE counts per unit over at most 30 days; {from} to {to} is not that"),
        ));
    }
    let day = |d: jiff::civil::Date| d.strftime("%Y%m%d").to_string();
    let mut out = LineStats::new();
    for (scenario, step, unit) in units(scenarios) {
        let r = client
            .get_statistics_per_unit(&unit, &day(from), &day(to))
            .await
            .map_err(|e| crate::Error::store("getStatisticsPerUnit", format!("unit {unit}: {e}")))?;
        out.entry(scenario)
            .or_default()
            .insert(step, LineCounts::from_response(&r.body));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_are_valid_distinct_and_stable() {
        let names = [
            unit_name("cart", "remind"),
            unit_name("a_b", "c"),
            unit_name("a", "b_c"),
            unit_name("カート落ち", "リマインド"),
            unit_name("a-very-long-scenario-identifier-of-many-words", "step-with-a-long-name"),
            unit_name("", ""),
        ];
        for n in &names {
            check_unit_name(n).unwrap_or_else(|e| panic!("{e}"));
        }
        let distinct: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        assert_eq!(unit_name("cart", "remind"), names[0]);
        assert!(names[0].starts_with("cart_remind_"), "{}", names[0]);
    }

    #[test]
    fn bad_unit_names_say_why() {
        assert_eq!(check_unit_name(""), Err(UnitNameError::Empty));
        assert!(matches!(
            check_unit_name(&"a".repeat(31)),
            Err(UnitNameError::TooLong(_))
        ));
        assert!(check_unit_name(&"a".repeat(30)).is_ok());
        assert_eq!(
            check_unit_name("promo-a"),
            Err(UnitNameError::BadChar {
                name: "promo-a".into(),
                bad: '-',
                at: 5
            })
        );
        assert!(matches!(
            check_unit_name("ユニット"),
            Err(UnitNameError::BadChar { at: 0, .. })
        ));
    }
}
