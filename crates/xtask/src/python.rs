//! Python bindings: not yet built.

pub fn build(_args: &[String]) -> crate::util::Result<std::path::PathBuf> {
    Err("the Python bindings are not built yet".to_string())
}

pub fn test() -> crate::util::Result {
    eprintln!("python bindings: none yet");
    Ok(())
}
