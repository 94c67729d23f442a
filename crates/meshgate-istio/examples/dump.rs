//! Prints the import of the files given (a development aid).
fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.clone(), std::fs::read_to_string(f).unwrap_or_default()))
        .collect();
    match meshgate_istio::import(&sources, &Default::default()) {
        Ok(i) => {
            for w in &i.warnings {
                eprint!("{}", w.render());
            }
            print!("{}", i.policy);
        }
        Err(es) => {
            for e in es {
                eprint!("{}", e.render());
            }
        }
    }
}
