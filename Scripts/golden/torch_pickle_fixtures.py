#!/usr/bin/env python3
"""Small PyTorch checkpoints for the Swift torch checkpoint reader (Tests/Fixtures/torch/).

Reference: torch.save itself, legacy (non-zip) format (`_use_new_zipfile_serialization=False`),
the format of torchvision's mobilenet_v2 .pth and facenet-pytorch's MTCNN .pt files.
Values follow simple formulas the Swift tests restate (ModelIOTests/TorchCheckpointTests.swift):
  small.pt        a real module's state dict (Conv2d 3→2 k3, BatchNorm2d 2) with its _metadata,
                  plus float16, float64, int64, a 0-d tensor, a view at a storage offset sharing
                  its storage with another tensor, and a nested dict
  transposed.pt   {"t": a (3, 2) transposed view, stride (1, 3)}: read in row-major order
  malicious.pt    {"w": tensor, "x": object whose __reduce__ is os.system("true")}: must be
                  refused without running anything
  zipformat.pt    {"w": tensor} in the zip format: refused with a message

Run from the repository root with the vision venv (outside the repository):
    /work/venv-vision/bin/python Scripts/golden/torch_pickle_fixtures.py
Versions used: python 3.11, torch 2.15.0.
"""
import collections
import os
import sys

import torch

OUT = os.path.join("Tests", "Fixtures", "torch")


def legacy_save(obj, name):
    torch.save(obj, os.path.join(OUT, name), _use_new_zipfile_serialization=False)


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3)
        self.bn = torch.nn.BatchNorm2d(2)


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def main():
    os.makedirs(OUT, exist_ok=True)
    block = Block()
    with torch.no_grad():
        # conv.weight[i] = i / 8 - 3 in row-major order; conv.bias = [0.5, -0.25]
        block.conv.weight.copy_((torch.arange(54, dtype=torch.float32) / 8 - 3).reshape(2, 3, 3, 3))
        block.conv.bias.copy_(torch.tensor([0.5, -0.25]))
        block.bn.weight.copy_(torch.tensor([1.5, 2.0]))
        block.bn.bias.copy_(torch.tensor([-1.0, 0.125]))
        block.bn.running_mean.copy_(torch.tensor([0.25, -0.5]))
        block.bn.running_var.copy_(torch.tensor([4.0, 0.0625]))
        block.bn.num_batches_tracked.fill_(7)
    state = block.state_dict()
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)  # 0 ... 11
    state["matrix"] = base
    state["row1"] = base[1]  # a view: storage offset 4, shares matrix's storage
    state["half"] = torch.tensor([1.0, -2.0, 0.5, 65504.0], dtype=torch.float16)
    state["double"] = torch.tensor([0.1, -1e10, 3.0], dtype=torch.float64)
    state["scalar"] = torch.tensor(2.5)
    state["nested"] = {"w": torch.tensor([[1.0, 2.0]]), "note": "not a tensor", "n": 3}
    legacy_save(state, "small.pt")

    legacy_save({"t": torch.arange(6, dtype=torch.float32).reshape(2, 3).t()}, "transposed.pt")
    legacy_save({"w": torch.zeros(2), "x": Evil()}, "malicious.pt")
    torch.save({"w": torch.ones(2)}, os.path.join(OUT, "zipformat.pt"))
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)), file=sys.stderr)


if __name__ == "__main__":
    main()
