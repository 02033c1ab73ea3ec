# Environment for running MNIST Lab (sourced by run.sh and test.sh).
# glibc keeps big activation buffers instead of returning them to the OS every
# step: about 2x faster CNN training on this CPU (see mnist_core/runtime.py).
export GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=17179869184}
# Use a local MNIST folder if one sits beside the project (as on the lab's machines).
if [ -z "${MNIST_DATA_DIR:-}" ] && [ -d ../shared/mnist/MNIST/raw ]; then
    export MNIST_DATA_DIR=../shared/mnist
fi
