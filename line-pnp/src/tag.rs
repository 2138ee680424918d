//! The `X-Line-Delivery-Tag` of a notice.
//!
//! LINE echoes the tag in the `delivery.data` of the delivery completion webhook, which
//! is how a delivery is matched to its notice. LINE's reference sets its length: 16 to
//! 100 characters. It says nothing of the characters, so this crate keeps to ones that
//! pass unchanged through any HTTP header, log line or SQL column: ASCII letters, digits
//! and `-` `_` `.` `:`.

use std::fmt;

use crate::error::Error;

/// Fewest characters in a delivery tag (LINE's reference).
pub const MIN_TAG_LEN: usize = 16;
/// Most characters in a delivery tag (LINE's reference).
pub const MAX_TAG_LEN: usize = 100;
/// What [`DeliveryTag::from_reference`] puts before the host's reference: 16 characters,
/// so that any reference of 1 character or more makes a tag long enough.
pub const REFERENCE_PREFIX: &str = "line-pnp-notice:";
/// Longest reference [`DeliveryTag::from_reference`] takes.
pub const MAX_REFERENCE_LEN: usize = MAX_TAG_LEN - REFERENCE_PREFIX.len();

/// The `X-Line-Delivery-Tag` of one notice: the notice's key everywhere (store, SMS
/// idempotency, webhook matching).
///
/// ```
/// use line_pnp::DeliveryTag;
///
/// let tag = DeliveryTag::from_reference("order-10042")?;
/// assert_eq!(tag.as_str(), "line-pnp-notice:order-10042");
/// assert_eq!(tag.reference(), Some("order-10042"));
///
/// let err = DeliveryTag::new("short").unwrap_err();
/// assert_eq!(err.to_string(), "invalid delivery tag in `delivery_tag`: 5 characters; a tag has 16 to 100");
/// # Ok::<(), line_pnp::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryTag(String);

fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')
}

fn check_chars(field: &str, s: &str) -> Result<(), Error> {
    match s.bytes().position(|b| !allowed(b)) {
        Some(i) => Err(Error::tag(
            field,
            format!(
                "character {} is not one of A-Z a-z 0-9 - _ . :",
                s[..i].chars().count() + 1
            ),
        )),
        None => Ok(()),
    }
}

impl DeliveryTag {
    /// A tag as given: 16 to 100 of `A-Z a-z 0-9 - _ . :`.
    pub fn new(tag: impl Into<String>) -> Result<Self, Error> {
        let tag = tag.into();
        Self::check("delivery_tag", &tag)?;
        Ok(Self(tag))
    }

    /// Checks a tag received from elsewhere (a webhook's `delivery.data`), naming `field`.
    pub fn parse_at(field: &str, tag: &str) -> Result<Self, Error> {
        Self::check(field, tag)?;
        Ok(Self(tag.to_owned()))
    }

    fn check(field: &str, tag: &str) -> Result<(), Error> {
        let n = tag.chars().count();
        if !(MIN_TAG_LEN..=MAX_TAG_LEN).contains(&n) {
            return Err(Error::tag(
                field,
                format!("{n} characters; a tag has {MIN_TAG_LEN} to {MAX_TAG_LEN}"),
            ));
        }
        check_chars(field, tag)
    }

    /// The tag of the host's own reference for a notice (an order or shipment number):
    /// [`REFERENCE_PREFIX`] then the reference, which must be 1 to
    /// [`MAX_REFERENCE_LEN`] of `A-Z a-z 0-9 - _ . :`. The same reference always gives
    /// the same tag, so sending a notice twice for one reference is caught by the store.
    pub fn from_reference(reference: &str) -> Result<Self, Error> {
        if reference.is_empty() || reference.len() > MAX_REFERENCE_LEN {
            return Err(Error::tag(
                "reference",
                format!(
                    "{} characters; a reference has 1 to {MAX_REFERENCE_LEN}",
                    reference.chars().count()
                ),
            ));
        }
        check_chars("reference", reference)?;
        Ok(Self(format!("{REFERENCE_PREFIX}{reference}")))
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host's reference, when the tag was made by [`from_reference`](Self::from_reference).
    pub fn reference(&self) -> Option<&str> {
        self.0.strip_prefix(REFERENCE_PREFIX)
    }

    /// The idempotency key of this notice's SMS: the same on every attempt, also after a
    /// restart, so an SMS sender that honours it sends the SMS once.
    pub fn sms_key(&self) -> String {
        format!("sms:{}", self.0)
    }
}

impl fmt::Debug for DeliveryTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeliveryTag({})", self.0)
    }
}

impl fmt::Display for DeliveryTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn reason(e: &Error) -> (&str, &str) {
        match e.kind() {
            ErrorKind::InvalidDeliveryTag { field, reason } => (field, reason),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lengths_follow_lines_reference() {
        assert!(DeliveryTag::new("a".repeat(16)).is_ok());
        assert!(DeliveryTag::new("a".repeat(100)).is_ok());
        let e = DeliveryTag::new("a".repeat(15)).unwrap_err();
        assert_eq!(reason(&e), ("delivery_tag", "15 characters; a tag has 16 to 100"));
        let e = DeliveryTag::new("a".repeat(101)).unwrap_err();
        assert_eq!(reason(&e).0, "delivery_tag");
    }

    #[test]
    fn characters_are_checked_and_the_position_named() {
        let e = DeliveryTag::new("order 0000000000001").unwrap_err();
        assert_eq!(
            reason(&e),
            ("delivery_tag", "character 6 is not one of A-Z a-z 0-9 - _ . :")
        );
        let e = DeliveryTag::new("注文-0000000000000001").unwrap_err();
        assert_eq!(reason(&e).1, "character 1 is not one of A-Z a-z 0-9 - _ . :");
        assert!(DeliveryTag::new("Order_2026-12.06:0001").is_ok());
    }

    #[test]
    fn references_make_tags_and_come_back() {
        let t = DeliveryTag::from_reference("A").unwrap();
        assert_eq!(t.as_str().len(), 17);
        assert_eq!(t.reference(), Some("A"));
        assert!(DeliveryTag::new(t.as_str()).is_ok());
        let longest = "r".repeat(MAX_REFERENCE_LEN);
        assert_eq!(
            DeliveryTag::from_reference(&longest).unwrap().as_str().len(),
            MAX_TAG_LEN
        );
        assert_eq!(
            reason(&DeliveryTag::from_reference(&format!("{longest}r")).unwrap_err()).0,
            "reference"
        );
        assert_eq!(reason(&DeliveryTag::from_reference("").unwrap_err()).0, "reference");
        assert_eq!(reason(&DeliveryTag::from_reference("a/b").unwrap_err()).0, "reference");
        assert_eq!(DeliveryTag::new("x".repeat(20)).unwrap().reference(), None);
        assert_eq!(t.sms_key(), "sms:line-pnp-notice:A");
    }
}
