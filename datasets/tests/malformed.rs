//! Malformed inputs give clear errors or problems that name the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use auscult_datasets::{
    ExampleConfig, FolderCorpus, Format, LoadOptions, SplitSpec, inspect, load_examples,
    read_annotations,
};

fn write_wav(path: &Path, seconds: f32, sr: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // 16-bit codes, written exactly (code / 32768 round-trips through `WavFormat::Int16`).
    let samples: Vec<f32> = (0..(seconds * sr as f32) as usize)
        .map(|i| f32::from((0.3 * (i as f32 * 0.05).sin() * 32767.0) as i16) / 32768.0)
        .collect();
    auscult_audio::write_wav(path, &samples, sr, auscult_audio::WavFormat::Int16).unwrap();
}

fn short() -> LoadOptions {
    LoadOptions {
        split: SplitSpec::All,
        examples: ExampleConfig {
            sample_rate: 8000,
            length_s: 0.5,
            ..ExampleConfig::default()
        },
        ..LoadOptions::default()
    }
}

#[test]
fn a_bad_annotation_line_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("101_1b1_Al_sc_Meditron.txt");
    std::fs::write(&p, "0.1\t1.2\t0\t0\n1.2\t2,5\t0\t1\n").unwrap();
    let e = read_annotations(&p).unwrap_err().to_string();
    assert!(
        e.contains("101_1b1_Al_sc_Meditron.txt line 2") && e.contains("`2,5`"),
        "{e}"
    );
}

#[test]
fn a_csv_with_a_missing_column_names_the_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("combined_data.csv"), "id,a,g\nP1,30,male\n").unwrap();
    write_wav(&root.join("20200413/P1/cough-heavy.wav"), 0.5, 16_000);
    assert_eq!(Format::detect(root).unwrap(), Format::Coswara);
    let e = inspect(root, None).unwrap_err().to_string();
    assert!(
        e.contains("combined_data.csv") && e.contains("missing column `covid_status`"),
        "{e}"
    );
    let e = load_examples(root, &short()).unwrap_err().to_string();
    assert!(e.contains("combined_data.csv"), "{e}");
}

#[test]
fn an_empty_folder_is_not_a_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_examples(dir.path(), &short()).unwrap_err().to_string();
    assert!(e.contains("is empty") && e.contains("expected"), "{e}");
    // Class folders without audio are not a corpus either.
    std::fs::create_dir_all(dir.path().join("normal")).unwrap();
    std::fs::write(dir.path().join("normal/readme.txt"), "x").unwrap();
    let e = FolderCorpus::open(dir.path()).unwrap_err().to_string();
    assert!(e.contains("no .wav file"), "{e}");
}

#[test]
fn a_non_wav_file_named_wav_is_reported_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_wav(&root.join("normal/a.wav"), 0.4, 8000);
    write_wav(&root.join("wheeze/b.wav"), 0.3, 16_000);
    std::fs::create_dir_all(root.join("wheeze")).unwrap();
    std::fs::write(root.join("wheeze/fake.wav"), b"<html>not audio</html>").unwrap();

    let i = inspect(root, None).unwrap();
    assert_eq!(i.format, Format::Folder);
    assert_eq!(i.recordings, 3);
    assert_eq!(i.classes["wheeze"], 2);
    assert_eq!(i.problems.len(), 1);
    assert!(i.problems[0].path.ends_with("wheeze/fake.wav"));
    assert!(
        i.problems[0].problem.contains("not a readable WAV"),
        "{}",
        i.problems[0].problem
    );

    let set = load_examples(root, &short()).unwrap();
    assert_eq!(set.classes, ["normal", "wheeze"]);
    assert_eq!(set.train.len(), 2);
    assert!(set.train.iter().all(|e| e.samples.len() == 4000));
    assert_eq!(set.train[1].id, "wheeze/b");
    assert_eq!(set.train[1].label, 1);
    assert!(
        set.problems
            .iter()
            .any(|p| p.path.ends_with("wheeze/fake.wav"))
    );

    // Only the broken file left: an error that names it.
    std::fs::remove_file(root.join("normal/a.wav")).unwrap();
    std::fs::remove_file(root.join("wheeze/b.wav")).unwrap();
    let e = inspect(root, None).unwrap_err().to_string();
    assert!(
        e.contains("fake.wav") && e.contains("no readable audio"),
        "{e}"
    );
    let e = load_examples(root, &short()).unwrap_err().to_string();
    assert!(e.contains("fake.wav"), "{e}");
}

#[test]
fn folder_corpora_with_split_folders_use_them_as_the_official_split() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (split, class, n) in [
        ("train", "cough", 3),
        ("train", "speech", 2),
        ("val", "cough", 1),
        ("test", "speech", 2),
    ] {
        for i in 0..n {
            write_wav(&root.join(format!("{split}/{class}/{i}.wav")), 0.2, 8000);
        }
    }
    let i = inspect(root, None).unwrap();
    assert_eq!(i.splits["train"]["cough"], 3);
    assert_eq!(i.splits["test"]["speech"], 2);
    let set = load_examples(
        root,
        &LoadOptions {
            split: SplitSpec::Official,
            ..short()
        },
    )
    .unwrap();
    assert_eq!((set.train.len(), set.val.len(), set.test.len()), (5, 1, 2));
    let set = load_examples(
        root,
        &LoadOptions {
            split: SplitSpec::Fold {
                k: 2,
                index: 1,
                seed: 0,
            },
            ..short()
        },
    )
    .unwrap();
    assert_eq!(set.train.len() + set.test.len(), 8);
    assert!(!set.test.is_empty() && !set.train.is_empty());
}

#[test]
fn a_generated_corpus_is_not_loaded_as_audio() {
    let dir = tempfile::tempdir().unwrap();
    let header = auscult_datasets::CorpusManifest::new(
        vec!["a".into()],
        auscult_datasets::GeneratorInfo {
            model_hash: "0".into(),
            prior_hash: "0".into(),
            temperature: 1.0,
            top_k: None,
            top_p: Some(0.9),
            seed: 1,
            texture: false,
            guidance: None,
            envelope_matched: false,
            created_by: "auscult 0.1.0".into(),
        },
        serde_json::json!({"sample_rate": 16000}),
        serde_json::json!({}),
    );
    let mut w = auscult_datasets::CorpusWriter::create(dir.path(), header).unwrap();
    let spec = auscult_audio::Spectrogram::new(vec![0.5; 6], 2, 3).unwrap();
    w.add("a", &spec, 3).unwrap();
    w.finish().unwrap();
    let i = inspect(dir.path(), None).unwrap();
    assert_eq!(i.format, Format::Corpus);
    assert_eq!(i.classes["a"], 1);
    assert_eq!(i.sample_rates[&16000], 1);
    let e = load_examples(dir.path(), &short()).unwrap_err().to_string();
    assert!(e.contains("GeneratedCorpus"), "{e}");
}
