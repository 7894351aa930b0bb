from shared_kernel.migrations import run_env

run_env()
