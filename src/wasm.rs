//! wasm-bindgen newtypes over the core. Conversions only; no logic lives here.

use wasm_bindgen::prelude::*;

use crate::store::Reply;

/// The store as seen from JavaScript.
#[wasm_bindgen(js_name = Store)]
pub struct WasmStore(crate::Store);

#[wasm_bindgen(js_class = Store)]
impl WasmStore {
    /// An empty store.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmStore {
        console_error_panic_hook::set_once();
        WasmStore(crate::Store::new())
    }

    /// Runs one command given as an array of strings.
    pub fn exec(&mut self, args: Vec<String>) -> Result<JsValue, JsError> {
        let words: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        match self.0.exec(&words)? {
            Reply::Status(s) => Ok(JsValue::from_str(s)),
        }
    }
}

impl Default for WasmStore {
    fn default() -> Self {
        Self::new()
    }
}
