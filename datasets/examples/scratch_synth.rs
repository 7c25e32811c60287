use auscult_datasets::*;
fn main() {
    let out = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let kind = std::env::args().nth(2).unwrap_or("icbhi".into());
    let t = std::time::Instant::now();
    let mut cfg = if kind == "coswara" { SynthConfig::coswara(7) } else { SynthConfig::icbhi(7) };
    cfg.overwrite = true;
    let r = if kind == "coswara" { synth_coswara(&out, &cfg).unwrap() } else { synth_icbhi(&out, &cfg).unwrap() };
    println!("{:?}", t.elapsed());
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
    let t = std::time::Instant::now();
    let i = inspect(&out, None).unwrap();
    println!("inspect {:?}", t.elapsed());
    println!("{}", serde_json::to_string(&i.classes).unwrap());
    println!("{}", serde_json::to_string(&i.splits).unwrap());
    println!("problems {:?}", i.problems);
}
