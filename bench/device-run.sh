#!/bin/sh
# The device benchmark bundle's launcher (written as run.sh by `npm run device:pack`; docs/gpu-benchmark.md).
# Unpacks the compressed Node binary and native libraries (ONNX Runtime, Dawn) once, brings the Vulkan loader
# where the machine has none (WebGPU runs on Vulkan there), then runs bench.mjs with the arguments given:
#
#   sh run.sh [--smoke] [--steps N] [--provider webgpu|cpu|cuda] [--fp16] [--json FILE] [--work DIR]
#   sh run.sh --unpack-only      unpack what this copy of the bundle holds, run nothing
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
# Everything unpacked or built goes BESIDE the bundle, never into it, so the folder stays the size it was packed
# at (a device call carries it) however often it ran. Beside it in the repository, the folder is ignored by git:
# the device tool keeps it between calls on a warm machine.
UNPACKED=${WAN_DEVPACK_UNPACKED:-$HERE.unpacked}
WORK=${WAN_DEVPACK_WORK:-$HERE.work}
ORT_DIR=$UNPACKED/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
mkdir -p "$UNPACKED"

smoke=0
unpack_only=0
provider=""
for a in "$@"; do
  case $a in
    --smoke) smoke=1 ;;
    --unpack-only) unpack_only=1 ;;
  esac
done
prev=""
for a in "$@"; do
  [ "$prev" = "--provider" ] && provider=$a
  prev=$a
done

# xz where installed, else Python's lzma (the GPU image has python3); both read the x86 filter the pack uses.
unxz_to() {
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$1" >"$2.part"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"), 1 << 20)' "$1" "$2.part"
  fi
  mv "$2.part" "$2"
}

if [ -f "$HERE/node.xz" ] && { [ ! -x "$UNPACKED/node" ] || [ "$HERE/node.xz" -nt "$UNPACKED/node" ]; }; then
  unxz_to "$HERE/node.xz" "$UNPACKED/node"
  chmod +x "$UNPACKED/node"
fi
# The script and its packages, with the native libraries (ONNX Runtime, Dawn) unpacked where the packages look
# for them; redone when the bundle's manifest changed.
if [ -f "$HERE/manifest.json" ] && ! cmp -s "$HERE/manifest.json" "$UNPACKED/manifest.json"; then
  rm -rf "$UNPACKED/node_modules" "$UNPACKED/manifest.json"
  cp -R "$HERE/node_modules" "$HERE/bench.mjs" "$UNPACKED/"
  find "$UNPACKED/node_modules" -name '*.xz' | while read -r x; do
    unxz_to "$x" "${x%.xz}"
    rm "$x"
  done
  cp "$HERE/manifest.json" "$UNPACKED/manifest.json"
fi
[ "$unpack_only" = 1 ] && { echo "run.sh: unpacked what this copy holds into $UNPACKED" >&2; exit 0; }

if [ -x "$UNPACKED/node" ]; then
  NODE=$UNPACKED/node
elif command -v node >/dev/null 2>&1; then
  NODE=$(command -v node)
else
  echo "run.sh: no Node binary: node.xz is not in this bundle, $UNPACKED/node was not unpacked earlier, and node is not on the PATH" >&2
  exit 2
fi
[ -f "$ORT_DIR/libonnxruntime.so.1" ] || { echo "run.sh: $ORT_DIR/libonnxruntime.so.1 is missing: this copy of the bundle has no manifest.json and node_modules" >&2; exit 2; }

# WebGPU (Dawn) needs the Vulkan loader; the device README's recipe: the .deb files unpacked with dpkg -x.
# The smoke run never writes outside the bundle; the full run follows the README (into / as root).
if [ "$provider" != cpu ] && [ "$provider" != cuda ] && ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  if ls "$HERE"/debs/*.deb >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
    if [ "$smoke" = 0 ] && [ "$(id -u)" = 0 ]; then
      for f in "$HERE"/debs/*.deb; do dpkg -x "$f" /; done
      ldconfig
    else
      mkdir -p "$UNPACKED/vulkan"
      for f in "$HERE"/debs/*.deb; do dpkg -x "$f" "$UNPACKED/vulkan"; done
      LD_LIBRARY_PATH=$UNPACKED/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
      export LD_LIBRARY_PATH
    fi
  else
    echo "run.sh: no Vulkan loader here and none in the bundle (debs/): WebGPU will find no adapter" >&2
  fi
fi
# The NVIDIA driver's ICD lives under /usr/local/nvidia on the lent machines, where the loader does not look.
NV_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$NV_ICD" ] && ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
  VK_DRIVER_FILES=$NV_ICD
  __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  export VK_DRIVER_FILES __EGL_VENDOR_LIBRARY_FILENAMES
fi
# Dawn wants a runtime directory; without one it prints an error and may not start.
XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
export XDG_RUNTIME_DIR

exec "$NODE" "$UNPACKED/bench.mjs" --work "$WORK" "$@"
