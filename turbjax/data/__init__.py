"""Pure preprocessing of vortex-street snapshots and safe file IO.

  vorticity    omega from velocity: second-order central (edges one-sided), and the course's exact formula
  transforms   crop, time stride, block-mean downsample, flatten / unflatten
  standardize  a fitted (mean, scale) pytree: fit on train, apply, invert
  features     phase-invariant inputs: log power spectrum (fft2), radial and streamwise binned spectra
  splits       random, time (gap in samples, steps or shedding periods), realization, heldout_re, external
  snapshots    turbjax's .npz format: save_snapshots, load_snapshots, snapshot_header, shape checks
  course_pickle  the course's pickled files (opt-in, parsed not executed, streamed)
  readers      the data formats, one module each behind one small interface, registered in readers.READERS:
               turbjax's .npz (readers.turbjax_npz), the course's pickles (readers.course), netCDF / HDF5
               files of a minimal convention, read lazily with xarray (readers.netcdf: read_netcdf(path))
  discovery    which files a directory holds (Re, realization), data_path, detect_format, read_velocity
  config       validate_data_config: the data section's checks
  series       one file's header-only plan (checked before data is read) and its vorticity images
  dataset      build_dataset(config) -> Dataset(train=Subset, test=Subset, ...), missing_files
  convert      python -m turbjax.data.convert --trust-pickle SRC --out DIR (course -> .npz);
               --to netcdf SRC --out DIR (turbjax .npz -> netCDF)
  synthetic    an analytic stand-in velocity field for tests and demos

`python -m turbjax.data --dir DIR` builds the data set and prints a summary.
"""
