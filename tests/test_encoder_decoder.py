"""The gauge ResNet block and U-Net of the docs (benchmarks/encoder_decoder.py): exact on both spheres, both samplings."""

from __future__ import annotations

import json
import re

import pytest
import torch

from benchmarks import encoder_decoder
from benchmarks._docs import read_blocks
from gaugecnn import FieldType
from gaugecnn.testing import assert_gauge_equivariant, assert_isometry_equivariant


@pytest.mark.parametrize(("name", "sampling"), [("cube", "strided"), ("ico", "strided"), ("cube", "pooled")])
def test_unet_is_exactly_equivariant_in_float64(name, sampling, record_error):
    atlas = encoder_decoder.sphere(name, small=True)
    torch.manual_seed(0)
    net = encoder_decoder.GaugeUNet(atlas, sampling).double()
    record_error(assert_gauge_equivariant(net, atlas, trials=2, batch_size=1))
    record_error(assert_isometry_equivariant(net, atlas, atlas.isometries()[:6], batch_size=1))


def test_strided_unet_in_float32_and_its_layers():
    atlas = encoder_decoder.sphere("cube", small=True)
    torch.manual_seed(0)
    net = encoder_decoder.GaugeUNet(atlas, "strided")
    # the encoder goes down by stride-2 even convolutions, the decoder up by their transposes
    kinds = {type(m).__name__ for m in net.modules()}
    assert {"GaugeConvTranspose", "ResidualBlock"} <= kinds and "GaugePool" not in kinds
    assert any(getattr(m, "stride", 1) == 2 and m.kernel_size == 4 for m in net.modules() if type(m).__name__ == "GaugeConv")
    assert assert_isometry_equivariant(net, atlas, atlas.isometries()[:4], dtype=torch.float32) < 1e-5


def test_residual_block_keeps_its_type_and_refuses_a_bad_sampling():
    atlas = encoder_decoder.sphere("ico", small=True)
    t = FieldType(atlas.group, "2 regular")
    block = encoder_decoder.ResidualBlock(atlas, t).double()
    x = torch.randn(1, t.size, *atlas.shape, dtype=torch.float64)
    assert block(x).shape == x.shape
    assert assert_gauge_equivariant(block, atlas, trials=1, batch_size=1) < 1e-12
    with pytest.raises(ValueError, match="sampling must be one of strided, pooled"):
        encoder_decoder.GaugeUNet(atlas, "bilinear")


def test_the_docs_table_is_the_committed_measurement():
    data = json.loads(encoder_decoder.RESULT.read_text())
    assert read_blocks(encoder_decoder.DOC.read_text())["encoder-decoder"] == encoder_decoder.table(data)
    assert set(data["results"]) == {f"{s} {m}" for s in ("cube", "ico") for m in encoder_decoder.SAMPLINGS}
    assert all(r["max_relative_error"] < 1e-12 for r in data["results"].values())


def test_the_script_refuses_bad_options():
    for argv, message in (
        (["--rounds", "0"], "--rounds must be at least 1"),
        (["--spheres", "torus"], "unknown sphere(s) torus"),
        (["--update-docs"], "--update-docs needs the file"),
    ):
        with pytest.raises(SystemExit, match=re.escape(message)):
            encoder_decoder.main(argv)
