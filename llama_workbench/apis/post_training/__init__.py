"""The Post Training API: supervised fine-tuning (LoRA or full) and DPO as background jobs."""
