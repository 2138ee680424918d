//! Coupons, a product carousel and a personalized tier message, built with
//! the DSL, validated, and turned into messages ready to send.
//!
//! `cargo run -p line-flex --example coupon`

use line_flex::action::{Postback, Uri};
use line_flex::template::Template;
use line_flex::value::{px, Color, ImageSizeKeyword, SizeKeyword, Space};
use line_flex::{baseline, hbox, vbox, Bubble, BubbleSize, Button, Carousel, Icon, Image, Separator, Text};

/// A coupon as the shop's database knows it.
struct Coupon {
    title: String,
    discount_percent: u32,
    code: String,
    image: String,
    expires: String,
}

/// A product as the shop's database knows it.
struct Product {
    id: u32,
    name: String,
    price_yen: u32,
    image: String,
    rating: u8,
}

const BRAND: Color = Color::from_static("#06C755");

/// A template is a plain function.
fn coupon(c: &Coupon) -> Bubble {
    Bubble::new()
        .hero(
            Image::new(&c.image)
                .size(ImageSizeKeyword::Full)
                .aspect_ratio(line_flex::value::AspectRatio::new(20, 13)),
        )
        .body(
            vbox![
                Text::new(&c.title).bold().size(SizeKeyword::Xl),
                Text::new(format!("{}% OFF", c.discount_percent))
                    .color(BRAND)
                    .size(SizeKeyword::X3l)
                    .bold(),
                Separator::new().margin(Space::Md),
                hbox![
                    Text::new("Code").color(Color::from_static("#aaaaaa")),
                    Text::new(&c.code).bold()
                ],
                Text::new(format!("Valid until {}", c.expires))
                    .size(SizeKeyword::Xs)
                    .color(Color::from_static("#999999")),
            ]
            .spacing(Space::Sm)
            .padding_all(px(20)),
        )
        .footer(vbox![Button::new(
            Postback::new(format!("coupon={}", c.code))
                .display_text("Use coupon")
                .label("Use now")
        )])
}

fn product(p: &Product) -> Bubble {
    let stars = (0..5).map(|i| {
        let star = if i < p.rating { "gold" } else { "gray" };
        Icon::new(format!("https://example.com/img/star_{star}.png")).into()
    });
    Bubble::new()
        .size(BubbleSize::Kilo)
        .hero(Image::new(&p.image).size(ImageSizeKeyword::Full))
        .body(vbox![
            Text::new(&p.name).bold().wrap(true),
            line_flex::FlexBox::baseline(stars).push_baseline(Text::new(format!("{}.0", p.rating)).margin(Space::Md)),
            baseline![Text::new(format!("¥{}", p.price_yen)).bold().size(SizeKeyword::Xl)],
        ])
        .footer(vbox![Button::new(
            Uri::new(format!("https://example.com/p/{}", p.id)).label("Buy")
        )])
}

fn main() -> Result<(), line_flex::Error> {
    let c = Coupon {
        title: "Spring sale".into(),
        discount_percent: 20,
        code: "SPRING20".into(),
        image: "https://example.com/img/spring.png".into(),
        expires: "2026-04-30".into(),
    };
    let bubble = coupon(&c);
    println!("coupon findings: {:?}", bubble.validate());

    // A 10-product carousel is a map.
    let products: Vec<Product> = (1..=10)
        .map(|id| Product {
            id,
            name: format!("Product {id}"),
            price_yen: 1000 * id,
            image: format!("https://example.com/img/p{id}.png"),
            rating: (id % 5 + 1) as u8,
        })
        .collect();
    let carousel = Carousel::new(products.iter().map(product));
    for f in carousel.validate() {
        println!("{f}");
    }

    // Personalization: compile once, render per recipient.
    let tier = Bubble::new().body(vbox![
        Text::new("{name}さん"),
        Text::new("¥{remaining_yen} more to reach REINE").wrap(true),
    ]);
    let template = Template::message("{name}さん: ¥{remaining_yen} to REINE", tier)?;
    let mut out = String::new();
    for (name, remaining) in [("Aoi", "3,200"), ("Ren", "800")] {
        template.render_into(&[("name", name), ("remaining_yen", remaining)], &mut out)?;
        println!("{out}");
    }

    // Ready to send with line-core: a `line_model::Message` (once validated,
    // the conversion cannot fail).
    let message = carousel.message("New arrivals");
    assert!(message.validate().is_empty());
    let message: line_flex::model::Message = message.into();
    println!("{}", serde_json::to_string(&message).map(|s| s.len()).unwrap_or(0));
    let _ = bubble.into_message("Your spring coupon");
    Ok(())
}
