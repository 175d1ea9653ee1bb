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
    let mut s = WasmStore::new(0, 1, None, None);
    let r = s.exec(&cmd(&["PING"]), 0.0).unwrap();
    assert_eq!(r.as_string().as_deref(), Some("PONG"));
}

#[wasm_bindgen_test]
fn replies_convert_to_javascript_values() {
    let mut s = WasmStore::new(0, 1, None, None);
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
    let mut s = WasmStore::new(0, 1, None, None);
    s.exec(&cmd(&["SET", "k", "v"]), 0.0).unwrap();
    let e = s.exec(&cmd(&["INCR", "k"]), 0.0).unwrap_err();
    assert_eq!(Reflect::get(&e, &"code".into()).unwrap().as_string().as_deref(), Some("WRONGTYPE"));
    let bad = s.apply_deltas(&[0xC1, 0xff]).unwrap_err();
    assert_eq!(Reflect::get(&bad, &"code".into()).unwrap().as_string().as_deref(), Some("EPROTO"));
}

#[wasm_bindgen_test]
fn deltas_cross_between_stores() {
    let mut a = WasmStore::new(0, 1, None, None);
    let mut b = WasmStore::new(0, 2, None, None);
    a.exec(&cmd(&["SADD", "s", "x"]), 0.0).unwrap();
    b.apply_deltas(&a.take_deltas().unwrap()).unwrap();
    assert_eq!(b.exec(&cmd(&["SCARD", "s"]), 0.0).unwrap().as_f64(), Some(1.0));
}

fn deliver(from: &mut castamere::wasm::WasmReplica, to: &mut castamere::wasm::WasmReplica, now: f64) {
    while let Some(p) = from.poll_transmit() {
        let dest = from.transmit_to();
        assert!(dest <= 3, "destination {dest}");
        assert_eq!(from.transmit_peer().is_some(), dest == 2);
        if dest != 3 {
            to.handle_message(now, &p).unwrap();
        }
    }
    let _ = from.poll_events();
}

#[wasm_bindgen_test]
fn replicas_exchange_transmits_through_javascript_values() {
    use castamere::wasm::WasmReplica;
    let mut a = WasmReplica::new(0, 1, JsValue::UNDEFINED).unwrap();
    let mut b = WasmReplica::new(0, 2, JsValue::UNDEFINED).unwrap();
    a.start(0.0);
    b.start(0.0);
    a.exec(&cmd(&["INCRBY", "views", "5"]), 0.0).unwrap();
    let mut now = 0.0;
    for _ in 0..100 {
        now += 5.0;
        a.handle_timeout(now);
        b.handle_timeout(now);
        deliver(&mut a, &mut b, now);
        deliver(&mut b, &mut a, now);
    }
    assert_eq!(b.exec(&cmd(&["GET", "views"]), now).unwrap().as_f64(), Some(5.0));
    assert_eq!(a.region_acked(), 1.0);
    // Garbage from the network throws and changes nothing.
    let e = b.handle_message(now, &[0xC7, 1, 0xff]).unwrap_err();
    assert_eq!(Reflect::get(&e, &"code".into()).unwrap().as_string().as_deref(), Some("EPROTO"));
}

#[wasm_bindgen_test]
fn unknown_replica_options_are_refused() {
    use castamere::wasm::WasmReplica;
    let o = js_sys::Object::new();
    Reflect::set(&o, &"leaseMS".into(), &JsValue::from_f64(5.0)).unwrap();
    let e = WasmReplica::new(0, 1, o.into()).err().unwrap();
    let msg = Reflect::get(&e, &"message".into()).unwrap().as_string().unwrap();
    assert!(msg.contains("unknown replica option 'leaseMS'"), "{msg}");
}
