//! `auscult generate --prior PRIOR_DIR (--class CLASS --count N | --balance) --out CORPUS_DIR
//! [--temperature T] [--top-k K] [--top-p P] [--seed S] [--wav]`: samples class-conditional
//! log-Mel spectrograms and writes them as a generated corpus (manifest.json + one .npy per
//! sample), with a contact sheet, a quality report and, with --wav, Griffin-Lim renderings.

use std::path::PathBuf;

use anyhow::Context;
use auscult_experiment::DeviceChoice;
use auscult_vqvae::{ClassCounts, GenerateReport, GenerateRequest, SamplingConfig, generate};

use crate::commands::parsers::parse_device;
use crate::output::{BarProgress, print_json};

/// Arguments of `auscult generate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The trained prior's directory.
    #[arg(long, value_name = "PRIOR_DIR")]
    pub prior: PathBuf,
    /// Class to generate (repeat for several; each gets --count samples).
    #[arg(
        long = "class",
        value_name = "CLASS",
        required_unless_present = "balance"
    )]
    pub classes: Vec<String>,
    /// Samples per --class.
    #[arg(long, default_value_t = 1)]
    pub count: usize,
    /// Generate, for every minority class, enough samples to reach --target (by default the
    /// majority class's training count).
    #[arg(long, conflicts_with = "classes")]
    pub balance: bool,
    /// Count per class to reach with --balance.
    #[arg(long, requires = "balance")]
    pub target: Option<usize>,
    /// Corpus folder to write (must not hold a corpus yet).
    #[arg(long, value_name = "CORPUS_DIR")]
    pub out: PathBuf,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    /// Keep only the K most likely codes at each step.
    #[arg(long, value_name = "K")]
    pub top_k: Option<usize>,
    /// Keep the smallest set of most likely codes whose probability reaches P.
    #[arg(long, value_name = "P")]
    pub top_p: Option<f32>,
    /// Base seed (each sample's own seed is recorded in the manifest).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Return the decoder's smooth mean spectrogram instead of a draw from its fitted
    /// per-class Gaussian (mean plus the class's residual texture, `texture.json` of the
    /// VQ-VAE: the noise and broadband events the codes do not carry).
    #[arg(long)]
    pub no_texture: bool,
    /// Match each class's mean spectral envelope to its real training cycles': once all samples
    /// are drawn, every sample of a class gets, per Mel band, the real cycles' mean dB minus the
    /// class's generated mean (a class of fewer than 64 samples is measured on extra samples of
    /// fixed seeds too). The prior tends to give every class the majority (normal) envelope.
    #[arg(long)]
    pub match_envelope: bool,
    /// Also write wav/<sample>.wav, a Griffin-Lim rendering of each sample.
    #[arg(long)]
    pub wav: bool,
    /// Griffin-Lim iterations for --wav.
    #[arg(long, default_value_t = 32)]
    pub gl_iters: usize,
    /// Samples drawn together.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Compute device: cpu or gpu.
    #[arg(long, value_parser = parse_device, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Print the report as JSON (and no progress bars).
    #[arg(long)]
    pub json: bool,
}

/// The request the flags ask for.
pub fn request(args: &Args) -> GenerateRequest {
    let counts = if args.balance {
        ClassCounts::Balance {
            target: args.target,
        }
    } else {
        ClassCounts::PerClass(
            args.classes
                .iter()
                .map(|c| (c.clone(), args.count))
                .collect(),
        )
    };
    GenerateRequest {
        counts,
        sampling: SamplingConfig {
            temperature: args.temperature,
            top_k: args.top_k,
            top_p: args.top_p,
            ..SamplingConfig::default()
        },
        seed: args.seed,
        wav: args.wav,
        griffin_lim_iters: args.gl_iters,
        batch_size: args.batch_size,
        device: args.device,
        texture: !args.no_texture,
        match_envelope: args.match_envelope,
        ..GenerateRequest::default()
    }
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let req = request(&args);
    let progress = BarProgress::new(args.json);
    let report = generate(&args.prior, &req, &args.out, &progress).with_context(|| {
        format!(
            "generating from {} into {}",
            args.prior.display(),
            args.out.display()
        )
    })?;
    if args.json {
        print_json(&report)
    } else {
        print_report(&report);
        Ok(())
    }
}

fn print_report(r: &GenerateReport) {
    let counts: Vec<String> = r.counts.iter().map(|(c, n)| format!("{c} {n}")).collect();
    println!(
        "generated {} samples ({}) in {:.1} s ({:.1} samples/s) into {}",
        r.samples,
        counts.join(", "),
        r.seconds,
        r.samples_per_s,
        r.dir.display()
    );
    let q = &r.quality;
    println!(
        "  codes: {}/{} used, perplexity {:.1} (training data: {} used, perplexity {:.1})",
        q.codebook.used,
        q.codebook.codebook_size,
        q.codebook.perplexity,
        q.codebook.train_used,
        q.codebook.train_perplexity
    );
    println!(
        "  samples: {}",
        if q.texture {
            "decoder mean + the class's fitted texture"
        } else {
            "decoder mean (no texture)"
        }
    );
    let nn = &q.nearest_neighbour;
    println!(
        "  nearest training example: {:.2} dB on average (training examples to each other: {:.2} dB, ratio {:.2}); \
         code overlap mean {:.2}, max {:.2}, near copies {}",
        nn.generated_to_train_mean,
        nn.train_to_train_mean,
        nn.ratio,
        nn.code_overlap_mean,
        nn.code_overlap_max,
        nn.near_copies
    );
    for c in q.per_class.iter().filter(|c| c.generated > 0) {
        println!(
            "  {}: band-energy profile vs real: RMS {:.2} dB, correlation {:.3}",
            c.class,
            c.profile_rmse_db.unwrap_or(f64::NAN),
            c.profile_correlation.unwrap_or(f64::NAN)
        );
        if let (Some(g), Some(real)) = (c.generated_detail, c.real_detail) {
            println!(
                "  {}: tonality {:.2} dB (real {:.2}), transientness {:.2} dB (real {:.2}), with a tone {:.0}% (real {:.0}%)",
                c.class,
                g.tonality_db,
                real.tonality_db,
                g.transientness_db,
                real.transientness_db,
                100.0 * g.toned,
                100.0 * real.toned
            );
        }
        if let Some(t) = c.tones.filter(|t| t.planned_columns > 0) {
            println!(
                "  {}: tone plans: {} samples, {} of {} planned tone columns rendered ({:.0}%), tones in {} of {} other columns",
                c.class,
                t.planned_samples,
                t.rendered_columns,
                t.planned_columns,
                100.0 * t.rendered_columns as f64 / t.planned_columns as f64,
                t.unplanned_columns,
                t.toneless_columns
            );
        }
    }
    if let Some(p) = &r.contact_sheet {
        println!("  contact sheet: {}", p.display());
    }
    if let Some(w) = &r.wav_dir {
        println!("  audio: {}", w.display());
    }
}
