//! `auscult pool`: pool the held-out folds of cross-validated studies and compare arms (and
//! settings) on all the training patients at once.
//!
//! Reads each study's `report.json` (its split and classes) and every arm's
//! `test-predictions.csv`; the statistics are `auscult_study::pool`'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use auscult_classifier::metrics::BootstrapOptions;
use auscult_study::{
    Arm, ArmPredictions, FoldStudy, PAIRED_RESAMPLES, PoolSetting, StudyReport, layout, pool,
    pooled_table,
};

use super::predictions;
use crate::output::print_json;

/// Arguments of `auscult pool`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example, four folds at the defaults against four at half the generated corpus:
  for i in 0 1 2 3; do auscult study --data ICBHI --split cv:4:$i --seeds 1 --arms b,c,e --out cv$i; done
  auscult pool defaults=cv0,cv1,cv2,cv3 half=cv0-half,cv1-half,cv2-half,cv3-half"
)]
pub struct Args {
    /// One setting's fold studies: `NAME=DIR,DIR,...` or `DIR,DIR,...` (named `pooled`), each
    /// DIR an `auscult study --split cv:K:INDEX --out DIR` of another fold. Several settings
    /// are compared on the same folds, with the same patient draws.
    #[arg(required = true, value_name = "SETTING")]
    pub settings: Vec<String>,
    /// Arms to report, comma separated (letters or names); default: every arm that each fold
    /// of each setting ran.
    #[arg(long, value_delimiter = ',', value_parser = parse_arm)]
    pub arms: Vec<Arm>,
    /// The arm every other arm is measured against.
    #[arg(long, default_value = "b", value_parser = parse_arm)]
    pub baseline: Arm,
    /// Bootstrap resamples (patients drawn with replacement) of the difference intervals.
    #[arg(long, default_value_t = PAIRED_RESAMPLES, value_name = "N")]
    pub resamples: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Print the pooled report as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

fn parse_arm(s: &str) -> Result<Arm, auscult_study::Error> {
    s.parse()
}

/// Reads one fold study: its report and every arm's predictions of every seed.
fn read_study(dir: &Path) -> anyhow::Result<FoldStudy> {
    let path = dir.join(layout::REPORT_JSON);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {} (is {} the --out of an `auscult study`?)",
            path.display(),
            dir.display()
        )
    })?;
    let report: StudyReport = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a study report", path.display()))?;
    let split = report
        .split
        .parse()
        .map_err(|e| anyhow::anyhow!("{}: split `{}`: {e}", path.display(), report.split))?;
    let Some(evaluation) = report.per_seed.iter().find_map(|r| r.arms.values().next()) else {
        bail!("{}: the study evaluated no arm", path.display());
    };
    let classes = evaluation.metrics.classes.clone();
    let normal = evaluation.metrics.normal_class;
    let mut by_seed = BTreeMap::new();
    for r in &report.per_seed {
        let mut arms = ArmPredictions::new();
        for &arm in r.arms.keys() {
            let file = dir
                .join(layout::arm_run(r.seed, arm))
                .join(layout::TEST_PREDICTIONS_FILE);
            if file.exists() {
                arms.insert(arm, predictions::read(&file, &classes)?);
            }
        }
        by_seed.insert(r.seed, arms);
    }
    Ok(FoldStudy {
        name: dir.display().to_string(),
        split,
        classes,
        normal,
        predictions: by_seed,
    })
}

/// Parses `NAME=DIR,DIR` (or `DIR,DIR`) and reads its studies.
fn read_setting(spec: &str) -> anyhow::Result<PoolSetting> {
    let (name, dirs) = match spec.split_once('=') {
        Some((name, dirs)) if !name.is_empty() => (name.to_string(), dirs),
        _ => ("pooled".to_string(), spec),
    };
    let folds = dirs
        .split(',')
        .filter(|d| !d.is_empty())
        .map(|d| read_study(&PathBuf::from(d)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if folds.is_empty() {
        bail!("setting `{spec}` names no study directory");
    }
    Ok(PoolSetting { name, folds })
}

/// The arms every fold of every setting has predictions of (for some seed).
fn arms_everywhere(settings: &[PoolSetting]) -> Vec<Arm> {
    Arm::ALL
        .into_iter()
        .filter(|arm| {
            settings.iter().all(|s| {
                s.folds
                    .iter()
                    .all(|f| f.predictions.values().any(|a| a.contains_key(arm)))
            })
        })
        .collect()
}

/// Runs `auscult pool`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let settings = args
        .settings
        .iter()
        .map(|s| read_setting(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let arms = if args.arms.is_empty() {
        arms_everywhere(&settings)
    } else {
        args.arms.clone()
    };
    let report = pool(
        &settings,
        &arms,
        args.baseline,
        BootstrapOptions {
            resamples: args.resamples,
            seed: args.seed,
        },
    )?;
    if args.json {
        print_json(&report)?;
    } else {
        print!("{}", pooled_table(&report));
    }
    Ok(())
}
