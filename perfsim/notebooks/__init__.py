"""The notebook runner (papermill), parameters, sweeps, provenance and the report index."""
