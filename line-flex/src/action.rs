//! Actions: what happens when a user taps a component or a quick-reply button.
//!
//! A Flex component takes a [`FlexAction`]: postback, message, uri,
//! datetimepicker or clipboard only. A quick-reply item takes a
//! [`QuickReplyAction`], which also allows camera, camera roll and location.
//! A button and a quick-reply item need a label, so they take a
//! [`Labeled`] action, made with `.label(…)`:
//!
//! ```
//! use line_flex::action::Uri;
//! use line_flex::Button;
//!
//! let buy = Button::new(Uri::new("https://example.com/buy").label("Buy"));
//! assert_eq!(buy.action.label(), Some("Buy"));
//! ```
//!
//! A camera action is not a flex action, so this does not compile:
//!
//! ```compile_fail
//! use line_flex::action::Camera;
//! use line_flex::Button;
//!
//! let _ = Button::new(Camera::new().label("Take a photo"));
//! ```

use serde_json::Value;

use crate::json::{flex_object, open_enum, tagged_enum, Placeholder};

open_enum! {
    /// `inputOption` of a postback action: what opens after the tap.
    pub enum InputOption {
        /// `closeRichMenu`
        CloseRichMenu = "closeRichMenu",
        /// `openRichMenu`
        OpenRichMenu = "openRichMenu",
        /// `openKeyboard`
        OpenKeyboard = "openKeyboard",
        /// `openVoice`
        OpenVoice = "openVoice",
    }
}

open_enum! {
    /// `mode` of a datetime picker action.
    pub enum DatetimeMode {
        /// `date`: `yyyy-MM-dd`.
        Date = "date",
        /// `time`: `HH:mm`.
        Time = "time",
        /// `datetime`: `yyyy-MM-ddTHH:mm`.
        Datetime = "datetime",
    }
}

flex_object! {
    /// A postback action: LINE sends a postback event with `data` to the bot.
    pub struct Postback ["type" = "postback"] {
        /// Label (required on buttons and quick-reply items; at most 40 grapheme clusters).
        label: plain String = "label",
        /// Data returned in the postback event (at most 300 characters).
        data: req String = "data",
        /// Text shown in the chat as the user's message.
        display_text: opt String = "displayText",
        /// Deprecated: text sent as the user's message (not with `displayText`).
        text: opt String = "text",
        /// What opens after the tap.
        input_option: opt InputOption = "inputOption",
        /// Text pre-filled in the keyboard (with `inputOption: openKeyboard`).
        fill_in_text: opt String = "fillInText",
    }
}

impl Postback {
    /// A postback action carrying `data`.
    pub fn new(data: impl Into<String>) -> Self {
        Self {
            data: data.into(),
            ..Self::blank()
        }
    }
}

flex_object! {
    /// A message action: the user sends `text`.
    pub struct Message ["type" = "message"] {
        /// Label (required on buttons and quick-reply items).
        label: plain String = "label",
        /// Text sent as the user's message (at most 300 characters).
        text: req String = "text",
    }
}

impl Message {
    /// A message action sending `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::blank()
        }
    }
}

flex_object! {
    /// Where a URI action goes on LINE for PC and macOS.
    pub struct AltUri [] {
        /// URI opened on desktop (http, https, line or tel; at most 1000 characters).
        desktop: opt String = "desktop",
    }
}

impl AltUri {
    /// An alternative URI for desktop clients.
    pub fn desktop_uri(uri: impl Into<String>) -> Self {
        Self::blank().desktop(uri)
    }
}

flex_object! {
    /// A URI action: opens `uri` (http, https, line or tel).
    pub struct Uri ["type" = "uri"] {
        /// Label (required on buttons and quick-reply items).
        label: plain String = "label",
        /// The URI (at most 1000 characters).
        uri: req String = "uri",
        /// A different URI for desktop clients.
        alt_uri: opt AltUri = "altUri",
    }
}

impl Uri {
    /// A URI action opening `uri`.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            ..Self::blank()
        }
    }
}

flex_object! {
    /// A datetime picker action: the user picks a date and/or time, returned in a postback event.
    pub struct DatetimePicker ["type" = "datetimepicker"] {
        /// Label (required on buttons and quick-reply items).
        label: plain String = "label",
        /// Data returned in the postback event (at most 300 characters).
        data: req String = "data",
        /// What is picked.
        mode: req DatetimeMode = "mode",
        /// Initial value, in the mode's format.
        initial: opt String = "initial",
        /// Largest selectable value, in the mode's format.
        max: opt String = "max",
        /// Smallest selectable value, in the mode's format.
        min: opt String = "min",
    }
}

impl DatetimePicker {
    /// A picker in `mode` returning `data`.
    pub fn new(data: impl Into<String>, mode: DatetimeMode) -> Self {
        Self {
            data: data.into(),
            mode,
            ..Self::blank()
        }
    }
}

impl Placeholder for DatetimeMode {
    fn placeholder() -> Self {
        Self::Datetime
    }
}

flex_object! {
    /// A clipboard action: copies `clipboardText` to the device's clipboard.
    pub struct Clipboard ["type" = "clipboard"] {
        /// Label (required on buttons and quick-reply items).
        label: plain String = "label",
        /// Text copied (1 to 1000 characters).
        clipboard_text: req String = "clipboardText",
    }
}

impl Clipboard {
    /// A clipboard action copying `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            clipboard_text: text.into(),
            ..Self::blank()
        }
    }
}

flex_object! {
    /// A camera action (quick reply only): opens the camera.
    pub struct Camera ["type" = "camera"] {
        /// Label (required).
        label: plain String = "label",
    }
}

impl Camera {
    /// A camera action.
    pub fn new() -> Self {
        Self::blank()
    }
}

impl Default for Camera {
    fn default() -> Self {
        Self::new()
    }
}

flex_object! {
    /// A camera roll action (quick reply only): opens the camera roll.
    pub struct CameraRoll ["type" = "cameraRoll"] {
        /// Label (required).
        label: plain String = "label",
    }
}

impl CameraRoll {
    /// A camera roll action.
    pub fn new() -> Self {
        Self::blank()
    }
}

impl Default for CameraRoll {
    fn default() -> Self {
        Self::new()
    }
}

flex_object! {
    /// A location action (quick reply only): opens the location screen.
    pub struct Location ["type" = "location"] {
        /// Label (required).
        label: plain String = "label",
    }
}

impl Location {
    /// A location action.
    pub fn new() -> Self {
        Self::blank()
    }
}

impl Default for Location {
    fn default() -> Self {
        Self::new()
    }
}

/// An action with a label, as buttons and quick-reply items require.
/// Made by the `label` method of each action.
#[derive(Debug, Clone, PartialEq)]
pub struct Labeled<A>(A);

impl<A> Labeled<A> {
    /// The action (its `label` is set).
    pub fn get(&self) -> &A {
        &self.0
    }

    /// The action (its `label` is set).
    pub fn into_inner(self) -> A {
        self.0
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Actions a Flex component accepts: postback, message, uri, datetimepicker, clipboard.
pub trait FlexActionKind: Into<FlexAction> + sealed::Sealed {}

/// Actions a quick-reply item accepts.
pub trait QuickReplyActionKind: Into<QuickReplyAction> + sealed::Sealed {}

macro_rules! labeled {
    ($($t:ident: $($kind:ident),*;)*) => {
        $(
            impl sealed::Sealed for $t {}
            $( impl $kind for $t {} )*

            impl $t {
                /// Sets the label, as buttons and quick-reply items require.
                pub fn label(mut self, label: impl Into<String>) -> Labeled<Self> {
                    self.label = Some(label.into());
                    Labeled(self)
                }
            }
        )*
    };
}

labeled! {
    Postback: FlexActionKind, QuickReplyActionKind;
    Message: FlexActionKind, QuickReplyActionKind;
    Uri: FlexActionKind, QuickReplyActionKind;
    DatetimePicker: FlexActionKind, QuickReplyActionKind;
    Clipboard: FlexActionKind, QuickReplyActionKind;
    Camera: QuickReplyActionKind;
    CameraRoll: QuickReplyActionKind;
    Location: QuickReplyActionKind;
}

tagged_enum! {
    /// The action of a Flex component.
    pub enum FlexAction {
        /// `postback`
        Postback(Postback) = "postback",
        /// `message`
        Message(Message) = "message",
        /// `uri`
        Uri(Uri) = "uri",
        /// `datetimepicker`
        DatetimePicker(DatetimePicker) = "datetimepicker",
        /// `clipboard`
        Clipboard(Clipboard) = "clipboard",
    }
}

impl<A: FlexActionKind> From<Labeled<A>> for FlexAction {
    fn from(l: Labeled<A>) -> Self {
        l.0.into()
    }
}

impl FlexAction {
    /// The label, if set.
    pub fn label(&self) -> Option<&str> {
        match self {
            Self::Postback(a) => a.label.as_deref(),
            Self::Message(a) => a.label.as_deref(),
            Self::Uri(a) => a.label.as_deref(),
            Self::DatetimePicker(a) => a.label.as_deref(),
            Self::Clipboard(a) => a.label.as_deref(),
            Self::Unknown(v) => v.get("label").and_then(Value::as_str),
        }
    }
}

impl Placeholder for FlexAction {
    fn placeholder() -> Self {
        Self::Unknown(Value::Null)
    }
}

tagged_enum! {
    /// The action of a quick-reply item.
    pub enum QuickReplyAction {
        /// `postback`
        Postback(Postback) = "postback",
        /// `message`
        Message(Message) = "message",
        /// `uri`
        Uri(Uri) = "uri",
        /// `datetimepicker`
        DatetimePicker(DatetimePicker) = "datetimepicker",
        /// `clipboard`
        Clipboard(Clipboard) = "clipboard",
        /// `camera`
        Camera(Camera) = "camera",
        /// `cameraRoll`
        CameraRoll(CameraRoll) = "cameraRoll",
        /// `location`
        Location(Location) = "location",
    }
}

impl<A: QuickReplyActionKind> From<Labeled<A>> for QuickReplyAction {
    fn from(l: Labeled<A>) -> Self {
        l.0.into()
    }
}

impl QuickReplyAction {
    /// The label, if set.
    pub fn label(&self) -> Option<&str> {
        match self {
            Self::Postback(a) => a.label.as_deref(),
            Self::Message(a) => a.label.as_deref(),
            Self::Uri(a) => a.label.as_deref(),
            Self::DatetimePicker(a) => a.label.as_deref(),
            Self::Clipboard(a) => a.label.as_deref(),
            Self::Camera(a) => a.label.as_deref(),
            Self::CameraRoll(a) => a.label.as_deref(),
            Self::Location(a) => a.label.as_deref(),
            Self::Unknown(v) => v.get("label").and_then(Value::as_str),
        }
    }
}

impl Placeholder for QuickReplyAction {
    fn placeholder() -> Self {
        Self::Unknown(Value::Null)
    }
}
