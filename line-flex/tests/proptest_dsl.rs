//! Random valid trees built with the DSL serialize, parse back equal, and validate clean.

use line_flex::action::{Camera, Clipboard, DatetimeMode, DatetimePicker, Location, Message, Postback, Uri};
use line_flex::model::{FlexContainer as Container, Message as ModelMessage};
use line_flex::value::{
    pct, px, Angle, AspectRatio, BorderKeyword, BorderWidth, Color, FontSize, ImageSizeKeyword, Length, Offset,
    Padding, SizeKeyword, Space, Spacing,
};
use line_flex::{
    parse_document, BaselineComponent, Bubble, BubbleSize, Button, Carousel, Component, Document, Filler, FlexBox,
    FlexMessage, Icon, Image, LinearGradient, QuickReply, QuickReplyItem, Separator, Span, Text, Video, VideoBubble,
    VideoBubbleSize,
};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

fn text_content() -> impl Strategy<Value = String> {
    // Letters, digits, punctuation that JSON escapes, and non-ASCII text.
    proptest::string::string_regex("[A-Za-z0-9 \"\\\\{}¥😀ア\\n]{1,20}").unwrap()
}

fn label() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9 ア¥]{1,20}").unwrap()
}

fn space() -> impl Strategy<Value = Space> {
    prop_oneof![
        Just(Space::None),
        Just(Space::Xs),
        Just(Space::Sm),
        Just(Space::Md),
        Just(Space::Lg),
        Just(Space::Xl),
        Just(Space::Xxl)
    ]
}

fn spacing() -> impl Strategy<Value = Spacing> {
    prop_oneof![
        space().prop_map(Spacing::from),
        (0..40i32).prop_map(|n| Spacing::from(px(n)))
    ]
}

fn offset() -> impl Strategy<Value = Offset> {
    prop_oneof![
        space().prop_map(Offset::from),
        (-20..20i32).prop_map(|n| Offset::from(px(n)))
    ]
}

fn size_keyword() -> impl Strategy<Value = SizeKeyword> {
    prop_oneof![
        Just(SizeKeyword::Xs),
        Just(SizeKeyword::Sm),
        Just(SizeKeyword::Md),
        Just(SizeKeyword::X3l)
    ]
}

fn color() -> impl Strategy<Value = Color> {
    prop_oneof![
        (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(r, g, b)| Color::rgb(r, g, b)),
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(r, g, b, a)| Color::rgba(r, g, b, a)),
        Just(Color::from_static("#03303Acc")),
    ]
}

fn url() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9]{1,12}")
        .unwrap()
        .prop_map(|p| format!("https://example.com/{p}.png"))
}

fn text() -> impl Strategy<Value = Text> {
    (
        text_content(),
        proptest::option::of(size_keyword()),
        proptest::option::of(0..5u32),
        proptest::option::of(color()),
        proptest::option::of(spacing()),
        proptest::option::of(offset()),
        any::<bool>(),
        proptest::option::of(0..4u32),
    )
        .prop_map(|(t, size, flex, color, margin, off, bold, max_lines)| {
            let mut text = Text::new(t);
            if let Some(s) = size {
                text = text.size(FontSize::from(s));
            }
            if let Some(f) = flex {
                text = text.flex(f);
            }
            if let Some(c) = color {
                text = text.color(c);
            }
            if let Some(m) = margin {
                text = text.margin(m);
            }
            if let Some(o) = off {
                text = text.offset_top(o);
            }
            if bold {
                text = text.bold();
            }
            if let Some(n) = max_lines {
                text = text.max_lines(n).wrap(true);
            }
            text
        })
}

fn spans() -> impl Strategy<Value = Text> {
    proptest::collection::vec((text_content(), proptest::option::of(color())), 1..4).prop_map(|parts| {
        Text::spans(parts.into_iter().map(|(t, c)| match c {
            Some(c) => Span::new(t).color(c),
            None => Span::new(t),
        }))
    })
}

fn image() -> impl Strategy<Value = Image> {
    (url(), 1..50u32, 1..=3u32, any::<bool>()).prop_map(|(u, w, k, full)| {
        // Height at most three times the width.
        let img = Image::new(u).aspect_ratio(AspectRatio::new(w, w * k));
        if full {
            img.size(ImageSizeKeyword::Full)
        } else {
            img
        }
    })
}

fn button() -> impl Strategy<Value = Button> {
    (label(), 0..5u8, text_content()).prop_map(|(l, kind, payload)| match kind {
        0 => Button::new(Postback::new(payload).display_text("ok").label(l)),
        1 => Button::new(Message::new(payload).label(l)),
        2 => Button::new(Uri::new("https://example.com/shop?id=1").label(l)),
        3 => Button::new(
            DatetimePicker::new(payload, DatetimeMode::Date)
                .min("2024-01-01")
                .max("2024-12-31")
                .label(l),
        ),
        _ => Button::new(Clipboard::new(payload).label(l)),
    })
}

fn baseline_box() -> impl Strategy<Value = FlexBox> {
    proptest::collection::vec(
        prop_oneof![
            url().prop_map(|u| BaselineComponent::from(Icon::new(u))),
            text().prop_map(BaselineComponent::from),
            Just(BaselineComponent::from(Filler::new())),
        ],
        0..4,
    )
    .prop_map(FlexBox::baseline)
}

fn leaf() -> impl Strategy<Value = Component> {
    prop_oneof![
        3 => text().prop_map(Component::from),
        1 => spans().prop_map(Component::from),
        1 => image().prop_map(Component::from),
        1 => button().prop_map(Component::from),
        1 => Just(Component::from(Separator::new())),
        1 => Just(Component::from(Filler::new())),
        1 => baseline_box().prop_map(Component::from),
    ]
}

fn flex_box() -> impl Strategy<Value = FlexBox> {
    let component = leaf().prop_recursive(3, 10, 4, |inner| {
        (
            proptest::collection::vec(inner, 0..4),
            any::<bool>(),
            proptest::option::of(spacing()),
        )
            .prop_map(|(children, vertical, spacing)| {
                let b = if vertical {
                    FlexBox::vertical(children)
                } else {
                    FlexBox::horizontal(children)
                };
                Component::from(match spacing {
                    Some(s) => b.spacing(s),
                    None => b,
                })
            })
    });
    (
        proptest::collection::vec(component, 0..4),
        proptest::option::of(color()),
        box_style(),
    )
        .prop_map(|(children, bg, style)| {
            let b = style.apply(FlexBox::vertical(children));
            match bg {
                Some(c) => b.background_color(c),
                None => b,
            }
        })
}

/// Optional box styling: padding, border, width, a gradient and corners.
#[derive(Debug, Clone)]
struct BoxStyle {
    padding: Option<Padding>,
    border: Option<BorderWidth>,
    width: Option<Length>,
    gradient: Option<(u32, Color, Color)>,
    radius: Option<Spacing>,
}

impl BoxStyle {
    fn apply(self, mut b: FlexBox) -> FlexBox {
        if let Some(p) = self.padding {
            b = b.padding_all(p);
        }
        if let Some(w) = self.border {
            b = b.border_width(w).border_color(Color::from_static("#000000"));
        }
        if let Some(l) = self.width {
            b = b.width(l);
        }
        if let Some((angle, start, end)) = self.gradient {
            b = b.background(LinearGradient::new(Angle::deg(angle), start, end));
        }
        if let Some(r) = self.radius {
            b = b.corner_radius(r);
        }
        b
    }
}

fn box_style() -> impl Strategy<Value = BoxStyle> {
    (
        proptest::option::of(prop_oneof![
            space().prop_map(Padding::from),
            (0..30i32).prop_map(|n| Padding::from(px(n))),
            (0..50i32).prop_map(|n| Padding::from(pct(n))),
        ]),
        proptest::option::of(prop_oneof![
            Just(BorderWidth::from(BorderKeyword::SemiBold)),
            (0..5i32).prop_map(|n| BorderWidth::from(px(n))),
        ]),
        proptest::option::of((0..100i32).prop_map(|n| Length::from(pct(n)))),
        proptest::option::of((0..360u32, color(), color())),
        proptest::option::of(spacing()),
    )
        .prop_map(|(padding, border, width, gradient, radius)| BoxStyle {
            padding,
            border,
            width,
            gradient,
            radius,
        })
}

fn video_bubble() -> impl Strategy<Value = VideoBubble> {
    let size = prop_oneof![
        Just(None),
        Just(Some(VideoBubbleSize::Kilo)),
        Just(Some(VideoBubbleSize::Mega)),
        Just(Some(VideoBubbleSize::Giga))
    ];
    (url(), url(), 1..50u32, 1..=3u32, proptest::option::of(flex_box()), size).prop_map(
        |(video, preview, w, k, body, size)| {
            let ratio = AspectRatio::new(w, w * k);
            let alt = Image::new(preview.clone()).aspect_ratio(ratio.clone());
            let mut b = VideoBubble::new(Video::new(video.replace(".png", ".mp4"), preview, alt).aspect_ratio(ratio));
            if let Some(body) = body {
                b = b.body(body);
            }
            if let Some(s) = size {
                b = b.size(s);
            }
            b
        },
    )
}

fn quick_reply() -> impl Strategy<Value = QuickReply> {
    proptest::collection::vec((label(), 0..4u8), 1..=13).prop_map(|items| {
        QuickReply::new(items.into_iter().map(|(l, kind)| {
            let l: String = l.chars().take(20).collect();
            match kind {
                0 => QuickReplyItem::new(Camera::new().label(l)),
                1 => QuickReplyItem::new(Location::new().label(l)),
                2 => QuickReplyItem::new(Message::new("yes").label(l)).image_url("https://example.com/i.png"),
                _ => QuickReplyItem::new(Postback::new("a=1").label(l)),
            }
        }))
    })
}

fn flex_message() -> impl Strategy<Value = FlexMessage> {
    (
        proptest::string::string_regex("[A-Za-z0-9 ¥😀]{1,60}").unwrap(),
        prop_oneof![
            bubble(None).prop_map(Container::from),
            video_bubble().prop_map(Container::from),
            carousel().prop_map(Container::from),
        ],
        proptest::option::of(quick_reply()),
    )
        .prop_map(|(alt, contents, qr)| {
            let m = FlexMessage::new(alt, contents);
            match qr {
                Some(q) => m.quick_reply(q),
                None => m,
            }
        })
}

fn bubble(size: Option<BubbleSize>) -> impl Strategy<Value = Bubble> {
    (
        proptest::option::of(flex_box()),
        proptest::option::of(image()),
        flex_box(),
        proptest::option::of(flex_box()),
    )
        .prop_map(move |(header, hero, body, footer)| {
            let mut b = Bubble::new().body(body);
            if let Some(h) = header {
                b = b.header(h);
            }
            if let Some(h) = hero {
                b = b.hero(h);
            }
            if let Some(f) = footer {
                b = b.footer(f);
            }
            if let Some(s) = size.clone() {
                b = b.size(s);
            }
            b
        })
}

fn carousel() -> impl Strategy<Value = Carousel> {
    prop_oneof![Just(None), Just(Some(BubbleSize::Kilo)), Just(Some(BubbleSize::Giga))]
        .prop_flat_map(|size| proptest::collection::vec(bubble(size), 1..5))
        .prop_map(Carousel::new)
}

/// Runs a property on a thread with a large stack: the nested strategies of
/// big component values need more than the 2 MiB of a test thread when the
/// tests are built without optimizations.
fn check<S, F>(cases: u32, strategy: fn() -> S, property: F)
where
    S: Strategy + 'static,
    S::Value: Clone + std::fmt::Debug,
    F: Fn(S::Value) -> Result<(), TestCaseError> + Send + 'static,
{
    std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            let mut runner = TestRunner::new(ProptestConfig {
                cases,
                ..ProptestConfig::default()
            });
            if let Err(e) = runner.run(&strategy(), property) {
                panic!("{e}");
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn bubbles_round_trip_and_validate_clean() {
    check(
        128,
        || bubble(None),
        |b| {
            let json = serde_json::to_vec(&b).unwrap();
            let parsed = parse_document(&json).unwrap();
            prop_assert_eq!(&parsed, &Document::Container(Container::Bubble(b.clone().into())));
            let findings = b.validate();
            prop_assert!(findings.is_empty(), "{:?}", findings);
            Ok(())
        },
    );
}

#[test]
fn carousels_round_trip_and_validate_clean() {
    check(128, carousel, |c| {
        let json = serde_json::to_vec(&c).unwrap();
        let parsed = parse_document(&json).unwrap();
        prop_assert_eq!(&parsed, &Document::Container(Container::Carousel(c.clone().into())));
        let findings = c.validate();
        prop_assert!(findings.is_empty(), "{:?}", findings);
        Ok(())
    });
}

#[test]
fn flex_messages_round_trip_validate_clean_and_convert() {
    check(64, flex_message, |m| {
        let json = serde_json::to_vec(&m).unwrap();
        let parsed = parse_document(&json).unwrap();
        prop_assert_eq!(&parsed, &Document::Message(m.clone().into()));
        let findings = m.validate();
        prop_assert!(findings.is_empty(), "{:?}", findings);
        let value = serde_json::to_value(&m).unwrap();
        let message = ModelMessage::from(m);
        prop_assert_eq!(serde_json::to_value(&message).unwrap(), value);
        Ok(())
    });
}
