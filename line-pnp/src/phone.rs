//! Phone numbers: parsed and normalised to E.164 with the `phonenumber` crate (Google's
//! libphonenumber metadata), then hashed as LINE requires.
//!
//! LINE's notification messages address a user by the SHA-256 of their phone number in
//! E.164 form (`+818000001234`, no hyphens or spaces), written as 64 lowercase hex
//! digits. A number written the local way (`090-1234-5678`) is read in a default region:
//! Japan unless told otherwise.
//!
//! A [`PhoneNumber`] never shows its digits: its `Debug` prints `PhoneNumber(<redacted>)`
//! and it has no `Display`. Errors name the input field, never the number.

use std::fmt;
use std::str::FromStr;

use phonenumber::country;
use sha2::{Digest, Sha256};

use crate::error::{Error, PhoneReason};

/// Inputs longer than this are refused before parsing (no phone number written out,
/// with spaces, hyphens and an extension, comes close).
pub const MAX_INPUT_LEN: usize = 200;

/// A country or region whose numbering plan reads local numbers (`JP`, `TH`, `TW`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region(country::Id);

impl Region {
    /// Japan, the default.
    pub const JP: Region = Region(country::Id::JP);
    /// Thailand.
    pub const TH: Region = Region(country::Id::TH);
    /// Taiwan.
    pub const TW: Region = Region(country::Id::TW);

    /// The region of an ISO 3166-1 alpha-2 code (`"JP"`, case-insensitive).
    pub fn from_code(code: &str) -> Result<Self, Error> {
        let upper = code.trim().to_ascii_uppercase();
        country::Id::from_str(&upper).map(Region).map_err(|_| {
            Error::invalid_input(
                "region",
                "not an ISO 3166-1 alpha-2 region code known to the numbering plans",
            )
        })
    }

    /// The two-letter code.
    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

impl Default for Region {
    fn default() -> Self {
        Self::JP
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Region({})", self.code())
    }
}

/// Reads phone numbers, with local numbers taken in a default [`Region`].
///
/// ```
/// use line_pnp::{PhoneParser, Region};
///
/// let parser = PhoneParser::new(); // Japan
/// let phone = parser.parse("customers[0].phone", "080-0000-1234")?;
/// assert_eq!(phone.expose_e164(), "+818000001234");
/// // The hash LINE expects (LINE's own example):
/// assert_eq!(
///     phone.hash().as_str(),
///     "d41e0ad70dddfeb68f149ad6fc61574b9c5780ab7bcb2fba5517771ffbb2409c"
/// );
/// // Errors name the field, never the number.
/// let err = parser.parse("customers[1].phone", "090-1234").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid phone number in `customers[1].phone`: not a valid number in its country's numbering plan"
/// );
///
/// let thai = PhoneParser::new().region(Region::from_code("th")?);
/// assert_eq!(thai.parse("phone", "081 234 5678")?.expose_e164(), "+66812345678");
/// # Ok::<(), line_pnp::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PhoneParser {
    region: Region,
}

impl PhoneParser {
    /// A parser for local numbers of Japan.
    pub fn new() -> Self {
        Self::default()
    }

    /// Local numbers are read in `region`.
    #[must_use]
    pub fn region(mut self, region: Region) -> Self {
        self.region = region;
        self
    }

    /// The region local numbers are read in.
    pub fn default_region(&self) -> Region {
        self.region
    }

    /// Parses `input` (local or international, with spaces, hyphens or brackets) and
    /// checks it against its country's numbering plan. `field` names the input in the
    /// error (`phone`, `customers[3].phone`).
    pub fn parse(&self, field: &str, input: &str) -> Result<PhoneNumber, Error> {
        if input.len() > MAX_INPUT_LEN {
            return Err(Error::phone(field, PhoneReason::InputTooLong));
        }
        let parsed = phonenumber::parse(Some(self.region.0), input).map_err(|e| {
            use phonenumber::ParseError as P;
            let reason = match e {
                P::InvalidCountryCode => PhoneReason::InvalidCountryCode,
                P::TooShortAfterIdd | P::TooShortNsn => PhoneReason::TooShort,
                P::TooLong => PhoneReason::TooLong,
                _ => PhoneReason::NotANumber,
            };
            Error::phone(field, reason)
        })?;
        if parsed.extension().is_some() || !parsed.is_valid() {
            return Err(Error::phone(field, PhoneReason::NotValid));
        }
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        // The formatter's output is `+` and digits; anything else would hash wrongly.
        if !(e164.len() > 1 && e164.starts_with('+') && e164[1..].bytes().all(|b| b.is_ascii_digit())) {
            return Err(Error::phone(field, PhoneReason::NotValid));
        }
        Ok(PhoneNumber { e164 })
    }
}

/// A phone number in E.164 form (`+818000001234`). Its digits are shown only by
/// [`expose_e164`](Self::expose_e164): `Debug` prints `PhoneNumber(<redacted>)` and there
/// is no `Display`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
}

impl PhoneNumber {
    /// Parses `input` with the default parser (local numbers are Japanese); the error
    /// names the field `phone`.
    pub fn parse(input: &str) -> Result<Self, Error> {
        PhoneParser::new().parse("phone", input)
    }

    /// The number in E.164 form, for the SMS sender and the store. Never log it.
    pub fn expose_e164(&self) -> &str {
        &self.e164
    }

    /// The SHA-256 of the E.164 form, as LINE's `to` wants it.
    pub fn hash(&self) -> PhoneHash {
        PhoneHash::of_e164(&self.e164)
    }

    /// Rebuilds a number from its E.164 form as kept in a store; checked like any input.
    pub fn from_e164(field: &str, e164: &str) -> Result<Self, Error> {
        if !e164.starts_with('+') {
            return Err(Error::phone(field, PhoneReason::NotANumber));
        }
        PhoneParser::new().parse(field, e164)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneNumber(<redacted>)")
    }
}

/// The SHA-256 of an E.164 phone number as 64 lowercase hex digits: the `to` of a LINE
/// notification message. Not reversible in practice, but a phone number space is small,
/// so it is treated as personal data too: `Debug` shows only its first 8 digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneHash(String);

impl PhoneHash {
    fn of_e164(e164: &str) -> Self {
        let digest = Sha256::digest(e164.as_bytes());
        let mut hex = String::with_capacity(64);
        for b in digest {
            hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        Self(hex)
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PhoneHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneHash({}…)", &self.0[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn lines_own_example_hashes_as_documented() {
        let p = PhoneNumber::parse("+818000001234").unwrap();
        assert_eq!(p.expose_e164(), "+818000001234");
        assert_eq!(
            p.hash().as_str(),
            "d41e0ad70dddfeb68f149ad6fc61574b9c5780ab7bcb2fba5517771ffbb2409c"
        );
    }

    #[test]
    fn local_japanese_forms_normalise_to_one_e164() {
        for input in [
            "090-1234-5678",
            "09012345678",
            "090 1234 5678",
            "(090) 1234-5678",
            "+81 90 1234 5678",
            "+819012345678",
        ] {
            let p = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p.expose_e164(), "+819012345678", "{input}");
        }
        // A Tokyo landline.
        assert_eq!(
            PhoneNumber::parse("03-1234-5678").unwrap().expose_e164(),
            "+81312345678"
        );
    }

    #[test]
    fn region_is_configurable() {
        let tw = PhoneParser::new().region(Region::TW);
        assert_eq!(
            tw.parse("phone", "0912 345 678").unwrap().expose_e164(),
            "+886912345678"
        );
        assert_eq!(tw.default_region().code(), "TW");
        // International numbers ignore the default region.
        assert_eq!(
            tw.parse("phone", "+81 90-1234-5678").unwrap().expose_e164(),
            "+819012345678"
        );
        assert!(matches!(
            Region::from_code("XX").unwrap_err().kind(),
            ErrorKind::InvalidInput { field, .. } if field == "region"
        ));
        assert_eq!(Region::from_code(" jp ").unwrap(), Region::JP);
    }

    #[test]
    fn bad_numbers_are_typed_errors_naming_the_field_not_the_number() {
        let parser = PhoneParser::new();
        let cases = [
            ("", PhoneReason::NotANumber),
            ("12", PhoneReason::NotValid),
            ("hello", PhoneReason::NotANumber),
            ("090-1234", PhoneReason::NotValid),
            ("+999 1234 5678", PhoneReason::InvalidCountryCode),
            ("0901234567890123456789", PhoneReason::TooLong),
        ];
        for (input, want) in cases {
            let err = parser.parse("rows[7].tel", input).unwrap_err();
            match err.kind() {
                ErrorKind::InvalidPhoneNumber { field, reason } => {
                    assert_eq!(field, "rows[7].tel", "{input}");
                    assert_eq!(*reason, want, "{input}");
                }
                other => panic!("{input}: {other:?}"),
            }
            let shown = format!("{err} {err:?}");
            assert!(shown.contains("rows[7].tel"));
            let digits: String = input.chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 4 {
                assert!(!shown.contains(&digits), "{shown}");
                assert!(!shown.contains(input), "{shown}");
            }
        }
        let long = "1".repeat(MAX_INPUT_LEN + 1);
        assert!(matches!(
            parser.parse("phone", &long).unwrap_err().kind(),
            ErrorKind::InvalidPhoneNumber {
                reason: PhoneReason::InputTooLong,
                ..
            }
        ));
    }

    #[test]
    fn debug_never_shows_the_number() {
        let p = PhoneNumber::parse("090-1234-5678").unwrap();
        let shown = format!("{p:?} {:?} {:#?}", p.hash(), Some(&p));
        for part in ["9012345678", "1234", "5678", "+81"] {
            assert!(!shown.contains(part), "{shown}");
        }
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains(p.hash().as_str()));
    }

    #[test]
    fn from_e164_round_trips_and_refuses_local_forms() {
        let p = PhoneNumber::parse("090-1234-5678").unwrap();
        assert_eq!(PhoneNumber::from_e164("store.phone", p.expose_e164()).unwrap(), p);
        assert!(PhoneNumber::from_e164("store.phone", "09012345678").is_err());
    }
}
