//! Native timing of the store's hot paths (a quick profile aid; the benchmark is bench/).
use castamere::Store;
use std::time::Instant;

fn main() {
    let keys: Vec<String> = (0..1000).map(|i| format!("page:{i}:views")).collect();
    let mut s = Store::new(1);
    let n = 2_000_000;
    let t = Instant::now();
    for i in 0..n {
        s.incr_by(keys[i % 1000].as_bytes(), 1).unwrap();
        if i % 4096 == 0 {
            s.take_delta();
        }
    }
    let el = t.elapsed();
    println!("incr_by: {:.0} ns/op", el.as_nanos() as f64 / n as f64);
    let t = Instant::now();
    for i in 0..n {
        s.exec(0, &[b"SET", keys[i % 1000].as_bytes(), b"v"]).ok();
    }
    println!("set(wrongtype): {:.0} ns/op", t.elapsed().as_nanos() as f64 / n as f64);
}
