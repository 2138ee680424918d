use line_flex::{Bubble, Carousel, Image, Video, VideoBubble};

fn main() {
    let video = || {
        Video::new("https://example.com/v.mp4", "https://example.com/p.png", Image::new("https://example.com/p.png"))
    };
    // A plain bubble has no video hero...
    let _ = Carousel::new([Bubble::new().hero(video())]);
    // ...and a carousel does not take video bubbles.
    let _ = Carousel::new([VideoBubble::new(video())]);
}
