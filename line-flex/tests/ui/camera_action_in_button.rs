use line_flex::action::Camera;
use line_flex::Button;

fn main() {
    let _ = Button::new(Camera::new().label("Take a photo"));
}
