use line_flex::{baseline, Image};

fn main() {
    let _ = baseline![Image::new("https://example.com/a.png")];
}
