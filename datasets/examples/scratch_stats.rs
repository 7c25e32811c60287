use auscult_audio::{MelConfig, MelSpectrogram, LogScale, decode_file, resample};
use auscult_datasets::*;
fn auc(pos: &[f64], neg: &[f64]) -> f64 {
    let mut s = 0.0;
    for p in pos { for n in neg { if p > n { s += 1.0 } else if p == n { s += 0.5 } } }
    s / (pos.len() * neg.len()) as f64
}
fn main() {
    let root = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let stats: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("/work/shared/fixtures/icbhi-statistics.json").unwrap()).unwrap();
    let db = IcbhiDatabase::open(&root).unwrap();
    let mut cfg = MelConfig::librosa(16000);
    cfg.n_fft = 1024; cfg.win_length = 1024; cfg.hop_length = 160; cfg.n_mels = 64; cfg.f_max = Some(8000.0); cfg.log = LogScale::None;
    let mut mel = MelSpectrogram::new(&cfg).unwrap();
    let mut prof = vec![vec![0.0f64; 64]; 4]; let mut cnt = [0usize; 4];
    let mut rmsdb: Vec<Vec<f64>> = vec![vec![]; 4];
    let mut f_crk: Vec<Vec<f64>> = vec![vec![]; 4];
    let mut f_whz: Vec<Vec<f64>> = vec![vec![]; 4];
    let mut durs: Vec<Vec<f64>> = vec![vec![]; 4];
    for r in &db.recordings {
        let d = decode_file(&r.wav).unwrap();
        let x = resample(&d.samples, d.sample_rate, 16000).unwrap();
        for c in &r.cycles {
            let l = c.label().index();
            durs[l].push(c.duration_s());
            let cyc = slice_cycle(&x, 16000, c.start_s, c.end_s);
            let raw = slice_cycle(&d.samples, d.sample_rate, c.start_s, c.end_s);
            let rms = (raw.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / raw.len() as f64).sqrt();
            rmsdb[l].push(20.0 * rms.log10());
            let s = mel.compute(cyc);
            let nf = s.n_frames;
            // band energies per frame
            let mut mean = vec![0.0f64; 64];
            for b in 0..64 { for t in 0..nf { mean[b] += s.data[b * nf + t] as f64; } mean[b] /= nf as f64; }
            // crackle feature: peakiness of 300-2000 Hz (mel bins ~ 7..34) energy over time
            let band: Vec<f64> = (0..nf).map(|t| (8..30).map(|b| s.data[b * nf + t] as f64).sum::<f64>()).collect();
            let mut sorted = band.clone(); sorted.sort_by(f64::total_cmp);
            let med = sorted[sorted.len()/2].max(1e-20);
            f_crk[l].push((sorted[sorted.len()-1] / med).log10());
            // wheeze feature: max over frames of (max bin / mean bin) within bins 2..22 (100-1000 Hz)
            let mut per: Vec<f64> = (0..nf).map(|t| {
                (3..24).map(|b| { let v = s.data[b*nf+t] as f64; let nb = 0.5*(s.data[(b-2)*nf+t] as f64 + s.data[(b+2)*nf+t] as f64); v / nb.max(1e-20) }).fold(0.0, f64::max)
            }).collect();
            per.sort_by(f64::total_cmp);
            f_whz[l].push(per[per.len()*9/10]);
            if d.sample_rate == 44100 {
                let top = mean.iter().map(|v| 10.0 * v.max(1e-30).log10()).fold(f64::MIN, f64::max);
                for b in 0..64 { prof[l][b] += 10.0 * mean[b].max(1e-30).log10() - top; }
                cnt[l] += 1;
            }
        }
    }
    let names = ["normal","crackle","wheeze","both"];
    for l in 0..4 {
        let real = stats["spectra"]["mean_log_mel_profile_db_rel_max"]["per_class"][names[l]].as_array().unwrap();
        let p: Vec<f64> = prof[l].iter().map(|v| v / cnt[l].max(1) as f64).collect();
        let diffs: Vec<f64> = (0..64).map(|b| p[b] - real[b].as_f64().unwrap()).collect();
        let mad = diffs.iter().map(|d| d.abs()).sum::<f64>() / 64.0;
        let mx = diffs.iter().map(|d| d.abs()).fold(0.0, f64::max);
        println!("{} n={} mad={:.2} max={:.2}", names[l], cnt[l], mad, mx);
        println!("  diffs {:?}", diffs.iter().map(|d| (d*10.0).round()/10.0).collect::<Vec<_>>());
        let mut r = rmsdb[l].clone(); r.sort_by(f64::total_cmp);
        let mut du = durs[l].clone(); du.sort_by(f64::total_cmp);
        if !r.is_empty() { println!("  rms dBFS p10 {:.1} med {:.1} p90 {:.1}; dur med {:.2} p05 {:.2} p95 {:.2}", r[r.len()/10], r[r.len()/2], r[r.len()*9/10], du[du.len()/2], du[du.len()/20], du[du.len()*19/20]); }
    }
    for (nm, f) in [("crackle-feat", &f_crk), ("wheeze-feat", &f_whz)] {
        let neg = &f[0];
        println!("{nm}: AUC crackle {:.3} wheeze {:.3} both {:.3}", auc(&f[1], neg), auc(&f[2], neg), auc(&f[3], neg));
    }
}
