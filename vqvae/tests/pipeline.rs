//! End to end on a tiny synthetic ICBHI corpus: train a tiny VQ-VAE (and resume it), train a
//! tiny prior, generate corpora, read them back.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use auscult_datasets::{
    ExampleSet, GeneratedCorpus, LoadOptions, SplitSpec, SynthConfig, load_examples, synth_icbhi,
};
use auscult_experiment::{LrSchedule, NoProgress, read_metrics};
use auscult_vqvae::{
    ClassCounts, GenerateRequest, PriorConfig, PriorTrainConfig, QualityReport, SamplingConfig,
    VqVaeConfig, VqVaeTrainConfig, generate, train_prior, train_vqvae,
};

fn data(dir: &Path) -> ExampleSet {
    let root = dir.join("icbhi");
    synth_icbhi(
        &root,
        &SynthConfig {
            patients: 12,
            ..SynthConfig::icbhi(3)
        },
    )
    .unwrap();
    let opts = LoadOptions {
        // As the CLI does: the VQ-VAE's own cut (one cycle centred in silence).
        examples: VqVaeTrainConfig::default().examples,
        split: SplitSpec::All,
        val_fraction: 0.25,
        seed: 1,
        ..LoadOptions::default()
    };
    let set = load_examples(&root, &opts).unwrap();
    assert!(
        set.train.len() >= 12 && !set.val.is_empty(),
        "{} train, {} val",
        set.train.len(),
        set.val.len()
    );
    set
}

fn tiny_vq(epochs: usize) -> VqVaeTrainConfig {
    VqVaeTrainConfig {
        model: VqVaeConfig {
            channels: [8, 16],
            res_blocks: 1,
            codebook_size: 32,
            code_dim: 8,
            class_embedding: 4,
            // A 16 x 16 grid (256 codes) keeps the tiny prior quick.
            strides: vec![[2, 2], [2, 2], [1, 2]],
            ..VqVaeConfig::default()
        },
        epochs,
        batch_size: 8,
        lr: 3e-3,
        schedule: LrSchedule::Constant,
        seed: 5,
        reconstructions: 4,
        ..VqVaeTrainConfig::default()
    }
}

fn column(path: &Path, key: &str) -> Vec<f64> {
    read_metrics(path)
        .unwrap()
        .iter()
        .map(|v| v[key].as_f64().unwrap())
        .collect()
}

#[test]
fn train_resume_prior_and_generate() {
    let tmp = tempfile::tempdir().unwrap();
    let set = data(tmp.path());

    // VQ-VAE: the reconstruction loss falls, several codes are used.
    let vq_dir = tmp.path().join("vq");
    let report = train_vqvae(&tiny_vq(6), &set, &vq_dir, &NoProgress).unwrap();
    let rec = column(&vq_dir.join("metrics.jsonl"), "train_reconstruction");
    assert_eq!(rec.len(), 6);
    assert!(
        rec[5] < 0.8 * rec[0] && rec[5] < rec[1],
        "reconstruction loss did not fall: {rec:?}"
    );
    assert!(report.codes_used > 1, "{report:?}");
    assert!(report.perplexity > 1.0 && report.reconstruction_mae_db.is_finite());
    assert!(vq_dir.join("reconstructions.png").is_file());
    assert_eq!(report.grid, [16, 16]);

    // Resuming a 3-epoch run to 6 epochs gives exactly the 6-epoch run.
    let resumed = tmp.path().join("vq-resumed");
    train_vqvae(&tiny_vq(3), &set, &resumed, &NoProgress).unwrap();
    let err = train_vqvae(&tiny_vq(6), &set, &resumed, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--resume"), "{err}");
    let mut again = tiny_vq(6);
    again.resume = true;
    // Resuming on changed data is refused (the source files' fingerprint differs).
    let source = set.train[0].source.clone();
    let original = std::fs::read(&source).unwrap();
    let mut changed = original.clone();
    changed.push(0);
    std::fs::write(&source, &changed).unwrap();
    let refused = train_vqvae(&again, &set, &resumed, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("the data differs"), "{refused}");
    std::fs::write(&source, &original).unwrap();
    train_vqvae(&again, &set, &resumed, &NoProgress).unwrap();
    assert_eq!(
        rec,
        column(&resumed.join("metrics.jsonl"), "train_reconstruction")
    );

    // Prior: its loss falls.
    let prior_dir = tmp.path().join("prior");
    let pcfg = PriorTrainConfig {
        model: PriorConfig {
            d_model: 32,
            n_heads: 2,
            n_layers: 1,
            d_ff: 64,
            dropout: 0.0,
            ..PriorConfig::default()
        },
        epochs: 3,
        batch_size: 8,
        lr: 3e-3,
        schedule: LrSchedule::Constant,
        seed: 2,
        ..PriorTrainConfig::default()
    };
    let prior = train_prior(&vq_dir, &pcfg, &set, &prior_dir, &NoProgress).unwrap();
    let loss = column(&prior_dir.join("metrics.jsonl"), "train_loss");
    assert!(loss[2] < loss[0], "prior loss did not fall: {loss:?}");
    // The prior's resume checks the data too, unless told to allow the change.
    std::fs::write(&source, &changed).unwrap();
    let mut presume = pcfg.clone();
    presume.resume = true;
    let refused = train_prior(&vq_dir, &presume, &set, &prior_dir, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("the data differs"), "{refused}");
    presume.allow_data_change = true;
    train_prior(&vq_dir, &presume, &set, &prior_dir, &NoProgress).unwrap();
    std::fs::write(&source, &original).unwrap();
    assert_eq!(
        loss,
        column(&prior_dir.join("metrics.jsonl"), "train_loss"),
        "a resume of a finished prior trains nothing more"
    );
    assert!(
        prior.bits_per_code.is_finite() && prior.bits_per_code < prior.uniform_bits_per_code + 1.0
    );

    // Generate: requested counts, read back by `datasets`, same seed -> same bytes.
    let request = GenerateRequest {
        counts: ClassCounts::PerClass(vec![("crackle".into(), 3), ("wheeze".into(), 2)]),
        sampling: SamplingConfig {
            temperature: 1.0,
            top_k: Some(16),
            top_p: Some(0.95),
            ..SamplingConfig::default()
        },
        seed: 9,
        wav: true,
        griffin_lim_iters: 4,
        ..GenerateRequest::default()
    };
    let out_a = tmp.path().join("corpus-a");
    let gen_report = generate(&prior_dir, &request, &out_a, &NoProgress).unwrap();
    assert_eq!(gen_report.samples, 5);
    let corpus = GeneratedCorpus::open(&out_a).unwrap();
    let counts = corpus.manifest.class_counts();
    assert_eq!(counts["crackle"], 3);
    assert_eq!(counts["wheeze"], 2);
    assert_eq!(counts["normal"], 0);
    let loaded = corpus.load().unwrap();
    assert_eq!(loaded.len(), 5);
    assert!(
        loaded.iter().all(|(_, s)| s.n_bins == 64
            && s.n_frames == 126
            && s.data.iter().all(|v| v.is_finite()))
    );
    assert_eq!(
        corpus.manifest.mel,
        serde_json::to_value(auscult_vqvae::default_mel()).unwrap()
    );
    // One cycle centred in silence is learnt, a repeat-padded example written: the manifest
    // says so (the classifier's own front end), and the samples repeat their cycle exactly.
    assert_eq!(
        corpus.manifest.examples,
        serde_json::to_value(auscult_datasets::default_examples()).unwrap()
    );
    let reference: auscult_vqvae::Reference =
        serde_json::from_slice(&std::fs::read(prior_dir.join("reference.json")).unwrap()).unwrap();
    assert_eq!(reference.spans.len(), set.train.len());
    assert!(reference.spans.iter().any(|[s, e]| *s > 0 && *e < 126));
    let model = auscult_vqvae::PriorModel::load(&prior_dir, &burn::tensor::Device::flex()).unwrap();
    assert_eq!(
        model.prior.plan_columns(),
        16,
        "the prior takes a cycle plan"
    );
    // And a tone plan: one track per training cycle, wheeze cycles among those with tones,
    // and drawn cycles whose plans carry their (moved, transposed) tracks.
    assert_eq!(
        model.prior.tone_tokens(),
        auscult_vqvae::TONE_TOKENS,
        "the prior takes a tone plan"
    );
    assert_eq!(reference.tones.len(), set.train.len());
    assert!(reference.tones.iter().all(|t| t.len() == 16));
    let wheeze = model.class_index("wheeze").unwrap();
    assert!(
        reference
            .tones
            .iter()
            .zip(&reference.labels)
            .any(|(t, &l)| l == wheeze && t.iter().flatten().count() >= 2),
        "no training wheeze has a tone track"
    );
    let mut rng = auscult_experiment::seeded_rng(4, 0);
    let mut toned = 0;
    for _ in 0..40 {
        let cycle = model.draw_cycle(wheeze, &mut rng).unwrap();
        // 16 columns of 8 frames: cycle plan tokens 0..18.
        let tone_part: Vec<usize> = cycle.plan.iter().map(|&p| p / 18).collect();
        assert_eq!(
            tone_part,
            auscult_vqvae::tone_tokens(&cycle.tone, 64, model.prior.seq_len())
        );
        let cols = cycle.column_frames.start / 8..cycle.column_frames.end.div_ceil(8);
        for (c, t) in cycle.tone.iter().enumerate() {
            assert!(t.is_none() || cols.contains(&c), "a tone outside the cycle");
        }
        toned += usize::from(cycle.tone.iter().flatten().count() >= 2);
    }
    assert!(toned > 0, "no drawn wheeze cycle carries a tone");
    let period = |d: &[f32]| {
        (2..126)
            .find(|&p| (0..64).all(|m| (0..126 - p).all(|t| d[m * 126 + t] == d[m * 126 + t + p])))
    };
    assert!(
        loaded.iter().any(|(_, s)| period(&s.data).is_some()),
        "no sample repeats its cycle"
    );
    assert!(out_a.join("contact_sheet.png").is_file());
    let wavs = std::fs::read_dir(out_a.join("wav")).unwrap().count();
    assert_eq!(wavs, 5, "one WAV per sample");
    let quality: QualityReport =
        serde_json::from_slice(&std::fs::read(out_a.join("quality.json")).unwrap()).unwrap();
    assert_eq!(quality.samples, 5);
    assert!(quality.nearest_neighbour.train_to_train_mean > 0.0);
    assert!(
        quality
            .per_class
            .iter()
            .any(|c| c.class == "crackle" && c.generated == 3 && c.profile_rmse_db.is_some())
    );

    let out_b = tmp.path().join("corpus-b");
    generate(&prior_dir, &request, &out_b, &NoProgress).unwrap();
    for s in &corpus.manifest.samples {
        assert_eq!(
            std::fs::read(out_a.join(&s.file)).unwrap(),
            std::fs::read(out_b.join(&s.file)).unwrap(),
            "{} differs between runs with the same seed",
            s.file
        );
    }

    // Texture: fitted after training, travels with the prior, marked in the manifest and the
    // quality report; without it the same codes give the decoder's smoother mean.
    assert!(vq_dir.join(auscult_vqvae::TEXTURE_FILE).is_file());
    assert!(
        prior_dir
            .join("vqvae")
            .join(auscult_vqvae::TEXTURE_FILE)
            .is_file()
    );
    assert!(quality.texture && corpus.manifest.generator.texture);
    let out_mean = tmp.path().join("corpus-mean");
    let mean_request = GenerateRequest {
        texture: false,
        wav: false,
        ..request.clone()
    };
    generate(&prior_dir, &mean_request, &out_mean, &NoProgress).unwrap();
    let mean_corpus = GeneratedCorpus::open(&out_mean).unwrap();
    assert!(!mean_corpus.manifest.generator.texture);
    // Mean squared frame-to-frame difference: the texture roughens every sample.
    let roughness =
        |d: &[f32]| d.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f32>() / d.len() as f32;
    for ((_, textured), (_, mean)) in loaded.iter().zip(mean_corpus.load().unwrap()) {
        assert_ne!(textured.data, mean.data);
        assert!(
            roughness(&textured.data) > roughness(&mean.data),
            "texture did not roughen a sample"
        );
    }

    // Matching the class envelopes brings each generated class's mean spectrum (per Mel band)
    // to its real training cycles'; the manifest records it.
    let profile_error = |q: &auscult_vqvae::QualityReport, class: &str| {
        q.per_class
            .iter()
            .find(|c| c.class == class)
            .and_then(|c| c.profile_rmse_db)
            .unwrap()
    };
    let envelope_request = GenerateRequest {
        counts: ClassCounts::PerClass(vec![("crackle".into(), 24), ("wheeze".into(), 24)]),
        wav: false,
        ..request.clone()
    };
    let plain = generate(
        &prior_dir,
        &envelope_request,
        &tmp.path().join("corpus-envelope-off"),
        &NoProgress,
    )
    .unwrap();
    let out_env = tmp.path().join("corpus-envelope");
    let matched = generate(
        &prior_dir,
        &GenerateRequest {
            match_envelope: true,
            ..envelope_request
        },
        &out_env,
        &NoProgress,
    )
    .unwrap();
    assert!(
        GeneratedCorpus::open(&out_env)
            .unwrap()
            .manifest
            .generator
            .envelope_matched
    );
    for class in ["crackle", "wheeze"] {
        let (before, after) = (
            profile_error(&plain.quality, class),
            profile_error(&matched.quality, class),
        );
        assert!(
            after < before,
            "{class}: envelope error {after} dB, unmatched {before} dB"
        );
    }

    // Balance: every class reaches the majority count.
    let out_c = tmp.path().join("corpus-balance");
    let balance = GenerateRequest {
        counts: ClassCounts::Balance { target: None },
        wav: false,
        ..request.clone()
    };
    let r = generate(&prior_dir, &balance, &out_c, &NoProgress).unwrap();
    let train_counts = ExampleSet::class_counts(&set.train, set.classes.len());
    let majority = *train_counts.iter().max().unwrap();
    for (i, c) in set.classes.iter().enumerate() {
        assert_eq!(
            r.counts[c] + train_counts[i],
            majority.max(train_counts[i]),
            "class {c}"
        );
    }

    // An unknown class is an error that lists the valid ones.
    let bad = GenerateRequest {
        counts: ClassCounts::PerClass(vec![("stridor".into(), 1)]),
        ..request
    };
    let err = generate(
        &prior_dir,
        &bad,
        &tmp.path().join("corpus-bad"),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("stridor") && err.contains("crackle"), "{err}");

    // A tampered reference.json (a class's band profile cut short, a code out of range) is
    // refused on load, naming the file; generation never indexes past it.
    let path = prior_dir.join("reference.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["band_profiles"][1].as_array_mut().unwrap().pop();
    std::fs::write(&path, v.to_string()).unwrap();
    let out_bad = tmp.path().join("corpus-tampered");
    let err = generate(&prior_dir, &request_again(), &out_bad, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("reference.json") && err.contains("band profiles"),
        "{err}"
    );
    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["codes"][0][0] = serde_json::json!(1_000_000);
    std::fs::write(&path, v.to_string()).unwrap();
    let err = generate(&prior_dir, &request_again(), &out_bad, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("reference.json") && err.contains("code grid 0"),
        "{err}"
    );
    std::fs::write(&path, &original).unwrap();
}

/// A small valid request for the tamper checks.
fn request_again() -> GenerateRequest {
    GenerateRequest {
        counts: ClassCounts::PerClass(vec![("crackle".into(), 1)]),
        ..GenerateRequest::default()
    }
}
