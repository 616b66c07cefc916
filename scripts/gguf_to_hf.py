"""Derive a Hugging Face-format model folder (what vLLM and MAX Serve load) from a GGUF file,
offline: transformers (with gguf and accelerate) de-quantizes the GGUF's tensors, which are
written as one safetensors file beside a config.json, the tokenizer and its chat template.

    python scripts/gguf_to_hf.py models/SmolLM2-135M-Instruct.Q4_1.gguf \
        models/SmolLM2-135M-Instruct --dtype float32

Why not `save_pretrained`: transformers refuses to save a GGUF-loaded model (its config
still names the GGUF quantization). The state dict leaves out `lm_head.weight` when the
embeddings are tied, as the original checkpoint does. The folder is built under a temporary
name and renamed into place, so an interrupted run never leaves half a model; a `.source`
file records the GGUF's size and dtype, so a rerun with the same inputs does nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

# Keys of the GGUF-loaded config that describe the GGUF rather than the model.
_DROPPED_CONFIG_KEYS = ("quantization_config", "_model_name_or_path", "_name_or_path")


def _source_marker(gguf: Path, dtype: str) -> str:
    return json.dumps({"gguf": gguf.name, "size": gguf.stat().st_size, "dtype": dtype})


def _config(loaded: dict[str, Any], dtype: str) -> dict[str, Any]:
    """A config.json both engines read: the GGUF's values, the classic `rope_theta` key
    beside transformers 5's `rope_parameters`, and float32 rounding noise removed."""
    config = {key: value for key, value in loaded.items() if key not in _DROPPED_CONFIG_KEYS}
    config["architectures"] = config.get("architectures") or ["LlamaForCausalLM"]
    rope = config.get("rope_parameters") or {}
    if "rope_theta" not in config and "rope_theta" in rope:
        config["rope_theta"] = rope["rope_theta"]
    if isinstance(config.get("rms_norm_eps"), float):
        # GGUF keeps it as float32: 9.999999747378752e-06 is the checkpoint's 1e-05.
        config["rms_norm_eps"] = float(f"{config['rms_norm_eps']:.7g}")
    config["torch_dtype"] = dtype
    config["dtype"] = dtype
    return config


def convert(gguf: Path, out: Path, dtype: str) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch_dtype
    )
    config = _config(model.config.to_dict(), dtype)
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    if config.get("tie_word_embeddings"):
        state.pop("lm_head.weight", None)

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        save_file(state, str(staging / "model.safetensors"), metadata={"format": "pt"})
        (staging / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        generation = GenerationConfig(
            bos_token_id=config.get("bos_token_id"),
            eos_token_id=config.get("eos_token_id"),
            pad_token_id=config.get("pad_token_id"),
        )
        generation.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / ".source").write_text(_source_marker(gguf, dtype) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gguf", type=Path, help="the .gguf file")
    parser.add_argument("out", type=Path, help="the model folder to write")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    args = parser.parse_args(argv)
    if not args.gguf.is_file():
        print(f"error: {args.gguf} is missing", file=sys.stderr)
        return 1
    marker = args.out / ".source"
    if marker.is_file() and marker.read_text().strip() == _source_marker(args.gguf, args.dtype):
        print(f"{args.out} already derived from {args.gguf.name} ({args.dtype})")
        return 0
    # Everything comes from the GGUF: never let transformers reach for the hub.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    convert(args.gguf, args.out, args.dtype)
    print(f"{args.out} ready ({args.dtype}, from {args.gguf.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
