set -u
B=/tmp/opsk; mkdir -p $B; cd plugin
I="-Icommon -IgeluPlugin -IlayerNormPlugin -IresidualRmsNormPlugin -Itests"
F="-O3 -arch=sm_90 -Xcompiler=-fPIC -std=c++17"
for s in api/opsKernelsCApi.cu geluPlugin/geluKernel.cu geluPlugin/geluKernelCApi.cu layerNormPlugin/layerNormKernel.cu layerNormPlugin/layerNormKernelCApi.cu residualRmsNormPlugin/residualRmsNormKernel.cu residualRmsNormPlugin/residualRmsNormKernelCApi.cu; do
  nvcc $F $I -c $s -o $B/$(basename $s).o & done; wait
nvcc -shared -arch=sm_90 $B/*.o -o $B/libtpb_ops_kernels.so || exit 1
for c in geluKernelCheck layerNormKernelCheck residualRmsNormKernelCheck; do
  nvcc $F $I tests/$c.cu -L$B -ltpb_ops_kernels -Xlinker -rpath=$B -o $B/$c & done; wait
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for c in geluKernelCheck layerNormKernelCheck residualRmsNormKernelCheck; do
  s=$(date +%s); timeout 150 $B/$c > $OUT/$c.log 2>&1; echo "$c rc=$? $(( $(date +%s)-s ))s: $(tail -1 $OUT/$c.log)"; done
