//! One module per subcommand: each has an `Args` (clap) and a `run` function.

pub mod classify;
pub mod dataset;
pub mod demo;
pub mod evaluate;
pub mod generate;
pub mod info;
pub mod mel;
mod parsers;
pub mod pool;
mod predictions;
pub mod quality;
pub mod study;
pub mod synth;
pub mod train;
pub mod train_prior;
pub mod train_vqvae;
