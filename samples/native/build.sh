#!/usr/bin/env bash
# Builds the native /dev/iommu: the emulation as a NativeAOT shared library, the LD_PRELOAD shim and the C
# sample VMM, all into samples/native/build/ (run a program under it with samples/native/run).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/build"
mkdir -p "$out"

dotnet publish "$here/../Iommufd.Native/Iommufd.Native.csproj" -r linux-x64 -c Release -o "$out/publish" -nologo -v quiet
cp "$out/publish/Iommufd.Native.so" "$out/libiommufd-emu.so"

cflags=(-O2 -g -Wall -Wextra -Werror -I "$here/include")
gcc "${cflags[@]}" -fPIC -shared -o "$out/libiommufd-shim.so" "$here/shim/iommufd-shim.c" -ldl -lpthread
for src in "$here"/vmm/*.c; do
  gcc "${cflags[@]}" -o "$out/$(basename "${src%.c}")" "$src"
done
echo "built: $out/libiommufd-shim.so (LD_PRELOAD it), $out/libiommufd-emu.so, $(cd "$out" && ls -1 | grep -v '\.so$' | grep -v publish | tr '\n' ' ')"
