//! The bindings, exercised in headless node by `wasm-pack test --node`.
#![cfg(target_arch = "wasm32")]

use castamere::wasm::WasmStore;
use js_sys::{Array, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

fn cmd(words: &[&str]) -> Array {
    words.iter().map(|w| JsValue::from_str(w)).collect()
}

#[wasm_bindgen_test]
fn ping_answers_pong() {
    let mut s = WasmStore::new(JsValue::from_f64(1.0), None, None).unwrap();
    let r = s.exec(&cmd(&["PING"]), 0.0).unwrap();
    assert_eq!(r.as_string().as_deref(), Some("PONG"));
}

#[wasm_bindgen_test]
fn replies_convert_to_javascript_values() {
    let mut s = WasmStore::new(JsValue::from_f64(1.0), None, None).unwrap();
    assert_eq!(s.exec(&cmd(&["INCRBY", "views", "5"]), 0.0).unwrap().as_f64(), Some(5.0));
    assert_eq!(s.incr_by("views", 2.0).unwrap(), 7.0);
    assert!(s.exec(&cmd(&["GET", "none"]), 0.0).unwrap().is_null());
    let big = s.exec(&cmd(&["INCRBY", "big", "9223372036854775807"]), 0.0).unwrap();
    assert!(big.is_bigint());
    s.exec(&cmd(&["HSET", "h", "f", "v"]), 0.0).unwrap();
    let all = s.exec(&cmd(&["HGETALL", "h"]), 0.0).unwrap();
    assert_eq!(Reflect::get(&all, &"f".into()).unwrap().as_string().as_deref(), Some("v"));
}

#[wasm_bindgen_test]
fn errors_carry_a_code() {
    let mut s = WasmStore::new(JsValue::from_f64(1.0), None, None).unwrap();
    s.exec(&cmd(&["SET", "k", "v"]), 0.0).unwrap();
    let e = s.exec(&cmd(&["INCR", "k"]), 0.0).unwrap_err();
    assert_eq!(Reflect::get(&e, &"code".into()).unwrap().as_string().as_deref(), Some("WRONGTYPE"));
    let bad = s.apply_deltas(&[0xC1, 0xff]).unwrap_err();
    assert_eq!(Reflect::get(&bad, &"code".into()).unwrap().as_string().as_deref(), Some("EPROTO"));
}

#[wasm_bindgen_test]
fn deltas_cross_between_stores() {
    let mut a = WasmStore::new(JsValue::from_f64(1.0), None, None).unwrap();
    let mut b = WasmStore::new(JsValue::from_f64(2.0), None, None).unwrap();
    a.exec(&cmd(&["SADD", "s", "x"]), 0.0).unwrap();
    b.apply_deltas(&a.take_deltas().unwrap()).unwrap();
    assert_eq!(b.exec(&cmd(&["SCARD", "s"]), 0.0).unwrap().as_f64(), Some(1.0));
}
