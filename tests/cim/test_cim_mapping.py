import numpy as np
import pytest

from simulators.cim import MappingError, load_config, map_graph, mapping_table, vgg9
from simulators.ir import Graph


def conv_graph(cin=100, cout=70, size=8, k=3, stride=1, pad=1, op="conv") -> Graph:
    rng = np.random.default_rng(0)
    g = Graph({"timesteps": 2})
    g.add("input", "input", shape=(2, size, size))
    g.add("stem", "conv", ["input"], attrs={"padding": 1}, weight=rng.normal(size=(cin, 2, 3, 3)))
    g.add("lif", "lif", ["stem"], attrs={"tau": 0.25, "v_th": 0.5})
    arrays = {"weight": rng.normal(size=(cout, cin, k, k))}
    if op == "local":
        arrays["in_scale"] = rng.uniform(0.5, 1.5, (cin, size, size))
    g.add(
        "layer",
        op,
        ["lif"],
        attrs={"stride": stride, "padding": pad, "binary_input": True},
        **arrays,
    )
    g.add("lif2", "lif", ["layer"], attrs={"tau": 0.25, "v_th": 0.5})
    g.add("flat", "flatten", ["lif2"])
    g.add(
        "fc",
        "linear",
        ["flat"],
        attrs={"binary_input": True},
        weight=rng.normal(size=(10, 70 * 64)),
    )
    g.add("output", "output", ["fc"])
    return g.validate()


def test_kernel_split_and_im2col_counts():
    g = conv_graph()
    split = map_graph(g, load_config("spikesim-rram-65nm")).layers["layer"]
    assert (split.row_blocks, split.column_blocks, split.crossbars, split.pes) == (18, 2, 36, 4)
    assert split.block_rows[:10] == (64,) * 9 + (36,)
    unrolled = map_graph(g, load_config("spikesim-rram-65nm", {"mapping": "im2col"}))
    m = unrolled.layers["layer"]
    assert (m.row_blocks, m.crossbars, m.pes) == (15, 30, 4)  # 900 rows / 64, 2 column blocks
    fc = unrolled.layers["fc"]  # linear: a 1×1 conv of a 1×1 input
    assert (fc.in_shape, fc.kernel, fc.row_blocks, fc.column_blocks) == (
        (4480, 1, 1),
        (1, 1),
        70,
        1,
    )
    stem = unrolled.layers["stem"]
    assert not stem.binary_input and stem.passes == 8 and split.passes == 1  # real_input_bits


def test_weight_slicing_and_signs():
    g = conv_graph()
    rram = load_config("neurosim-rram-22nm")  # 8-bit weights on 2-bit cells: 4 columns each
    m = map_graph(g, rram).layers["layer"]
    assert m.outputs_per_block == (32, 32, 6) and m.columns_per_weight == 4
    diff = load_config("neurosim-rram-22nm", {"signed_weights": "differential"})
    assert map_graph(g, diff).layers["layer"].outputs_per_block == (16,) * 4 + (6,)
    assert map_graph(g, rram).layers["stem"].passes == 8  # real-valued input: bit-serial


def test_unshared_layers_store_one_weight_set_per_position():
    shared = map_graph(conv_graph(), load_config("spikesim-rram-65nm")).layers["layer"]
    local = map_graph(conv_graph(op="local"), load_config("spikesim-rram-65nm"))
    m = local.layers["layer"]
    assert not m.shared and m.copies == 64
    assert m.crossbars == shared.crossbars * 64 and m.pes == shared.pes * 64
    g = conv_graph(op="local")
    for name, lm in local.layers.items():  # cells holding weights = IR weights × columns each
        assert lm.used_cells * lm.copies == g[name].weight_count * lm.columns_per_weight
    assert local.row_tile("layer", 0) != local.row_tile("layer", 7)
    assert local.row_tile("fc", 0) == local.layers["fc"].first_pe // 8


def test_duplication_splits_rows_over_copies():
    config = load_config("spikesim-rram-65nm", {"duplication": 3})
    m = map_graph(conv_graph(), config).layers["layer"]
    assert m.copies == 3 and m.crossbars == 36 * 3
    capped = load_config("spikesim-rram-65nm", {"duplication": 100})
    assert map_graph(conv_graph(), capped).layers["layer"].copies == 8  # one row's positions


def test_placement_and_spikesim_counts():
    g = vgg9.graph()
    packed = map_graph(g, load_config("spikesim-rram-65nm"))
    assert [m.pes for m in packed.layers.values()] == [1, 1, 2, 4, 8, 16, 16]
    assert (packed.pes, packed.tiles, packed.crossbars) == (48, 6, 432)
    aligned = map_graph(g, load_config("spikesim-rram-65nm", {"placement": "tile-aligned"}))
    assert aligned.tiles == 9
    util = packed.utilization()
    assert util["pe_slot_utilization"] == 1.0 and util["tile_utilization"] == 1.0
    assert util["cell_utilization"] == pytest.approx((3 / 64 + 47) / 48)
    table = mapping_table(packed)
    assert list(table.pes) == [1, 1, 2, 4, 8, 16, 16] and table.tiles.sum() >= 6


def test_networks_too_large_for_the_chips_spread_or_fail_clearly():
    g = conv_graph(op="local")
    small = {"tiles_per_chip": 4, "chips": 2}
    with pytest.raises(MappingError, match=r"needs 34 tiles .* set chips >= 9"):
        map_graph(g, load_config("spikesim-rram-65nm", {**small, "overflow": "refuse"}))
    reloaded = map_graph(g, load_config("spikesim-rram-65nm", {**small, "overflow": "reload"}))
    # 34 tiles through 2 chips of 4 tiles: 8 tiles built, ceil(34 / 8) = 5 weight loads
    assert (reloaded.physical_chips, reloaded.physical_tiles, reloaded.rounds) == (2, 8, 5)
    spread = map_graph(g, load_config("spikesim-rram-65nm", {"tiles_per_chip": 4, "chips": 9}))
    assert spread.chips == 9 and spread.tiles == 34
    needed = map_graph(g, load_config("spikesim-rram-65nm", {"tiles_per_chip": 4}))
    assert needed.config.chips == 0 and needed.chips == 9  # the presets spread as needed
