//! temporary stack probe
fn nested_boxes(depth: usize) -> String {
    let mut s = String::from(r#"{"type":"text","text":"x"}"#);
    for _ in 0..depth {
        s = format!(r#"{{"type":"box","layout":"vertical","contents":[{s}]}}"#);
    }
    format!(r#"{{"type":"bubble","body":{s}}}"#)
}
fn main() {
    let a: Vec<usize> = std::env::args().skip(1).map(|x| x.parse().unwrap()).collect();
    let (kb, phase, depth) = (a[0], a[1], a[2]);
    std::thread::Builder::new().stack_size(kb * 1024).spawn(move || {
        let s = nested_boxes(depth);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        if phase == 0 { std::mem::forget(v); return; }
        let doc = line_flex::Document::from_value(v).unwrap();
        if phase >= 2 { let _ = doc.validate(); }
        if phase >= 3 { let _ = serde_json::to_vec(&doc).unwrap(); }
        if phase >= 4 { drop(doc) } else { std::mem::forget(doc); }
    }).unwrap().join().unwrap();
}
