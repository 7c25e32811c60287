//! What both models' training steps share: seeded initialisation, the optimiser, and reading
//! small tensors back to the host.

use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};

use crate::{Error, Result};

/// Serialises seeded initialisation: burn's CPU backend draws initial weights from one
/// process-wide generator, so seeding and drawing must not interleave with another model's.
static INIT_LOCK: Mutex<()> = Mutex::new(());

struct Materialize;

impl ModuleVisitor for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let _ = param.val();
    }
}

/// Builds a module with weights drawn from `seed`, reproducibly.
pub(crate) fn init_seeded<M: Module>(
    seed: u64,
    device: &Device,
    build: impl FnOnce() -> Result<M>,
) -> Result<M> {
    let _guard = INIT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    device.seed(seed);
    let module = build()?;
    // Parameters are initialised lazily; draw them now, under the lock.
    module.visit(&mut Materialize);
    Ok(module)
}

/// Adam with gradient-norm clipping at 1.
pub(crate) fn adam() -> ModuleOptimizer {
    AdamConfig::new()
        .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(1.0)))
        .init()
}

/// Reads a one-element tensor.
pub(crate) fn scalar(t: Tensor<1>) -> Result<f64> {
    let v: Vec<f32> = t.try_into_vec_as::<f32>().map_err(Error::tensor)?;
    Ok(v.first().copied().map(f64::from).unwrap_or(f64::NAN))
}

/// Reads an integer tensor as indices.
pub(crate) fn indices<const D: usize>(t: Tensor<D, Int>) -> Result<Vec<usize>> {
    let v: Vec<i64> = t.try_into_vec_as::<i64>().map_err(Error::tensor)?;
    Ok(v.into_iter().map(|x| x.max(0) as usize).collect())
}
