//! Device selection: burn's pure-Rust `flex` backend on the CPU by default; with the `gpu`
//! feature, burn's Vulkan (wgpu) backend on a discrete GPU.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Which device to compute on (`--device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// burn's `flex` CPU backend (uses all cores through rayon).
    #[default]
    Cpu,
    /// An NVIDIA (or other Vulkan-capable) GPU through burn's wgpu/Vulkan backend; needs a
    /// build with `--features gpu`.
    Gpu,
}

impl std::str::FromStr for DeviceChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "gpu" | "wgpu" | "vulkan" | "cuda" => Ok(Self::Gpu),
            other => Err(Error::Device {
                requested: other.to_string(),
                reason: "expected one of: cpu, gpu (aliases wgpu, vulkan, cuda)".to_string(),
            }),
        }
    }
}

/// Returns the inference device for `choice` (call `.autodiff()` on it for training).
pub fn device(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::flex()),
        DeviceChoice::Gpu => gpu_device(),
    }
}

/// The first discrete GPU, unless `CUBECL_WGPU_DEFAULT_DEVICE` names another adapter (for
/// example `IntegratedGpu(0)`, or `Cpu` for a software Vulkan driver such as lavapipe).
#[cfg(feature = "gpu")]
fn gpu_device() -> Result<Device> {
    use burn::tensor::DeviceKind;
    let kind = if std::env::var_os("CUBECL_WGPU_DEFAULT_DEVICE").is_some() {
        DeviceKind::DefaultDevice
    } else {
        DeviceKind::DiscreteGpu(0)
    };
    Ok(Device::vulkan(kind))
}

#[cfg(not(feature = "gpu"))]
fn gpu_device() -> Result<Device> {
    Err(Error::Device {
        requested: "gpu".to_string(),
        reason: "this auscult was built without GPU support; rebuild with `cargo build --release --features gpu`".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_unknown() {
        assert_eq!("CPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("cuda".parse::<DeviceChoice>().unwrap(), DeviceChoice::Gpu);
        assert!("tpu".parse::<DeviceChoice>().is_err());
    }
}
