//! Wrong structures do not compile.

#[test]
fn wrong_structures_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
