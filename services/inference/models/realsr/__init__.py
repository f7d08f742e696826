"""The `realsr` family (`sr`): RealSR DF2K x4, ESRGAN's RRDBNet (also Real-ESRGAN's network, see ../realesrgan).

- arch.py: the network (RRDBNet);
- weights.py: filling it from the shipped ncnn files or official PyTorch checkpoints;
- descriptor.py: the typed descriptor the tiling engine reads (scale, context, precision safety);
- engine.py: `RealSREngine`, the `sr` enhancement.

Nothing heavy is imported here: importing a family's descriptor must not cost torch's start-up.
"""
