//! Writes every target's seed corpus (`cargo xtask fuzz seeds` runs it):
//! `seeds DIR` writes `DIR/<target>/<seed>`.

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: seeds DIR");
        return std::process::ExitCode::from(2);
    };
    match custody_fuzz::seeds::write_all(std::path::Path::new(&dir)) {
        Ok(counts) => {
            for (target, n) in counts {
                println!("{target:<18} {n} seeds");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seeds: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
