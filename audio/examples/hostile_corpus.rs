//! Writes the hostile audio corpus (`auscult_audio::hostile`) into a folder, for seeding the
//! fuzzers (`fuzz/seed.sh`) or trying a reader by hand.
//!
//! ```text
//! cargo run -p auscult-audio --example hostile_corpus -- DIR
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: hostile_corpus DIR");
        return ExitCode::from(2);
    };
    let written =
        std::fs::create_dir_all(&dir).and_then(|()| auscult_audio::hostile::write_corpus(&dir));
    match written {
        Ok(files) => {
            for f in files {
                println!("{}\t{}", f.path.display(), f.what);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
