"""Default: MLP (100, 100), relu, Adam 1e-3, batch 32 on the seed data set (the course's best model).

    python -m turbjax.train --config configs/default.py --workdir runs/default

(Expected result and runtime: filled in by the training issue.)
"""

from ml_collections import config_dict


def get_data_config() -> config_dict.ConfigDict:
    d = config_dict.ConfigDict()
    d.dir = "data/vortex_street"  # one turbjax .npz per Reynolds number (or the course's files, see format)
    d.format = "turbjax"  # "turbjax" (safe .npz) or "course" (pickled originals; needs trust_pickle)
    d.trust_pickle = False  # the course's files are pickles: loading one can run code
    d.preset = "seed"  # simulator preset used to generate missing data
    d.reynolds = (300.0, 600.0, 900.0, 1200.0)
    d.sample_every_steps = 10  # simulation steps between samples (course: every 5th of its every-2nd-step frames)
    d.crop_x = (160, 224)  # window on the vorticity grid; course: last 127 x-cells of 255, then [32:96]
    d.crop_y = (32, 96)
    d.downsample = 1  # spatial factor (block mean)
    d.vorticity = "central"  # "central" (second-order) or "course" (the notebook's forward differences)
    d.target = "reynolds"  # "reynolds" (regression / classes) or "forecast" (vorticity `horizon` frames ahead)
    d.horizon = 1
    d.split = "random"  # "random", "time" or "heldout_re"
    d.test_fraction = 0.2
    d.gap = 10  # frames dropped between train and test in the "time" split
    d.heldout = (600.0,)  # Reynolds numbers held out in the "heldout_re" split
    d.seed = 0
    return d


def get_config() -> config_dict.ConfigDict:
    c = config_dict.ConfigDict()
    c.data = get_data_config()
    return c
