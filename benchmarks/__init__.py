"""Benchmarks for llmchat: ``python -m benchmarks.stream_bench`` (see benchmarks/README.md)."""
