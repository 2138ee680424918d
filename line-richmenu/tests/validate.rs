//! Every validation rule, with a case that breaks it, and the file formats.

mod common;

use common::{gif_header, jpeg_header, png, TempDir};
use line_core::model::{Action, RichMenuSwitchAction, URIAction};
use line_richmenu::{validate_set, Bounds, ErrorKind, Finding, Image, Menu, MenuDef, MenuSet};

fn uri() -> Action {
    let mut a = URIAction::new();
    a.uri = Some("https://example.com".into());
    a.into()
}

fn switch(alias: &str) -> Action {
    let mut s = RichMenuSwitchAction::new();
    s.rich_menu_alias_id = Some(alias.into());
    s.data = Some("tab".into());
    s.into()
}

fn good_def(key: &str) -> MenuDef {
    MenuDef::new(key, "Menu", format!("{key}.png")).area(Bounds::new(0, 0, 800, 540), uri())
}

fn menu(def: MenuDef, image: Vec<u8>) -> Menu {
    Menu::new(def, Image::from_bytes(image))
}

fn errors(set: &MenuSet) -> Vec<Finding> {
    validate_set(set).into_iter().filter(Finding::is_error).collect()
}

/// Exactly one error, at `place`, whose message contains `needle`.
fn assert_one_error(set: &MenuSet, place: &str, needle: &str) {
    let errs = errors(set);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    assert_eq!(errs[0].place, place, "{errs:#?}");
    assert!(
        errs[0].message.contains(needle),
        "{:?} lacks {needle:?}",
        errs[0].message
    );
}

#[test]
fn a_good_menu_has_no_error() {
    let set = MenuSet::new([menu(good_def("home"), png(800, 540, 1))]);
    assert_eq!(errors(&set), vec![]);
}

#[test]
fn width_below_800_is_an_error() {
    let def = MenuDef::new("k", "Menu", "k.png").area(Bounds::new(0, 0, 10, 10), uri());
    assert_one_error(
        &MenuSet::new([menu(def, png(799, 300, 1))]),
        "/menus/0/image",
        "width 799",
    );
}

#[test]
fn width_above_2500_is_an_error() {
    let def = MenuDef::new("k", "Menu", "k.png").area(Bounds::new(0, 0, 10, 10), uri());
    assert_one_error(
        &MenuSet::new([menu(def, png(2501, 1686, 1))]),
        "/menus/0/image",
        "width 2501",
    );
}

#[test]
fn height_below_250_is_an_error() {
    let def = MenuDef::new("k", "Menu", "k.png").area(Bounds::new(0, 0, 10, 10), uri());
    assert_one_error(
        &MenuSet::new([menu(def, png(800, 249, 1))]),
        "/menus/0/image",
        "height 249",
    );
}

#[test]
fn aspect_ratio_below_1_45_is_an_error() {
    let def = MenuDef::new("k", "Menu", "k.png").area(Bounds::new(0, 0, 10, 10), uri());
    // 1000/700 = 1.428…
    assert_one_error(
        &MenuSet::new([menu(def, png(1000, 700, 1))]),
        "/menus/0/image",
        "aspect ratio",
    );
}

#[test]
fn an_image_over_1_mb_is_an_error() {
    let mut bytes = png(800, 540, 1);
    bytes.resize(1_048_577, 0);
    assert_one_error(
        &MenuSet::new([menu(good_def("k"), bytes)]),
        "/menus/0/image",
        "1048577 bytes",
    );
}

#[test]
fn a_gif_is_an_error_and_a_jpeg_is_fine() {
    let set = MenuSet::new([menu(good_def("k"), gif_header(800, 540))]);
    assert_one_error(&set, "/menus/0/image", "PNG or a JPEG");
    let set = MenuSet::new([menu(good_def("k"), jpeg_header(800, 540))]);
    assert_eq!(errors(&set), vec![]);
}

#[test]
fn an_unreadable_image_file_is_an_error_at_image() {
    let m = Menu::new(good_def("k"), Image::from_file("/nonexistent/k.png".as_ref()));
    assert_one_error(&MenuSet::new([m]), "/menus/0/image", "cannot read image file");
}

#[test]
fn a_declared_size_must_match_the_image() {
    let def = good_def("k").size(2500, 1686);
    assert_one_error(&MenuSet::new([menu(def, png(800, 540, 1))]), "/menus/0/size", "differs");
}

#[test]
fn more_than_20_areas_is_an_error() {
    let mut def = MenuDef::new("k", "Menu", "k.png");
    for i in 0..21 {
        def = def.area(Bounds::new(i * 30, 0, 30, 30), uri());
    }
    assert_one_error(
        &MenuSet::new([menu(def, png(800, 540, 1))]),
        "/menus/0/areas",
        "21 areas",
    );
}

#[test]
fn an_area_past_the_image_is_an_error() {
    let def = good_def("k").area(Bounds::new(700, 500, 101, 40), uri());
    assert_one_error(
        &MenuSet::new([menu(def, png(800, 540, 1))]),
        "/menus/0/areas/1/bounds",
        "past",
    );
    let def = good_def("k").area(Bounds::new(700, 500, 100, 41), uri());
    assert_one_error(
        &MenuSet::new([menu(def, png(800, 540, 1))]),
        "/menus/0/areas/1/bounds",
        "past",
    );
}

#[test]
fn an_empty_area_is_an_error() {
    let def = good_def("k").area(Bounds::new(10, 10, 0, 10), uri());
    assert_one_error(
        &MenuSet::new([menu(def, png(800, 540, 1))]),
        "/menus/0/areas/1/bounds",
        "zero",
    );
}

#[test]
fn chat_bar_text_over_14_characters_is_an_error() {
    let ok = MenuDef::new("k", "メニューを開くメニューを開く", "k.png").area(Bounds::new(0, 0, 10, 10), uri());
    assert_eq!(ok.chat_bar_text.chars().count(), 14);
    assert_eq!(errors(&MenuSet::new([menu(ok, png(800, 540, 1))])), vec![]);
    let long = MenuDef::new("k", "メニューを開くメニューを開くよ", "k.png").area(Bounds::new(0, 0, 10, 10), uri());
    assert_one_error(
        &MenuSet::new([menu(long, png(800, 540, 1))]),
        "/menus/0/chatBarText",
        "15 characters",
    );
    let empty = MenuDef::new("k", "", "k.png").area(Bounds::new(0, 0, 10, 10), uri());
    assert_one_error(
        &MenuSet::new([menu(empty, png(800, 540, 1))]),
        "/menus/0/chatBarText",
        "0 characters",
    );
}

#[test]
fn an_alias_must_match_the_pattern() {
    for bad in ["Tab-A", "tab a", "", "a234567890123456789012345678901234"] {
        let def = good_def("k").alias(bad);
        assert_one_error(
            &MenuSet::new([menu(def, png(800, 540, 1))]),
            "/menus/0/alias",
            "does not match",
        );
    }
    let def = good_def("k").alias("tab_a-1");
    assert_eq!(errors(&MenuSet::new([menu(def, png(800, 540, 1))])), vec![]);
}

#[test]
fn a_switch_to_an_undeclared_alias_is_an_error() {
    let a = good_def("a")
        .alias("tab-a")
        .area(Bounds::new(0, 0, 400, 100), switch("tab-b"));
    let b = good_def("b")
        .alias("tab-b")
        .area(Bounds::new(0, 0, 400, 100), switch("tab-a"));
    assert_eq!(
        errors(&MenuSet::new([
            menu(a.clone(), png(800, 540, 1)),
            menu(b, png(800, 540, 2))
        ])),
        vec![]
    );
    let set = MenuSet::new([menu(a, png(800, 540, 1))]);
    assert_one_error(
        &set,
        "/menus/0/areas/1/action/richMenuAliasId",
        "\"tab-b\" is not declared",
    );
}

#[test]
fn a_switch_without_data_or_alias_is_an_error() {
    let mut s = RichMenuSwitchAction::new();
    s.rich_menu_alias_id = Some("tab-a".into());
    let def = good_def("a").alias("tab-a").area(Bounds::new(0, 0, 10, 10), s);
    assert_one_error(
        &MenuSet::new([menu(def, png(800, 540, 1))]),
        "/menus/0/areas/1/action/data",
        "data",
    );
    let mut s = RichMenuSwitchAction::new();
    s.data = Some("x".into());
    let def = good_def("a").area(Bounds::new(0, 0, 10, 10), s);
    assert_one_error(
        &MenuSet::new([menu(def, png(800, 540, 1))]),
        "/menus/0/areas/1/action",
        "richMenuAliasId",
    );
}

#[test]
fn duplicate_keys_and_aliases_are_errors() {
    let set = MenuSet::new([
        menu(good_def("a"), png(800, 540, 1)),
        menu(good_def("a"), png(800, 540, 2)),
    ]);
    assert_one_error(&set, "/menus/1/key", "duplicate key");
    let set = MenuSet::new([
        menu(good_def("a").alias("x"), png(800, 540, 1)),
        menu(good_def("b").alias("x"), png(800, 540, 2)),
    ]);
    assert_one_error(&set, "/menus/1/alias", "duplicate alias");
}

#[test]
fn a_bad_key_or_name_is_an_error() {
    let def = MenuDef::new("has space", "Menu", "k.png").area(Bounds::new(0, 0, 10, 10), uri());
    assert_one_error(&MenuSet::new([menu(def, png(800, 540, 1))]), "/menus/0/key", "key");
    let def = MenuDef::new("@default", "Menu", "k.png").area(Bounds::new(0, 0, 10, 10), uri());
    assert_one_error(&MenuSet::new([menu(def, png(800, 540, 1))]), "/menus/0/key", "@");
    let def = good_def("k").name("n".repeat(283));
    assert_one_error(
        &MenuSet::new([menu(def, png(800, 540, 1))]),
        "/menus/0/name",
        "283 characters",
    );
}

#[test]
fn more_than_1000_menus_is_an_error() {
    let img = png(800, 540, 1);
    let set = MenuSet::new((0..1001).map(|i| menu(good_def(&format!("m{i}")), img.clone())));
    let errs = errors(&set);
    assert_eq!(errs.len(), 1, "{:?}", &errs[..errs.len().min(3)]);
    assert_eq!(errs[0].place, "/menus");
}

#[test]
fn a_menu_without_areas_gets_a_warning_only() {
    let def = MenuDef::new("k", "Menu", "k.png");
    let f = validate_set(&MenuSet::new([menu(def, png(800, 540, 1))]));
    assert_eq!(f.len(), 1);
    assert!(!f[0].is_error());
    assert_eq!(
        f[0].to_string(),
        "warning\t/menus/0/areas\tthe menu has no tappable area"
    );
}

#[test]
fn json_file_findings_name_the_pointer_and_images_load_relative_to_the_file() {
    let dir = TempDir::new("json");
    dir.write("a.png", &png(800, 540, 1));
    dir.write("b.png", &png(800, 200, 1));
    let path = dir.write(
        "menus.json",
        br#"{"menus": [
            {"key": "a", "chatBarText": "A", "image": "a.png", "alias": "tab-a",
             "areas": [{"bounds": {"x":0,"y":0,"width":800,"height":540},
                        "action": {"type":"richmenuswitch","richMenuAliasId":"tab-b","data":"b"}}]},
            {"key": "b", "chatBarText": "B", "image": "b.png", "alias": "tab-b",
             "areas": [{"bounds": {"x":0,"y":0,"width":10,"height":10},
                        "action": {"type":"richmenuswitch","richMenuAliasId":"tab-a","data":"a"}}]}
        ]}"#,
    );
    let findings = line_richmenu::check_file(&path).unwrap();
    let lines: Vec<String> = findings.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        vec!["error\t/menus/1/image\timage height 200 is below 250".to_owned()]
    );
}

#[test]
fn toml_files_work_like_json() {
    let dir = TempDir::new("toml");
    dir.write("home.png", &png(800, 540, 1));
    let path = dir.write(
        "home.toml",
        br#"
key = "home"
chatBarText = "Open the menu now!"
image = "home.png"

[[areas]]
bounds = { x = 0, y = 0, width = 800, height = 540 }
action = { type = "uri", uri = "https://example.com" }
"#,
    );
    let set = MenuSet::load(&path).unwrap();
    assert_eq!(set.menus()[0].image.dimensions(), Some((800, 540)));
    let findings = validate_set(&set);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(
        findings[0].place, "/chatBarText",
        "a one-menu file has places from its root"
    );
}

#[test]
fn parse_errors_carry_a_json_pointer() {
    let e = MenuSet::from_json_str(
        r#"{"menus":[{"key":"a","chatBarText":"A","image":"a.png","areas":[{"bounds":{"x":-1,"y":0,"width":1,"height":1},"action":{"type":"uri","uri":"u"}}]}]}"#,
        ".".as_ref(),
    )
    .unwrap_err();
    match e.kind() {
        ErrorKind::Parse { pointer, .. } => assert_eq!(pointer, "/menus/0/areas/0/bounds/x"),
        other => panic!("{other:?}"),
    }
    let e = MenuSet::from_json_str(r#"{"key":"a","chatBarTxt":"A","image":"a.png"}"#, ".".as_ref()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Parse { .. }), "{e}");
    assert!(e.to_string().contains("chatBarTxt"), "{e}");
    let e = MenuSet::from_json_str("{not json", ".".as_ref()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Parse { pointer, .. } if pointer.is_empty()));
    let e = MenuSet::load("/nonexistent/menus.json".as_ref()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Read { .. }));
}

#[test]
fn the_content_hash_follows_the_definition_and_the_image() {
    let a = menu(good_def("k"), png(800, 540, 1));
    let same = menu(good_def("k"), png(800, 540, 1));
    let other_image = menu(good_def("k"), png(800, 540, 2));
    let mut d = good_def("k");
    d.chat_bar_text = "Other".into();
    let other_text = menu(d, png(800, 540, 1));
    let other_alias = menu(good_def("k").alias("x"), png(800, 540, 1));
    assert_eq!(a.content_hash(), same.content_hash());
    assert_ne!(a.content_hash(), other_image.content_hash());
    assert_ne!(a.content_hash(), other_text.content_hash());
    assert_eq!(
        a.content_hash(),
        other_alias.content_hash(),
        "an alias moves; it does not make a new menu"
    );
    assert!(a
        .to_request()
        .name
        .unwrap()
        .ends_with(&format!(" #{}", &a.content_hash()[..16])));
}

/// A one-area menu whose action is `action` (LINE's JSON).
fn with_action(action: serde_json::Value) -> MenuSet {
    let action: Action = serde_json::from_value(action).expect("an action object");
    let def = MenuDef::new("k", "Menu", "k.png").area(Bounds::new(0, 0, 800, 540), action);
    MenuSet::new([menu(def, png(800, 540, 1))])
}

#[test]
fn quick_reply_only_actions_are_errors_in_areas() {
    for kind in ["camera", "cameraRoll", "location"] {
        assert_one_error(
            &with_action(serde_json::json!({"type": kind, "label": "Go"})),
            "/menus/0/areas/0/action/type",
            "quick-reply",
        );
    }
}

#[test]
fn labels_over_20_grapheme_clusters_are_errors() {
    let long = "a".repeat(21);
    assert_one_error(
        &with_action(serde_json::json!({"type": "uri", "label": long, "uri": "https://example.com"})),
        "/menus/0/areas/0/action/label",
        "21 characters",
    );
    // Counted in grapheme clusters: 20 family emoji (7 code points each) and 20 kana are fine.
    for label in ["👨‍👩‍👧‍👦".repeat(20), "あ".repeat(20)] {
        let set = with_action(serde_json::json!({"type": "postback", "label": label, "data": "x"}));
        assert_eq!(errors(&set), vec![], "{label}");
    }
    assert_one_error(
        &with_action(serde_json::json!({"type": "message", "label": "あ".repeat(21), "text": "hi"})),
        "/menus/0/areas/0/action/label",
        "at most 20",
    );
}

#[test]
fn postback_limits() {
    let pb = |extra: serde_json::Value| {
        let mut a = serde_json::json!({"type": "postback", "data": "ok"});
        a.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        with_action(a)
    };
    assert_one_error(
        &pb(serde_json::json!({"data": "d".repeat(301)})),
        "/menus/0/areas/0/action/data",
        "301 characters",
    );
    assert_eq!(errors(&pb(serde_json::json!({"data": "d".repeat(300)}))), vec![]);
    assert_one_error(
        &with_action(serde_json::json!({"type": "postback", "label": "Buy"})),
        "/menus/0/areas/0/action",
        "needs data",
    );
    assert_one_error(
        &pb(serde_json::json!({"displayText": "t".repeat(301)})),
        "/menus/0/areas/0/action/displayText",
        "at most 300",
    );
    assert_one_error(
        &pb(serde_json::json!({"displayText": "a", "text": "b"})),
        "/menus/0/areas/0/action/text",
        "both",
    );
    assert_one_error(
        &pb(serde_json::json!({"inputOption": "openCamera"})),
        "/menus/0/areas/0/action/inputOption",
        "openCamera",
    );
    assert_eq!(
        errors(&pb(
            serde_json::json!({"inputOption": "openKeyboard", "fillInText": "hello"})
        )),
        vec![]
    );
}

#[test]
fn uri_actions_need_a_uri_line_opens() {
    let at = "/menus/0/areas/0/action/uri";
    for bad in [
        "ftp://example.com/a",
        "javascript:alert(1)",
        "example.com",
        "https://",
        "mailto:a@example.com",
        "",
    ] {
        assert_one_error(
            &with_action(serde_json::json!({"type": "uri", "uri": bad})),
            at,
            "http, https, line or tel",
        );
    }
    for good in [
        "https://example.com",
        "HTTP://example.com/x",
        "line://nv/profile",
        "tel:0312345678",
    ] {
        assert_eq!(
            errors(&with_action(serde_json::json!({"type": "uri", "uri": good}))),
            vec![],
            "{good}"
        );
    }
    assert_one_error(
        &with_action(serde_json::json!({"type": "uri", "label": "Shop"})),
        "/menus/0/areas/0/action",
        "needs a uri",
    );
    let long = format!("https://example.com/{}", "a".repeat(1_000));
    assert_one_error(
        &with_action(serde_json::json!({"type": "uri", "uri": long})),
        at,
        "at most 1000",
    );
}

#[test]
fn message_clipboard_switch_and_datetimepicker_limits() {
    let at = |k: &str| format!("/menus/0/areas/0/action{k}");
    assert_one_error(
        &with_action(serde_json::json!({"type": "message", "label": "Hi"})),
        &at(""),
        "needs a text",
    );
    assert_one_error(
        &with_action(serde_json::json!({"type": "message", "text": "x".repeat(301)})),
        &at("/text"),
        "at most 300",
    );
    assert_one_error(
        &with_action(serde_json::json!({"type": "clipboard", "clipboardText": "x".repeat(1_001)})),
        &at("/clipboardText"),
        "1 to 1000",
    );
    assert_one_error(
        &with_action(serde_json::json!({"type": "clipboard", "clipboardText": ""})),
        &at("/clipboardText"),
        "1 to 1000",
    );
    let sw = MenuDef::new("k", "Menu", "k.png").alias("tab-a").area(
        Bounds::new(0, 0, 800, 540),
        serde_json::from_value::<Action>(
            serde_json::json!({"type": "richmenuswitch", "richMenuAliasId": "tab-a", "data": "d".repeat(301)}),
        )
        .unwrap(),
    );
    assert_one_error(&MenuSet::new([menu(sw, png(800, 540, 1))]), &at("/data"), "at most 300");

    let dt = |v: serde_json::Value| with_action(v);
    assert_eq!(
        errors(&dt(
            serde_json::json!({"type": "datetimepicker", "data": "d", "mode": "datetime",
            "initial": "2026-05-01T10:00", "min": "2026-01-01t00:00", "max": "2026-12-31T23:59"})
        )),
        vec![]
    );
    assert_one_error(
        &dt(serde_json::json!({"type": "datetimepicker", "data": "d"})),
        &at(""),
        "needs a mode",
    );
    assert_one_error(
        &dt(serde_json::json!({"type": "datetimepicker", "data": "d", "mode": "week"})),
        &at("/mode"),
        "week",
    );
    assert_one_error(
        &dt(serde_json::json!({"type": "datetimepicker", "data": "d", "mode": "date", "initial": "2026-02-30"})),
        &at("/initial"),
        "yyyy-MM-dd",
    );
    assert_one_error(
        &dt(serde_json::json!({"type": "datetimepicker", "data": "d", "mode": "time", "max": "24:00"})),
        &at("/max"),
        "HH:mm",
    );
    assert_one_error(
        &dt(
            serde_json::json!({"type": "datetimepicker", "data": "d", "mode": "date", "min": "2026-05-02", "max": "2026-05-01"}),
        ),
        &at("/min"),
        "after max",
    );
    assert_one_error(
        &dt(serde_json::json!({"type": "datetimepicker", "data": "d", "mode": "date", "initial": "1899-12-31"})),
        &at("/initial"),
        "1900-01-01",
    );
    assert_one_error(
        &dt(serde_json::json!({"type": "datetimepicker", "mode": "date"})),
        &at(""),
        "needs data",
    );
}
