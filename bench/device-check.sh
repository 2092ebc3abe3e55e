#!/usr/bin/env bash
# The GPU check, run on the lent device machine (see DESIGN.md "GPU"):
#   bash ../shared/device/pack.sh            # here, once
#   run: source .devcarry/env.sh && bash bench/device-check.sh   (carry [".devcarry"])
# Prints what the machine has, whether Dawn finds a Vulkan adapter, then the engine benchmark on
# WebGPU and on the machine's CPU for comparison, then decoding and start-up on its CPU (the
# PyTorch peer is skipped where pip cannot reach torch; the bench says so).
set -u
echo "== machine"; nproc; nvidia-smi -L 2>&1 | head -2
ls /usr/local/nvidia/share/vulkan/icd.d/ 2>&1 | head -3
node --version
echo "== webgpu smoke (ONNX Runtime warnings shown)"
TONY_ORT_LOG=1 timeout 120 node --import tsx -e "
const T = await import('./src/engine/index.ts');
const rt = await T.Runtime.start({ device: 'webgpu' });
const a = T.input('a', [512, 512]);
try {
  const s = await rt.load(T.exportOnnx([a], { y: T.matmul(a, a) }));
  const r = await rt.run(s, { a: T.hostTensor('float32', [512, 512], new Array(512 * 512).fill(0.5)) });
  console.log('webgpu ok', rt.description, r.y.data[0], 'expected', 0.25 * 512);
} catch (e) { console.log('webgpu FAILED', e.message, e.hint ?? ''); }
await rt.close();
" 2>&1 | tail -15
echo "== engine bench, webgpu"
TONY_ORT_LOG=1 timeout 200 node --import tsx bench/run.ts engine --device webgpu --no-torch --no-tfjs --rounds 1 --steps 10 > /tmp/webgpu.log 2>&1
grep -i "warn\|not assigned\|fallback\|cpu" /tmp/webgpu.log | sort | uniq -c | sort -rn | head -8
grep -v "^\s*$" /tmp/webgpu.log | grep -v "^20[0-9][0-9]-" | tail -8
echo "== engine bench, cpu ($(nproc) threads)"
timeout 200 node --import tsx bench/run.ts engine --device cpu --threads "$(nproc)" --no-tfjs --no-compile --rounds 1 --steps 5 2>&1 | tail -12
echo "== decode, cpu"
timeout 150 node --import tsx bench/run.ts decode --threads 4 --rounds 2 --no-server 2>&1 | tail -16
echo "== start-up"
timeout 60 node --import tsx bench/run.ts startup --rounds 3 2>&1 | tail -4
