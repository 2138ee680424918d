//! Scenario files (one JSON object or an array of them): parsing and validation never
//! panic; every shape error carries a JSON pointer; a parsed scenario prints as
//! JSON that parses back equal, with the same validation findings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_scenarios::error::ErrorKind;
use line_scenarios::json;
use line_scenarios::validate::{validate, validate_all, Options};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let scenarios = match json::many_from_str(text) {
        Ok(s) => s,
        Err(e) => {
            // A shape error names a JSON pointer.
            if let ErrorKind::Json { pointer, .. } = e.kind() {
                assert!(
                    pointer.is_empty() || pointer.starts_with('/'),
                    "bad pointer {pointer:?}"
                );
            }
            return;
        }
    };
    let options = Options::default().with_scenarios(scenarios.iter().map(|s| s.id.clone()));
    // Cross-scenario validation must not panic either.
    let _ = validate_all(&scenarios, &options);
    for scenario in &scenarios {
        let findings = validate(scenario, &options);
        for problem in &findings {
            assert!(
                problem.pointer.is_empty() || problem.pointer.starts_with('/'),
                "bad pointer {problem:?}"
            );
        }
        let printed = json::to_string_pretty(scenario);
        let again = json::from_str(&printed)
            .unwrap_or_else(|e| panic!("a printed scenario does not parse back ({e}): {printed}"));
        assert_eq!(&again, scenario, "the scenario changed on the round trip: {printed}");
        assert_eq!(validate(&again, &options), findings);
        assert_eq!(json::to_value(&again), json::to_value(scenario));
    }
});
