#!/bin/bash
# The classifier's speed checks on a GPU machine (run by hand from the repository root; never by
# CI). Needs the bench binary built here with
#   cargo bench -p auscult-classifier --features gpu --no-run
# copied (stripped, gzipped: the carry limit is 64 MiB) to target/devbench/classifier-bench.gz,
# the Vulkan loader packages in .gl/ (see
# ../shared/BURN-NOTES.md) and python3 with torch on the machine. Prints JSON lines and
# criterion summaries; writes everything to $OUT/device_check.log too.
#
# 1. CPU, 2 threads pinned to 2 cores: PyTorch vs burn flex, same machine, same run.
# 2. GPU: PyTorch CUDA, then burn Vulkan, for the small, medium and cnn10 presets.
# 3. GPU: a 5-epoch training run of the default recipe on a synthetic ICBHI corpus.
set -u
OUT=${OUT:-/tmp}
B=target/devbench/classifier-bench
exec > >(tee "$OUT/device_check.log") 2>&1
[ -f "$B.gz" ] && [ ! -f "$B" ] && gunzip -k "$B.gz" && chmod +x "$B"
nproc; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

echo "== CPU, 2 threads"
for p in small medium; do
  taskset -c 0,1 python3 bench/pytorch_cnn.py --threads 2 --preset "$p" --steps 10
done
RAYON_NUM_THREADS=2 taskset -c 0,1 "$B" --bench --noplot --warm-up-time 2 --measurement-time 4 'train_step|inference'

echo "== GPU, PyTorch CUDA"
for p in small medium cnn10; do
  python3 bench/pytorch_cnn.py --device cuda --preset "$p" --steps 50
done

echo "== GPU, burn Vulkan"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/nvidia/lib
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
AUSCULT_BENCH_DEVICE=gpu timeout 200 "$B" --bench --noplot --warm-up-time 5 --measurement-time 3 'train_step|inference'

echo "== GPU, 5-epoch training run"
AUSCULT_BENCH_DEVICE=gpu AUSCULT_BENCH_TRAIN_RUN=5 timeout 150 "$B"
