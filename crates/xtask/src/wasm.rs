//! WebAssembly builds: not yet built.

pub fn build(_args: &[String]) -> crate::util::Result {
    Err("the WebAssembly builds are not built yet".to_string())
}

pub fn test() -> crate::util::Result {
    eprintln!("wasm bindings: none yet");
    Ok(())
}
