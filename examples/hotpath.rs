//! Native timing of the store's hot paths (a quick profile aid; the benchmark is bench/).
//! `cargo run --release --example hotpath [incr|handle|get|sadd|hset|set|saddh]`
use castamere::Store;
use std::time::Instant;

fn n_ops(_: usize) -> usize {
    4_000_000
}

fn main() {
    let only = std::env::args().nth(1);
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let keys: Vec<String> = (0..1000).map(|i| format!("page:{i}:views")).collect();
    let n = 4_000_000;
    if run("incr") {
        let mut s = Store::new(1);
        let t = Instant::now();
        for i in 0..n {
            s.incr_by(keys[i % 1000].as_bytes(), 1).unwrap();
            if i % 4096 == 0 {
                s.take_delta();
            }
        }
        println!("incr_by: {:.0} ns/op", t.elapsed().as_nanos() as f64 / n as f64);
    }
    if run("handle") {
        let mut s = Store::new(1);
        let handles: Vec<u32> = keys.iter().map(|k| s.intern(k.as_bytes()).expect("short key")).collect();
        let t = Instant::now();
        for i in 0..n {
            s.incr_by_handle(handles[i % 1000], 1).unwrap();
            if i % 4096 == 0 {
                s.take_delta();
            }
        }
        println!("incr_by_handle: {:.0} ns/op", t.elapsed().as_nanos() as f64 / n as f64);
    }
    if run("get") {
        let mut s = Store::new(1);
        for k in &keys {
            s.exec(0, &[b"SET", k.as_bytes(), b"v"]).unwrap();
        }
        let t = Instant::now();
        let mut n = 0;
        for i in 0..n_ops(n) {
            if s.exec(0, &[b"GET", keys[i % 1000].as_bytes()]).is_ok() {
                n += 1;
            }
        }
        println!("get: {:.0} ns/op", t.elapsed().as_nanos() as f64 / n as f64);
    }
    for (name, cmd) in [("sadd", &b"SADD"[..]), ("hset", &b"HSET"[..])] {
        if !run(name) {
            continue;
        }
        let mut s = Store::new(1);
        let members: Vec<String> = (0..64).map(|i| format!("u{i}")).collect();
        let t = Instant::now();
        for i in 0..n {
            let k = keys[i % 1000].as_bytes();
            let m = members[i % 64].as_bytes();
            if cmd == b"SADD" {
                s.exec(0, &[cmd, k, m]).unwrap();
            } else {
                s.exec(0, &[cmd, k, &m[..2], b"v"]).unwrap();
            }
            if i % 4096 == 0 {
                s.take_delta();
            }
        }
        println!("{name}: {:.0} ns/op", t.elapsed().as_nanos() as f64 / n as f64);
    }
    if run("set") {
        let mut s = Store::new(1);
        let t = Instant::now();
        for i in 0..n {
            s.exec(0, &[b"SET", keys[i % 1000].as_bytes(), b"v"]).unwrap();
            if i % 4096 == 0 {
                s.take_delta();
            }
        }
        println!("set: {:.0} ns/op", t.elapsed().as_nanos() as f64 / n as f64);
    }
    if run("saddh") {
        // SADD through handles, as the shim's typed writes: present members, then new ones.
        use castamere::store::HandleWrite;
        for (label, distinct) in [("present member", 64usize), ("new member", 200_000)] {
            let members: Vec<String> = (0..distinct).map(|i| format!("u{i}")).collect();
            let mut total = 0u128;
            for _ in 0..5 {
                let mut s = Store::new(1);
                let handles: Vec<u32> = keys.iter().map(|k| s.intern(k.as_bytes()).expect("short key")).collect();
                let t = Instant::now();
                for i in 0..200_000 {
                    let m = members[i % distinct].as_bytes();
                    s.write_by_handle(0, handles[i % 1000], HandleWrite::Sadd, m, b"").unwrap();
                }
                total += t.elapsed().as_nanos();
            }
            println!("sadd by handle, {label}: {:.0} ns/op", total as f64 / 1_000_000.0);
        }
    }
}
