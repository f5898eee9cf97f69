"""Pure preprocessing of vortex-street snapshots and safe file IO.

  vorticity    omega from velocity: second-order central (edges one-sided), and the course's exact formula
  transforms   crop, time stride, block-mean downsample, flatten / unflatten
  standardize  a fitted (mean, scale) pytree: fit on train, apply, invert
  splits       random, time (with a gap), heldout_re
  io           turbjax .npz files, the course's pickled files (opt-in, parsed not executed, streamed)
  dataset      build_dataset(config) -> Dataset, validate_data_config, missing_files
  convert      python -m turbjax.data.convert --trust-pickle SRC --out DIR
  synthetic    an analytic stand-in velocity field for tests and demos

`python -m turbjax.data --dir DIR` builds the data set and prints a summary.
"""
