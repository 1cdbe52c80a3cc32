"""CT to chest X-ray anatomy (PAXRay, DOMAIN.md section 2): volumes in one canonical
orientation, organ masks mapped to a chest X-ray anatomy taxonomy, and frontal / lateral
digitally reconstructed radiographs that project the masks with the same geometry.

Pure functions on arrays: readers of files live in ``sources.ct.volume_io`` and
``sources.ct.masks``; nothing here imports Prefect or touches the network."""

EXTRACTOR = "extractors.ct"
VERSION = "1"
