//! Typed value grammars of Flex properties: sizes, spacings, offsets, corner
//! radii, border widths, colours, aspect ratios and angles.
//!
//! The builders take these types and write their exact text into the
//! `line_model` Flex types, whose properties are plain strings; the validator
//! reads those strings back with the same grammars. Every value keeps the
//! exact text it was made from, so `"-2px"`, `"0px"` and `"#03303Acc"` print
//! byte for byte. [`FromStr`] is strict.
//!
//! ```
//! use line_flex::value::{px, pct, Color, Space, Spacing, Offset};
//!
//! let margin: Spacing = Space::Md.into();
//! assert_eq!(margin.as_str(), "md");
//! assert_eq!(Offset::from(px(-2)).as_str(), "-2px");
//! assert_eq!("#03303Acc".parse::<Color>().unwrap().as_str(), "#03303Acc");
//! assert_eq!(pct(70).as_str(), "70%");
//! assert!("12pt".parse::<Spacing>().is_err());
//! ```

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::error::Error;
use crate::limits::{MAX_ASPECT_RATIO_HEIGHT_FACTOR, MAX_ASPECT_RATIO_TERM};
use crate::validate::Cx;

type Raw = Cow<'static, str>;

/// `Display`, `Serialize` (as a string) and `Into<String>` for a type with
/// an `as_str`: the exact text it was made from.
macro_rules! text_impls {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_owned()
            }
        }
    };
}

/// Defines an open keyword enum: the keywords LINE documents plus
/// `Unknown(String)`, printed exactly as LINE spells them.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $var:ident = $s:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $var, )*
            /// A keyword this crate does not know, kept verbatim (`validate()` reports it).
            Unknown(String),
        }

        impl $name {
            /// Every keyword LINE documents, as LINE spells it.
            pub const KNOWN: &'static [&'static str] = &[$($s),*];

            /// The keyword as LINE spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$var => $s, )*
                    Self::Unknown(s) => s,
                }
            }

            /// Reads a keyword; one this crate does not know is kept in `Unknown`.
            pub fn from_keyword(s: &str) -> Self {
                match s {
                    $( $s => Self::$var, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            pub(crate) fn from_owned(s: String) -> Self {
                match s.as_str() {
                    $( $s => Self::$var, )*
                    _ => Self::Unknown(s),
                }
            }

            /// Whether this is a keyword LINE documents.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match Self::from_keyword(s) {
                    Self::Unknown(_) => Err(Error::invalid_value(s, concat!("one of: ", $($s, " "),*))),
                    known => Ok(known),
                }
            }
        }

        text_impls!($name);
    };
}

/// Parses LINE's number syntax: an optional `-`, digits, and optional decimals.
fn parse_number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    s.parse().ok()
}

macro_rules! raw_value {
    ($(#[$meta:meta])* $name:ident, $expected:literal) => {
        raw_value!(@base $(#[$meta])* $name, $expected);

        impl $name {
            pub(crate) fn check(&self, cx: &mut Cx<'_>) {
                if !self.is_valid() {
                    cx.error(format!("invalid value {:?}: expected {}", self.as_str(), $expected));
                }
            }
        }
    };
    // The type writes its own `Check`.
    (@base $(#[$meta:meta])* $name:ident, $expected:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name {
            raw: Raw,
        }

        impl $name {
            /// The exact text of the value.
            pub fn as_str(&self) -> &str {
                &self.raw
            }

            pub(crate) fn from_raw(raw: impl Into<Raw>) -> Self {
                Self { raw: raw.into() }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.raw)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.raw)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.raw.into_owned()
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                let v = Self::from_raw(s.to_owned());
                if v.is_valid() {
                    Ok(v)
                } else {
                    Err(Error::invalid_value(s, $expected))
                }
            }
        }
    };
}

raw_value!(
    /// A length in pixels, such as `"20px"`, `"1.5px"` or (for offsets) `"-2px"`.
    Px,
    "a non-negative number followed by px, such as 20px"
);

impl Px {
    /// A whole number of pixels. Negative values are only valid in offsets.
    pub fn new(px: i32) -> Self {
        Self::from_raw(format!("{px}px"))
    }

    /// The number of pixels, or `None` if the text does not match the grammar.
    pub fn value(&self) -> Option<f64> {
        self.raw.strip_suffix("px").and_then(parse_number)
    }

    fn is_valid(&self) -> bool {
        // On its own (`lineSpacing`) a length cannot be negative; offsets hold px in `Offset`.
        self.value().is_some_and(|v| v >= 0.0)
    }

    fn matches(s: &str) -> bool {
        s.strip_suffix("px").and_then(parse_number).is_some()
    }
}

/// Shorthand for [`Px::new`].
pub fn px(px: i32) -> Px {
    Px::new(px)
}

raw_value!(
    /// A percentage, such as `"70%"` or `"12.5%"`.
    Percent,
    "a number followed by %, such as 50%"
);

impl Percent {
    /// A whole percentage.
    pub fn new(percent: i32) -> Self {
        Self::from_raw(format!("{percent}%"))
    }

    /// The percentage, or `None` if the text does not match the grammar.
    pub fn value(&self) -> Option<f64> {
        self.raw.strip_suffix('%').and_then(parse_number)
    }

    fn is_valid(&self) -> bool {
        self.value().is_some()
    }

    fn matches(s: &str) -> bool {
        s.strip_suffix('%').and_then(parse_number).is_some()
    }
}

/// Shorthand for [`Percent::new`].
pub fn pct(percent: i32) -> Percent {
    Percent::new(percent)
}

raw_value!(
    /// A colour: `#RRGGBB` or `#RRGGBBAA`, with the letter case kept as written.
    Color,
    "#RRGGBB or #RRGGBBAA"
);

const fn is_color(s: &[u8]) -> bool {
    if !(s.len() == 7 || s.len() == 9) || s[0] != b'#' {
        return false;
    }
    let mut i = 1;
    while i < s.len() {
        if !s[i].is_ascii_hexdigit() {
            return false;
        }
        i += 1;
    }
    true
}

impl Color {
    /// An opaque colour, printed as lowercase `#rrggbb`.
    pub fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self::from_raw(format!("#{r:02x}{g:02x}{b:02x}"))
    }

    /// A colour with alpha, printed as lowercase `#rrggbbaa`.
    pub fn rgba(r: u8, g: u8, b: u8, a: u8) -> Self {
        Self::from_raw(format!("#{r:02x}{g:02x}{b:02x}{a:02x}"))
    }

    /// A colour from a literal in the source code, such as `"#06C755"`.
    ///
    /// # Panics
    ///
    /// If the literal is not `#RRGGBB` or `#RRGGBBAA` (in a `const` this is a
    /// compile error). For text from outside the program use [`str::parse`].
    pub const fn from_static(hex: &'static str) -> Self {
        assert!(is_color(hex.as_bytes()), "a colour must be #RRGGBB or #RRGGBBAA");
        Self {
            raw: Cow::Borrowed(hex),
        }
    }

    fn is_valid(&self) -> bool {
        is_color(self.raw.as_bytes())
    }
}

raw_value!(
    @base
    /// An aspect ratio `{width}:{height}`, each from 1 to 100000, with the
    /// height at most three times the width.
    ///
    /// LINE's reference asks for whole numbers, but LINE itself has used
    /// `1.51:1` and `1.91:1` in its examples and once listed them among its
    /// fixed values, and accepts them: a term with decimals parses, and
    /// `validate()` only warns, suggesting the whole-number ratio
    /// (`191:100`).
    AspectRatio,
    "{width}:{height} with numbers from 1 to 100000 (whole numbers preferred) and height at most 3 times width"
);

/// A positive decimal term of an aspect ratio: digits, and optional `.digits`.
fn ratio_term(s: &str) -> Option<f64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    if int.is_empty() || frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl AspectRatio {
    /// `width:height`.
    pub fn new(width: u32, height: u32) -> Self {
        Self::from_raw(format!("{width}:{height}"))
    }

    /// The two terms, or `None` if the text is not two whole numbers joined by `:`.
    pub fn terms(&self) -> Option<(u32, u32)> {
        let (w, h) = self.raw.split_once(':')?;
        if w.is_empty() || h.is_empty() || !w.bytes().chain(h.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((w.parse().ok()?, h.parse().ok()?))
    }

    /// The two terms as numbers, decimals included (`1.91:1`), or `None` if the text is not two
    /// numbers joined by `:`.
    pub fn ratio(&self) -> Option<(f64, f64)> {
        let (w, h) = self.raw.split_once(':')?;
        Some((ratio_term(w)?, ratio_term(h)?))
    }

    /// The same ratio in whole numbers, in lowest terms (`1.91:1` is `191:100`, `1.5:1` is
    /// `3:2`), when both fit LINE's range.
    pub fn whole(&self) -> Option<(u32, u32)> {
        let (w, h) = self.raw.split_once(':')?;
        ratio_term(w)?;
        ratio_term(h)?;
        let decimals = |t: &str| t.split_once('.').map_or(0, |(_, f)| f.len());
        let places = u32::try_from(decimals(w).max(decimals(h))).ok()?;
        let scale = |t: &str| -> Option<u128> {
            let (int, frac) = t.split_once('.').unwrap_or((t, ""));
            let digits = format!("{int}{frac:0<width$}", width = places as usize);
            digits.parse().ok()
        };
        let (w, h) = (scale(w)?, scale(h)?);
        let g = gcd(w, h).max(1);
        let (w, h) = (u32::try_from(w / g).ok()?, u32::try_from(h / g).ok()?);
        let max = MAX_ASPECT_RATIO_TERM;
        ((1..=max).contains(&w) && (1..=max).contains(&h)).then_some((w, h))
    }

    /// Why LINE would reject this ratio, if it would.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        let Some((w, h)) = self.ratio() else {
            return Some("not of the form {width}:{height} with numbers");
        };
        let range = 1.0..=f64::from(MAX_ASPECT_RATIO_TERM);
        if !range.contains(&w) || !range.contains(&h) {
            return Some("width and height must each be from 1 to 100000");
        }
        if h > w * f64::from(MAX_ASPECT_RATIO_HEIGHT_FACTOR) {
            return Some("the height may be at most 3 times the width");
        }
        None
    }

    fn is_valid(&self) -> bool {
        self.problem().is_none()
    }
}

impl AspectRatio {
    pub(crate) fn check(&self, cx: &mut Cx<'_>) {
        if let Some(problem) = self.problem() {
            cx.error(format!("invalid value {:?}: {problem}", self.as_str()));
        } else if self.terms().is_none() {
            let hint = match self.whole() {
                Some((w, h)) => format!("; write {w}:{h}"),
                None => String::new(),
            };
            cx.warn(format!(
                "aspect ratio {:?} has decimals; LINE's reference asks for whole numbers{hint}",
                self.as_str()
            ));
        }
    }
}

raw_value!(
    /// A gradient angle, such as `"90deg"` or `"22.5deg"`.
    Angle,
    "a number of degrees followed by deg, such as 90deg"
);

impl Angle {
    /// A whole number of degrees.
    pub fn deg(degrees: u32) -> Self {
        Self::from_raw(format!("{degrees}deg"))
    }

    /// The angle in degrees, or `None` if the text does not match the grammar.
    pub fn degrees(&self) -> Option<f64> {
        self.raw.strip_suffix("deg").and_then(parse_number)
    }

    fn is_valid(&self) -> bool {
        self.degrees().is_some()
    }
}

open_enum! {
    /// The spacing keywords shared by `spacing`, `margin`, `padding*`,
    /// `offset*` and `cornerRadius`.
    pub enum Space {
        /// `none`
        None = "none",
        /// `xs`
        Xs = "xs",
        /// `sm`
        Sm = "sm",
        /// `md`
        Md = "md",
        /// `lg`
        Lg = "lg",
        /// `xl`
        Xl = "xl",
        /// `xxl`
        Xxl = "xxl",
    }
}

open_enum! {
    /// Keywords of a box's `borderWidth`.
    pub enum BorderKeyword {
        /// `none`
        None = "none",
        /// `light`
        Light = "light",
        /// `normal`
        Normal = "normal",
        /// `medium`
        Medium = "medium",
        /// `semi-bold`
        SemiBold = "semi-bold",
        /// `bold`
        Bold = "bold",
    }
}

open_enum! {
    /// Size keywords of icons, text and spans.
    pub enum SizeKeyword {
        /// `xxs`
        Xxs = "xxs",
        /// `xs`
        Xs = "xs",
        /// `sm`
        Sm = "sm",
        /// `md`
        Md = "md",
        /// `lg`
        Lg = "lg",
        /// `xl`
        Xl = "xl",
        /// `xxl`
        Xxl = "xxl",
        /// `3xl`
        X3l = "3xl",
        /// `4xl`
        X4l = "4xl",
        /// `5xl`
        X5l = "5xl",
    }
}

open_enum! {
    /// Size keywords of images: the [`SizeKeyword`]s plus `full`.
    pub enum ImageSizeKeyword {
        /// `xxs`
        Xxs = "xxs",
        /// `xs`
        Xs = "xs",
        /// `sm`
        Sm = "sm",
        /// `md`
        Md = "md",
        /// `lg`
        Lg = "lg",
        /// `xl`
        Xl = "xl",
        /// `xxl`
        Xxl = "xxl",
        /// `3xl`
        X3l = "3xl",
        /// `4xl`
        X4l = "4xl",
        /// `5xl`
        X5l = "5xl",
        /// `full`
        Full = "full",
    }
}

/// Defines a grammar of a keyword set plus units (px, %).
macro_rules! grammar {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { keyword: $kw:ident, units: [$($unit:ident),*], negative: $neg:literal, expected: $exp:literal }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            /// A keyword (an unknown one is kept in the keyword's `Unknown` case).
            Keyword($kw),
            $(
                #[doc = concat!("A value in ", stringify!($unit), ".")]
                $unit($unit),
            )*
        }

        impl $name {
            /// The exact text of the value.
            pub fn as_str(&self) -> &str {
                match self {
                    Self::Keyword(k) => k.as_str(),
                    $( Self::$unit(u) => u.as_str(), )*
                }
            }

            pub(crate) fn lenient(s: String) -> Self {
                $(
                    if $unit::matches(&s) {
                        return Self::$unit($unit::from_raw(s));
                    }
                )*
                Self::Keyword($kw::from_owned(s))
            }

            /// Why LINE would reject this value, if it would.
            fn problem(&self) -> Option<&'static str> {
                match self {
                    Self::Keyword($kw::Unknown(_)) => Some($exp),
                    Self::Keyword(_) => None,
                    $(
                        Self::$unit(u) => match u.value() {
                            None => Some($exp),
                            Some(v) if v < 0.0 && !$neg => Some("the value must not be negative"),
                            Some(_) => None,
                        },
                    )*
                }
            }
        }

        impl From<$kw> for $name {
            fn from(k: $kw) -> Self {
                Self::Keyword(k)
            }
        }

        $(
            impl From<$unit> for $name {
                fn from(u: $unit) -> Self {
                    Self::$unit(u)
                }
            }
        )*

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                let v = Self::lenient(s.to_owned());
                match v.problem() {
                    None => Ok(v),
                    Some(_) => Err(Error::invalid_value(s, $exp)),
                }
            }
        }

        text_impls!($name);

        impl $name {
            pub(crate) fn check(&self, cx: &mut Cx<'_>) {
                if let Some(problem) = self.problem() {
                    cx.error(format!("invalid value {:?}: {}", self.as_str(), problem));
                }
            }
        }
    };
}

grammar! {
    /// `spacing` of a box, `margin` of any component and `cornerRadius` of a
    /// box: a [`Space`] keyword or px.
    pub enum Spacing { keyword: Space, units: [Px], negative: false,
        expected: "expected a keyword (none, xs, sm, md, lg, xl, xxl) or px" }
}

grammar! {
    /// `paddingAll`, `paddingTop`, `paddingBottom`, `paddingStart` and
    /// `paddingEnd` of a box: a [`Space`] keyword, px or %.
    pub enum Padding { keyword: Space, units: [Px, Percent], negative: false,
        expected: "expected a keyword (none, xs, sm, md, lg, xl, xxl), px or %" }
}

grammar! {
    /// `offsetTop`, `offsetBottom`, `offsetStart` and `offsetEnd`: a [`Space`]
    /// keyword, px or %. Negative values are allowed (`"-2px"`).
    pub enum Offset { keyword: Space, units: [Px, Percent], negative: true,
        expected: "expected a keyword (none, xs, sm, md, lg, xl, xxl), px or %" }
}

grammar! {
    /// `borderWidth` of a box: a [`BorderKeyword`] or px.
    pub enum BorderWidth { keyword: BorderKeyword, units: [Px], negative: false,
        expected: "expected a keyword (none, light, normal, medium, semi-bold, bold) or px" }
}

grammar! {
    /// `size` of an image: an [`ImageSizeKeyword`] (including `full`), px or %.
    pub enum ImageSize { keyword: ImageSizeKeyword, units: [Px, Percent], negative: false,
        expected: "expected a keyword (xxs … 5xl, full), px or %" }
}

grammar! {
    /// `size` of an icon: a [`SizeKeyword`], px or %.
    pub enum IconSize { keyword: SizeKeyword, units: [Px, Percent], negative: false,
        expected: "expected a keyword (xxs … 5xl), px or %" }
}

grammar! {
    /// `size` of a text or span: a [`SizeKeyword`] or px.
    pub enum FontSize { keyword: SizeKeyword, units: [Px], negative: false,
        expected: "expected a keyword (xxs … 5xl) or px" }
}

/// `width`, `maxWidth`, `height` and `maxHeight` of a box: px or %.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Length {
    /// A value in px.
    Px(Px),
    /// A value in %.
    Percent(Percent),
    /// Text that is neither, kept verbatim (`validate()` reports it).
    Invalid(String),
}

impl Length {
    /// The exact text of the value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Px(v) => v.as_str(),
            Self::Percent(v) => v.as_str(),
            Self::Invalid(s) => s,
        }
    }

    pub(crate) fn lenient(s: String) -> Self {
        if Px::matches(&s) {
            Self::Px(Px::from_raw(s))
        } else if Percent::matches(&s) {
            Self::Percent(Percent::from_raw(s))
        } else {
            Self::Invalid(s)
        }
    }

    fn problem(&self) -> Option<&'static str> {
        let value = match self {
            Self::Px(v) => v.value(),
            Self::Percent(v) => v.value(),
            Self::Invalid(_) => None,
        };
        match value {
            None => Some("expected px or %"),
            Some(v) if v < 0.0 => Some("the value must not be negative"),
            Some(_) => None,
        }
    }
}

impl From<Px> for Length {
    fn from(v: Px) -> Self {
        Self::Px(v)
    }
}

impl From<Percent> for Length {
    fn from(v: Percent) -> Self {
        Self::Percent(v)
    }
}

impl FromStr for Length {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let v = Self::lenient(s.to_owned());
        match v.problem() {
            None => Ok(v),
            Some(_) => Err(Error::invalid_value(s, "px or %")),
        }
    }
}

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Length {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl From<Length> for String {
    fn from(v: Length) -> String {
        v.as_str().to_owned()
    }
}

impl Length {
    pub(crate) fn check(&self, cx: &mut Cx<'_>) {
        if let Some(problem) = self.problem() {
            cx.error(format!("invalid value {:?}: {}", self.as_str(), problem));
        }
    }
}
