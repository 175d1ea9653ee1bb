//! The bindings, exercised in headless node by `wasm-pack test --node`.
#![cfg(target_arch = "wasm32")]

use castamere::wasm::WasmStore;
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
fn ping_answers_pong() {
    let mut s = WasmStore::new();
    let r = s.exec(vec!["PING".into()]).unwrap();
    assert_eq!(r.as_string().as_deref(), Some("PONG"));
}
