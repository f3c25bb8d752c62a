"""The ``embedded:`` section of a preset: a local model llmchat runs itself (see
:mod:`llmchat.engine.embedded`). Only the schema lives here, so presets can be read and checked
without the code that starts processes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Flags llmchat sets itself: overriding them would break the readiness check or the port we report.
_MANAGED_FLAGS = ("--host", "--port", "--model", "--config_file", "--api_key")


class EmbeddedSettings(BaseModel):
    """The ``embedded:`` section of a preset: which GGUF to serve and how llama.cpp loads it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field("smollm2", min_length=1)
    chat_format: str | None = Field(None, min_length=1)
    n_ctx: int = Field(2048, ge=256, le=131072)
    n_gpu_layers: int = Field(0, ge=-1, le=1000)
    n_threads: int | None = Field(None, ge=1, le=256)  # None = every core but one
    n_batch: int = Field(512, ge=1, le=131072)
    cache: bool = False
    interrupt_requests: bool = False
    startup_timeout: float = Field(120.0, gt=0, le=3600)
    extra_args: list[str] = Field(default_factory=list)

    @field_validator("extra_args")
    @classmethod
    def _no_managed_flags(cls, args: list[str]) -> list[str]:
        for arg in args:
            if arg.split("=", 1)[0] in _MANAGED_FLAGS:
                raise ValueError(f"{arg.split('=', 1)[0]} is set by llmchat and cannot be in extra_args")
        return args
