use line_flex::action::Uri;
use line_flex::Button;

fn main() {
    let _ = Button::new(Uri::new("https://example.com"));
}
