//! Build, serialize and validate a 12-bubble product carousel, against the
//! same document written as a `serde_json::json!` value.
//!
//! `cargo bench -p line-flex`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use line_flex::action::{Postback, Uri};
use line_flex::template::Template;
use line_flex::value::{px, AspectRatio, Color, ImageSizeKeyword, SizeKeyword, Space};
use line_flex::{baseline, vbox, Bubble, Button, Carousel, Image, Text};
use serde_json::{json, Value};

struct Product {
    id: u32,
    name: String,
    price: String,
    image: String,
    url: String,
}

fn products() -> Vec<Product> {
    (1..=12)
        .map(|id| Product {
            id,
            name: format!("Arm chair, white, model {id}"),
            price: format!("¥{},980", id * 3),
            image: format!("https://example.com/img/products/{id}.png"),
            url: format!("https://example.com/p/{id}"),
        })
        .collect()
}

const GRAY: Color = Color::from_static("#aaaaaa");

fn dsl_bubble(p: &Product) -> Bubble {
    Bubble::new()
        .hero(
            Image::new(&p.image)
                .size(ImageSizeKeyword::Full)
                .aspect_ratio(AspectRatio::new(20, 13))
                .aspect_mode(line_flex::component::AspectMode::Cover),
        )
        .body(
            vbox![
                Text::new(&p.name).wrap(true).bold().size(SizeKeyword::Xl),
                baseline![Text::new(&p.price).bold().size(SizeKeyword::Xl).flex(0)],
                Text::new("Free shipping")
                    .size(SizeKeyword::Xs)
                    .color(GRAY)
                    .margin(Space::Md),
            ]
            .spacing(Space::Sm)
            .padding_all(px(16)),
        )
        .footer(
            vbox![
                Button::new(Uri::new(&p.url).label("Add to Cart")).style(line_flex::component::ButtonStyle::Primary),
                Button::new(Postback::new(format!("wish={}", p.id)).label("Add to wishlist")),
            ]
            .spacing(Space::Sm),
        )
}

fn dsl_carousel(products: &[Product]) -> Carousel {
    Carousel::new(products.iter().map(dsl_bubble))
}

fn json_bubble(p: &Product) -> Value {
    json!({
        "type": "bubble",
        "hero": {"type": "image", "url": p.image, "size": "full", "aspectRatio": "20:13", "aspectMode": "cover"},
        "body": {
            "type": "box", "layout": "vertical", "spacing": "sm", "paddingAll": "16px",
            "contents": [
                {"type": "text", "text": p.name, "wrap": true, "weight": "bold", "size": "xl"},
                {"type": "box", "layout": "baseline", "contents": [
                    {"type": "text", "text": p.price, "weight": "bold", "size": "xl", "flex": 0}
                ]},
                {"type": "text", "text": "Free shipping", "size": "xs", "color": "#aaaaaa", "margin": "md"}
            ]
        },
        "footer": {
            "type": "box", "layout": "vertical", "spacing": "sm",
            "contents": [
                {"type": "button", "style": "primary", "action": {"type": "uri", "label": "Add to Cart", "uri": p.url}},
                {"type": "button", "action": {"type": "postback", "label": "Add to wishlist",
                    "data": format!("wish={}", p.id)}}
            ]
        }
    })
}

fn json_carousel(products: &[Product]) -> Value {
    json!({"type": "carousel", "contents": products.iter().map(json_bubble).collect::<Vec<_>>()})
}

fn bench(c: &mut Criterion) {
    let products = products();
    // Both ways must write the same document.
    let typed = dsl_carousel(&products);
    let raw = json_carousel(&products);
    assert_eq!(serde_json::to_value(&typed).unwrap(), raw, "the two documents differ");
    assert!(typed.validate().is_empty());

    let mut g = c.benchmark_group("carousel12");
    g.bench_function("build+serialize/dsl", |b| {
        b.iter(|| serde_json::to_vec(&dsl_carousel(black_box(&products))).unwrap())
    });
    g.bench_function("build+serialize/json!", |b| {
        b.iter(|| serde_json::to_vec(&json_carousel(black_box(&products))).unwrap())
    });
    g.bench_function("serialize/dsl", |b| {
        b.iter(|| serde_json::to_vec(black_box(&typed)).unwrap())
    });
    g.bench_function("serialize/json!", |b| {
        b.iter(|| serde_json::to_vec(black_box(&raw)).unwrap())
    });
    g.bench_function("validate/dsl", |b| b.iter(|| black_box(&typed).validate()));
    g.bench_function("build/dsl", |b| b.iter(|| dsl_carousel(black_box(&products))));
    g.bench_function("build/json!", |b| b.iter(|| json_carousel(black_box(&products))));
    g.finish();

    // Personalization: one render per recipient of a fan-out.
    let tier = vbox![
        Text::new("{name}さん"),
        Text::new("¥{remaining_yen} more to reach REINE")
    ];
    let template = Template::message("{name}: ¥{remaining_yen} to REINE", Bubble::new().body(tier)).unwrap();
    let mut out = String::new();
    c.bench_function("template/render_into", |b| {
        b.iter(|| {
            template
                .render_into(black_box(&[("name", "Aoi"), ("remaining_yen", "3,200")]), &mut out)
                .unwrap();
            out.len()
        })
    });
    let mut out = String::new();
    let carousel_template = Template::new(&typed).unwrap();
    c.bench_function("template/render_into carousel12", |b| {
        b.iter(|| {
            carousel_template
                .render_into(black_box(&[] as &[(&str, &str)]), &mut out)
                .unwrap();
            out.len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
