//! Property tests of phone-number parsing and delivery tags: any input gives a value or a
//! typed error naming the field (never a panic), an accepted number is E.164 and parses
//! back to itself, and an error never quotes the digits it was given.

use line_pnp::{DeliveryTag, ErrorKind, PhoneNumber, PhoneParser, Region};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_input_is_a_number_or_a_typed_error(input in "\\PC{0,40}|[0-9 +()\\-]{0,24}") {
        for region in [Region::JP, Region::TH, Region::TW] {
            match PhoneParser::new().region(region).parse("rows[3].phone", &input) {
                Ok(p) => {
                    let e164 = p.expose_e164();
                    prop_assert!(e164.starts_with('+') && e164[1..].bytes().all(|b| b.is_ascii_digit()));
                    prop_assert_eq!(PhoneNumber::from_e164("again", e164).unwrap(), p.clone());
                    prop_assert_eq!(p.hash().as_str().len(), 64);
                }
                Err(e) => {
                    let is_phone_error = matches!(e.kind(), ErrorKind::InvalidPhoneNumber { field, .. } if field == "rows[3].phone");
                    prop_assert!(is_phone_error);
                    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
                    if digits.len() >= 5 {
                        let shown = format!("{e} {e:?}");
                        prop_assert!(!shown.contains(&digits), "{}", shown);
                    }
                }
            }
        }
    }

    #[test]
    fn japanese_mobiles_in_any_layout_agree(n in 10_000_000u32..99_999_999, sep in "[ \\-]?") {
        let digits = format!("{n:08}");
        let local = format!("090{sep}{}{sep}{}", &digits[..4], &digits[4..]);
        let international = format!("+81 90 {} {}", &digits[..4], &digits[4..]);
        let a = PhoneNumber::parse(&local).unwrap();
        let b = PhoneNumber::parse(&international).unwrap();
        prop_assert_eq!(a.expose_e164(), format!("+8190{digits}"));
        prop_assert_eq!(a.hash(), b.hash());
    }

    #[test]
    fn tags_are_checked_not_trusted(tag in "\\PC{0,120}") {
        match DeliveryTag::new(tag.clone()) {
            Ok(t) => {
                let n = tag.chars().count();
                prop_assert!((16..=100).contains(&n));
                prop_assert!(t.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)));
            }
            Err(e) => {
                let is_tag_error = matches!(e.kind(), ErrorKind::InvalidDeliveryTag { field, .. } if field == "delivery_tag");
                prop_assert!(is_tag_error);
            }
        }
    }
}
