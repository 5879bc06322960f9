"""Trainable side network: ladders from the frozen backbone, CNN + SIM blocks, multi-scale fusion."""
from .blocks import ConvBlock, Downsample, LayerNorm2d, SIMBlock, build_block
from .fusion import PyramidFusion
from .ladder import Ladder, LadderGate, resample
from .network import (HybridSideNetwork, SideInputError, SideNetworkConfigError, SideOutput,
                      build_side_network)
from .sim import SparseInteraction

__all__ = ["ConvBlock", "Downsample", "LayerNorm2d", "SIMBlock", "build_block", "PyramidFusion", "Ladder",
           "LadderGate", "resample", "HybridSideNetwork", "SideInputError", "SideNetworkConfigError",
           "SideOutput", "build_side_network", "SparseInteraction"]
