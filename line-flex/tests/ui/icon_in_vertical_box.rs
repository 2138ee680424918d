use line_flex::{vbox, Icon};

fn main() {
    let _ = vbox![Icon::new("https://example.com/star.png")];
}
