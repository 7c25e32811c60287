//! The subcommand: resume a run, train a model per sound, or train one new run; then print
//! the report.

use std::path::Path;

use anyhow::{Context, bail};
use auscult_classifier::resume;

use super::args::Args;
use super::data::{DATA_FILE, DataSpec};
use super::new_run::train_new;
use super::per_sound::train_per_sound;
use super::report::print_report;
use crate::output::{BarProgress, print_json};

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let progress = BarProgress::new(args.json);
    let report = if let Some(dir) = &args.resume {
        let spec: DataSpec = read_json(&dir.join(DATA_FILE))?;
        let saved: auscult_classifier::ModelConfig =
            read_json(&dir.join(auscult_classifier::files::CONFIG))?;
        let data = spec.load(&saved.train)?;
        let corpora = spec.corpora()?;
        resume(dir, &data, &corpora, args.allow_data_change, &progress)
            .with_context(|| format!("resuming {}", dir.display()))?
    } else {
        let (Some(root), Some(out)) = (&args.data, &args.out) else {
            bail!("--data and --out are required (or --resume RUN_DIR)");
        };
        if args.per_sound {
            return train_per_sound(&args, root, out, &progress);
        }
        train_new(&args, root, out, None, &progress)?.0
    };
    if args.json {
        print_json(&report)
    } else {
        crate::output::print_start(report.start, &report.run_dir);
        print_report(&report);
        Ok(())
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    Ok(auscult_experiment::read_json(path)?)
}
