//! A Rust builder for scenarios. It produces the same [`Scenario`] value as the JSON form.
//!
//! ```
//! use line_scenarios::builder::{steps, ScenarioBuilder};
//! use line_scenarios::model::{Condition, EventMatch, Goal, Send, Trigger};
//! use line_core::model::TextMessage;
//!
//! let built = ScenarioBuilder::new("cart")
//!     .trigger(Trigger::Event(EventMatch::named("cart_updated")))
//!     .step(steps::wait_for("wait", "1h"))
//!     .step(steps::branch("bought", Condition::EventSinceEntry(EventMatch::named("purchase")), "end", "remind"))
//!     .step(steps::send("remind", Send::messages(vec![TextMessage::new("Still thinking about it?").into()])))
//!     .step(steps::exit("end"))
//!     .goal(Goal::event("purchase", Some("amount")))
//!     .build();
//!
//! let parsed = line_scenarios::json::from_str(r#"{
//!   "id": "cart",
//!   "trigger": {"event": {"name": "cart_updated"}},
//!   "steps": [
//!     {"id": "wait", "wait": {"for": "1h"}},
//!     {"id": "bought", "if": {"event_since_entry": {"name": "purchase"}}, "then": "end", "else": "remind"},
//!     {"id": "remind", "send": {"messages": [{"type": "text", "text": "Still thinking about it?"}]}},
//!     {"id": "end", "exit": {}}
//!   ],
//!   "goals": [{"event": "purchase", "revenue": "amount"}]
//! }"#).unwrap();
//! assert_eq!(built, parsed);
//! ```

use line_segments::Segment;

use crate::model::*;

/// Builds a [`Scenario`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ScenarioBuilder {
    scenario: Scenario,
}

impl ScenarioBuilder {
    /// A scenario with this id, triggered on follow until [`trigger`](Self::trigger) says otherwise.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            scenario: Scenario {
                id: id.into(),
                name: None,
                priority: 0,
                time_zone: None,
                trigger: Trigger::Follow { source: None },
                entry: Entry::default(),
                steps: Vec::new(),
                goals: Vec::new(),
            },
        }
    }

    /// Sets the display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.scenario.name = Some(name.into());
        self
    }

    /// Sets the priority for the contact budget (higher wins).
    pub fn priority(mut self, priority: i32) -> Self {
        self.scenario.priority = priority;
        self
    }

    /// Sets the time zone (IANA name).
    pub fn time_zone(mut self, tz: impl Into<String>) -> Self {
        self.scenario.time_zone = Some(tz.into());
        self
    }

    /// Sets the trigger.
    pub fn trigger(mut self, trigger: Trigger) -> Self {
        self.scenario.trigger = trigger;
        self
    }

    /// Sets the entry segment.
    pub fn entry_segment(mut self, segment: Segment) -> Self {
        self.scenario.entry.segment = Some(segment);
        self
    }

    /// Sets the re-entry rule.
    pub fn reentry(mut self, reentry: Reentry) -> Self {
        self.scenario.entry.reentry = reentry;
        self
    }

    /// Appends a step.
    pub fn step(mut self, step: Step) -> Self {
        self.scenario.steps.push(step);
        self
    }

    /// Appends a goal.
    pub fn goal(mut self, goal: Goal) -> Self {
        self.scenario.goals.push(goal);
        self
    }

    /// The scenario (not validated: call [`crate::validate::validate`]).
    pub fn build(self) -> Scenario {
        self.scenario
    }
}

/// Short constructors of steps.
pub mod steps {
    use super::*;

    /// A wait of a duration such as `"1h"` or `"7d"`.
    ///
    /// # Panics
    /// When `duration` is not a valid duration literal (a programming error).
    pub fn wait_for(id: &str, duration: &str) -> Step {
        let w = line_segments::Window::parse(duration)
            .unwrap_or_else(|| panic!("invalid duration literal `{duration}` in the builder"));
        Step::new(id, StepKind::Wait(Wait::For(w)))
    }

    /// A wait until a local time of day.
    pub fn wait_until_time(id: &str, time: jiff::civil::Time) -> Step {
        Step::new(id, StepKind::Wait(Wait::UntilTime(time)))
    }

    /// A wait until a local date and time.
    pub fn wait_until(id: &str, at: jiff::civil::DateTime) -> Step {
        Step::new(id, StepKind::Wait(Wait::Until(at)))
    }

    /// A branch.
    pub fn branch(id: &str, condition: Condition, then: &str, otherwise: &str) -> Step {
        Step::new(
            id,
            StepKind::Branch {
                condition,
                then: then.to_owned(),
                otherwise: otherwise.to_owned(),
            },
        )
    }

    /// A send.
    pub fn send(id: &str, send: Send) -> Step {
        Step::new(id, StepKind::Send(send))
    }

    /// A split over `(weight, next)` arms.
    pub fn split(id: &str, arms: &[(u32, &str)]) -> Step {
        Step::new(
            id,
            StepKind::Split(
                arms.iter()
                    .map(|(weight, next)| SplitArm {
                        weight: *weight,
                        next: (*next).to_owned(),
                    })
                    .collect(),
            ),
        )
    }

    /// An action.
    pub fn act(id: &str, act: Act) -> Step {
        Step::new(id, StepKind::Act(act))
    }

    /// An exit.
    pub fn exit(id: &str) -> Step {
        Step::new(id, StepKind::Exit)
    }
}
