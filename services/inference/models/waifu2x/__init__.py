"""The `waifu2x` family (`sr2d`): CUNet (x2, x1 denoise) and UpConv7 (anime, photo).

- arch.py: the networks (CUNet, UpConv7);
- weights.py: filling them from the shipped ncnn files or nunif checkpoints;
- descriptor.py: the typed descriptors the tiling engine reads;
- engine.py: `Waifu2xEngine`, the `sr2d` enhancement, and its pass planner.
"""
