use line_flex::{FlexBox, Span};

fn main() {
    let _ = FlexBox::horizontal([Span::new("hi").into()]);
}
