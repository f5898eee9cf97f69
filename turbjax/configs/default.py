"""The default config and the schema every config follows: one builder per section.

    from turbjax.configs import default
    c = default.get_config()          # ConfigDict with sections data, model, optim, training

`configs/default.py` (the user-facing file, with its command and the measured result) returns exactly this;
the other `configs/*.py` start from it. turbjax.configs.schema checks a config's field names against it.
"""


from ml_collections import config_dict


def get_data_config() -> config_dict.ConfigDict:
    d = config_dict.ConfigDict()
    d.dir = "data/vortex_street"  # one turbjax .npz per Reynolds number (or the course's files, see format)
    d.format = "turbjax"  # "turbjax" (safe .npz) or "course" (pickled originals; needs trust_pickle)
    d.trust_pickle = False  # the course's files are pickles: loading one can run code
    d.preset = "seed"  # simulator preset used to generate missing data
    d.reynolds = (300.0, 600.0, 900.0, 1200.0)  # () = every Reynolds number with a file in dir
    # () = the plain files vortex_street_Re_{re}.npz; (0, 1, 2) = the ensemble's _r{k} files
    d.realizations = ()
    d.exclude_reynolds = ()  # Reynolds numbers of dir never used (e.g. (300, 600, 900, 1200) for "external")
    # simulation steps between samples (course: every 5th of its every-2nd-step frames)
    d.sample_every_steps = 10
    # "file": the files' own grid and units (all files on one grid); "flow": every file on the reference grid
    # in the flow's scales (cells of D / 12.8, the seed preset's; turbjax.data.units), whatever its spacing
    d.units = "file"
    d.crop_x = (160, 224)  # window on the vorticity grid; course: last 127 x-cells of 255, then [32:96]
    d.crop_y = (32, 96)
    d.downsample = 1  # spatial factor (block mean)
    d.vorticity = "central"  # "central" (second-order) or "course" (the notebook's forward differences)
    # model input (turbjax.data.features): "pixels", "fft2" (log power spectrum), "radial" or "streamwise"
    # spectra, "gradstats" (7 statistics of the window) or "wakestats" (45 statistics of a wide wake window)
    d.features = "pixels"
    d.remove_mean = True  # spectral features: subtract each window's mean first (pixels: unused)
    # statistics features (not pixels / fft2): one more input, the square of the file's own grid spacing in
    # cylinder diameters, (dx / D)^2, how far a lattice Boltzmann flow is from the grid-converged one
    d.resolution_input = False
    # "reynolds" (regression / classes) or "forecast" (vorticity `horizon` frames ahead)
    d.target = "reynolds"
    d.horizon = 1
    # target "reynolds": regress log Re (predictions mapped back with exp); the loss then weighs relative
    # errors alike at Re 200 and 1400, which is what the generalization floors measure (MAE in % of Re)
    d.log_target = False
    # "random" (leaks), "time", "realization", "heldout_re", "external" or "numerics"
    d.split = "random"
    d.test_fraction = 0.2
    d.gap = 10  # "time" split (and heldout_time): the gap between train and test, in gap_unit
    d.gap_unit = "samples"  # "samples" (dropped samples), "steps" (simulation steps) or "periods" (shedding)
    d.heldout = (600.0,)  # Reynolds numbers held out in the "heldout_re" split (and tested by "numerics")
    d.heldout_time = False  # "heldout_re": test only on the late window, train only on the early one
    d.train_realizations = (0, 1)  # "realization" split: train on these, test on the others of realizations
    # Validation, carved from the training side and as novel as the test part; everything that chooses
    # (best checkpoint, early stopping, a sweep's best trial, calibrated intervals) looks at it, not at test:
    d.val_fraction = 0.2  # "random": a random part; "time": the last part of each series' training window
    d.val_every = 4  # "heldout_re", "external": every val_every-th training Reynolds number validates
    d.val_realizations = ()  # "realization": the validation realizations (neither trained nor tested on)
    d.test_dir = ""  # "external" split: test on every frame of this directory (turbjax format)
    d.test_reynolds = ()  # "external": Reynolds numbers of test_dir (() = every one found)
    d.test_realizations = ()  # "external": realizations of test_dir (() = the plain files)
    d.test_sample_every_steps = 0  # "external": steps between test samples (0 = sample_every_steps)
    # "numerics" split: numerical variants of the flows (directories of turbjax files; data.units='flow' reads
    # other grids): train on dir and variant_dirs, validate on val_dirs, test on test_dirs at `heldout`; every
    # file of those directories is read (plain runs and realizations)
    d.variant_dirs = ()
    d.val_dirs = ()
    d.test_dirs = ()
    # Read every file of dir (plain runs and every realization found, at `reynolds` or every Re found),
    # whatever `realizations` says: what `python -m turbjax.evaluate --data DIR` scores by default.
    d.every_file = False
    d.seed = 0
    return d


def get_model_config() -> config_dict.ConfigDict:
    m = config_dict.ConfigDict()
    m.name = "mlp"  # "linear", "logistic", "mlp" or "cnn"
    m.hidden = (100, 100)  # mlp hidden widths
    m.activation = "relu"  # mlp: relu, tanh, sigmoid, identity
    m.logistic = "softmax"  # logistic: "binary" (Re > median of the classes) or "softmax" (one class per Re)
    m.cnn_features = (8, 16, 16)  # cnn: channels of the conv blocks (3x3 conv, relu, 2x2 average pool)
    m.cnn_dense = (32,)  # cnn: dense widths after the conv blocks
    m.cnn_kernel = 3
    m.cnn_head = "flatten"  # cnn: "flatten" (dense on every position) or "gap" (mean over positions first)
    m.cnn_conv = "custom"  # cnn: turbjax.models.conv (hand-written gradients, fast on CPU) or "xla" (nn.Conv)
    m.members = 1  # > 1: a deep ensemble of that many independently initialized copies (their mean output)
    return m


def get_optim_config() -> config_dict.ConfigDict:
    o = config_dict.ConfigDict()
    o.name = "adam"  # sgd, momentum, adam, adamw, lbfgs (full batch)
    # Traced hyperparameters (the `hparams` dict of the training core; sweepable without recompiling):
    o.learning_rate = 1e-3
    o.momentum = 0.9  # heavy-ball momentum; Adam's b1 for adam/adamw; must be 0 for sgd
    o.weight_decay = 0.0  # decoupled weight decay, adamw only
    o.l2 = 0.0  # loss += l2/2 * sum(w^2) over kernels
    o.l1 = 0.0  # loss += l1 * sum(|w|) over kernels
    # Static settings:
    o.b2 = 0.999
    o.nesterov = False
    o.lbfgs_memory = 10
    # Multiplies the learning rate: constant, cosine (decay to final_fraction over the run), warmup_cosine.
    # Cosine by default: with a constant 1e-3 (the course's setting) Adam's test R^2 keeps jumping around
    # 0.996-0.999 on the seed data; decaying it to 0 over the run settles at 0.9999 (see the docstring).
    o.schedule = "cosine"
    o.warmup_epochs = 1
    o.final_fraction = 0.0  # cosine schedules end at learning_rate * final_fraction
    return o


def get_training_config() -> config_dict.ConfigDict:
    t = config_dict.ConfigDict()
    t.batch_size = 32
    t.epochs = 100
    t.seed = 0  # parameter init and minibatch order (the data split has its own data.seed)
    t.epochs_per_chunk = 5  # epochs per compiled scan; Python logs / checkpoints / advances tqdm between
    t.checkpoint_every = 5  # epochs; must be a multiple of epochs_per_chunk
    t.keep_checkpoints = 2  # keep the last k checkpoints (plus the best by validation loss)
    t.report_test_r2 = 0.999  # results.json records the seconds and epoch at which test R^2 first reached it
    # stop after the chunk in which validation R^2 reaches it (None: never); the test set never stops a run
    t.stop_at_val_r2 = config_dict.placeholder(float)
    t.plots = True
    # Augmentation inside the scanned epoch (turbjax.training.augment), keyed by (seed, epoch, step):
    # "mirror" (y -> -y with vorticity -> -vorticity) and "shift" (a random streamwise offset of the crop
    # window within +-shift cells; the data window is widened by `shift` on both sides, the model sees the
    # configured crop; evaluation uses the centred one). Pixel features only.
    t.augment = ()
    t.shift = 0
    return t


def get_config() -> config_dict.ConfigDict:
    c = config_dict.ConfigDict()
    c.data = get_data_config()
    c.model = get_model_config()
    c.optim = get_optim_config()
    c.training = get_training_config()
    return c
