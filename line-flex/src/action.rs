//! Actions: what happens when a user taps a component or a quick-reply button.
//!
//! Each builder here makes a `line_model` action. A Flex component takes a
//! [`FlexAction`]: postback, message, uri, datetimepicker or clipboard only.
//! A quick-reply item takes a [`QuickReplyAction`], which also allows camera,
//! camera roll and location. A button and a quick-reply item need a label, so
//! they take a [`Labeled`] action, made with `.label(…)`:
//!
//! ```
//! use line_flex::action::Uri;
//! use line_flex::Button;
//!
//! let buy = Button::new(Uri::new("https://example.com/buy").label("Buy"));
//! assert_eq!(buy.action.label().as_deref().map(String::as_str), Some("Buy"));
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

use line_model::{
    Action, CameraAction, CameraRollAction, ClipboardAction, DatetimePickerAction, LocationAction, MessageAction,
    PostbackAction, URIAction,
};

use crate::builder::{builder, setters};

/// `inputOption` of a postback action: what opens after the tap.
pub use line_model::PostbackActionInputOption as InputOption;

/// `mode` of a datetime picker action.
pub use line_model::DatetimePickerActionMode as DatetimeMode;

/// Where a URI action goes on LINE for PC and macOS.
pub use line_model::AltUri;

builder! {
    /// A postback action: LINE sends a postback event with `data` to the bot.
    Postback => PostbackAction
}

impl Postback {
    /// A postback action carrying `data` (at most 300 characters).
    pub fn new(data: impl Into<String>) -> Self {
        let mut a = PostbackAction::new();
        a.data = Some(data.into());
        Self(a)
    }

    setters! {
        /// Text shown in the chat as the user's message.
        into display_text: String = "displayText";
        /// Deprecated: text sent as the user's message (not with `displayText`).
        into text: String = "text";
        /// What opens after the tap.
        into input_option: InputOption = "inputOption";
        /// Text pre-filled in the keyboard (with `inputOption: openKeyboard`).
        into fill_in_text: String = "fillInText";
    }
}

builder! {
    /// A message action: the user sends `text`.
    Message => MessageAction
}

impl Message {
    /// A message action sending `text` (at most 300 characters).
    pub fn new(text: impl Into<String>) -> Self {
        let mut a = MessageAction::new();
        a.text = Some(text.into());
        Self(a)
    }
}

builder! {
    /// A URI action: opens `uri` (http, https, line or tel).
    Uri => URIAction
}

impl Uri {
    /// A URI action opening `uri` (at most 1000 characters).
    pub fn new(uri: impl Into<String>) -> Self {
        let mut a = URIAction::new();
        a.uri = Some(uri.into());
        Self(a)
    }

    /// Sets `altUri.desktop`: a different URI for LINE on PC and macOS.
    pub fn desktop_uri(mut self, uri: impl Into<String>) -> Self {
        let mut alt = AltUri::new();
        alt.desktop = Some(uri.into());
        self.0.alt_uri = Some(alt);
        self
    }
}

builder! {
    /// A datetime picker action: the user picks a date and/or time, returned in a postback event.
    DatetimePicker => DatetimePickerAction
}

impl DatetimePicker {
    /// A picker in `mode` returning `data`.
    pub fn new(data: impl Into<String>, mode: DatetimeMode) -> Self {
        let mut a = DatetimePickerAction::new();
        a.data = Some(data.into());
        a.mode = Some(mode);
        Self(a)
    }

    setters! {
        /// Initial value, in the mode's format.
        into initial: String = "initial";
        /// Largest selectable value, in the mode's format.
        into max: String = "max";
        /// Smallest selectable value, in the mode's format.
        into min: String = "min";
    }
}

builder! {
    /// A clipboard action: copies `clipboardText` to the device's clipboard.
    Clipboard => ClipboardAction
}

impl Clipboard {
    /// A clipboard action copying `text` (1 to 1000 characters).
    pub fn new(text: impl Into<String>) -> Self {
        Self(ClipboardAction::new(text))
    }
}

builder! {
    /// A camera action (quick reply only): opens the camera.
    Camera => CameraAction
}

builder! {
    /// A camera roll action (quick reply only): opens the camera roll.
    CameraRoll => CameraRollAction
}

builder! {
    /// A location action (quick reply only): opens the location screen.
    Location => LocationAction
}

macro_rules! no_arg_new {
    ($($t:ident => $model:ident),*) => {
        $(
            impl $t {
                #[doc = concat!("A `", stringify!($model), "`.")]
                pub fn new() -> Self {
                    Self($model::new())
                }
            }

            impl Default for $t {
                fn default() -> Self {
                    Self::new()
                }
            }
        )*
    };
}

no_arg_new!(Camera => CameraAction, CameraRoll => CameraRollAction, Location => LocationAction);

/// An action with a label, as buttons and quick-reply items require.
/// Made by the `label` method of each action.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
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
pub trait FlexActionKind: Into<Action> + sealed::Sealed {}

/// Actions a quick-reply item accepts.
pub trait QuickReplyActionKind: Into<Action> + sealed::Sealed {}

macro_rules! labeled {
    ($($t:ident: $($kind:ident),*;)*) => {
        $(
            impl sealed::Sealed for $t {}
            $( impl $kind for $t {} )*

            impl $t {
                /// Sets the label, as buttons and quick-reply items require
                /// (at most 40 grapheme clusters; 20 in a quick reply).
                pub fn label(mut self, label: impl Into<String>) -> Labeled<Self> {
                    self.0.label = Some(label.into());
                    Labeled(self)
                }
            }

            impl From<$t> for Action {
                fn from(a: $t) -> Self {
                    a.0.into()
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

/// The action of a Flex component (postback, message, uri, datetimepicker or
/// clipboard, with or without a label), as a `line_model` [`Action`].
#[derive(Debug, Clone, PartialEq)]
pub struct FlexAction(pub(crate) Action);

impl<A: FlexActionKind> From<A> for FlexAction {
    fn from(a: A) -> Self {
        Self(a.into())
    }
}

impl<A: FlexActionKind> From<Labeled<A>> for FlexAction {
    fn from(l: Labeled<A>) -> Self {
        Self(l.0.into())
    }
}

impl From<FlexAction> for Action {
    fn from(a: FlexAction) -> Self {
        a.0
    }
}

/// The action of a quick-reply item, as a `line_model` [`Action`]; it always has a label.
#[derive(Debug, Clone, PartialEq)]
pub struct QuickReplyAction(pub(crate) Action);

impl<A: QuickReplyActionKind> From<Labeled<A>> for QuickReplyAction {
    fn from(l: Labeled<A>) -> Self {
        Self(l.0.into())
    }
}

impl From<QuickReplyAction> for Action {
    fn from(a: QuickReplyAction) -> Self {
        a.0
    }
}
