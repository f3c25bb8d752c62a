"""What several benchmarks share: the app and the fake LLM server as child processes, the
browser's queue protocol, the local model, statistics and the machine's CPU.

One job a module; no module here imports a benchmark.
"""
