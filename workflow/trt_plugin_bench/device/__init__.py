"""The machine under a timing: CUDA plumbing, NVML state, one GPU per job, a still host, the copy ceiling and launch floors."""
