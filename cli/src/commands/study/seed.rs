//! One seed of a study: the generator (trained, or reused with `--generator-from`), the
//! generated corpus, then every arm trained and evaluated on the test patients.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use auscult_classifier::Evaluation;
use auscult_datasets::{GeneratedCorpus, SplitSpec};
use auscult_study::{Arm, Budget, SeedResult, layout, mean};

use super::args::Args;
use super::gate::{RealProbabilities, gate_corpus};
use super::runner::{Runner, p, s};

/// Runs one seed: the generated corpus when an arm needs it, then every arm in `arms`, each
/// trained and evaluated on the test patients.
pub(super) fn run_seed(
    runner: &mut Runner,
    args: &Args,
    budget: &Budget,
    arms: &[Arm],
    data: &Path,
    out: &Path,
    seed: u64,
) -> anyhow::Result<SeedResult> {
    let dir = out.join(layout::seed_dir(seed));
    // Every model trains on the same split's training part (`evaluate` and `quality` read it
    // back from the classifier's run); the official split is each command's default.
    let common = |mut v: Vec<String>| {
        v.extend([s("--seed"), s(seed), s("--device"), args.device.clone()]);
        if args.split != SplitSpec::Official {
            v.extend([s("--split"), s(args.split)]);
        }
        v
    };
    let mut corpus_dir = None;
    let mut generated = BTreeMap::new();
    if arms.iter().any(|a| a.needs_corpus()) {
        let prior = match &args.generator_from {
            // A prior directory itself: one generator for every seed.
            Some(from) if from.join(auscult_vqvae::MODEL_FILE).exists() => {
                eprintln!(
                    "\n==> seed {seed}: reusing the prior in {} (shared by every seed)",
                    from.display()
                );
                from.clone()
            }
            Some(from) => {
                let prior = from.join(layout::seed_dir(seed)).join(layout::PRIOR_DIR);
                if !prior.join(auscult_vqvae::MODEL_FILE).exists() {
                    bail!(
                        "--generator-from {}: neither a prior directory nor a study with a trained prior for seed {seed} at {} (run `auscult study` there with the same seeds first)",
                        from.display(),
                        prior.display()
                    );
                }
                eprintln!(
                    "\n==> seed {seed}: reusing the prior in {}",
                    prior.display()
                );
                prior
            }
            None => {
                let vq = dir.join(layout::VQVAE_DIR);
                let prior = dir.join(layout::PRIOR_DIR);
                runner.run(
                    &format!("seed {seed}: train the VQ-VAE on the training patients"),
                    &common(vec![
                        s("train-vqvae"),
                        s("--data"),
                        p(data),
                        s("--epochs"),
                        s(budget.vqvae_epochs),
                        s("--out"),
                        p(&vq),
                    ]),
                )?;
                runner.run(
                    &format!("seed {seed}: train the prior over the VQ-VAE codes"),
                    &common(vec![
                        s("train-prior"),
                        s("--vqvae"),
                        p(&vq),
                        s("--data"),
                        p(data),
                        s("--epochs"),
                        s(budget.prior_epochs),
                        s("--out"),
                        p(&prior),
                    ]),
                )?;
                prior
            }
        };
        if args.generator_from.is_some() {
            check_generator_split(&prior, &args.split)?;
        }
        let corpus = dir.join(layout::GENERATED_DIR);
        let mut gen_args = vec![
            s("generate"),
            s("--prior"),
            p(&prior),
            s("--balance"),
            s("--temperature"),
            s(args.temperature),
            s("--seed"),
            s(seed),
            s("--out"),
            p(&corpus),
        ];
        if args.top_k > 0 {
            gen_args.extend([s("--top-k"), s(args.top_k)]);
        }
        if let Some(top_p) = args.top_p {
            gen_args.extend([s("--top-p"), s(top_p)]);
        }
        if let Some(target) = args.target {
            gen_args.extend([s("--target"), s(target)]);
        }
        if args.no_texture {
            gen_args.push(s("--no-texture"));
        }
        if args.match_envelope {
            gen_args.push(s("--match-envelope"));
        }
        runner.run(
            &format!("seed {seed}: generate minority-class samples up to the majority count"),
            &gen_args,
        )?;
        let opened = GeneratedCorpus::open(&corpus)?;
        generated = opened.manifest.class_counts();
        corpus_dir = Some(corpus);
    }

    let augment_ratio: Vec<String> = args
        .augment_ratio
        .map(|r| vec![s("--augment-ratio"), s(r)])
        .unwrap_or_default();
    let mut results = BTreeMap::new();
    let mut predictions = BTreeMap::new();
    let mut gate_kept = BTreeMap::new();
    let mut gate_mean_probability = BTreeMap::new();
    let mut real_mean_probability = BTreeMap::new();
    let mut gate_thresholds = BTreeMap::new();
    for &arm in arms {
        let run_dir = dir.join(layout::arm_dir(arm));
        // Every arm starts from the compact recipe, on any data: the arms are defined against
        // it, and its front end is the generator's (the icbhi recipe's 2 kHz band would refuse
        // the generated corpus).
        let mut train_args = vec![
            s("train"),
            s("--data"),
            p(data),
            s("--recipe"),
            s("compact"),
            s("--epochs"),
            s(budget.classifier_epochs),
            s("--out"),
            p(&run_dir),
        ];
        match arm {
            Arm::Plain => {
                train_args.extend([s("--mixup"), s("none"), s("--supcon-weight"), s("0")])
            }
            Arm::MixupSupcon => {}
            Arm::Augmented => {
                if let Some(c) = &corpus_dir {
                    train_args.extend([s("--augment"), p(c)]);
                }
                train_args.extend(augment_ratio.clone());
            }
            Arm::Oversample => train_args.extend([
                s("--oversample"),
                s("--mixup"),
                s("none"),
                s("--supcon-weight"),
                s("0"),
            ]),
            Arm::Gated => {
                let corpus = corpus_dir
                    .as_ref()
                    .context("arm (e) needs the generated corpus")?;
                let gate_model = dir.join(layout::arm_dir(Arm::Plain));
                let gated = dir.join(layout::GATED_DIR);
                let started = Instant::now();
                let real = RealProbabilities::of(&gate_model)?;
                gate_thresholds = auscult_study::gate_thresholds(
                    &real.reference,
                    args.gate_threshold,
                    args.gate_relative,
                );
                (gate_kept, gate_mean_probability) =
                    gate_corpus(&gate_model, corpus, &gated, &gate_thresholds)?;
                real_mean_probability = real
                    .test
                    .iter()
                    .map(|(c, probs)| (c.clone(), mean(probs)))
                    .collect();
                runner.record(
                    &format!("seed {seed}: quality gate"),
                    format!(
                        "keep generated samples of {} that {} assigns to their class with p >= {} -> {}",
                        corpus.display(),
                        gate_model.display(),
                        gate_thresholds
                            .iter()
                            .map(|(c, t)| format!("{t:.3} ({c})"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        gated.display()
                    ),
                    started,
                );
                train_args.extend([s("--augment"), p(&gated)]);
                train_args.extend(augment_ratio.clone());
            }
        }
        if run_dir.join(auscult_classifier::files::CONFIG).exists() {
            std::fs::remove_dir_all(&run_dir)
                .with_context(|| format!("cannot clear the old run {}", run_dir.display()))?;
        }
        runner.run(
            &format!(
                "seed {seed}: train arm ({}) {}",
                arm.letter(),
                arm.description()
            ),
            &common(train_args),
        )?;
        let predictions_file = run_dir.join(layout::TEST_PREDICTIONS_FILE);
        let text = runner.run(
            &format!(
                "seed {seed}: evaluate arm ({}) on the test patients",
                arm.letter()
            ),
            &[
                s("evaluate"),
                s("--model"),
                p(&run_dir),
                s("--data"),
                p(data),
                s("--part"),
                s("test"),
                s("--predictions"),
                p(&predictions_file),
                s("--json"),
            ],
        )?;
        let evaluation: Evaluation = serde_json::from_str(&text)
            .context("`auscult evaluate --json` printed JSON of an unexpected shape")?;
        predictions.insert(
            arm,
            super::super::predictions::read(&predictions_file, &evaluation.metrics.classes)?,
        );
        results.insert(arm, evaluation);
    }
    // The generated corpus through arm (b)'s classifier, trained on real data only.
    let mut quality = Vec::new();
    if let Some(corpus) = &corpus_dir
        && results.contains_key(&Arm::MixupSupcon)
    {
        let text = runner.run(
            &format!("seed {seed}: the generated corpus through arm (b)'s classifier"),
            &[
                s("quality"),
                s("--corpus"),
                p(corpus),
                s("--model"),
                p(&dir.join(layout::arm_dir(Arm::MixupSupcon))),
                s("--data"),
                p(data),
                s("--seed"),
                s(seed),
                s("--json"),
            ],
        )?;
        let value: serde_json::Value =
            serde_json::from_str(&text).context("`auscult quality --json` printed invalid JSON")?;
        quality = serde_json::from_value(value["classes"].clone())
            .context("`auscult quality --json` printed classes of an unexpected shape")?;
    }
    Ok(SeedResult {
        seed,
        quality,
        arms: results,
        corpus: corpus_dir,
        generated,
        gate_kept,
        gate_mean_probability,
        real_mean_probability,
        gate_thresholds,
        predictions,
    })
}

/// The split a reused generator was trained on, read from its `provenance.json` command line
/// (`official` when it names none), must be the study's: a prior trained on the official
/// training patients has seen every fold of them, so a study on a fold would test it on
/// patients it learnt from.
fn check_generator_split(prior: &Path, split: &SplitSpec) -> anyhow::Result<()> {
    let file = prior.join(auscult_vqvae::PROVENANCE_FILE);
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Ok(());
    };
    let provenance: auscult_experiment::Provenance = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a provenance file", file.display()))?;
    let trained = split_of(&provenance.command_line)
        .with_context(|| format!("{}: its --split", file.display()))?;
    if trained.to_string() != split.to_string() {
        bail!(
            "--generator-from {}: that generator was trained on split {trained}, this study uses {split}; train one on {split} (run the study without --generator-from)",
            prior.display()
        );
    }
    Ok(())
}

/// The `--split` of a recorded command line (`official` when absent).
fn split_of(command_line: &[String]) -> anyhow::Result<SplitSpec> {
    let mut value = None;
    for (i, a) in command_line.iter().enumerate() {
        if a == "--split" {
            value = command_line.get(i + 1).cloned();
        } else if let Some(v) = a.strip_prefix("--split=") {
            value = Some(v.to_string());
        }
    }
    match value {
        Some(v) => v.parse::<SplitSpec>().map_err(|e| anyhow::anyhow!(e)),
        None => Ok(SplitSpec::Official),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn split_of_reads_the_flag_or_defaults_to_official() {
        let official = SplitSpec::Official;
        assert_eq!(
            split_of(&line(&["auscult", "train-prior"])).unwrap(),
            official
        );
        let fold = split_of(&line(&["auscult", "train-prior", "--split", "cv:4:1:0"])).unwrap();
        assert_eq!(fold.to_string(), "cv:4:1:0");
        let fold = split_of(&line(&["auscult", "--split=cv:4:2:0"])).unwrap();
        assert_eq!(fold.to_string(), "cv:4:2:0");
        assert!(split_of(&line(&["auscult", "--split", "nonsense"])).is_err());
    }

    #[test]
    fn a_generator_from_another_split_is_refused() {
        let dir = std::env::temp_dir().join(format!("auscult-split-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // No provenance: nothing to check against.
        assert!(check_generator_split(&dir, &SplitSpec::Official).is_ok());
        let provenance = auscult_experiment::Provenance {
            auscult_version: "0".into(),
            burn_version: "0".into(),
            command_line: line(&["auscult", "train-prior", "--split", "official"]),
            data: vec![],
            data_fingerprint: String::new(),
            data_files: 0,
            seed: 0,
            created_unix_s: 0,
            executable_sha256: String::new(),
            cpu: String::new(),
        };
        std::fs::write(
            dir.join("provenance.json"),
            serde_json::to_string(&provenance).unwrap(),
        )
        .unwrap();
        assert!(check_generator_split(&dir, &SplitSpec::Official).is_ok());
        let fold: SplitSpec = "cv:4:0:0".parse().unwrap();
        let err = check_generator_split(&dir, &fold).unwrap_err().to_string();
        assert!(err.contains("trained on split official"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
